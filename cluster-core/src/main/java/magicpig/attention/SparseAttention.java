package magicpig.attention;

import java.util.Arrays;
import java.util.function.IntConsumer;
import magicpig.model.Attention;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.tensor.Parallel;

/**
 * What MagicPIG and its baselines share (MAGICPIG.md step 1): a static set attended exactly, the
 * offloaded middle of the prompt handled by the method, and the two merged as partial states.
 *
 * <p>Static set of a layer: the first {@code sink} prompt tokens, the last {@code local} prompt
 * tokens and the generated tokens from {@code genStart[layer]} to the current position. Offloaded:
 * prompt tokens {@code [sink, promptLength - local)}, plus whatever a subclass moves there (MagicPIG
 * spills old generated tokens). Dense layers, and any layer with nothing offloaded, run
 * {@link DenseAttention}.
 *
 * <p>A step runs in two {@link Parallel} phases: per kv head, the method prepares its query heads
 * (MagicPIG: codes, norms) and their static part is attended exactly, with the logit origin the
 * method asks for; then per (query head, part of the offloaded set), the method's partial state.
 * The caller merges them per head, in double ({@link MergedState}). Scratch is preallocated (per
 * thread from a pool, per head, per part), so a step allocates nothing.
 *
 * <p>A method whose offloaded set lives in other processes ({@link #offloadedRemotely()}) runs a
 * sparse step in another order, so that the network round trip hides behind local work: every
 * group is prepared first (parallel over kv heads), {@link #sendOffloaded} sends the queries, the
 * static parts are computed (parallel) while the replies are in flight, and
 * {@link #receiveOffloaded} collects them, one state per query head, instead of the per-part phase.
 */
public abstract class SparseAttention<S> implements Attention {
    protected final LlamaConfig config;
    protected final AttentionSettings settings;
    protected final int heads;
    protected final int kvHeads;
    protected final int group;
    protected final int headDim;
    protected final int layers;
    protected final float scale;
    private final DenseAttention dense;
    private final int[] attended;
    private int lastContext;
    private boolean lastDense;
    private StepObserver observer;

    protected int promptLength = -1;
    /** Static prompt tokens: [0, sinkEnd) and [localStart, promptLength). */
    protected int sinkEnd;
    protected int localStart;
    /** First generated token still in the static set, per layer. */
    protected final int[] genStart;
    protected HeadSlice[][] slices;
    private ScratchPool<S> pool;
    /** Static part per kv head and group member, its logit shifts, and tiles for the exact kernel. */
    private final PartialState[][] staticParts;
    private final float[][] shifts;
    private final float[][] tiles;
    /** Offloaded parts per query head. */
    private PartialState[][] offParts = new PartialState[0][];
    /** Remote methods: the offloaded part of each query head, merged from the replies. */
    private final MergedState[] remoteParts;
    /** Each query head's output state: its static part merged with the offloaded ones, in double. */
    private final MergedState[] merged;
    private final StaticBody staticBody = new StaticBody();
    private final OffloadedBody offloadedBody = new OffloadedBody();
    private final IntConsumer prepareBody = new IntConsumer() {
        @Override
        public void accept(int kv) {
            prepareGroup(staticBody.layer, kv, staticBody.q, staticBody.qOff);
        }
    };

    protected SparseAttention(LlamaConfig config, AttentionSettings settings) {
        settings.validate(config);
        this.config = config;
        this.settings = settings;
        this.heads = config.heads();
        this.kvHeads = config.kvHeads();
        this.group = config.groupSize();
        this.headDim = config.headDim();
        this.layers = config.layers();
        this.scale = (float) (1 / Math.sqrt(headDim));
        this.dense = new DenseAttention(config);
        this.attended = new int[heads];
        this.genStart = new int[layers];
        this.staticParts = new PartialState[kvHeads][group];
        this.shifts = new float[kvHeads][group];
        this.tiles = new float[kvHeads][DenseAttention.TILE];
        for (PartialState[] row : staticParts) for (int g = 0; g < group; g++) row[g] = new PartialState(headDim);
        this.remoteParts = new MergedState[heads];
        this.merged = new MergedState[heads];
        for (int h = 0; h < heads; h++) {
            remoteParts[h] = new MergedState(headDim);
            merged[h] = new MergedState(headDim);
        }
    }

