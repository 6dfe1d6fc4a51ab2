package magicpig.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import magicpig.wire.ClusterMessage;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * Owns one generation (cluster sharding, keyed by request id): its request, token log, state and
 * subscriber. It picks a worker, relays the worker's events to the subscriber in order, and is the
 * one place that decides what happens when the worker or the subscriber goes away.
 */
public final class SequenceEntity extends AbstractBehavior<SequenceEntity.Command> {
    public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "sequence");

    public sealed interface Command extends ClusterMessage {}

    /** Begin the generation; every event goes to subscriber. A repeated Start is ignored. */
    public record Start(GenerationRequest request, ActorRef<SequenceEvent> subscriber) implements Command {}

    /** The client went away or gave up: stop the work and free its memory. */
    public record Cancel() implements Command {}

    /** Reads the entity's state (for tests and the dashboard). */
    public record GetState(ActorRef<State> replyTo) implements Command {}

    public record State(String sequenceId, Phase phase, int tokens, String worker) implements ClusterMessage {}

    public enum Phase { IDLE, QUEUED, RUNNING, FINISHED, FAILED, CANCELLED }

    private record FromWorker(SequenceEvent event) implements Command {}

    private record WorkersFound(Receptionist.Listing listing) implements Command {}

    private record WorkerGone() implements Command {}

    private record SubscriberGone() implements Command {}

    private final String id;
    private final ActorRef<SequenceEvent> events;
    private final List<Integer> tokens = new ArrayList<>();
    private GenerationRequest request;
    private ActorRef<SequenceEvent> subscriber;
    private ActorRef<TransformerWorker.Command> worker;
    private String workerName = "";
    private Phase phase = Phase.IDLE;

    public static Behavior<Command> create(String sequenceId) {
        return Behaviors.setup(ctx -> new SequenceEntity(ctx, sequenceId));
    }

    private SequenceEntity(ActorContext<Command> ctx, String id) {
        super(ctx);
        this.id = id;
        this.events = ctx.messageAdapter(SequenceEvent.class, FromWorker::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Start.class, this::onStart)
                .onMessage(WorkersFound.class, this::onWorkersFound)
                .onMessage(FromWorker.class, m -> onEvent(m.event()))
                .onMessage(Cancel.class, m -> onCancel())
                .onMessage(WorkerGone.class, m -> onWorkerGone())
                .onMessage(SubscriberGone.class, m -> onCancel())
                .onMessage(GetState.class, m -> {
                    m.replyTo().tell(new State(id, phase, tokens.size(), workerName));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onStart(Start m) {
        if (phase != Phase.IDLE) return this;
        request = m.request();
        subscriber = m.subscriber();
        getContext().watchWith(subscriber, new SubscriberGone());
        phase = Phase.QUEUED;
        getContext().getSystem().receptionist().tell(Receptionist.find(TransformerWorker.KEY,
                getContext().messageAdapter(Receptionist.Listing.class, WorkersFound::new)));
        return this;
    }

    private Behavior<Command> onWorkersFound(WorkersFound m) {
        if (phase != Phase.QUEUED) return this;
        List<ActorRef<TransformerWorker.Command>> workers = new ArrayList<>(m.listing().getServiceInstances(TransformerWorker.KEY));
        if (workers.isEmpty()) {
            return fail("no transformer worker is up in the cluster");
        }
        // Spread sequences over workers by id; a stable order makes the choice reproducible.
        workers.sort(Comparator.comparing(w -> w.path().toString()));
        worker = workers.get(Math.floorMod(id.hashCode(), workers.size()));
        getContext().watchWith(worker, new WorkerGone());
        worker.tell(new TransformerWorker.Admit(request, events));
        phase = Phase.RUNNING;
        return this;
    }

    private Behavior<Command> onEvent(SequenceEvent e) {
        if (phase != Phase.RUNNING) return this;
        switch (e) {
            case SequenceEvent.Admitted a -> workerName = a.worker();
            case SequenceEvent.Token t -> {
                if (t.index() != tokens.size()) return this; // a duplicate or stale event
                tokens.add(t.token());
            }
            case SequenceEvent.Finished f -> phase = Phase.FINISHED;
            case SequenceEvent.Failed f -> phase = Phase.FAILED;
        }
        subscriber.tell(e);
        return phase == Phase.RUNNING ? this : done();
    }

    private Behavior<Command> onWorkerGone() {
        if (phase != Phase.RUNNING) return this;
        return fail("worker " + (workerName.isEmpty() ? String.valueOf(worker.path()) : workerName)
                + " left the cluster after " + tokens.size() + " tokens");
    }

    private Behavior<Command> onCancel() {
        if (worker != null && phase == Phase.RUNNING) worker.tell(new TransformerWorker.Cancel(id));
        phase = Phase.CANCELLED;
        return done();
    }

    private Behavior<Command> fail(String error) {
        phase = Phase.FAILED;
        if (subscriber != null) subscriber.tell(new SequenceEvent.Failed(id, error));
        return done();
    }

    private Behavior<Command> done() {
        return Behaviors.stopped();
    }
}
