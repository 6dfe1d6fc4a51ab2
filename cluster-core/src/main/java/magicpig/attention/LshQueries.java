package magicpig.attention;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import magicpig.model.LlamaConfig;

/**
 * The query side of MagicPIG, shared by the in-process method and the one whose blocks live on
 * attention shards: per sparse (layer, kv head) the SimHash projection (from the master seed, so
 * any host rebuilds it) and the centering vector c; per query head of the current step its L codes,
 * |q| and q·c.
 *
 * <p>c (MAGICPIG.md step 2) is fixed by the first {@link #centerOn} of a head: the mean of the
 * offloaded prompt keys, or of the first spilled tokens when the prompt offloaded nothing. Every key
 * of the head ever hashed is centered by that same c.
 *
 * <p>{@link #prepareGroup} runs once per kv head per step (in parallel over kv heads) and
 * allocates nothing; the codes of four query heads are computed together.
 */
public final class LshQueries {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final int group;
    private final int headDim;
    private final SimHash[][] hashes;
    private final float[][][] centers;
    private final char[][] codes;
    private final float[] qNorm;
    private final float[] qc;
    /** Per kv head: sign bits of four queries. */
    private final long[][] bits;

    public LshQueries(LlamaConfig config, AttentionSettings settings) {
        int layers = config.layers(), kvHeads = config.kvHeads();
        this.group = config.groupSize();
        this.headDim = config.headDim();
        this.hashes = new SimHash[layers][kvHeads];
        this.centers = new float[layers][kvHeads][];
        int words = 1;
        for (int l = 0; l < layers; l++) {
            if (settings.denseLayers().contains(l)) continue;
            for (int kv = 0; kv < kvHeads; kv++) {
                hashes[l][kv] = SimHash.forHead(settings.seed(), l, kv, headDim, settings.lshK(), settings.lshL());
                words = hashes[l][kv].bitWords();
            }
        }
        this.codes = new char[config.heads()][settings.lshL()];
        this.qNorm = new float[config.heads()];
        this.qc = new float[config.heads()];
        this.bits = new long[kvHeads][4 * words];
    }

    /** The projection of a sparse (layer, kv head); null for a dense layer. */
    public SimHash hash(int layer, int kvHead) {
        return hashes[layer][kvHead];
    }

    /** c of a (layer, kv head), or null before the first {@link #centerOn}. */
    public float[] center(int layer, int kvHead) {
        return centers[layer][kvHead];
    }

    /**
     * Fixes c of a (layer, kv head) as the mean of the raw keys [from, to) of the slice, unless it is
     * fixed already; returns c. Different heads may be centered in parallel.
     */
    public float[] centerOn(int layer, int kvHead, HeadSlice kv, int from, int to) {
        float[] c = centers[layer][kvHead];
        if (c == null) {
            c = meanKey(kv, headDim, from, to);
            centers[layer][kvHead] = c;
        }
        return c;
    }

    /**
     * Codes, |q| and q·c of the query heads of one kv head ({@code q[qOff + h * headDim ..]} for h in
     * the group), for a layer whose head is centered.
     */
    public void prepareGroup(int layer, int kvHead, float[] q, int qOff) {
        SimHash hash = hashes[layer][kvHead];
        long[] b = bits[kvHead];
        int words = hash.bitWords();
        int first = kvHead * group;
        int g = 0;
        for (; g + 4 <= group; g += 4) {
            hash.hash4(q, qOff + (first + g) * headDim, b, 0);
            for (int j = 0; j < 4; j++) hash.extract(b, j * words, codes[first + g + j], 0, 1);
        }
        for (; g < group; g++) {
            hash.hash1(q, qOff + (first + g) * headDim, b, 0);
            hash.extract(b, 0, codes[first + g], 0, 1);
        }
        float[] c = centers[layer][kvHead];
        for (g = 0; g < group; g++) {
            int h = first + g, qo = qOff + h * headDim;
            qNorm[h] = VectorMath.norm(q, qo, headDim);
            qc[h] = VectorMath.dot(q, qo, c, 0, headDim);
        }
    }

    /** The L codes of query head h in this step (the array is reused every step). */
    public char[] codes(int head) {
        return codes[head];
    }

    /** |q| of query head h in this step. */
    public float qNorm(int head) {
        return qNorm[head];
    }

    /** q·c of query head h in this step: the logit shift of its exact part. */
    public float qc(int head) {
        return qc[head];
    }

    /** The mean of keys [from, to), accumulated in double. */
    static float[] meanKey(HeadSlice kv, int headDim, int from, int to) {
        double[] sum = new double[headDim];
        MemorySegment keys = kv.keys();
        for (int p = from; p < to; p++) {
            long off = kv.keyOffset(p);
            for (int c = 0; c < headDim; c++) sum[c] += keys.get(FLOAT, off + 4L * c);
        }
        float[] mean = new float[headDim];
        for (int c = 0; c < headDim; c++) mean[c] = (float) (sum[c] / (to - from));
        return mean;
    }
}
