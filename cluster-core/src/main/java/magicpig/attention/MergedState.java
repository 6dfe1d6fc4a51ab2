package magicpig.attention;

import java.util.Arrays;

/**
 * The merge of several {@link PartialState}s of one query head, kept in double precision: the
 * largest logit {@code m} (a float, as the logits are), {@code l = sum l_j e^(m_j - m)} and
 * {@code acc = sum acc_j e^(m_j - m)}, both doubles, and nnz.
 *
 * <p><b>Why double.</b> The exact merge (MAGICPIG.md step 8) is associative only up to rounding.
 * In float, the static window, the blocks and the shards' replies merged in another order or
 * grouping give an output a few ulps apart. The next layer's query is then a few ulps apart too,
 * and an LSH code is not continuous in the query: a projection near zero flips a bit, and a
 * different set of keys is sampled. The cluster (blocks grouped by shard, replies merged as they
 * arrive) then drifted from the in-process method by up to 3e-2 in the logits, on 4 (1 shard) and
 * 6 (3 shards) of 120 prompts of synthetic:tiny. In double, the orders differ by about 1e-16 relative, which the
 * final rounding to float almost never shows: the output no longer depends on where the blocks
 * are or in which order the replies come.
 *
 * <p>The kernels still fill float {@link PartialState}s (one per block, or the static window),
 * whose computation is the same wherever it runs; only merging is in double. A mutable
 * flyweight, reset and reused every step.
 */
public final class MergedState {
    private final double[] acc;
    private float m = Float.NEGATIVE_INFINITY;
    private double l;
    private int nnz;

    public MergedState(int headDim) {
        this.acc = new double[headDim];
    }

    /** Back to the empty state: nnz = 0, l = 0, m = -inf. */
    public MergedState reset() {
        m = Float.NEGATIVE_INFINITY;
        l = 0;
        nnz = 0;
        Arrays.fill(acc, 0);
        return this;
    }

    public int headDim() {
        return acc.length;
    }

    public float m() {
        return m;
    }

    public double l() {
        return l;
    }

    public int nnz() {
        return nnz;
    }

    public boolean isEmpty() {
        return l == 0;
    }

    /** Component i of the normalised output o (0 when empty). */
    public double o(int i) {
        return l == 0 ? 0 : acc[i] / l;
    }

    /** Merges a kernel's state into this one. */
    public MergedState merge(PartialState other) {
        nnz += other.nnz();
        float[] x = other.acc();
        double lb = other.l();
        if (lb == 0) return this;
        int d = acc.length;
        if (l == 0) {
            for (int i = 0; i < d; i++) acc[i] = x[i];
            m = other.m();
            l = lb;
            return this;
        }
        float mMax = Math.max(m, other.m());
        double fa = Math.exp((double) m - mMax), fb = Math.exp((double) other.m() - mMax);
        for (int i = 0; i < d; i++) acc[i] = acc[i] * fa + x[i] * fb;
        l = l * fa + lb * fb;
        m = mMax;
        return this;
    }

    /** Merges another merged state into this one. */
    public MergedState merge(MergedState other) {
        return mergeNormalised(other.m, other.l, other.acc, 0, other.nnz, false);
    }

    /** Merges a state received in wire form: m, l, the normalised output o (headDim values from oOff) and nnz. */
    public MergedState mergeNormalised(float mb, double lb, double[] o, int oOff, int nnzb) {
        return mergeNormalised(mb, lb, o, oOff, nnzb, true);
    }

    private MergedState mergeNormalised(float mb, double lb, double[] x, int off, int nnzb, boolean normalised) {
        nnz += nnzb;
        if (lb == 0) return this;
        int d = acc.length;
        double scale = normalised ? lb : 1;
        if (l == 0) {
            for (int i = 0; i < d; i++) acc[i] = x[off + i] * scale;
            m = mb;
            l = lb;
            return this;
        }
        float mMax = Math.max(m, mb);
        double fa = Math.exp((double) m - mMax), fb = Math.exp((double) mb - mMax);
        double wb = fb * scale;
        for (int i = 0; i < d; i++) acc[i] = acc[i] * fa + x[off + i] * wb;
        l = l * fa + lb * fb;
        m = mMax;
        return this;
    }

    /** Writes o = acc / l, rounded to float once (zeros when empty), to dst. */
    public void writeOutput(float[] dst, int off) {
        if (l == 0) {
            Arrays.fill(dst, off, off + acc.length, 0f);
            return;
        }
        for (int i = 0; i < acc.length; i++) dst[off + i] = (float) (acc[i] / l);
    }

    /** Writes o = acc / l in double (zeros when empty), for the wire. */
    public void writeNormalised(double[] dst, int off) {
        for (int i = 0; i < acc.length; i++) dst[off + i] = l == 0 ? 0 : acc[i] / l;
    }

    @Override
    public String toString() {
        return "MergedState[m=" + m + ", l=" + l + ", nnz=" + nnz + "]";
    }
}
