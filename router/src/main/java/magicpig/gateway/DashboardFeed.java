package magicpig.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import magicpig.cluster.metrics.DashboardAggregator;
import magicpig.cluster.metrics.DashboardState;
import magicpig.cluster.metrics.MetricsExtension;
import magicpig.cluster.metrics.MetricsServer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What a gateway serves for observers, without authentication (like {@code /health}):
 * {@code GET /metrics}, this node's series in Prometheus' text format; {@code GET /dashboard/state},
 * the cluster as the dashboard shows it ({@link DashboardState}, one JSON object); and
 * {@code GET /dashboard/events}, the same object as a server-sent event once per report interval
 * (about a second), for as long as the client reads. The state comes from this node's
 * {@link DashboardAggregator}, which every node reports to.
 */
final class DashboardFeed {
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);

    private final ActorSystem<?> system;
    private final MetricsExtension metrics;
    private final ActorRef<DashboardAggregator.Command> aggregator;

    DashboardFeed(ActorSystem<?> system) {
        this.system = system;
        this.metrics = MetricsExtension.get(system);
        Duration interval = metrics.settings().interval();
        this.aggregator = !metrics.enabled() ? null : system.systemActorOf(
                metrics.actors().instrument("DashboardAggregator", "aggregator",
                        DashboardAggregator.create(interval.toMillis() * DashboardAggregator.STALE_REPORTS)),
                "dashboard-aggregator", metrics.actors().props());
    }

    /** Answers the paths above; null for any other. */
    CompletionStage<HttpResponse> route(HttpRequest req, String path) {
        if (!path.equals("/metrics") && !path.equals("/dashboard/state") && !path.equals("/dashboard/events")) return null;
        if (!req.method().equals(HttpMethods.GET)) throw ApiError.methodNotAllowed("use GET " + path);
        if (path.equals("/metrics")) return CompletableFuture.completedFuture(MetricsServer.scrape(metrics.node()));
        if (aggregator == null) throw ApiError.unavailable("metrics are off on this gateway (magicpig.metrics.enabled = false)");
        if (path.equals("/dashboard/state")) {
            return state().thenApply(s -> HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json(s))));
        }
        Source<ByteString, NotUsed> events = Source.tick(Duration.ZERO, metrics.settings().interval(), NotUsed.getInstance())
                .mapAsync(1, t -> state())
                .map(s -> ByteString.fromString("data: " + json(s) + "\n\n"))
                .mapMaterializedValue(c -> NotUsed.getInstance());
        return CompletableFuture.completedFuture(HttpResponse.create()
                .withEntity(HttpEntities.createChunked(ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM), events))
                .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                .addHeader(RawHeader.create("X-Accel-Buffering", "no")));
    }

    /** The dashboard's state now. */
    CompletionStage<DashboardState> state() {
        return AskPattern.ask(aggregator, DashboardAggregator.GetState::new, ASK_TIMEOUT, system.scheduler());
    }

    private static String json(DashboardState s) {
        try {
            return Json.MAPPER.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the dashboard state", e); // records of numbers and strings always serialize
        }
    }
}