    /**
     * Hears about every sparse step, for metrics: how many offloaded keys the step's query heads
     * attended, out of how many, and how long the step took. Called on the decoding thread; must
     * not allocate or block.
     */
    public interface StepObserver {
        /**
         * @param attendedKeys  offloaded keys that entered the outputs, summed over the query heads
         * @param offloadedKeys offloaded keys times query heads: the most that could have
         * @param nanos         the whole step of the layer (static part, offloaded part, merge)
         */
        void sparseStep(int layer, long attendedKeys, long offloadedKeys, long nanos);

        /** A remote method's round trip of one layer step: queries sent to the last reply merged. */
        default void remoteRoundTrip(int layer, long nanos) {}
    }

    /** Reports each sparse step to {@code o} from now on (null: to nobody). */
    public void observe(StepObserver o) {
        this.observer = o;
    }

    protected StepObserver observer() {
        return observer;
    }

    /** Offloaded keys a sparse step of this layer attends over, per query head (MagicPIG adds its spilled tokens). */
    protected int offloadedKeys(int layer) {
        return localStart - sinkEnd;
    }

    /** Makes one thread's scratch for the offloaded phase; called at {@link #prefilled}. */
    protected abstract S newScratch();

    /** Builds the method's index over offloaded prompt tokens [from, to) of one (layer, kv head). */
    protected abstract void buildOffloaded(int layer, int kvHead, HeadSlice kv, int from, int to);

    /** Parts the offloaded set of a layer is attended in, per query head (0: nothing offloaded, the layer runs dense). */
    protected abstract int offloadedParts(int layer);

    /** Hook before a sparse layer's step: MagicPIG spills here. */
    protected void beforeStep(int layer, int pos) {}

    /**
     * MagicPIG's spill rule: when the static set of a layer would hold more than {@code maxStatic}
     * tokens at this step, its oldest generated tokens, from {@code genStart[layer]}, go to the
     * sampled set, down to {@code maxStatic} minus half the generated window, the current token kept
     * exact. Returns the end of the tokens to spill; {@code genStart[layer]} when none are.
     */
    protected int spillEnd(int layer, int pos, int maxStatic) {
        int from = genStart[layer];
        int over = staticCount(layer, pos) - maxStatic;
        if (over <= 0) return from;
        int window = maxStatic - settings.sink() - settings.local();
        return Math.max(from, Math.min(pos, from + over + window / 2));
    }

    /**
     * Prepares the query heads of one kv head ({@code q[qOff + h * headDim ..]} for h in the group);
     * runs in parallel over kv heads, before their static parts.
     */
    protected void prepareGroup(int layer, int kvHead, float[] q, int qOff) {}

    /** The shift of query head h's logits: the static part computes {@code (q·k - shift) / sqrt(d)} to match the method. */
    protected float logitShift(int layer, int head) {
        return 0f;
    }

    /** Attention of query head {@code head} (query at q[qOff..]) over part {@code part} of the offloaded set, merged into out. */
    protected abstract void attendOffloaded(int layer, int head, int part, float[] q, int qOff, S scratch, PartialState out);

    /**
     * Whether the offloaded set is attended outside this process (by attention shards): then a sparse
     * step calls {@link #sendOffloaded} and {@link #receiveOffloaded} instead of
     * {@link #attendOffloaded}. Fixed for the life of the instance.
     */
    protected boolean offloadedRemotely() {
        return false;
    }

    /**
     * Remote methods: parts of a layer's offloaded set that this process holds besides the remote
     * ones (MagicPIG's spilled generated tokens), attended by {@link #attendOffloaded} while the
     * replies are in flight.
     */
    protected int localParts(int layer) {
        return 0;
    }

    /**
     * Remote methods: sends the step's queries, on the caller's thread, after {@link #prepareGroup}
     * ran for every kv head and before the static parts are computed.
     */
    protected void sendOffloaded(int layer, int pos, float[] q, int qOff) {
        throw new UnsupportedOperationException("not a remote method");
    }

