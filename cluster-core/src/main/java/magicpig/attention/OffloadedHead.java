package magicpig.attention;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * The blocks of sampled tokens of one (layer, kv head), held in this process. Its projection and
 * centering vector are {@link LshQueries}'; every block is built with the same ones. (The cluster's
 * worker keeps the tokens it spills from its static window in one of these too.)
 */
public final class OffloadedHead {
    private final SimHash hash;
    private final int headDim;
    private LshBlock[] blocks = new LshBlock[0];

    public OffloadedHead(SimHash hash, int headDim) {
        this.hash = hash;
        this.headDim = headDim;
    }

    public LshBlock[] blocks() {
        return blocks;
    }

    /** Tokens held across blocks. */
    public int tokens() {
        int t = 0;
        for (LshBlock b : blocks) t += b.size();
        return t;
    }

    long indexBytes() {
        long s = 0;
        for (LshBlock b : blocks) s += b.indexBytes();
        return s;
    }

    /**
     * Adds tokens [from, to) of the slice (raw keys), centered by c, as blocks of {@code blockTokens}
     * tokens counted from {@code from}, the last one shorter: the cut the cluster places on shards.
     */
    public void add(HeadSlice kv, int from, int to, float[] center, Arena arena, int blockTokens) {
        if (to <= from) return;
        int count = (int) (((long) to - from + blockTokens - 1) / blockTokens);
        LshBlock[] grown = Arrays.copyOf(blocks, blocks.length + count);
        for (int b = 0; b < count; b++) {
            int s = from + b * blockTokens, e = Math.min(to, s + blockTokens);
            grown[blocks.length + b] = LshBlock.build(kv, headDim, s, e - s, center, hash, arena);
        }
        blocks = grown;
    }
}
