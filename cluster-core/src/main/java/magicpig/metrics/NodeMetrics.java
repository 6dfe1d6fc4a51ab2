package magicpig.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import magicpig.transport.TransportStats;

/**
 * The metrics of one cluster node: a Micrometer registry whose every series carries the node's
 * label ({@code node="host:port"}, its cluster address), and the groups of meters the node's parts
 * record into ({@link RequestMetrics}, {@link WorkerMetrics}, {@link AttentionMetrics},
 * {@link ShardMetrics}, the data plane's counters). {@link #scrape} writes them in Prometheus' text
 * format.
 *
 * <p>Switched off ({@code magicpig.metrics.enabled = false}), the registry denies every meter, so
 * each group hands out Micrometer's no-op meters: recording costs a virtual call and nothing else,
 * and {@link #scrape} has nothing to say.
 */
public final class NodeMetrics implements AutoCloseable {
    /** What {@link #scrape} returns: Prometheus' text exposition format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** A node that records nothing: for code run outside a cluster node (tests, tools). */
    public static final NodeMetrics OFF = new NodeMetrics("", false);

    private final String node;
    private final boolean enabled;
    private final MeterRegistry registry;
    private RequestMetrics requests;
    private WorkerMetrics worker;
    private AttentionMetrics attention;
    private final Map<String, ShardMetrics> shards = new ConcurrentHashMap<>();
    private final List<ShardMetrics> shardList = new CopyOnWriteArrayList<>();
    private boolean kvRatio;
    /** What function meters read; Micrometer holds them weakly. */
    private final List<Object> strong = new CopyOnWriteArrayList<>();

    private NodeMetrics(String node, boolean enabled) {
        this.node = node;
        this.enabled = enabled;
        if (enabled) {
            registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            registry.config().commonTags("node", node);
        } else {
            registry = new SimpleMeterRegistry();
            registry.config().meterFilter(MeterFilter.deny());
        }
    }

    /** @param node the node's label, its cluster address as host:port */
    public static NodeMetrics create(String node, boolean enabled) {
        return new NodeMetrics(node, enabled);
    }

    public String node() {
        return node;
    }

    public boolean enabled() {
        return enabled;
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** Every series of this node in Prometheus' text format ({@value #CONTENT_TYPE}); empty when off. */
    public String scrape() {
        return registry instanceof PrometheusMeterRegistry p ? p.scrape() : "";
    }

    /** Serving metrics of the requests whose sequences live here (gateway nodes). */
    public synchronized RequestMetrics requests() {
        if (requests == null) requests = new RequestMetrics(registry);
        return requests;
    }

    /** Serving metrics of this node's transformer worker. */
    public synchronized WorkerMetrics worker() {
        if (worker == null) worker = new WorkerMetrics(registry);
        return worker;
    }

    /** MagicPIG metrics of the sparse attention this node's worker runs, for a model of {@code layers} layers. */
    public synchronized AttentionMetrics attention(int layers) {
        if (attention == null) attention = new AttentionMetrics(registry, layers);
        return attention;
    }

    /** The attention metrics, or null when no worker made them. */
    public synchronized AttentionMetrics attentionIfAny() {
        return attention;
    }

    public synchronized WorkerMetrics workerIfAny() {
        return worker;
    }

    public synchronized RequestMetrics requestsIfAny() {
        return requests;
    }

    /**
     * The meters of one attention shard of this node, named {@code id} (e.g. shard-0), reading its
     * blocks and bytes from {@code store} when scraped.
     */
    public <S> ShardMetrics shard(String id, S store, long budgetBytes, ToDoubleFunction<S> blocks, ToDoubleFunction<S> bytes) {
        ShardMetrics m = shards.computeIfAbsent(id, k -> {
            ShardMetrics s = new ShardMetrics(registry, id, store, budgetBytes, blocks, bytes);
            shardList.add(s);
            return s;
        });
        synchronized (this) {
            if (!kvRatio) {
                kvRatio = true;
                Gauge.builder("magicpig.kv.usage.ratio", this, NodeMetrics::shardUsage)
                        .description("Fraction of this node's attention-shard memory budget that KV blocks hold or reserve")
                        .register(registry);
            }
        }
        return m;
    }

    /** The shards of this node, in the order they were made. */
    public List<ShardMetrics> shards() {
        return List.copyOf(shardList);
    }

    private double shardUsage() {
        double used = 0, budget = 0;
        for (ShardMetrics s : shardList) {
            used += s.bytes();
            budget += s.budgetBytes();
        }
        return budget == 0 ? 0 : used / budget;
    }

    /**
     * Publishes the data plane's transport counters (every endpoint of this node's Aeron client,
     * summed): bytes and messages each way, back-pressure and admin-action events, failed offers,
     * timeouts. The counters are read when scraped; the transport counts them anyway.
     */
    public void bindDataPlane(Supplier<TransportStats> stats) {
        strong.add(stats);
        counter("magicpig.dataplane.sent", "bytes", "Bytes the data plane sent (whole messages, before Aeron framing)", stats,
                TransportStats::bytesSent);
        counter("magicpig.dataplane.received", "bytes", "Bytes the data plane received", stats, TransportStats::bytesReceived);
        counter("magicpig.dataplane.sent.messages", null, "Messages the data plane sent", stats, TransportStats::messagesSent);
        counter("magicpig.dataplane.received.messages", null, "Messages the data plane received", stats, TransportStats::messagesReceived);
        counter("magicpig.dataplane.back.pressure", null, "Aeron offers refused with BACK_PRESSURED (each retry counts)", stats,
                TransportStats::backPressureEvents);
        counter("magicpig.dataplane.admin.actions", null, "Aeron offers refused with ADMIN_ACTION", stats, TransportStats::adminActionEvents);
        counter("magicpig.dataplane.offer.failures", null, "Offers given up (not connected, closed, deadline)", stats,
                TransportStats::offerFailures);
        counter("magicpig.dataplane.timeouts", null, "Waits for replies or handshakes that ran out of time", stats, TransportStats::timeouts);
    }

    private void counter(String name, String unit, String help, Supplier<TransportStats> stats, ToDoubleFunction<TransportStats> f) {
        FunctionCounter.builder(name, stats, s -> f.applyAsDouble(s.get())).baseUnit(unit).description(help).register(registry);
    }

    /** A timer with explicit bucket bounds (seconds), published as a Prometheus histogram. */
    static Timer.Builder timer(String name, String help, double[] bounds) {
        return Timer.builder(name).description(help).serviceLevelObjectives(Buckets.durations(bounds));
    }

    @Override
    public void close() {
        registry.close();
    }
}
