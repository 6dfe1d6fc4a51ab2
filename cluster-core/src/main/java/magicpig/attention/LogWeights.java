package magicpig.attention;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sampled keys' logits {@code s = dot * scale - ln(u(cos) + 1e-4)}, a batch at a time, with
 * {@code cos = dot / (|q| |k - c|)}: {@link InclusionProbability} vectorised for the default
 * threshold T = 2, scalar for other T.
 *
 * <p>The vector path computes, per lane and in double precision, {@code p = 1 - acos(cos)/pi},
 * {@code P = p^K = exp(K ln p)} and the tail {@code u = P[X >= 2]} of X ~ Bin(L, P) in closed form,
 * {@code -expm1(L a) - L P exp((L-1) a)} with {@code a = log1p(-P)}. Where L P is small the two
 * terms nearly cancel, but each is at most L P, so the absolute error of u stays near 1e-16, and u
 * enters the logit only as {@code ln(u + 1e-4)}: the error there is below 1e-12 for every lane
 * (the scalar reference sums the series instead, which is exact in relative terms; the two agree
 * to rounding of the float logits, tested). The Vector API's ACOS, LOG, EXP, LOG1P and EXPM1
 * follow the accuracy of their {@link Math} counterparts (see VectorOperators, "Operations on
 * floating point vectors").
 *
 * <p>The lane code is one straight line inside the loop of {@link #logits}: no helper method, no
 * inner loop, no branch. C2 keeps vectors in registers only when it can see every use: a helper it
 * compiled before the call site was hot was called, not inlined, and every vector crossing the call
 * was boxed; a series loop carrying a vector, or a loop for p^K by squaring, boxed under some
 * compilations and not others (measured: 0 bytes or ~1 KB per shard query, depending on the run).
 */
public final class LogWeights {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Keys per batch: the scratch needs 2 x CHUNK doubles. */
    static final int CHUNK = 256;

    private final InclusionProbability u;
    private final double k;
    private final double tables;
    private final boolean vector;

    public LogWeights(InclusionProbability u) {
        this.u = u;
        this.k = u.k();
        this.tables = u.tables();
        this.vector = u.threshold() == 2;
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
                // ln(u + 1e-4) for T = 2, per lane
                DoubleVector cos = DoubleVector.fromArray(D, buf, j);
                DoubleVector c = cos.blend(0.0, cos.test(VectorOperators.IS_NAN)).max(-1.0).min(1.0);
                DoubleVector p = c.lanewise(VectorOperators.ACOS).mul(-1 / Math.PI).add(1.0);
                DoubleVector pk = p.lanewise(VectorOperators.LOG).mul(k).lanewise(VectorOperators.EXP); // ln 0 = -inf: P = 0
                DoubleVector a = pk.neg().lanewise(VectorOperators.LOG1P);
                DoubleVector uv = a.mul(tables).lanewise(VectorOperators.EXPM1).neg()
                        .sub(pk.mul(tables).mul(a.mul(tables - 1).lanewise(VectorOperators.EXP)));
                uv.max(0.0).min(1.0).add(InclusionProbability.FLOOR).lanewise(VectorOperators.LOG).intoArray(buf, CHUNK + j);
            }
            for (; j < len; j++) buf[CHUNK + j] = u.logWeight(buf[j]);
            for (j = 0; j < len; j++) s[from + j] = (float) (dot[from + j] * scale - buf[CHUNK + j]);
        }
    }
}