    /**
     * Remote methods: collects the replies of {@link #sendOffloaded}, on the caller's thread, after
     * the static parts; merges query head h's offloaded part into {@code perHead[h]} (reset, empty).
     */
    protected void receiveOffloaded(int layer, MergedState[] perHead) {
        throw new UnsupportedOperationException("not a remote method");
    }

    /** Offloaded prompt tokens [offloadedFrom(), offloadedTo()). */
    protected int offloadedFrom() {
        return sinkEnd;
    }

    protected int offloadedTo() {
        return localStart;
    }

    @Override
    public void prefilled(KvCache cache, int promptLength) {
        if (cache.layers() != layers || cache.kvHeads() != kvHeads || cache.headDim() != headDim) {
            throw new IllegalArgumentException("KV cache shape does not match the model config");
        }
        this.promptLength = promptLength;
        this.sinkEnd = Math.min(settings.sink(), promptLength);
        this.localStart = Math.max(sinkEnd, promptLength - settings.local());
        Arrays.fill(genStart, promptLength);
        this.slices = DenseAttention.slices(cache);
        pool = new ScratchPool<>(this::newScratch);
        int from = sinkEnd, to = localStart;
        if (to > from) {
            int[] sparse = sparseLayers();
            Parallel.forEach(sparse.length * kvHeads, i -> {
                int layer = sparse[i / kvHeads], kv = i % kvHeads;
                buildOffloaded(layer, kv, slices[layer][kv], from, to);
            });
        }
        int parts = 1;
        for (int l = 0; l < layers; l++) parts = Math.max(parts, offloadedParts(l));
        ensureParts(parts);
    }

    /** Makes room for this many offloaded parts per head (allocates only when it grows). */
    protected void ensureParts(int parts) {
        if (offParts.length == heads && offParts[0].length >= parts) return;
        PartialState[][] grown = new PartialState[heads][parts];
        for (int h = 0; h < heads; h++) for (int p = 0; p < parts; p++) grown[h][p] = new PartialState(headDim);
        offParts = grown;
    }

    protected int[] sparseLayers() {
        return java.util.stream.IntStream.range(0, layers).filter(l -> !settings.denseLayers().contains(l)).toArray();
    }

    /** Tokens of the static set of a layer when the cache holds [0, pos]. */
    protected int staticCount(int layer, int pos) {
        return sinkEnd + (promptLength - localStart) + (pos + 1 - genStart[layer]);
    }

