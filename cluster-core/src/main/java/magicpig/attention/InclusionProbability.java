package magicpig.attention;

/**
 * The probability u that LSH sampling retrieves a key, as a function of its cosine with the query
 * (MAGICPIG.md step 6), and the estimator's log weight {@code ln(u + 1e-4)} (step 7).
 *
 * <ul>
 *   <li>one bit collides with probability {@code p = 1 - acos(cos)/pi} (SimHash);
 *   <li>one table (K bits) with {@code P = p^K};
 *   <li>the key is retrieved when it collides in at least T of L independent tables:
 *       {@code u = P[X >= T]} for {@code X ~ Binomial(L, P)}.
 * </ul>
 *
 * <p>The binomial tail is summed so that no two large numbers cancel: when the tail is the small
 * side ({@code T > L*P}) its terms are added directly from k = T upward (terms are positive and
 * shrink geometrically past the mode); otherwise {@code u = 1 - P[X < T]} where that lower sum is
 * at most about one half. Terms come from a log-space start ({@code ln C(L,k) + k ln P + (L-k)
 * log1p(-P)}) and the ratio recurrence {@code t_{k+1} = t_k (L-k)/(k+1) P/(1-P)}. For T = 2 the
 * closed form {@code 1 - (1-P)^L - L P (1-P)^(L-1)} (with expm1/log1p) is used where it does not
 * cancel. Natural logarithms throughout.
 */
public final class InclusionProbability {
    /** The floor in {@code s = q·k/sqrt(d) - ln(u + FLOOR)}: caps one key's weight at 1e4. */
    public static final double FLOOR = 1e-4;

    private final int k;
    private final int tables;
    private final int threshold;
    /** ln C(L, j) for j = 0..L. */
    private final double[] lnChoose;

    public InclusionProbability(int k, int tables, int threshold) {
        if (k < 1 || k > SimHash.MAX_K) throw new IllegalArgumentException("LSH K must be in 1.." + SimHash.MAX_K + ", got " + k);
        if (tables < 1) throw new IllegalArgumentException("LSH L must be at least 1, got " + tables);
        if (threshold < 0 || threshold > tables) throw new IllegalArgumentException("LSH threshold must be in 1.." + tables + ", got " + threshold);
        this.k = k;
        this.tables = tables;
        this.threshold = threshold;
        this.lnChoose = lnChooseTable(tables);
    }

    public int k() {
        return k;
    }

    public int tables() {
        return tables;
    }

    public int threshold() {
        return threshold;
    }

    /** One-bit SimHash collision probability of two vectors with this cosine (clamped to [-1, 1]). */
    public static double bitCollision(double cos) {
        double c = cos >= 1 ? 1 : cos <= -1 ? -1 : cos;
        if (Double.isNaN(cos)) c = 0; // a zero vector: no direction, a fair coin per bit
        return 1 - Math.acos(c) / Math.PI;
    }

    /** u for a key with this cosine to the query. */
    public double u(double cos) {
        double p = bitCollision(cos);
        return atLeast(pow(p, k));
    }

    /** {@code ln(u + 1e-4)}, the log of the inverse importance weight of a sampled key. */
    public double logWeight(double cos) {
        return Math.log(u(cos) + FLOOR);
    }

    /** P[X >= T] for X ~ Binomial(L, P) with this instance's L and T. */
    public double atLeast(double pTable) {
        return tail(pTable, tables, threshold, lnChoose);
    }

    /** P[X >= t] for X ~ Binomial(n, p), computed without cancellation. */
    public static double binomialTail(double p, int n, int t) {
        if (t < 0 || t > n) throw new IllegalArgumentException("threshold " + t + " outside 0.." + n);
        return tail(p, n, t, lnChooseTable(n));
    }

    /** The T = 2 closed form {@code 1 - (1-P)^L - L P (1-P)^(L-1)}; accurate when L*P is not small. */
    public static double atLeastTwoClosedForm(double p, int n) {
        double a = Math.log1p(-p);
        // 1 - (1-P)^L = -expm1(L a); L P (1-P)^(L-1) = L P exp((L-1) a)
        return -Math.expm1(n * a) - n * p * Math.exp((n - 1) * a);
    }

    private static double tail(double p, int n, int t, double[] lnChoose) {
        if (t <= 0) return 1;
        if (!(p > 0)) return 0;
        if (p >= 1) return 1;
        double mean = n * p;
        if (t == 2 && mean >= 2) return atLeastTwoClosedForm(p, n); // the tail is the large side: no cancellation
        double lnP = Math.log(p);
        double ln1mP = Math.log1p(-p);
        double odds = p / (1 - p);
        if (t > mean) {
            // small upper tail: sum terms k = t, t+1, ... (positive, shrinking past the mode)
            double term = Math.exp(lnChoose[t] + t * lnP + (n - t) * ln1mP);
            double sum = term;
            for (int j = t; j < n; j++) {
                term *= (double) (n - j) / (j + 1) * odds;
                sum += term;
                if (term <= sum * 1e-17 && j + 1 > mean) break;
            }
            return Math.min(1, sum);
        }
        // large upper tail: 1 - P[X < t]; below the mode the terms grow with k, so start from the
        // largest, k = t-1, in log space and walk down
        double term = Math.exp(lnChoose[t - 1] + (t - 1) * lnP + (n - t + 1) * ln1mP);
        double lower = term;
        for (int j = t - 1; j >= 1; j--) {
            term *= j / ((n - j + 1) * odds);
            lower += term;
            if (term <= lower * 1e-17) break;
        }
        return Math.max(0, 1 - lower);
    }

    private static double pow(double p, int k) {
        double r = 1;
        double b = p;
        for (int e = k; e > 0; e >>>= 1) {
            if ((e & 1) != 0) r *= b;
            b *= b;
        }
        return r;
    }

    private static double[] lnChooseTable(int n) {
        double[] t = new double[n + 1];
        for (int j = 1; j <= n; j++) t[j] = t[j - 1] + Math.log((double) (n - j + 1) / j);
        return t;
    }
}
