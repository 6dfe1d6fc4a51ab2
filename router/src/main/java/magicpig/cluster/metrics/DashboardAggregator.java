package magicpig.cluster.metrics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import magicpig.metrics.Buckets;
import magicpig.metrics.LatencyWindow;
import magicpig.wire.ClusterMessage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A gateway node's view of the whole cluster for the dashboard: it keeps the latest
 * {@link NodeSnapshot} of every node (registered under {@link #KEY}, so every node's
 * {@link MetricsReporter} finds it) and, asked, joins them with the cluster's membership into one
 * {@link DashboardState}. Snapshots older than {@value #STALE_REPORTS} report intervals are
 * dropped (a node that stopped reporting shows its membership only).
 */
public final class DashboardAggregator {
    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "dashboard-aggregator");
    public static final int STALE_REPORTS = 5;

    public sealed interface Command extends ClusterMessage permits NodeSnapshot, GetState {}

    /** Asks for the dashboard's state now (local only). */
    public record GetState(ActorRef<DashboardState> replyTo) implements Command {}

    private DashboardAggregator() {}

    public static Behavior<Command> create(long staleAfterMillis) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
            Map<String, NodeSnapshot> latest = new HashMap<>();
            Cluster cluster = Cluster.get(ctx.getSystem());
            return Behaviors.receive(Command.class)
                    .onMessage(NodeSnapshot.class, s -> {
                        latest.put(s.address(), s);
                        return Behaviors.same();
                    })
                    .onMessage(GetState.class, m -> {
                        long now = System.currentTimeMillis();
                        latest.values().removeIf(s -> now - s.time() > staleAfterMillis);
                        m.replyTo().tell(compose(now, cluster, latest));
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    /** The members, in address order, with what they last reported; the cluster-wide figures summed over the reports. */
    static DashboardState compose(long now, Cluster cluster, Map<String, NodeSnapshot> latest) {
        var state = cluster.state();
        Set<Member> unreachable = state.getUnreachable();
        List<Member> members = new ArrayList<>();
        state.getMembers().forEach(members::add);
        members.sort(Comparator.comparing(m -> MetricsExtension.nodeLabel(m.address())));
        List<DashboardState.NodeView> nodes = new ArrayList<>();
        List<NodeSnapshot> reports = new ArrayList<>();
        for (Member m : members) {
            String address = MetricsExtension.nodeLabel(m.address());
            List<String> roles = new ArrayList<>(new TreeSet<>(m.getRoles()));
            roles.removeIf(r -> r.startsWith("dc-"));
            String status = unreachable.contains(m) ? "Unreachable" : statusName(m);
            NodeSnapshot s = latest.get(address);
            if (s != null) reports.add(s);
            nodes.add(new DashboardState.NodeView(address, roles, status, s == null ? List.of() : s.actors(),
                    s == null ? List.of() : s.shards(), s == null ? 0 : s.kvBytes()));
        }
        int running = 0, waiting = 0;
        long completed = 0, generated = 0;
        double perSec = 0;
        int layers = 0;
        long[] ttft = new long[Buckets.REQUEST.length + 1], itl = new long[Buckets.TOKEN.length + 1];
        for (NodeSnapshot s : reports) {
            running += s.running();
            waiting += s.waiting() + s.pending();
            completed += s.completed();
            generated += s.generatedTokens();
            perSec += s.tokensPerSec();
            layers = Math.max(layers, s.offloadedKeys().length);
            add(ttft, s.ttft());
            add(itl, s.itl());
        }
        return new DashboardState(now, nodes, new DashboardState.Sequences(running, waiting, completed),
                new DashboardState.Tokens(generated, MetricsReporter.round(perSec)), sampledFraction(layers, reports),
                quantiles(Buckets.REQUEST, ttft), quantiles(Buckets.TOKEN, itl));
    }

    /**
     * Per layer: the offloaded keys attended since the last reports over those that could have
     * been, summed over the workers; when no step ran since, the mean of their last steps'
     * fractions; null for a layer no worker ran sparse.
     */
    static List<Double> sampledFraction(int layers, List<NodeSnapshot> reports) {
        List<Double> out = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            long attended = 0, offloaded = 0, lastCount = 0;
            double lastSum = 0;
            for (NodeSnapshot s : reports) {
                if (l >= s.offloadedKeys().length) continue;
                attended += s.sampledKeys()[l];
                offloaded += s.offloadedKeys()[l];
                Double f = s.lastFraction().get(l);
                if (f != null) {
                    lastSum += f;
                    lastCount++;
                }
            }
            if (offloaded > 0) out.add(Math.round(1e6 * attended / (double) offloaded) / 1e6);
            else out.add(lastCount > 0 ? Math.round(1e6 * lastSum / lastCount) / 1e6 : null);
        }
        return out;
    }

    private static void add(long[] into, long[] counts) {
        for (int i = 0; i < Math.min(into.length, counts.length); i++) into[i] += counts[i];
    }

    private static DashboardState.Quantiles quantiles(double[] bounds, long[] counts) {
        return new DashboardState.Quantiles(MetricsReporter.ms(LatencyWindow.quantile(bounds, counts, 0.5)),
                MetricsReporter.ms(LatencyWindow.quantile(bounds, counts, 0.99)));
    }

    /** Up, Joining, WeaklyUp, Leaving, Exiting, Down, Removed, PreparingForShutdown, ReadyForShutdown. */
    private static String statusName(Member m) {
        String s = m.status().toString();
        return s.isEmpty() ? "Unknown" : s;
    }
}
