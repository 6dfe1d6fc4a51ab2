package magicpig.attention;

import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * The blocks of sampled tokens of one (layer, kv head), held in this process. Its projection and
 * centering vector are {@link LshQueries}'; every block is built with the same ones.
 */
final class OffloadedHead {
    private final SimHash hash;
    private final int headDim;
    private LshBlock[] blocks = new LshBlock[0];

    OffloadedHead(SimHash hash, int headDim) {
        this.hash = hash;
        this.headDim = headDim;
    }

    LshBlock[] blocks() {
        return blocks;
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

    /** Adds tokens [from, to) of the slice (raw keys), centered by c, as blocks of at most 65,536 tokens. */
    void add(HeadSlice kv, int from, int to, float[] center, Arena arena) {
        if (to <= from) return;
        int n = to - from;
        int count = (n + LshTables.MAX_BLOCK - 1) / LshTables.MAX_BLOCK;
        LshBlock[] grown = Arrays.copyOf(blocks, blocks.length + count);
        for (int b = 0; b < count; b++) {
            int s = from + (int) ((long) n * b / count), e = from + (int) ((long) n * (b + 1) / count);
            grown[blocks.length + b] = LshBlock.build(kv, headDim, s, e - s, center, hash, arena);
        }
        blocks = grown;
    }
}
