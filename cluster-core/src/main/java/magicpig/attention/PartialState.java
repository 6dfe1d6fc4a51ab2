package magicpig.attention;

import java.util.Arrays;

/**
 * Attention of one query head over some subset of keys, in the form that merges exactly: the
 * largest logit {@code m}, the normaliser {@code l = sum exp(s_i - m)}, the output
 * {@code o = sum exp(s_i - m) v_i / l} and {@code nnz}, how many keys went in.
 *
 * <p>The state keeps {@code acc = l * o} (not yet divided by l), so merging needs no division:
 * with {@code m* = max(m_a, m_b)}, {@code l* = l_a e^(m_a - m*) + l_b e^(m_b - m*)} and
 * {@code acc* = acc_a e^(m_a - m*) + acc_b e^(m_b - m*)}. That is the exact rule of MAGICPIG.md
 * step 8: associative and commutative up to rounding, so static window, blocks and shards can be
 * merged in any order. The kernels fill these float states; merges whose order varies (blocks,
 * shards, replies) go through {@link MergedState}, in double, so that the order does not show in
 * the result. An empty state (nnz = 0) has {@code l = 0, m = -inf} and is the identity of merge.
 *
 * <p>A mutable flyweight: one per query head per thread, reset and reused every step.
 */
public final class PartialState {
    private final float[] acc;
    private float m = Float.NEGATIVE_INFINITY;
    private float l;
    private int nnz;

    public PartialState(int headDim) {
        this.acc = new float[headDim];
    }

    /** Back to the empty state: nnz = 0, l = 0, m = -inf. */
    public PartialState reset() {
        m = Float.NEGATIVE_INFINITY;
        l = 0;
        nnz = 0;
        Arrays.fill(acc, 0f);
        return this;
    }

    public int headDim() {
        return acc.length;
    }

    public float m() {
        return m;
    }

    public float l() {
        return l;
    }

    public int nnz() {
        return nnz;
    }

    public boolean isEmpty() {
        return l == 0;
    }

    /** log sum exp of the logits that went in; -inf when empty. */
    public double logSumExp() {
        return l == 0 ? Double.NEGATIVE_INFINITY : m + Math.log(l);
    }

    /** Component i of the normalised output o (0 when empty). */
    public float o(int i) {
        return l == 0 ? 0f : acc[i] / l;
    }

    /** The unnormalised accumulator {@code l * o}; kernels add into it directly. */
    float[] acc() {
        return acc;
    }

    /** Sets m, l and nnz after a kernel filled {@link #acc()}. */
    void set(float m, float l, int nnz) {
        this.m = l == 0 ? Float.NEGATIVE_INFINITY : m;
        this.l = l;
        this.nnz = nnz;
    }

    /** Writes o = acc / l (zeros when empty) to dst. */
    public void writeOutput(float[] dst, int off) {
        if (l == 0) {
            Arrays.fill(dst, off, off + acc.length, 0f);
            return;
        }
        float inv = 1f / l;
        for (int i = 0; i < acc.length; i++) dst[off + i] = acc[i] * inv;
    }

    /** Copies another state into this one. */
    public PartialState copyFrom(PartialState other) {
        System.arraycopy(other.acc, 0, acc, 0, acc.length);
        m = other.m;
        l = other.l;
        nnz = other.nnz;
        return this;
    }

    /** Merges another state into this one (this := this ⊕ other), in float: for merges whose order is fixed (dense attention's chunks). */
    public PartialState merge(PartialState other) {
        nnz += other.nnz;
        float lb = other.l;
        if (lb == 0) return this;
        int d = acc.length;
        if (l == 0) {
            // this is empty: take the other as it is
            System.arraycopy(other.acc, 0, acc, 0, d);
            m = other.m;
            l = lb;
            return this;
        }
        float mMax = Math.max(m, other.m);
        float fa = (float) Math.exp(m - mMax);
        float fb = (float) Math.exp(other.m - mMax);
        VectorMath.scaleAdd(acc, 0, fa, fb, other.acc, 0, d);
        l = l * fa + lb * fb;
        m = mMax;
        return this;
    }

    @Override
    public String toString() {
        return "PartialState[m=" + m + ", l=" + l + ", nnz=" + nnz + "]";
    }
}
