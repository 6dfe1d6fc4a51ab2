package magicpig.model.hf;

/**
 * Row permutations between the two RoPE layouts of the q and k projections. llama2.c and GGUF
 * rotate adjacent pairs (2i, 2i+1) of each head; Hugging Face rotates (i, i + headDim/2). The HF
 * conversion script makes the two agree by reordering each head's output rows so that half-split
 * row i (i &lt; headDim/2) is adjacent-pair row 2i and half-split row i + headDim/2 is row 2i+1 —
 * in PyTorch, {@code w.view(heads, headDim/2, 2, cols).transpose(1, 2).reshape(heads*headDim, cols)}.
 * With q and k both permuted this way, half-split RoPE of the permuted projection equals the
 * permuted adjacent-pair RoPE of the original, and attention scores are unchanged.
 */
public final class RopeLayouts {
    private RopeLayouts() {}

    /** The adjacent-pair row that row {@code row} of the half-split matrix comes from. */
    public static int adjacentSourceRow(int row, int headDim) {
        checkHeadDim(headDim);
        int half = headDim / 2;
        int head = row / headDim;
        int i = row % headDim;
        return head * headDim + (i < half ? 2 * i : 2 * (i - half) + 1);
    }

    /** The half-split row that row {@code row} of the adjacent-pair matrix comes from (the inverse). */
    public static int halfSplitSourceRow(int row, int headDim) {
        checkHeadDim(headDim);
        int head = row / headDim;
        int i = row % headDim;
        return head * headDim + (i % 2 == 0 ? i / 2 : headDim / 2 + i / 2);
    }

    /**
     * Reorders the rows of a row-major [nHeads*headDim x cols] matrix from the adjacent-pair layout
     * to the half-split one; returns a new array. With cols = 1 it permutes a vector.
     */
    public static float[] adjacentToHalfSplit(float[] rows, int nHeads, int headDim, int cols) {
        return permute(rows, nHeads, headDim, cols, true);
    }

    /** The inverse of {@link #adjacentToHalfSplit}: half-split rows back to adjacent pairs. */
    public static float[] halfSplitToAdjacent(float[] rows, int nHeads, int headDim, int cols) {
        return permute(rows, nHeads, headDim, cols, false);
    }

    private static float[] permute(float[] rows, int nHeads, int headDim, int cols, boolean toHalfSplit) {
        checkHeadDim(headDim);
        if (nHeads <= 0 || cols <= 0 || (long) nHeads * headDim * cols != rows.length) {
            throw new IllegalArgumentException(rows.length + " values are not a [" + nHeads + "*" + headDim + " x " + cols + "] matrix");
        }
        float[] out = new float[rows.length];
        int n = nHeads * headDim;
        for (int r = 0; r < n; r++) {
            int src = toHalfSplit ? adjacentSourceRow(r, headDim) : halfSplitSourceRow(r, headDim);
            System.arraycopy(rows, src * cols, out, r * cols, cols);
        }
        return out;
    }

    private static void checkHeadDim(int headDim) {
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("head dim must be positive and even, got " + headDim);
    }
}
