package magicpig.attention;

import java.lang.foreign.Arena;
import magicpig.model.LlamaConfig;
import magicpig.tensor.Parallel;

/**
 * MagicPIG decoding (MAGICPIG.md): exact attention over the static set merged with LSH-sampled,
 * importance-weighted attention over the offloaded keys.
 *
 * <p>The query side (projections, c, codes, |q|, q·c) is {@link LshQueries}, which the cluster's
 * remote variant shares; this class holds the sampled blocks in process.
 *
 * <p>At {@link #prefilled}, per sparse (layer, kv head), in parallel: c = mean of the offloaded
 * prompt keys, and {@link LshBlock}s of {@code blockTokens} tokens (the last shorter) holding the
 * centered keys, values, norms and tables. Per decode step: for each query head, the L codes of the raw query under its kv
 * head's projection (computed once, four heads of a group at a time, and used for every block), |q|
 * and q·c; the static part with logits {@code (q·k - q·c)/sqrt(d)} read from the cache; each
 * block's sampled part with logits {@code q·(k - c)/sqrt(d) - ln(u + 1e-4)}; one exact merge.
 * Logits are therefore those of centered keys everywhere (softmax does not change, q·c being the
 * same for every key of the head), and all partial states of a head share one origin.
 *
 * <p>The static window never overflows: when a layer's static set would exceed
 * {@code maxStatic}, its oldest generated tokens, half of the generated window, spill into the
 * sampled set as a new block (hashed with the same projection and centered with the same c). The
 * window then holds at most {@code maxStatic} tokens at any step, and spilling is amortised over
 * many steps. (A layer whose prompt left nothing to offload stays exact until its first spill,
 * whose tokens then fix c.)
 *
 * <p>Memory: the blocks hold their own copy of the offloaded keys and values (the shard layout),
 * besides the engine's cache, plus {@code 2 L + 4} bytes of index per token and kv head.
 */
public final class MagicPigAttention extends SparseAttention<LshBlock.SampleScratch> {
    private Arena arena = Arena.ofShared();
    private final LshQueries queries;
    private final OffloadedHead[][] offloaded;
    private final LogWeights weights;
    private final int threshold;
    private final int maxStatic;

    public MagicPigAttention(LlamaConfig config, AttentionSettings settings) {
        this(config, settings, settings.lshThreshold());
    }

    /** With {@code threshold = 0} every offloaded key is taken with u = 1 (tests only). */
    MagicPigAttention(LlamaConfig config, AttentionSettings settings, int threshold) {
        super(config, settings);
        this.threshold = threshold;
        this.weights = LogWeights.of(settings.lshK(), settings.lshL(), threshold);
        this.maxStatic = settings.maxStatic();
        this.queries = new LshQueries(config, settings);
        this.offloaded = new OffloadedHead[layers][kvHeads];
        for (int l = 0; l < layers; l++) {
            for (int kv = 0; kv < kvHeads; kv++) {
                if (queries.hash(l, kv) != null) offloaded[l][kv] = new OffloadedHead(queries.hash(l, kv), headDim);
            }
        }
    }

    /** A new prompt replaces the old one's blocks (and frees their memory). */
    @Override
    public void prefilled(magicpig.model.KvCache cache, int promptLength) {
        boolean built = false;
        for (OffloadedHead[] row : offloaded) for (OffloadedHead h : row) if (h != null && h.tokens() > 0) built = true;
        if (built) {
            arena.close();
            arena = Arena.ofShared();
            for (int l = 0; l < layers; l++) {
                for (int kv = 0; kv < kvHeads; kv++) if (offloaded[l][kv] != null) offloaded[l][kv] = new OffloadedHead(queries.hash(l, kv), headDim);
            }
        }
        super.prefilled(cache, promptLength);
    }

    @Override
    protected LshBlock.SampleScratch newScratch() {
        return new LshBlock.SampleScratch(settings.blockTokens());
    }

    @Override
    protected void buildOffloaded(int layer, int kvHead, HeadSlice kv, int from, int to) {
        offloaded[layer][kvHead].add(kv, from, to, queries.centerOn(layer, kvHead, kv, from, to), arena, settings.blockTokens());
    }

    @Override
    protected int offloadedParts(int layer) {
        return offloaded[layer][0] == null ? 0 : offloaded[layer][0].blocks().length;
    }

    @Override
    protected void beforeStep(int layer, int pos) {
        int from = genStart[layer], to = spillEnd(layer, pos, maxStatic);
        if (to <= from) return;
        Parallel.forEach(kvHeads, kv -> buildOffloaded(layer, kv, slices[layer][kv], from, to));
        genStart[layer] = to;
    }

    @Override
    protected void prepareGroup(int layer, int kvHead, float[] q, int qOff) {
        queries.prepareGroup(layer, kvHead, q, qOff);
    }

    @Override
    protected float logitShift(int layer, int head) {
        return queries.qc(head);
    }

    @Override
    protected void attendOffloaded(int layer, int head, int part, float[] q, int qOff, LshBlock.SampleScratch s, PartialState out) {
        LshBlock b = offloaded[layer][head / group].blocks()[part];
        b.attend(q, qOff, queries.qNorm(head), queries.codes(head), 0, weights, threshold, s, out);
    }

    @Override
    protected int offloadedKeys(int layer) {
        return offloadedTokens(layer);
    }

    /** Tokens in the sampled set of a layer (the same for each kv head). */
    public int offloadedTokens(int layer) {
        return offloaded[layer][0] == null ? 0 : offloaded[layer][0].tokens();
    }

    /** Off-heap bytes of the LSH index (tables, offsets, key norms) over all layers and kv heads. */
    public long indexBytes() {
        long s = 0;
        for (OffloadedHead[] row : offloaded) for (OffloadedHead h : row) if (h != null) s += h.indexBytes();
        return s;
    }

    /** Off-heap bytes of the blocks' own copies of keys and values. */
    public long recordBytes() {
        long s = 0;
        for (OffloadedHead[] row : offloaded) for (OffloadedHead h : row) if (h != null) for (LshBlock b : h.blocks()) s += b.recordBytes();
        return s;
    }

    /** The blocks of one (layer, kv head), e.g. to ship to a shard. */
    public LshBlock[] blocks(int layer, int kvHead) {
        return offloaded[layer][kvHead] == null ? new LshBlock[0] : offloaded[layer][kvHead].blocks().clone();
    }

    @Override
    public void close() {
        arena.close();
    }
}
