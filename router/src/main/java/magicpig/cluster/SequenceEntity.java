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
 *
 * <p>When the worker dies, the entity resubmits "prompt + tokens so far" (with the token budget that
 * is left) to another worker as a new attempt, under its own id ({@code id~1}, ...) so that a late
 * event of the old attempt cannot mix in; the new attempt's token indices are shifted by the tokens
 * already sent, so the subscriber sees one gapless, duplicate-free stream. Greedy decoding continues
 * with the same tokens; sampled decoding continues with a fresh draw from the same seed.
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

    private record WorkerGone(ActorRef<TransformerWorker.Command> worker) implements Command {}

    private record SubscriberGone() implements Command {}

    private final String id;
    private final ActorRef<SequenceEvent> events;
    private final List<Integer> tokens = new ArrayList<>();
    private GenerationRequest request;
    private ActorRef<SequenceEvent> subscriber;
    private ActorRef<TransformerWorker.Command> worker;
    private String workerName = "";
    private Phase phase = Phase.IDLE;
    /** Workers a sequence may run on; when this many have died under it, it fails. */
    private static final int MAX_ATTEMPTS = 3;
    private final List<ActorRef<TransformerWorker.Command>> lost = new ArrayList<>();
    private int attempt;
    private String attemptId;
    /** Tokens produced before the current attempt began (its indices count from here). */
    private int offset;
    private boolean admittedSent;

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
                .onMessage(WorkerGone.class, this::onWorkerGone)
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
        workers.removeAll(lost);
        if (workers.isEmpty()) {
            return fail(attempt == 0 ? "no transformer worker is up in the cluster"
                    : "worker " + workerName + " left the cluster after " + tokens.size() + " tokens and no other worker is up");
        }
        // Spread sequences over workers by id; a stable order makes the choice reproducible.
        workers.sort(Comparator.comparing(w -> w.path().toString()));
        worker = workers.get(Math.floorMod(id.hashCode(), workers.size()));
        getContext().watchWith(worker, new WorkerGone(worker));
        worker.tell(new TransformerWorker.Admit(attemptRequest(), events));
        phase = Phase.RUNNING;
        return this;
    }

    /** The request as this attempt's worker sees it: after a lost worker, the prompt grows by the tokens already sent. */
    private GenerationRequest attemptRequest() {
        if (attempt == 0) {
            attemptId = id;
            return request;
        }
        attemptId = id + "~" + attempt;
        int[] prompt = java.util.Arrays.copyOf(request.prompt(), request.prompt().length + tokens.size());
        for (int i = 0; i < tokens.size(); i++) prompt[request.prompt().length + i] = tokens.get(i);
        return new GenerationRequest(attemptId, prompt, request.maxTokens() - tokens.size(), request.sampling(), request.attention());
    }

    private Behavior<Command> onEvent(SequenceEvent e) {
        if (phase != Phase.RUNNING || !e.sequenceId().equals(attemptId)) return this; // not for the current attempt
        SequenceEvent out;
        switch (e) {
            case SequenceEvent.Admitted a -> {
                workerName = a.worker();
                if (admittedSent) return this;
                admittedSent = true;
                out = new SequenceEvent.Admitted(id, a.worker(), request.prompt().length);
            }
            case SequenceEvent.Token t -> {
                int index = t.index() + offset;
                if (index != tokens.size()) return this; // a duplicate or stale event
                tokens.add(t.token());
                out = new SequenceEvent.Token(id, index, t.token());
            }
            case SequenceEvent.Finished f -> {
                phase = Phase.FINISHED;
                out = new SequenceEvent.Finished(id, f.reason(), request.prompt().length, tokens.size());
            }
            case SequenceEvent.Failed f -> {
                phase = Phase.FAILED;
                out = new SequenceEvent.Failed(id, f.error());
            }
        }
        subscriber.tell(out);
        return phase == Phase.RUNNING ? this : done();
    }

    private Behavior<Command> onWorkerGone(WorkerGone m) {
        if (phase != Phase.RUNNING || !m.worker().equals(worker)) return this;
        String name = workerName.isEmpty() ? String.valueOf(worker.path()) : workerName;
        lost.add(worker);
        attempt++;
        if (attempt >= MAX_ATTEMPTS) return fail("worker " + name + " left the cluster after " + tokens.size() + " tokens ("
                + attempt + " workers lost)");
        if (tokens.size() >= request.maxTokens()) { // everything was generated; only the worker's Finished was lost
            phase = Phase.FINISHED;
            subscriber.tell(new SequenceEvent.Finished(id, "length", request.prompt().length, tokens.size()));
            return done();
        }
        getContext().getLog().info("sequence {}: worker {} left the cluster after {} tokens; resubmitting prompt + {} tokens to another worker",
                id, name, tokens.size(), tokens.size());
        offset = tokens.size();
        phase = Phase.QUEUED;
        getContext().getSystem().receptionist().tell(Receptionist.find(TransformerWorker.KEY,
                getContext().messageAdapter(Receptionist.Listing.class, WorkersFound::new)));
        return this;
    }

    private Behavior<Command> onCancel() {
        if (worker != null && phase == Phase.RUNNING) worker.tell(new TransformerWorker.Cancel(attemptId));
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
