package magicpig.attention;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The unit of offloaded KV that MagicPIG samples from, and that the cluster places on a CPU shard:
 * one (layer, kv head) and a token range of at most {@value LshTables#MAX_BLOCK} tokens, holding
 * its own records {@code [k - c | v]} (centered key and value side by side, off-heap), the norms
 * of its centered keys and its L hash tables. Given a query, its norm and its L codes (computed once
 * on the query side and sent to every block), {@link #attend} answers with a {@link PartialState}
 * of the sampled keys; it needs nothing else from the sequence.
 *
 * <p>Logits are those of centered keys, {@code q·(k - c)}: softmax does not change (q·c is the same
 * for every key of the head) as long as the static part of the step uses the same origin, which
 * {@link MagicPigAttention} ensures. Keeping a key and its value in one 2 x headDim record makes a
 * sampled token one contiguous read, which measured about 30% faster than fetching both from the
 * position-major cache (the candidates are scattered, so each fetch is a cache miss).
 *
 * <p>Memory per token: {@code 8 headDim} bytes of records, 4 of norm, {@code 2 L} of tables, plus
 * {@code 4 L (2^K + 1)} bytes of bucket offsets per block.
 */
public final class LshBlock {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final HeadSlice records;
    private final int headDim;
    private final int start;
    private final int n;
    private final MemorySegment norms;
    private final LshTables tables;

    private LshBlock(HeadSlice records, int headDim, int start, int n, MemorySegment norms, LshTables tables) {
        this.records = records;
        this.headDim = headDim;
        this.start = start;
        this.n = n;
        this.norms = norms;
        this.tables = tables;
    }

    /**
     * Copies tokens [start, start + n) of a slice holding raw keys (the engine's cache), centers
     * the keys by {@code center}, hashes them and builds their tables. Allocates (it runs once per
     * block, at prefill or spill).
     */
    public static LshBlock build(HeadSlice kv, int headDim, int start, int n, float[] center, SimHash hash, Arena arena) {
        checkSize(n);
        MemorySegment data = magicpig.tensor.HugePages.allocate(arena, recordBytes(n, headDim));
        return index(kv, start, HeadSlice.interleaved(data, headDim), headDim, start, n, center, hash, arena);
    }

    /**
     * A block over records that already hold the raw {@code [k | v]} of its n tokens, as an attention
     * shard receives them: centers the keys in place, hashes them and builds the tables; the block
     * keeps {@code records}. {@code start} is the absolute position of the first token.
     */
    public static LshBlock adopt(MemorySegment records, int headDim, int start, int n, float[] center, SimHash hash, Arena arena) {
        checkSize(n);
        if (records.byteSize() < recordBytes(n, headDim)) {
            throw new IllegalArgumentException("records of " + records.byteSize() + " bytes cannot hold " + n + " tokens of head dim " + headDim);
        }
        HeadSlice r = HeadSlice.interleaved(records, headDim);
        return index(r, 0, r, headDim, start, n, center, hash, arena);
    }

    /** Bytes of the records of n tokens: key and value, headDim floats each. */
    public static long recordBytes(int n, int headDim) {
        return (long) n * 2 * headDim * Float.BYTES;
    }

    private static void checkSize(int n) {
        if (n < 1 || n > LshTables.MAX_BLOCK) throw new IllegalArgumentException("block size must be in 1.." + LshTables.MAX_BLOCK + ", got " + n);
    }

    /**
     * Reads raw keys and values of tokens [from, from + n) of src and writes the centered keys and
     * the values to records (which may be src itself, from = 0: then values stay where they are),
     * with the norms and codes of the centered keys; builds the tables.
     */
    private static LshBlock index(HeadSlice src, int from, HeadSlice records, int d, int start, int n, float[] center,
                                  SimHash hash, Arena arena) {
        int tables = hash.tables();
        int words = hash.bitWords();
        boolean inPlace = src.equals(records);
        float[] x = new float[4 * d];
        long[] bits = new long[4 * words];
        char[] codes = new char[tables * n];
        MemorySegment data = records.keys();
        MemorySegment norms = arena.allocate((long) n * Float.BYTES, 64);
        for (int i = 0; i < n; i += 4) {
            int count = Math.min(4, n - i);
            for (int j = 0; j < 4; j++) {
                if (j < count) {
                    MemorySegment.copy(src.keys(), FLOAT, src.keyOffset(from + i + j), x, j * d, d);
                    for (int c = 0; c < d; c++) x[j * d + c] -= center[c];
                    norms.setAtIndex(FLOAT, i + j, VectorMath.norm(x, j * d, d));
                    MemorySegment.copy(x, j * d, data, FLOAT, records.keyOffset(i + j), d);
                    if (!inPlace) {
                        MemorySegment.copy(src.values(), src.valueOffset(from + i + j), data, records.valueOffset(i + j), (long) d * Float.BYTES);
                    }
                } else {
                    java.util.Arrays.fill(x, j * d, (j + 1) * d, 0f);
                }
            }
            hash.hash4(x, 0, bits, 0);
            for (int j = 0; j < count; j++) hash.extract(bits, j * words, codes, i + j, n);
        }
        return new LshBlock(records, d, start, n, norms, LshTables.build(hash.k(), tables, n, codes, arena));
    }

    /** Absolute position of the block's first token. */
    public int start() {
        return start;
    }

    public int size() {
        return n;
    }

    public LshTables tables() {
        return tables;
    }

    /** The block's own [k - c | v] records. */
    public HeadSlice records() {
        return records;
    }

    /** Off-heap bytes of the index: tables, offsets and key norms. */
    public long indexBytes() {
        return tables.bytes() + norms.byteSize();
    }

    /** Off-heap bytes of the block's copy of keys and values. */
    public long recordBytes() {
        return recordBytes(n, headDim);
    }

    /** |k - c| of token i of the block. */
    public float keyNorm(int i) {
        return norms.getAtIndex(FLOAT, i);
    }

    /**
     * Sampled attention of one query head over this block (MAGICPIG.md steps 5-7), merged into
     * out. Retrieves the keys that collide with the query in at least {@code threshold} tables
     * ({@code threshold = 0} takes every key, with u = 1: a test hook), then gives each the logit
     * {@code s = q·(k - c)/sqrt(d) - ln(u(cos) + 1e-4)}, {@code cos = q·(k - c) / (|q| |k - c|)}.
     *
     * @return how many keys were sampled
     */
    public int attend(float[] q, int qOff, float qNorm, char[] codes, int codesOff, LogWeights weights,
                      int threshold, SampleScratch scratch, PartialState out) {
        CollisionCounter counter = scratch.counter;
        int[] cand = counter.candidates();
        int found;
        if (threshold == 0) {
            found = n;
            for (int i = 0; i < n; i++) cand[i] = i;
        } else {
            found = tables.collide(codes, codesOff, threshold, counter);
        }
        if (found == 0) return 0;
        float[] dots = scratch.scores;
        float[] keyNorms = scratch.keyNorms;
        MemorySegment data = records.keys();
        // pass 1: q·(k - c) of every candidate, eight at a time so eight scattered reads are in flight
        long[] off = scratch.offsets;
        for (int j = 0; j < found; j++) off[j] = records.keyOffset(cand[j]);
        int j = 0;
        for (; j + 8 <= found; j += 8) VectorMath.dot8(q, qOff, data, off, j, headDim, dots, j);
        for (; j < found; j++) dots[j] = VectorMath.dot(q, qOff, data, off[j], headDim);
        for (j = 0; j < found; j++) keyNorms[j] = norms.getAtIndex(FLOAT, cand[j]);
        // pass 2: s = q·(k - c)/sqrt(d) - ln(u(cos) + 1e-4), ln(u + 1e-4) read from the weights' table
        float scale = (float) (1 / Math.sqrt(headDim));
        if (threshold == 0) {
            float logFull = (float) Math.log(1 + InclusionProbability.FLOOR);
            for (j = 0; j < found; j++) dots[j] = dots[j] * scale - logFull;
        } else {
            weights.logits(dots, keyNorms, found, qNorm, scale, dots);
        }
        // pass 3: softmax-weighted values, eight at a time
        long toValue = records.valueOffset(0) - records.keyOffset(0);
        for (j = 0; j < found; j++) off[j] += toValue;
        PartialSoftmax.accumulate(dots, found, off, data, headDim, out);
        return found;
    }

    /** Scratch of one thread for {@link #attend}, for blocks of up to a given size (by default the largest). */
    public static final class SampleScratch {
        final CollisionCounter counter;
        final float[] scores;
        final float[] keyNorms;
        final long[] offsets;

        public SampleScratch() {
            this(LshTables.MAX_BLOCK);
        }

        /** For blocks of at most {@code maxTokens} tokens. */
        public SampleScratch(int maxTokens) {
            counter = new CollisionCounter(maxTokens);
            scores = new float[maxTokens];
            keyNorms = new float[maxTokens];
            offsets = new long[maxTokens];
        }
    }
}
