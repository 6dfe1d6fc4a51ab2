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
        float mNew = weigh(s, count, headDim, out);
        float[] acc = out.acc();
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
        out.set(mNew, out.l(), out.nnz() + count);
    }

    /**
     * The same for values at byte offsets {@code valueOffset[0..count)} of one segment (sampled
     * records), eight at a time so eight scattered reads are in flight.
     */
    static void accumulate(float[] s, int count, long[] valueOffset, MemorySegment values, int headDim, PartialState out) {
        if (count <= 0) return;
        float mNew = weigh(s, count, headDim, out);
        float[] acc = out.acc();
        int j = 0;
        for (; j + 8 <= count; j += 8) VectorMath.axpy8(s, j, values, valueOffset, j, acc, 0, headDim);
        for (; j < count; j++) VectorMath.axpy(s[j], values, valueOffset[j], acc, 0, headDim);
        out.set(mNew, out.l(), out.nnz() + count);
    }

    /**
     * The online-softmax step before the values: the new running max m over out's and s's; out's
     * accumulator rescaled to it; out's m and l set (l plus the new weights {@code exp(s - m)},
     * which overwrite s); returns m. The caller adds the weighted values and the count.
     */
    private static float weigh(float[] s, int count, int headDim, PartialState out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) max = Math.max(max, s[j]);
        float mNew;
        double l;
        if (out.isEmpty()) {
            mNew = max;
            l = 0;
        } else {
            mNew = Math.max(out.m(), max);
            float f = (float) Math.exp(out.m() - mNew);
            if (f != 1f) VectorMath.scale(out.acc(), 0, f, headDim);
            l = out.l() * (double) f;
        }
        l += VectorMath.expShifted(s, 0, count, mNew);
        out.set(mNew, (float) l, out.nnz());
        return mNew;
    }
}
