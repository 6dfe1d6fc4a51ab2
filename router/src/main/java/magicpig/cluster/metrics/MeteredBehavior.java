package magicpig.cluster.metrics;

import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/**
 * Times every message an actor handles into its {@link ActorMetrics.Meters} (the timer's count is
 * the messages processed), and at start hands the actor's counting mailbox to the meters, which
 * read its depth. Per message: two {@code System.nanoTime} calls and one timer record (a histogram
 * bucket and two adders, no allocation).
 */
final class MeteredBehavior<T> extends BehaviorInterceptor<T, T> {
    private final ActorMetrics.Meters meters;
    private CountingMailbox.Queue mailbox;

    @SuppressWarnings("unchecked")
    MeteredBehavior(ActorMetrics.Meters meters) {
        super((Class<T>) (Class<?>) Object.class); // every message
        this.meters = meters;
    }

    @Override
    public Behavior<T> aroundStart(TypedActorContext<T> ctx, PreStartTarget<T> target) {
        if (mailbox == null) {
            mailbox = CountingMailbox.take(Adapter.toClassic(ctx.asJava().getSelf()));
            if (mailbox != null) meters.watch(mailbox);
        }
        return target.start(ctx);
    }

    @Override
    public Behavior<T> aroundReceive(TypedActorContext<T> ctx, T msg, ReceiveTarget<T> target) {
        long t0 = System.nanoTime();
        try {
            return target.apply(ctx, msg);
        } finally {
            meters.timer().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public Behavior<T> aroundSignal(TypedActorContext<T> ctx, Signal signal, SignalTarget<T> target) {
        if (signal instanceof PostStop && mailbox != null) meters.forget(mailbox);
        return target.apply(ctx, signal);
    }
}
