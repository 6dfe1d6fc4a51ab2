package magicpig.cluster.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import magicpig.metrics.AttentionMetrics;
import magicpig.metrics.Buckets;
import magicpig.metrics.LatencyWindow;
import magicpig.metrics.NodeMetrics;
import magicpig.metrics.RequestMetrics;
import magicpig.metrics.ShardMetrics;
import magicpig.metrics.WorkerMetrics;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Every node's reporter: once per {@code magicpig.metrics.report-interval} it reads the node's
 * meters into a {@link NodeSnapshot} and sends it to every {@link DashboardAggregator} the
 * receptionist lists (one per gateway node). Reading the meters costs the hot paths nothing: they
 * only ever record.
 */
public final class MetricsReporter {
    private MetricsReporter() {}

    private sealed interface Command {}

    private record Tick() implements Command {}

    private record Aggregators(Receptionist.Listing listing) implements Command {}

    public static Behavior<Object> create(MetricsExtension metrics) {
        return Behaviors.<Command>setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(DashboardAggregator.KEY,
                    ctx.messageAdapter(Receptionist.Listing.class, Aggregators::new)));
            return Behaviors.withTimers(timers -> {
                timers.startTimerWithFixedDelay(new Tick(), metrics.settings().interval());
                return new Reader(metrics).behavior(Set.of());
            });
        }).unsafeCast();
    }

    /** Reads the node's meters; its windows live as long as the reporter. */
    private static final class Reader {
        private final MetricsExtension metrics;
        private LatencyWindow ttft, itl;
        private final long[] generated, times;
        private long ticks;
        private long[] sampled = new long[0], offloaded = new long[0];

        Reader(MetricsExtension metrics) {
            this.metrics = metrics;
            int window = metrics.settings().window();
            generated = new long[window + 1];
            times = new long[window + 1];
        }

        Behavior<Command> behavior(Set<ActorRef<DashboardAggregator.Command>> aggregators) {
            return Behaviors.receive(Command.class)
                    .onMessage(Aggregators.class, m -> behavior(Set.copyOf(m.listing().getServiceInstances(DashboardAggregator.KEY))))
                    .onMessage(Tick.class, m -> {
                        NodeSnapshot s = read(System.nanoTime());
                        for (var a : aggregators) a.tell(s);
                        return Behaviors.same();
                    })
                    .build();
        }

        NodeSnapshot read(long now) {
            NodeMetrics n = metrics.node();
            List<DashboardState.ActorView> actors = new ArrayList<>();
            for (ActorMetrics.Meters m : metrics.actors().all()) {
                LatencyWindow w = m.recent();
                w.tick(now);
                actors.add(new DashboardState.ActorView(m.type(), m.instance(), round(w.rate()), w.total(), ms(w.quantile(0.5)),
                        ms(w.quantile(0.99)), m.depth()));
            }
            List<DashboardState.ShardView> shards = new ArrayList<>();
            long kv = 0;
            for (ShardMetrics s : n.shards()) {
                long bytes = s.bytes();
                shards.add(new DashboardState.ShardView(s.id(), s.blocks(), bytes, s.budgetBytes()));
                kv += bytes;
            }
            WorkerMetrics w = n.workerIfAny();
            long tokens = w == null ? 0 : w.generatedTokens();
            int slot = (int) (ticks % generated.length);
            generated[slot] = tokens;
            times[slot] = now;
            int oldest = ticks < generated.length ? 0 : (int) ((ticks + 1) % generated.length);
            double seconds = (now - times[oldest]) / 1e9;
            double perSec = ticks == 0 || seconds <= 0 ? 0 : (tokens - generated[oldest]) / seconds;
            ticks++;
            if (w != null) kv += w.kvBytes();
            RequestMetrics r = n.requestsIfAny();
            AttentionMetrics a = n.attentionIfAny();
            long[] sampledDelta = new long[0], offloadedDelta = new long[0];
            List<Double> last = List.of();
            if (a != null) {
                int layers = a.layers();
                if (sampled.length != layers) {
                    sampled = new long[layers];
                    offloaded = new long[layers];
                }
                sampledDelta = new long[layers];
                offloadedDelta = new long[layers];
                last = new ArrayList<>(layers);
                for (int l = 0; l < layers; l++) {
                    long s = a.attendedKeys(l), o = a.offloadedKeys(l);
                    sampledDelta[l] = s - sampled[l];
                    offloadedDelta[l] = o - offloaded[l];
                    sampled[l] = s;
                    offloaded[l] = o;
                    double f = a.lastFraction(l);
                    last.add(Double.isNaN(f) ? null : f);
                }
            }
            if (ttft == null && r != null) { // a gateway's request metrics appear with its first sequence
                ttft = new LatencyWindow(r.timeToFirstToken(), Buckets.REQUEST, metrics.settings().window());
                itl = new LatencyWindow(r.interTokenLatency(), Buckets.TOKEN, metrics.settings().window());
            }
            if (ttft != null) {
                ttft.tick(now);
                itl.tick(now);
            }
            return new NodeSnapshot(n.node(), System.currentTimeMillis(), actors, shards, kv, tokens, round(perSec),
                    w == null ? 0 : w.running(), w == null ? 0 : w.waiting(), r == null ? 0 : r.pending(), r == null ? 0 : r.completed(),
                    sampledDelta, offloadedDelta, last, ttft == null ? new long[0] : ttft.recent(), itl == null ? new long[0] : itl.recent());
        }
    }

    /** Milliseconds with three decimals, or null for NaN. */
    static Double ms(double seconds) {
        return Double.isNaN(seconds) ? null : Math.round(seconds * 1e6) / 1e3;
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
