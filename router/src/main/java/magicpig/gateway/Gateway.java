package magicpig.gateway;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import magicpig.cluster.SequenceClient;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.IncomingConnection;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of a gateway node. Connections are handled one by one so that each request knows
 * when its connection closes: a client that hangs up, even while waiting for a non-streamed answer,
 * cancels its sequence.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final ServerBinding binding;
    private final ServedModel model;
    private final Admission admission;
    private final ClusterCapacity capacity;

    private Gateway(ServerBinding binding, ServedModel model, Admission admission, ClusterCapacity capacity) {
        this.binding = binding;
        this.model = model;
        this.admission = admission;
        this.capacity = capacity;
    }

    /** Binds host:port (port 0 = any free one) and returns once the server listens. */
    public static Gateway start(ActorSystem<?> system, ServedModel model, GatewaySettings settings, SequenceClient client) throws Exception {
        ClusterCapacity capacity = new ClusterCapacity(system, settings.attentionMode());
        Admission admission = new Admission(settings.maxInFlight(), settings.workerMaxBatch() + settings.workerMaxQueued(), capacity::workers);
        Materializer mat = Materializer.matFromSystem(system);
        OpenAiApi api = new OpenAiApi(model, settings, client, capacity, admission, mat, new DashboardFeed(system));
        ServerSettings server = ServerSettings.create(ConfigFactory.parseString(
                "pekko.http.server.request-timeout = " + settings.requestTimeout().toMillis() + "ms\n"
                        + "pekko.http.server.parsing.max-content-length = " + settings.maxBodyBytes() + "\n"
                        + "pekko.http.server.server-header = magicpig")
                .withFallback(system.settings().config()));
        CompletableFuture<ServerBinding> bound = Http.get(system).newServerAt(settings.host(), settings.port()).withSettings(server)
                .connectionSource()
                .to(Sink.foreach(conn -> serve(conn, api, mat)))
                .run(mat)
                .toCompletableFuture();
        ServerBinding binding;
        try {
            binding = bound.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot serve HTTP on " + settings.host() + ":" + settings.port() + ": "
                    + e.getCause().getMessage(), e.getCause());
        }
        log.info("OpenAI API for {} at http://{}:{}/v1 (chat template: {}; {} in flight at most{})", model.name(),
                settings.host(), binding.localAddress().getPort(), model.chatTemplate().name(),
                settings.maxInFlight() > 0 ? settings.maxInFlight() : "workers x " + (settings.workerMaxBatch() + settings.workerMaxQueued()),
                settings.apiKeys().isEmpty() ? "" : "; API keys required");
        log.info("cluster dashboard at http://{}:{}/dashboard", settings.host(), binding.localAddress().getPort());
        return new Gateway(binding, model, admission, capacity);
    }

    private static void serve(IncomingConnection conn, OpenAiApi api, Materializer mat) {
        ClientConnection connection = new ClientConnection();
        Flow<HttpRequest, HttpResponse, NotUsed> flow = Flow.of(HttpRequest.class)
                .watchTermination((m, done) -> {
                    done.whenComplete((d, t) -> connection.closed());
                    return m;
                })
                .mapAsync(1, req -> api.handle(req, connection));
        conn.handleWith(flow, mat);
    }

    /** The port the server listens on (the chosen one when configured as 0). */
    public int port() {
        return binding.localAddress().getPort();
    }

    /** The API's base URL, as clients configure it: http://HOST:PORT/v1. */
    public String url() {
        var a = binding.localAddress();
        String host = a.getAddress() != null && a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getHostString();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/v1";
    }

    public ServedModel model() {
        return model;
    }

    /** Generations in flight now, and the most there ever were at once. */
    public int inFlight() {
        return admission.inFlight();
    }

    public int peakInFlight() {
        return admission.peak();
    }

    public int admissionLimit() {
        return admission.limit();
    }

    public int workersUp() {
        return capacity.workers();
    }

    /** Stops accepting connections; running requests end with the actor system. */
    @Override
    public void close() throws Exception {
        binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
