package magicpig.attention;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sampled keys' logits {@code s = dot * scale - ln(u(cos) + 1e-4)}, a batch at a time, with
 * {@code cos = dot / (|q| |k - c|)}: {@link InclusionProbability} vectorised for the default
 * threshold T = 2, scalar for other T.
 *
 * <p>The vector path computes, per lane and in double precision, {@code p = 1 - acos(cos)/pi},
 * {@code P = p^K} by squaring, and the tail {@code u = P[X >= 2]} of X ~ Bin(L, P) in two ways,
 * blended by lane: where {@code L P >= 1/2}, the closed form {@code -expm1(L a) - L P exp((L-1) a)}
 * with {@code a = log1p(-P)} (then u >= 0.09 and nothing cancels); below, the series
 * {@code sum_{k>=2} C(L,k) P^k (1-P)^(L-k)} from its first term, {@value #SERIES_TERMS} terms (each
 * ratio is at most 1/6 there, so the rest is below 1e-15 of the sum). The Vector API's ACOS,
 * LOG1P, EXPM1, EXP and LOG follow the accuracy of their {@link Math} counterparts (see
 * VectorOperators, "Operations on floating point vectors"), so this agrees with the scalar
 * reference to rounding (tested). Both forms are computed for every lane and blended: all in one
 * method with no data-dependent branches, which is what lets C2 keep every vector in registers
 * (helper methods or branches on masks made it box them: ~100 KB of garbage per step).
 */
public final class LogWeights {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int SERIES_TERMS = 20;
    /** Keys per batch: the scratch needs 2 x CHUNK doubles. */
    static final int CHUNK = 256;

    private final InclusionProbability u;
    private final int k;
    private final double tables;
    private final boolean vector;
    private final double choose2;
    /** Series ratios (L-2-j)/(3+j), j = 0.. SERIES_TERMS-1: term_{k+1} = term_k (L-k)/(k+1) P/(1-P). */
    private final double[] ratio;

    public LogWeights(InclusionProbability u) {
        this.u = u;
        this.k = u.k();
        this.tables = u.tables();
        this.vector = u.threshold() == 2;
        int l = u.tables();
        this.choose2 = l * (l - 1) / 2.0;
        this.ratio = new double[SERIES_TERMS];
        for (int j = 0; j < SERIES_TERMS; j++) ratio[j] = Math.max(0, (double) (l - 2 - j) / (3 + j));
    }

    /**
     * For j in [0, count): {@code s[j] = dot[j] * scale - ln(u(dot[j] / (qNorm * keyNorm[j])) + 1e-4)}.
     * s may be dot itself. buf is scratch of at least 2 x {@link #CHUNK} doubles.
     */
    void logits(float[] dot, float[] keyNorm, int count, float qNorm, float scale, float[] s, double[] buf) {
        if (!vector) {
            for (int j = 0; j < count; j++) {
                double cos = dot[j] / ((double) qNorm * keyNorm[j]);
                s[j] = (float) (dot[j] * scale - u.logWeight(cos));
            }
            return;
        }
        for (int from = 0; from < count; from += CHUNK) {
            int len = Math.min(CHUNK, count - from);
            for (int j = 0; j < len; j++) buf[j] = dot[from + j] / ((double) qNorm * keyNorm[from + j]);
            int j = 0;
            for (int upper = D.loopBound(len); j < upper; j += D.length()) {
                // ln(u + 1e-4) for T = 2, per lane; written inline, not as a helper: when C2 compiles
                // this method before a helper is hot, it calls the helper instead of inlining it and
                // every vector crossing the call is boxed (measured: ~300 bytes per attend call).
                DoubleVector cos = DoubleVector.fromArray(D, buf, j);
                DoubleVector c = cos.blend(0.0, cos.test(VectorOperators.IS_NAN)).max(-1.0).min(1.0);
                DoubleVector p = c.lanewise(VectorOperators.ACOS).mul(-1 / Math.PI).add(1.0);
                DoubleVector pk = DoubleVector.broadcast(D, 1.0);
                DoubleVector b = p;
                for (int e = k; e > 0; e >>>= 1) {
                    if ((e & 1) != 0) pk = pk.mul(b);
                    b = b.mul(b);
                }
                DoubleVector a = pk.neg().lanewise(VectorOperators.LOG1P);
                DoubleVector lp = pk.mul(tables);
                // closed form: 1 - (1-P)^L - L P (1-P)^(L-1)
                DoubleVector closed = a.mul(tables).lanewise(VectorOperators.EXPM1).neg()
                        .sub(lp.mul(a.mul(tables - 1).lanewise(VectorOperators.EXP)));
                // series from k = 2
                DoubleVector term = pk.mul(pk).mul(choose2).mul(a.mul(tables - 2).lanewise(VectorOperators.EXP));
                DoubleVector odds = pk.div(pk.neg().add(1.0));
                DoubleVector sum = term;
                for (int t = 0; t < SERIES_TERMS; t++) {
                    term = term.mul(odds).mul(ratio[t]);
                    sum = sum.add(term);
                }
                VectorMask<Double> small = lp.compare(VectorOperators.LT, 0.5);
                DoubleVector uv = closed.blend(sum, small).max(0.0).min(1.0);
                uv.add(InclusionProbability.FLOOR).lanewise(VectorOperators.LOG).intoArray(buf, CHUNK + j);
            }
            for (; j < len; j++) buf[CHUNK + j] = u.logWeight(buf[j]);
            for (j = 0; j < len; j++) s[from + j] = (float) (dot[from + j] * scale - buf[CHUNK + j]);
        }
    }
}
