package magicpig.cluster.metrics;

import java.util.concurrent.TimeUnit;
import magicpig.metrics.NodeMetrics;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics} of a node without a gateway, on a small HTTP server of its own
 * ({@code magicpig.metrics.host}:{@code magicpig.metrics.port}, port 0 = any free one). Gateway
 * nodes answer {@code /metrics} on their API port instead, with {@link #scrape}.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
    private static final ContentType PROMETHEUS = ContentTypes.parse(NodeMetrics.CONTENT_TYPE);

    private final ServerBinding binding;

    private MetricsServer(ServerBinding binding) {
        this.binding = binding;
    }

    /** Binds host:port and returns once it listens. */
    public static MetricsServer start(ActorSystem<?> system, NodeMetrics metrics, String host, int port) throws Exception {
        ServerBinding binding;
        Materializer mat = Materializer.matFromSystem(system);
        try {
            binding = Http.get(system).newServerAt(host, port).bindSync(req -> answer(req, metrics, mat))
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot serve metrics on " + host + ":" + port + ": " + e.getCause().getMessage(), e.getCause());
        }
        log.info("metrics of node {} at http://{}:{}/metrics", metrics.node(), host, binding.localAddress().getPort());
        return new MetricsServer(binding);
    }

    private static HttpResponse answer(HttpRequest req, NodeMetrics metrics, Materializer mat) {
        req.discardEntityBytes(mat);
        String path = req.getUri().path();
        if (!path.equals("/metrics")) {
            return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND)
                    .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "this port serves GET /metrics only\n");
        }
        if (!req.method().equals(HttpMethods.GET)) {
            return HttpResponse.create().withStatus(StatusCodes.METHOD_NOT_ALLOWED).withEntity(ContentTypes.TEXT_PLAIN_UTF8, "use GET /metrics\n");
        }
        return scrape(metrics);
    }

    /** The node's series in Prometheus' text format; 404 with the reason when metrics are off. */
    public static HttpResponse scrape(NodeMetrics metrics) {
        if (!metrics.enabled()) {
            return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND)
                    .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "metrics are off on this node (magicpig.metrics.enabled = false)\n");
        }
        return HttpResponse.create().withEntity(HttpEntities.create(PROMETHEUS, org.apache.pekko.util.ByteString.fromString(metrics.scrape())));
    }

    public int port() {
        return binding.localAddress().getPort();
    }

    @Override
    public void close() throws Exception {
        binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
