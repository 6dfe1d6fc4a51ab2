package magicpig.attention;

import java.lang.foreign.MemorySegment;

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
     * with logits {@code s[0..count)} into out. Overwrites s with the weights {@code exp(s - m)}.
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
        l += VectorMath.expShifted(s, 0, count, mNew);
        MemorySegment values = kv.values();
        int j = 0;
        if (pos == null) {
            for (; j + 4 <= count; j += 4) {
                VectorMath.axpy4(s[j], s[j + 1], s[j + 2], s[j + 3], values, kv.valueOffset(first + j), kv.valueOffset(first + j + 1),
                        kv.valueOffset(first + j + 2), kv.valueOffset(first + j + 3), acc, 0, headDim);
            }
            for (; j < count; j++) VectorMath.axpy(s[j], values, kv.valueOffset(first + j), acc, 0, headDim);
        } else {
            // scattered values, four at a time so four reads are in flight
            for (; j + 4 <= count; j += 4) {
                VectorMath.axpy4(s[j], s[j + 1], s[j + 2], s[j + 3], values, kv.valueOffset(pos[j]), kv.valueOffset(pos[j + 1]),
                        kv.valueOffset(pos[j + 2]), kv.valueOffset(pos[j + 3]), acc, 0, headDim);
            }
            for (; j < count; j++) VectorMath.axpy(s[j], values, kv.valueOffset(pos[j]), acc, 0, headDim);
        }
        out.set(mNew, (float) l, out.nnz() + count);
    }

}
