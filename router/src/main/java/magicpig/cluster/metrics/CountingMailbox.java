package magicpig.cluster.metrics;

import com.typesafe.config.Config;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.dispatch.Envelope;
import org.apache.pekko.dispatch.MailboxType;
import org.apache.pekko.dispatch.MessageQueue;
import org.apache.pekko.dispatch.ProducesMessageQueue;
import org.apache.pekko.dispatch.UnboundedMailbox;
import org.apache.pekko.dispatch.UnboundedMessageQueueSemantics;
import scala.Option;

/**
 * Pekko's unbounded mailbox with a count of the messages in it, so that an actor's mailbox depth
 * is one read instead of a walk over the queue ({@code ConcurrentLinkedQueue.size} is O(n)).
 * Configured in {@code magicpig-defaults.conf} as {@value #CONFIG}; actors get it through
 * {@link ActorMetrics#props()}.
 *
 * <p>Each queue is listed under its owner until the owner's {@link MeteredBehavior} takes it at
 * start ({@link #take}), so the actor's meters can read it; a queue nobody took is forgotten when
 * its actor ends.
 */
public final class CountingMailbox implements MailboxType, ProducesMessageQueue<CountingMailbox.Queue> {
    /** The configuration path of this mailbox. */
    public static final String CONFIG = "magicpig-counting-mailbox";

    private static final ConcurrentHashMap<ActorRef, Queue> UNCLAIMED = new ConcurrentHashMap<>();

    /** The constructor Pekko calls for a configured mailbox type. */
    public CountingMailbox(ActorSystem.Settings settings, Config config) {
    }

    @Override
    public MessageQueue create(Option<ActorRef> owner, Option<ActorSystem> system) {
        Queue q = new Queue(owner.isDefined() ? owner.get() : null);
        if (q.owner != null) UNCLAIMED.put(q.owner, q);
        return q;
    }

    /** The queue of an actor's mailbox, taken once (null when it has none of ours, or it was taken). */
    static Queue take(ActorRef owner) {
        return UNCLAIMED.remove(owner);
    }

    /** An unbounded queue that counts what it holds. */
    public static final class Queue implements MessageQueue, UnboundedMessageQueueSemantics {
        private final UnboundedMailbox.MessageQueue queue = new UnboundedMailbox.MessageQueue();
        private final AtomicInteger depth = new AtomicInteger();
        private final ActorRef owner;
        private volatile boolean closed;

        Queue(ActorRef owner) {
            this.owner = owner;
        }

        @Override
        public void enqueue(ActorRef receiver, Envelope handle) {
            depth.incrementAndGet();
            queue.enqueue(receiver, handle);
        }

        @Override
        public Envelope dequeue() {
            Envelope e = queue.dequeue();
            if (e != null) depth.decrementAndGet();
            return e;
        }

        @Override
        public int numberOfMessages() {
            return Math.max(0, depth.get());
        }

        @Override
        public boolean hasMessages() {
            return queue.hasMessages();
        }

        @Override
        public void cleanUp(ActorRef owner, MessageQueue deadLetters) {
            closed = true;
            if (this.owner != null) UNCLAIMED.remove(this.owner, this);
            queue.cleanUp(owner, deadLetters);
            depth.set(0);
        }

        /** Messages waiting now (0 once the actor has ended). */
        public int depth() {
            return Math.max(0, depth.get());
        }

        /** Whether the actor has ended. */
        boolean closed() {
            return closed;
        }
    }
}
