package magicpig.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import magicpig.cluster.metrics.ActorMetrics;
import magicpig.cluster.metrics.MetricsExtension;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * Submits generations to the cluster from a gateway node: each request becomes a
 * {@link SequenceEntity}, and its events reach the caller's listener in order.
 */
public final class SequenceClient {
    private static final AtomicLong NEXT = new AtomicLong();
    private static final Object CANCEL = new Object();
    private final ActorSystem<?> system;
    private final ClusterSharding sharding;
    private final ActorMetrics actors;

    public SequenceClient(ActorSystem<?> system) {
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.actors = MetricsExtension.get(system).actors();
    }

    /** A running generation. */
    public record Handle(String sequenceId, CompletionStage<SequenceEvent> done, Runnable cancel) {}

    /**
     * Starts the request. The listener sees Admitted, then Token events in order, then exactly one
     * Finished or Failed; {@code done} completes with that last event.
     */
    public Handle generate(GenerationRequest request, Consumer<SequenceEvent> listener) {
        CompletableFuture<SequenceEvent> done = new CompletableFuture<>();
        Behavior<Object> subscriber = Behaviors.receive((ctx, m) -> {
            if (m instanceof SequenceEvent e) {
                listener.accept(e);
                if (e instanceof SequenceEvent.Finished || e instanceof SequenceEvent.Failed) {
                    done.complete(e);
                    return Behaviors.stopped();
                }
                return Behaviors.same();
            }
            done.complete(new SequenceEvent.Failed(request.sequenceId(), "cancelled"));
            return Behaviors.stopped(); // CANCEL
        });
        ActorRef<Object> ref = system.systemActorOf(actors.instrument("SequenceSubscriber", ActorMetrics.ALL, subscriber),
                "subscriber-" + NEXT.incrementAndGet(), actors.props());
        EntityRef<SequenceEntity.Command> entity = sharding.entityRefFor(SequenceEntity.TYPE_KEY, request.sequenceId());
        entity.tell(new SequenceEntity.Start(request, ref.narrow()));
        return new Handle(request.sequenceId(), done, () -> {
            entity.tell(new SequenceEntity.Cancel());
            ref.tell(CANCEL);
        });
    }
}
