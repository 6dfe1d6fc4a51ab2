package magicpig.attention;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * MagicPIG's offloaded keys of one (layer, kv head): the centering vector c, the SimHash
 * projection and the blocks of sampled tokens.
 *
 * <p>c is the mean of the offloaded prompt keys (MAGICPIG.md step 2), computed once. When the
 * prompt leaves nothing to offload, c is the mean of the first tokens spilled from the static
 * window instead; either way it is fixed from then on and applied to every key of the head that is
 * ever hashed, so later spills use the same c.
 */
final class OffloadedHead {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    private final SimHash hash;
    private final int headDim;
    private float[] center;
    private LshBlock[] blocks = new LshBlock[0];

    OffloadedHead(SimHash hash, int headDim) {
        this.hash = hash;
        this.headDim = headDim;
    }

    SimHash hash() {
        return hash;
    }

    float[] center() {
        return center;
    }

    LshBlock[] blocks() {
        return blocks;
    }

    boolean isEmpty() {
        return blocks.length == 0;
    }

    /** Tokens held across blocks. */
    int tokens() {
        int t = 0;
        for (LshBlock b : blocks) t += b.size();
        return t;
    }

    long indexBytes() {
        long s = 0;
        for (LshBlock b : blocks) s += b.indexBytes();
        return s;
    }

    /** Adds tokens [from, to) of the slice (raw keys) as blocks of at most 65,536 tokens; the first call fixes c. */
    void add(HeadSlice kv, int from, int to, Arena arena) {
        if (to <= from) return;
        if (center == null) center = meanKey(kv, headDim, from, to);
        int n = to - from;
        int count = (n + LshTables.MAX_BLOCK - 1) / LshTables.MAX_BLOCK;
        LshBlock[] grown = Arrays.copyOf(blocks, blocks.length + count);
        for (int b = 0; b < count; b++) {
            int s = from + (int) ((long) n * b / count), e = from + (int) ((long) n * (b + 1) / count);
            grown[blocks.length + b] = LshBlock.build(kv, headDim, s, e - s, center, hash, arena);
        }
        blocks = grown;
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
