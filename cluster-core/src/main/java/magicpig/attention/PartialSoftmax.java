package magicpig.attention;

/**
 * The one place logits become a {@link PartialState}: given final logits s_i of some keys (exact
 * {@code q·k/sqrt(d)}, or re-weighted samples), folds {@code exp(s_i - m) v_i} into a state with
 * the running-max rescale of online softmax. Accurate {@link Math#exp} throughout; loops over
 * exactly {@code count} keys; allocates nothing.
 */
final class PartialSoftmax {
    private PartialSoftmax() {}

    /**
     * Merges keys {@code pos[0..count)} (absolute positions, or {@code first + j} when pos is null)
     * with logits {@code s[0..count)} into out.
     */
    static void accumulate(float[] s, int count, int[] pos, int first, HeadSlice kv, int headDim, PartialState out) {
        if (count <= 0) return;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) max = Math.max(max, s[j]);
        float[] acc = out.acc();
        float mNew;
        double l;
        if (out.isEmpty()) {
            mNew = max;
            l = 0;
        } else {
            mNew = Math.max(out.m(), max);
            float f = (float) Math.exp(out.m() - mNew);
            if (f != 1f) VectorMath.scale(acc, 0, f, headDim);
            l = out.l() * (double) f;
        }
        for (int j = 0; j < count; j++) {
            float w = (float) Math.exp(s[j] - mNew);
            if (w == 0f) continue;
            l += w;
            int p = pos == null ? first + j : pos[j];
            VectorMath.axpy(w, kv.values(), kv.offset(p), acc, 0, headDim);
        }
        out.set(mNew, (float) l, out.nnz() + count);
    }
}
