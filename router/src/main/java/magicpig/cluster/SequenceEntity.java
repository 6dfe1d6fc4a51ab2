package magicpig.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import magicpig.metrics.NodeMetrics;
import magicpig.metrics.RequestMetrics;
import magicpig.shard.AttentionShard;
import magicpig.wire.ClusterMessage;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import magicpig.worker.TransformerWorker;
import magicpig.worker.remote.Placement;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
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
 *
 * <p><b>Placement.</b> A MagicPIG request whose prompt offloads tokens has them cut into KV blocks
 * ({@link PlacementPolicy}); the entity reserves each block on an attention shard before the worker
 * sees the request, spreading blocks over the shards round-robin from a start that depends on the
 * id and moving a block to the next shard when one refuses it (budget full). The worker gets the
 * {@link Placement} with the request and ships the blocks at prefill. When a shard holding blocks
 * dies (or the worker reports a data-plane failure), the sequence is rebuilt from its token log:
 * the current attempt is cancelled and "prompt + tokens so far" is placed anew, on the shards still
 * up, and resubmitted, like a lost worker. Every shard is told to release the sequence's blocks when
 * it ends, however it ends.
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

    public enum Phase { IDLE, PLACING, QUEUED, RUNNING, FINISHED, FAILED, CANCELLED }

    private record FromWorker(SequenceEvent event) implements Command {}

    private record WorkersFound(Receptionist.Listing listing) implements Command {}

    private record WorkerGone(ActorRef<TransformerWorker.Command> worker) implements Command {}

    private record SubscriberGone() implements Command {}

    private record ShardsFound(Receptionist.Listing listing) implements Command {}

    private record ReserveResult(int attempt, int block, AttentionShard.ReserveReply reply, Throwable failure) implements Command {}

    private record ShardGone(ActorRef<AttentionShard.Command> shard) implements Command {}

    private record RetryAttempt(int attempt) implements Command {}

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

    /** Attempts, worker and shard losses together, before a sequence fails. */
    private static final int MAX_RECOVERIES = 5;
    private static final Duration RESERVE_TIMEOUT = Duration.ofSeconds(5);
    private final PlacementPolicy policy;
    private final TimerScheduler<Command> timers;
    /** The request of the current attempt, without its placement. */
    private GenerationRequest current;
    private List<int[]> blocks = List.of();
    private List<ActorRef<AttentionShard.Command>> shards = List.of();
    private Placement.Block[] placed;
    private int[] tried;
    private int[] candidate;
    private int outstanding;
    private final List<String> refusals = new ArrayList<>();
    private Placement placement;
    /** Shards holding (or reserving) blocks of the current attempt, by the sequence's wire id there. */
    private final Map<ActorRef<AttentionShard.Command>, Long> holding = new LinkedHashMap<>();
    private final Set<ActorRef<AttentionShard.Command>> watchedShards = new LinkedHashSet<>();
    private final Set<ActorRef<AttentionShard.Command>> lostShards = new LinkedHashSet<>();
    private int recoveries;
    private final RequestMetrics metrics;
    /** When Start came, and the last token (System.nanoTime). */
    private long startedAt, lastTokenAt;

    public static Behavior<Command> create(String sequenceId) {
        return create(sequenceId, null);
    }

    /** @param policy how to place offloaded tokens on attention shards; null: never (attention stays on the worker) */
    public static Behavior<Command> create(String sequenceId, PlacementPolicy policy) {
        return create(sequenceId, policy, NodeMetrics.OFF.requests());
    }

    /** As {@link #create(String, PlacementPolicy)}, recording the request's latencies and outcome in {@code metrics}. */
    public static Behavior<Command> create(String sequenceId, PlacementPolicy policy, RequestMetrics metrics) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new SequenceEntity(ctx, timers, sequenceId, policy, metrics)));
    }

    private SequenceEntity(ActorContext<Command> ctx, TimerScheduler<Command> timers, String id, PlacementPolicy policy,
                           RequestMetrics metrics) {
        super(ctx);
        this.metrics = metrics;
        this.id = id;
        this.timers = timers;
        this.policy = policy;
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
                .onMessage(ShardsFound.class, this::onShardsFound)
                .onMessage(ReserveResult.class, this::onReserveResult)
                .onMessage(ShardGone.class, this::onShardGone)
                .onMessage(RetryAttempt.class, m -> m.attempt() == attempt && phase == Phase.QUEUED ? beginAttempt() : this)
                .onMessage(GetState.class, m -> {
                    m.replyTo().tell(new State(id, phase, tokens.size(), workerName));
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    if (pending(phase)) metrics.pending(-1); // stopped while waiting (e.g. the node shuts down)
                    return this;
                })
                .build();
    }

    /** Moves to phase p, counting the requests that are pending (placing blocks or looking for a worker). */
    private void enter(Phase p) {
        if (pending(p) != pending(phase)) metrics.pending(pending(p) ? 1 : -1);
        phase = p;
    }

    private static boolean pending(Phase p) {
        return p == Phase.PLACING || p == Phase.QUEUED;
    }

    private Behavior<Command> onStart(Start m) {
        if (phase != Phase.IDLE) return this;
        request = m.request();
        subscriber = m.subscriber();
        startedAt = System.nanoTime();
        getContext().watchWith(subscriber, new SubscriberGone());
        return beginAttempt();
    }

    /** Places the current attempt's blocks, if it has any, then looks for a worker. */
    private Behavior<Command> beginAttempt() {
        current = attemptRequest();
        placement = null;
        try {
            blocks = policy == null ? List.of() : policy.blocks(current);
        } catch (IllegalArgumentException e) {
            return fail(e.getMessage());
        }
        if (blocks.isEmpty()) return findWorkers();
        enter(Phase.PLACING);
        getContext().getSystem().receptionist().tell(Receptionist.find(AttentionShard.KEY,
                getContext().messageAdapter(Receptionist.Listing.class, ShardsFound::new)));
        return this;
    }

    private Behavior<Command> findWorkers() {
        enter(Phase.QUEUED);
        getContext().getSystem().receptionist().tell(Receptionist.find(TransformerWorker.KEY,
                getContext().messageAdapter(Receptionist.Listing.class, WorkersFound::new)));
        return this;
    }

    private Behavior<Command> onShardsFound(ShardsFound m) {
        if (phase != Phase.PLACING) return this;
        List<ActorRef<AttentionShard.Command>> up = new ArrayList<>(m.listing().getServiceInstances(AttentionShard.KEY));
        up.removeAll(lostShards);
        if (up.isEmpty()) return fail("the prompt offloads tokens to attention shards, but no cpu-attention shard is up");
        up.sort(Comparator.comparing(r -> r.path().toString()));
        shards = up;
        int n = blocks.size();
        placed = new Placement.Block[n];
        tried = new int[n];
        candidate = new int[n];
        refusals.clear();
        outstanding = n;
        int start = Math.floorMod(attemptId.hashCode(), up.size());
        for (int b = 0; b < n; b++) {
            candidate[b] = (start + b) % up.size();
            reserve(b);
        }
        return this;
    }

    private void reserve(int b) {
        ActorRef<AttentionShard.Command> shard = shards.get(candidate[b]);
        long wire = Placement.wireId(attemptId);
        long bytes = policy.blockBytes(current, blocks.get(b)[1] - blocks.get(b)[0]);
        holding.putIfAbsent(shard, wire);
        if (watchedShards.add(shard)) getContext().watchWith(shard, new ShardGone(shard));
        int forAttempt = attempt;
        getContext().ask(AttentionShard.ReserveReply.class, shard, RESERVE_TIMEOUT,
                replyTo -> new AttentionShard.Reserve(wire, b, bytes, replyTo),
                (reply, failure) -> new ReserveResult(forAttempt, b, reply, failure));
    }

    private Behavior<Command> onReserveResult(ReserveResult m) {
        if (phase != Phase.PLACING || m.attempt() != attempt) return this;
        int b = m.block();
        if (m.reply() instanceof AttentionShard.Reserved r) {
            int[] range = blocks.get(b);
            placed[b] = new Placement.Block(b, range[0], range[1], r.shard());
            if (--outstanding > 0) return this;
            placement = new Placement(Placement.wireId(attemptId), List.of(placed));
            return findWorkers();
        }
        String why = m.reply() instanceof AttentionShard.Refused r ? r.reason()
                : shards.get(candidate[b]).path() + " did not answer (" + m.failure() + ")";
        refusals.add(why);
        if (++tried[b] >= shards.size()) {
            return fail("not enough attention capacity for the offloaded tokens of this prompt: " + String.join("; ", refusals));
        }
        candidate[b] = (candidate[b] + 1) % shards.size();
        reserve(b);
        return this;
    }

    private Behavior<Command> onShardGone(ShardGone m) {
        lostShards.add(m.shard());
        if (!holding.containsKey(m.shard())) return this;
        holding.remove(m.shard());
        if (phase != Phase.RUNNING && phase != Phase.PLACING && phase != Phase.QUEUED) return this;
        getContext().getLog().info("sequence {}: attention shard {} left the cluster; rebuilding its blocks from the token log",
                id, m.shard().path());
        return recover("attention shard " + m.shard().path() + " left the cluster");
    }

    /** Starts a new attempt (prompt + tokens so far, placed anew) after a lost shard or a data-plane failure. */
    private Behavior<Command> recover(String why) {
        if (worker != null && phase == Phase.RUNNING) worker.tell(new TransformerWorker.Cancel(attemptId));
        releaseShards();
        if (++recoveries > MAX_RECOVERIES) return fail(why + " (gave up after " + MAX_RECOVERIES + " recoveries)");
        if (tokens.size() >= request.maxTokens()) return finishedAtLength();
        metrics.preempted(false, request.prompt().length + tokens.size());
        attempt++;
        offset = tokens.size();
        enter(Phase.QUEUED);
        // give failure detection a moment, so that a dead shard is not chosen again at once
        timers.startSingleTimer(new RetryAttempt(attempt), Duration.ofSeconds(1));
        return this;
    }

    /** Tells every shard of the current attempt to free its blocks (the worker also frees them over Aeron). */
    private void releaseShards() {
        for (var e : holding.entrySet()) {
            e.getKey().tell(new AttentionShard.Release(e.getValue(), getContext().getSystem().ignoreRef()));
        }
        holding.clear();
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
        worker.tell(new TransformerWorker.Admit(placement == null ? current : current.withPlacement(placement), events));
        enter(Phase.RUNNING);
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
        return new GenerationRequest(attemptId, prompt, request.maxTokens() - tokens.size(), request.sampling(), request.attention(), null,
                request.logits());
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
            case SequenceEvent.Logits l -> {
                int index = l.index() + offset;
                if (index != tokens.size()) return this; // a duplicate or stale event
                out = new SequenceEvent.Logits(id, index, l.logits());
            }
            case SequenceEvent.Token t -> {
                int index = t.index() + offset;
                if (index != tokens.size()) return this; // a duplicate or stale event
                long now = System.nanoTime();
                if (tokens.isEmpty()) metrics.firstToken(now - startedAt);
                else metrics.interToken(now - lastTokenAt);
                lastTokenAt = now;
                tokens.add(t.token());
                out = new SequenceEvent.Token(id, index, t.token());
            }
            case SequenceEvent.Finished f -> {
                enter(Phase.FINISHED);
                metrics.ended(f.reason(), System.nanoTime() - startedAt);
                out = new SequenceEvent.Finished(id, f.reason(), request.prompt().length, tokens.size());
            }
            case SequenceEvent.Failed f -> {
                if (placement != null && f.error() != null && f.error().contains("shard")) {
                    getContext().getLog().info("sequence {}: data-plane failure on the worker ({}); rebuilding", id, f.error());
                    return recover(f.error());
                }
                enter(Phase.FAILED);
                metrics.ended("failed", System.nanoTime() - startedAt);
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
        if (tokens.size() >= request.maxTokens()) return finishedAtLength();
        getContext().getLog().info("sequence {}: worker {} left the cluster after {} tokens; resubmitting prompt + {} tokens to another worker",
                id, name, tokens.size(), tokens.size());
        offset = tokens.size();
        releaseShards();
        metrics.preempted(true, request.prompt().length + tokens.size());
        return beginAttempt();
    }

    /** Every token was generated and only the worker's Finished was lost: end as "length". */
    private Behavior<Command> finishedAtLength() {
        enter(Phase.FINISHED);
        metrics.ended("length", System.nanoTime() - startedAt);
        subscriber.tell(new SequenceEvent.Finished(id, "length", request.prompt().length, tokens.size()));
        return done();
    }

    private Behavior<Command> onCancel() {
        if (worker != null && phase == Phase.RUNNING) worker.tell(new TransformerWorker.Cancel(attemptId));
        if (request != null && phase != Phase.CANCELLED) metrics.ended("cancelled", System.nanoTime() - startedAt);
        enter(Phase.CANCELLED);
        return done();
    }

    private Behavior<Command> fail(String error) {
        if (request != null) metrics.ended("failed", System.nanoTime() - startedAt);
        enter(Phase.FAILED);
        if (subscriber != null) subscriber.tell(new SequenceEvent.Failed(id, error));
        return done();
    }

    private Behavior<Command> done() {
        releaseShards();
        return Behaviors.stopped();
    }
}