    @Override
    public void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff) {
        lastContext = pos + 1;
        if (promptLength >= 0 && !settings.denseLayers().contains(layer)) {
            beforeStep(layer, pos);
            int parts = offloadedParts(layer);
            if (parts > 0) {
                lastDense = false;
                long t0 = observer == null ? 0 : System.nanoTime();
                if (offloadedRemotely()) {
                    remoteStep(layer, q, qOff, pos, out, outOff);
                    if (observer != null) report(layer, true, localParts(layer), t0);
                    return;
                }
                ensureParts(parts);
                staticBody.set(layer, q, qOff, pos, true);
                Parallel.forEach(kvHeads, staticBody);
                offloadedBody.set(layer, q, qOff, parts);
                Parallel.forEach(heads * parts, offloadedBody);
                staticBody.q = offloadedBody.q = null;
                for (int h = 0; h < heads; h++) {
                    MergedState st = merged[h].reset().merge(staticParts[h / group][h % group]);
                    for (int p = 0; p < parts; p++) st.merge(offParts[h][p]);
                    st.writeOutput(out, outOff + h * headDim);
                    attended[h] = st.nnz();
                }
                if (observer != null) report(layer, false, parts, t0);
                return;
            }
        }
        lastDense = true;
        dense.decode(layer, q, qOff, cache, pos, out, outOff);
        Arrays.fill(attended, pos + 1);
    }

    /** Tells the observer what the step attended of the offloaded set: the remote states (if any) and {@code parts} local parts per head. */
    private void report(int layer, boolean remote, int parts, long t0) {
        long nanos = System.nanoTime() - t0;
        long attendedKeys = 0;
        if (remote) for (MergedState p : remoteParts) attendedKeys += p.nnz();
        for (int h = 0; h < heads; h++) for (int p = 0; p < parts; p++) attendedKeys += offParts[h][p].nnz();
        observer.sparseStep(layer, attendedKeys, (long) heads * offloadedKeys(layer), nanos);
    }

    /**
     * A sparse step of a remote method: prepare all, send, static parts (and local parts) while the
     * replies travel, receive, merge: static, then remote, then local, the order of the in-process
     * method's parts (prompt blocks before spilled ones).
     */
    private void remoteStep(int layer, float[] q, int qOff, int pos, float[] out, int outOff) {
        staticBody.set(layer, q, qOff, pos, false);
        int local = localParts(layer);
        try {
            Parallel.forEach(kvHeads, prepareBody);
            sendOffloaded(layer, pos, q, qOff);
            Parallel.forEach(kvHeads, staticBody);
            if (local > 0) {
                ensureParts(local);
                offloadedBody.set(layer, q, qOff, local);
                Parallel.forEach(heads * local, offloadedBody);
            }
            for (MergedState p : remoteParts) p.reset();
            receiveOffloaded(layer, remoteParts);
        } finally {
            staticBody.q = offloadedBody.q = null;
        }
        for (int h = 0; h < heads; h++) {
            MergedState st = merged[h].reset().merge(staticParts[h / group][h % group]);
            st.merge(remoteParts[h]);
            for (int p = 0; p < local; p++) st.merge(offParts[h][p]);
            st.writeOutput(out, outOff + h * headDim);
            attended[h] = st.nnz();
        }
    }

    /** Keys whose values entered query head h's output in the last decode call (static + offloaded). */
    public int attendedKeys(int head) {
        return attended[head];
    }

    /** First generated position still in the exact static set of a layer (earlier ones were spilled). */
    public int staticGeneratedFrom(int layer) {
        return genStart[layer];
    }

    /** Tokens in the cache at the last decode call. */
    public int contextKeys() {
        return lastContext;
    }

    /** Whether the last decode call ran exact attention (dense layer, or nothing offloaded). */
    public boolean lastStepDense() {
        return lastDense;
    }

    /** Phase 1, per kv head: the method's preparation, then the exact static part of its query heads. */
    private final class StaticBody implements IntConsumer {
        int layer, qOff, pos;
        float[] q;
        boolean prepare;

        void set(int layer, float[] q, int qOff, int pos, boolean prepare) {
            this.layer = layer;
            this.q = q;
            this.qOff = qOff;
            this.pos = pos;
            this.prepare = prepare;
        }

        @Override
        public void accept(int kv) {
            if (prepare) prepareGroup(layer, kv, q, qOff);
            PartialState[] st = staticParts[kv];
            float[] sh = shifts[kv];
            for (int g = 0; g < group; g++) {
                st[g].reset();
                sh[g] = logitShift(layer, kv * group + g);
            }
            HeadSlice slice = slices[layer][kv];
            int first = kv * group;
            float[] tile = tiles[kv];
            DenseAttention.attendGroup(q, qOff, first, group, sh, slice, headDim, scale, 0, sinkEnd, tile, st);
            DenseAttention.attendGroup(q, qOff, first, group, sh, slice, headDim, scale, localStart, promptLength, tile, st);
            DenseAttention.attendGroup(q, qOff, first, group, sh, slice, headDim, scale, genStart[layer], pos + 1, tile, st);
        }
    }

    /** Phase 2, per (query head, part). */
    private final class OffloadedBody implements IntConsumer {
        int layer, qOff, parts;
        float[] q;

        void set(int layer, float[] q, int qOff, int parts) {
            this.layer = layer;
            this.q = q;
            this.qOff = qOff;
            this.parts = parts;
        }

        @Override
        public void accept(int item) {
            int h = item / parts, p = item % parts;
            int slot = pool.acquire();
            try {
                PartialState out = offParts[h][p].reset();
                attendOffloaded(layer, h, p, q, qOff + h * headDim, pool.get(slot), out);
            } finally {
                pool.release(slot);
            }
        }
    }
}
