package magicpig.attention;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The sampled keys' logits {@code s = dot * scale - ln(u(cos) + 1e-4)}, a batch at a time, with
 * {@code cos = dot / (|q| |k - c|)}.
 *
 * <p>{@code ln(u(cos) + 1e-4)} depends on nothing but the cosine once K, L and T are fixed, so it
 * is tabulated once, from the exact {@link InclusionProbability} (any T), at
 * {@value #INTERVALS} + 1 evenly spaced cosines in [-1, 1], and read by linear interpolation: two
 * table loads and a multiply-add per key instead of the acos, pow and binomial tail (vectorised,
 * those still cost about 8% of a 128K-token step; the table, 128 KiB, stays in the second-level
 * cache). Before it is used, the table's error is measured at every interval's midpoint, where
 * linear interpolation errs most; it is used only when that is below {@value #TOLERANCE} (a
 * fraction of a float ulp of a logit), which holds for every practical K and L (K = 10, L = 150:
 * 1.2e-7). Otherwise (tiny K x L, where u rises too steeply next to cos = 1) each key gets the exact
 * scalar value.
 *
 * <p>Instances are immutable and shared per (K, L, T) ({@link #of}).
 */
public final class LogWeights {
    static final int INTERVALS = 16384;
    static final double TOLERANCE = 1e-6;
    private static final ConcurrentHashMap<Long, LogWeights> SHARED = new ConcurrentHashMap<>();

    private final InclusionProbability u;
    /** ln(u + 1e-4) at cos = -1 + 2 i / INTERVALS; null when the table is not accurate enough. */
    private final double[] table;
    private final double tableError;

    public LogWeights(InclusionProbability u) {
        this.u = u;
        double[] t = new double[INTERVALS + 1];
        for (int i = 0; i <= INTERVALS; i++) t[i] = u.logWeight(-1 + 2.0 * i / INTERVALS);
        double err = 0;
        for (int i = 0; i < INTERVALS; i++) {
            double mid = u.logWeight(-1 + (2.0 * i + 1) / INTERVALS);
            err = Math.max(err, Math.abs((t[i] + t[i + 1]) / 2 - mid));
        }
        this.tableError = err;
        this.table = err <= TOLERANCE ? t : null;
    }

    /** The shared instance for these settings (tables are built once per K, L, T). */
    public static LogWeights of(int k, int tables, int threshold) {
        long key = ((long) k << 48) | ((long) tables << 16) | threshold;
        return SHARED.computeIfAbsent(key, x -> new LogWeights(new InclusionProbability(k, tables, threshold)));
    }

    /** Whether the logits come from the table (else from the exact scalar u). */
    public boolean tabulated() {
        return table != null;
    }

    /** Largest difference between the table's interpolation and the exact value, at interval midpoints. */
    public double tableError() {
        return tableError;
    }

    /**
     * For j in [0, count): {@code s[j] = dot[j] * scale - ln(u(dot[j] / (qNorm * keyNorm[j])) + 1e-4)}.
     * s may be dot itself. A zero key or query (NaN cosine) counts as orthogonal, cos = 0.
     */
    void logits(float[] dot, float[] keyNorm, int count, float qNorm, float scale, float[] s) {
        double[] t = table;
        if (t == null) {
            for (int j = 0; j < count; j++) {
                double cos = dot[j] / ((double) qNorm * keyNorm[j]);
                s[j] = (float) (dot[j] * scale - u.logWeight(cos));
            }
            return;
        }
        double half = INTERVALS / 2.0;
        for (int j = 0; j < count; j++) {
            double cos = dot[j] / ((double) qNorm * keyNorm[j]);
            if (cos != cos) cos = 0;
            double x = (Math.max(-1, Math.min(1, cos)) + 1) * half;
            int i = Math.min((int) x, INTERVALS - 1);
            double f = x - i, a = t[i];
            s[j] = (float) (dot[j] * scale - (a + f * (t[i + 1] - a)));
        }
    }
}
