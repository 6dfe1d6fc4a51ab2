package magicpig.worker;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import magicpig.metrics.NodeMetrics;
import magicpig.metrics.WorkerMetrics;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.Model;
import magicpig.sampling.Sampler;
import magicpig.wire.ClusterMessage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Runs the transformer for many sequences on one compute backend, with continuous batching: each
 * iteration steps every decoding sequence by one token in one batched pass (weights read once), and
 * prefills one chunk of one newly admitted prompt. Iterations are self-sent messages, so admissions
 * and cancellations interleave with compute. Run it on a dedicated dispatcher: an iteration keeps
 * its thread busy for the whole forward pass.
 */
public final class TransformerWorker extends AbstractBehavior<TransformerWorker.Command> {
    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "transformer-worker");

    public sealed interface Command extends ClusterMessage {}

    /** Run a sequence; every event about it goes to replyTo. */
    public record Admit(GenerationRequest request, ActorRef<SequenceEvent> replyTo) implements Command {}

    /** Drop a sequence from the batch and free its memory; no further events are sent for it. */
    public record Cancel(String sequenceId) implements Command {}

    public record GetLoad(ActorRef<Load> replyTo) implements Command {}

    public record Load(String worker, int decoding, int prefilling, int maxBatch) implements ClusterMessage {}

    private enum Iterate implements Command { INSTANCE }

    /**
     * @param maxBatch       sequences decoded together per iteration (more wait for a free slot)
     * @param maxQueued      sequences admitted beyond the batch before refusing
     * @param prefillChunk   prompt tokens prefilled per iteration
     */
    public record Settings(int maxBatch, int maxQueued, int prefillChunk) {
        public Settings {
            if (maxBatch < 1 || maxQueued < 0 || prefillChunk < 1) {
                throw new IllegalArgumentException("worker settings must be positive: " + this);
            }
        }
    }

    private final String name;
    private final Model model;
    private final ComputeBackend backend;
    private final Settings settings;
    private final Function<GenerationRequest, Attention.Factory> attention;
    private final ComputeBackend.BatchDecoder batch;
    private final Map<String, Running> sequences = new LinkedHashMap<>();
    private final ArrayDeque<Running> prefilling = new ArrayDeque<>();
    private final java.util.LinkedList<Running> decoding = new java.util.LinkedList<>();
    private final ComputeBackend.InferenceSession[] batchSessions;
    private final int[] batchTokens;
    private final Running[] batchRunning;
    private boolean iterating;
    private final WorkerMetrics metrics;
    /** KV cache bytes per position of a sequence (keys and values of every layer, f32). */
    private final long kvBytesPerToken;

    /**
     * @param model   tokenizer, stop tokens and shape of what runs
     * @param backend where it runs (the model's own CPU forward pass, or a GPU)
     */
    public static Behavior<Command> create(String name, Model model, ComputeBackend backend, Settings settings,
                                           Function<GenerationRequest, Attention.Factory> attention) {
        return create(name, model, backend, settings, attention, NodeMetrics.OFF.worker());
    }

    /** As {@link #create(String, Model, ComputeBackend, Settings, Function)}, recording its serving metrics in {@code metrics}. */
    public static Behavior<Command> create(String name, Model model, ComputeBackend backend, Settings settings,
                                           Function<GenerationRequest, Attention.Factory> attention, WorkerMetrics metrics) {
        return Behaviors.setup(ctx -> {
            ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
            return new TransformerWorker(ctx, name, model, backend, settings, attention, metrics);
        });
    }

    private TransformerWorker(ActorContext<Command> ctx, String name, Model model, ComputeBackend backend, Settings settings,
                              Function<GenerationRequest, Attention.Factory> attention, WorkerMetrics metrics) {
        super(ctx);
        this.metrics = metrics;
        var c = model.config();
        this.kvBytesPerToken = 2L * c.layers() * c.kvDim() * Float.BYTES;
        this.name = name;
        this.model = model;
        this.backend = backend;
        this.settings = settings;
        this.attention = attention;
        this.batch = backend.newDecodeBatch(settings.maxBatch());
        this.batchSessions = new ComputeBackend.InferenceSession[settings.maxBatch()];
        this.batchTokens = new int[settings.maxBatch()];
        this.batchRunning = new Running[settings.maxBatch()];
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Admit.class, this::onAdmit)
                .onMessage(Cancel.class, this::onCancel)
                .onMessage(GetLoad.class, m -> {
                    m.replyTo().tell(new Load(name, decoding.size(), prefilling.size(), settings.maxBatch()));
                    return this;
                })
                .onMessageEquals(Iterate.INSTANCE, this::onIterate)
                .onSignal(org.apache.pekko.actor.typed.PostStop.class, s -> {
                    sequences.values().forEach(Running::close);
                    return this;
                })
                .build();
    }

    private Behavior<Command> onAdmit(Admit m) {
        GenerationRequest r = m.request();
        if (sequences.containsKey(r.sequenceId())) return this; // a resent admission: already running
        if (sequences.size() >= settings.maxBatch() + settings.maxQueued()) {
            m.replyTo().tell(new SequenceEvent.Failed(r.sequenceId(), "worker " + name + " is full ("
                    + sequences.size() + " sequences)"));
            return this;
        }
        Running run;
        try {
            if (r.maxTokens() < 1) throw new IllegalArgumentException("max tokens must be >= 1, got " + r.maxTokens());
            int ctx = model.config().contextLength();
            if (r.prompt().length == 0 || r.prompt().length >= ctx) {
                throw new IllegalArgumentException("prompt of " + r.prompt().length + " tokens does not fit the context of " + ctx);
            }
            int capacity = Math.min(ctx, r.prompt().length + Math.max(1, r.maxTokens()));
            Attention.Factory factory = attention.apply(r);
            Attention att = factory == null ? null : factory.create(model.config());
            run = new Running(r, m.replyTo(), backend.newSession(capacity, att), new Sampler(r.sampling(), model.config().vocabSize()));
        } catch (RuntimeException e) {
            m.replyTo().tell(new SequenceEvent.Failed(r.sequenceId(), e.getMessage()));
            return this;
        }
        sequences.put(r.sequenceId(), run);
        prefilling.add(run);
        run.admittedAt = System.nanoTime();
        metrics.kvBytes(kvBytesPerToken * run.session.capacity());
        m.replyTo().tell(new SequenceEvent.Admitted(r.sequenceId(), name, r.prompt().length));
        scheduleIteration();
        return this;
    }

    private Behavior<Command> onCancel(Cancel m) {
        Running run = sequences.get(m.sequenceId());
        if (run != null) remove(run);
        return this;
    }

    private Behavior<Command> onIterate() {
        iterating = false;
        Running p = prefilling.peek();
        if (p != null) prefillStep(p);
        decodeStep();
        int running = Math.min(decoding.size(), batchSessions.length) + (prefilling.isEmpty() ? 0 : 1);
        metrics.batch(running, sequences.size() - running);
        scheduleIteration();
        return this;
    }

    private void prefillStep(Running run) {
        try {
            int[] prompt = run.request.prompt();
            if (run.prefilled == 0) metrics.queued(System.nanoTime() - run.admittedAt);
            run.prefilled = run.session.prefillPart(prompt, run.prefilled, settings.prefillChunk());
            if (run.prefilled < prompt.length) return;
            prefilling.poll();
            metrics.prefilled(prompt.length);
            float[] logits = run.session.finishPrefill();
            if (run.request.logits()) reportLogits(run, logits, 0);
            if (emit(run, run.sampler.sample(logits))) decoding.add(run);
        } catch (RuntimeException e) {
            fail(run, e);
        }
    }

    private void decodeStep() {
        int n = 0;
        for (Running run : decoding) {
            if (n == batchSessions.length) break;
            batchRunning[n] = run;
            batchSessions[n] = run.session;
            batchTokens[n] = run.lastToken;
            n++;
        }
        if (n == 0) return;
        float[] logits;
        try {
            logits = batch.step(batchSessions, batchTokens, n);
        } catch (RuntimeException e) {
            for (int i = 0; i < n; i++) fail(batchRunning[i], e);
            return;
        }
        int vocab = model.config().vocabSize();
        float[] row = rowBuffer(vocab);
        for (int i = 0; i < n; i++) {
            Running run = batchRunning[i];
            System.arraycopy(logits, i * vocab, row, 0, vocab);
            if (run.request.logits()) reportLogits(run, logits, i * vocab);
            if (!emit(run, run.sampler.sample(row))) decoding.remove(run);
            batchRunning[i] = null;
            batchSessions[i] = null;
        }
        // rotate so that sequences beyond the batch size get their turn
        if (decoding.size() > batchSessions.length) decoding.addLast(decoding.removeFirst());
    }

    private float[] row;

    private float[] rowBuffer(int vocab) {
        if (row == null) row = new float[vocab];
        return row;
    }

    /** Sends a copy of the logits the next token is sampled from (a diagnostic the request asked for). */
    private void reportLogits(Running run, float[] logits, int from) {
        float[] copy = java.util.Arrays.copyOfRange(logits, from, from + model.config().vocabSize());
        run.replyTo.tell(new SequenceEvent.Logits(run.request.sequenceId(), run.generated, copy));
    }

    /** Reports a sampled token; returns false when the sequence has ended (and was removed). */
    private boolean emit(Running run, int token) {
        String id = run.request.sequenceId();
        if (model.endsText(token)) {
            finish(run, "stop");
            return false;
        }
        run.replyTo.tell(new SequenceEvent.Token(id, run.generated, token));
        run.generated++;
        metrics.generated();
        run.lastToken = token;
        if (run.generated >= run.request.maxTokens() || run.session.position() + 1 > run.session.capacity()) {
            finish(run, "length");
            return false;
        }
        return true;
    }

    private void finish(Running run, String reason) {
        run.replyTo.tell(new SequenceEvent.Finished(run.request.sequenceId(), reason, run.request.prompt().length, run.generated));
        remove(run);
    }

    private void fail(Running run, RuntimeException e) {
        if (e instanceof magicpig.transport.ShardErrorException s && s.code() == magicpig.wire.ErrorMessage.UNKNOWN_SEQUENCE) {
            // A query raced the release of the sequence's blocks: its entity cancelled it or ended
            // this attempt, and decides what follows. Not a fault of this worker or of the shard.
            getContext().getLog().info("sequence {} stopped on worker {}: a shard no longer holds its blocks ({})",
                    run.request.sequenceId(), name, e.getMessage());
        } else {
            getContext().getLog().warn("sequence {} failed on worker {}: {}", run.request.sequenceId(), name, e.toString());
        }
        run.replyTo.tell(new SequenceEvent.Failed(run.request.sequenceId(), String.valueOf(e.getMessage())));
        remove(run);
    }

    private void remove(Running run) {
        if (sequences.remove(run.request.sequenceId()) == null) return;
        prefilling.remove(run);
        decoding.remove(run);
        metrics.kvBytes(-kvBytesPerToken * run.session.capacity());
        int running = Math.min(decoding.size(), batchSessions.length) + (prefilling.isEmpty() ? 0 : 1);
        metrics.batch(running, sequences.size() - running);
        run.close();
    }

    private void scheduleIteration() {
        if (!iterating && (!prefilling.isEmpty() || !decoding.isEmpty())) {
            iterating = true;
            getContext().getSelf().tell(Iterate.INSTANCE);
        }
    }

    private static final class Running {
        final GenerationRequest request;
        final ActorRef<SequenceEvent> replyTo;
        final ComputeBackend.InferenceSession session;
        final Sampler sampler;
        int prefilled;
        int generated;
        int lastToken;
        long admittedAt;

        Running(GenerationRequest request, ActorRef<SequenceEvent> replyTo, ComputeBackend.InferenceSession session, Sampler sampler) {
            this.request = request;
            this.replyTo = replyTo;
            this.session = session;
            this.sampler = sampler;
        }

        void close() {
            session.close();
        }
    }
}
