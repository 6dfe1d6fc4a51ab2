package magicpig.cluster.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import magicpig.metrics.Buckets;
import magicpig.metrics.LatencyWindow;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Actor-level metrics of one node, per actor type and, where their number is bounded (the worker,
 * the shards), per instance; actors that come and go per request (sequence entities, their
 * subscribers) share one series per type, {@code instance="all"}:
 * <ul>
 *   <li>{@code magicpig_actor_processing_seconds{type,instance}}: time to handle one message (a
 *       histogram; its {@code _count} is the messages processed);
 *   <li>{@code magicpig_actor_messages_total{type,instance}}: the same count as a counter of its own;
 *   <li>{@code magicpig_actor_mailbox_depth{type,instance}}: messages waiting, summed over the instances.
 * </ul>
 * {@link #instrument} wraps a behavior in a {@link MeteredBehavior}; {@link #props} selects the
 * {@link CountingMailbox} (both must be used for the mailbox depth). Switched off, both return
 * what they were given.
 */
public final class ActorMetrics {
    /** The instance label of actors counted per type only. */
    public static final String ALL = "all";

    private final MeterRegistry registry;
    private final boolean enabled;
    private final int window;
    private final Map<String, Meters> meters = new ConcurrentHashMap<>();
    private final List<Meters> order = new java.util.concurrent.CopyOnWriteArrayList<>();

    ActorMetrics(MeterRegistry registry, boolean enabled, int window) {
        this.registry = registry;
        this.enabled = enabled;
        this.window = window;
    }

    /** The behavior, metered as an actor of {@code type} (e.g. TransformerWorker) named {@code instance} (or {@link #ALL}). */
    public <T> Behavior<T> instrument(String type, String instance, Behavior<T> behavior) {
        if (!enabled) return behavior;
        Meters m = meters(type, instance);
        return Behaviors.intercept(() -> new MeteredBehavior<>(m), behavior);
    }

    /** Props with the counting mailbox (when on), to spawn an instrumented actor with. */
    public Props props() {
        return props(Props.empty());
    }

    /** {@code base} with the counting mailbox (when on). */
    public Props props(Props base) {
        return enabled ? base.withMailboxFromConfig(CountingMailbox.CONFIG) : base;
    }

    public boolean enabled() {
        return enabled;
    }

    Meters meters(String type, String instance) {
        return meters.computeIfAbsent(type + '\u0000' + instance, k -> {
            Meters m = new Meters(registry, type, instance, window);
            order.add(m);
            return m;
        });
    }

    /** Every type and instance seen so far, in the order they appeared. */
    public List<Meters> all() {
        return new ArrayList<>(order);
    }

    /** The meters of one actor type and instance. */
    public static final class Meters {
        private final String type, instance;
        private final Timer timer;
        private final Set<CountingMailbox.Queue> mailboxes = ConcurrentHashMap.newKeySet();
        private final LatencyWindow recent;

        Meters(MeterRegistry r, String type, String instance, int window) {
            this.type = type;
            this.instance = instance;
            this.timer = Timer.builder("magicpig.actor.processing").tag("type", type).tag("instance", instance)
                    .description("Time an actor took to handle one message")
                    .serviceLevelObjectives(Buckets.durations(Buckets.FAST)).register(r);
            FunctionCounter.builder("magicpig.actor.messages", timer, Timer::count).tag("type", type).tag("instance", instance)
                    .description("Messages an actor processed").register(r);
            Gauge.builder("magicpig.actor.mailbox.depth", this, Meters::depth).tag("type", type).tag("instance", instance)
                    .description("Messages waiting in the mailboxes of the actor (or of every actor of the type)").register(r);
            this.recent = new LatencyWindow(timer, Buckets.FAST, window);
        }

        public String type() {
            return type;
        }

        public String instance() {
            return instance;
        }

        Timer timer() {
            return timer;
        }

        /** The last few seconds of the timer, for the dashboard (ticked by the node's reporter). */
        public LatencyWindow recent() {
            return recent;
        }

        void watch(CountingMailbox.Queue q) {
            mailboxes.add(q);
        }

        void forget(CountingMailbox.Queue q) {
            mailboxes.remove(q);
        }

        /** Messages waiting now, over every live instance. */
        public int depth() {
            int n = 0;
            for (CountingMailbox.Queue q : mailboxes) {
                if (q.closed()) mailboxes.remove(q);
                else n += q.depth();
            }
            return n;
        }
    }
}
