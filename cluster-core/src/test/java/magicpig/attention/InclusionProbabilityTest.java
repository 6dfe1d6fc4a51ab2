package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InclusionProbabilityTest {
    private static final MathContext MC = new MathContext(60);

    /** P[X >= t], X ~ Bin(n, p), in 60-digit decimal arithmetic. */
    private static double exactTail(double p, int n, int t) {
        BigDecimal bp = new BigDecimal(p), bq = BigDecimal.ONE.subtract(bp);
        BigDecimal sum = BigDecimal.ZERO;
        BigDecimal choose = BigDecimal.ONE;
        for (int k = 0; k <= n; k++) {
            if (k > 0) choose = choose.multiply(BigDecimal.valueOf(n - k + 1)).divide(BigDecimal.valueOf(k), MC);
            if (k >= t) sum = sum.add(choose.multiply(bp.pow(k, MC)).multiply(bq.pow(n - k, MC)), MC);
        }
        return sum.doubleValue();
    }

    @Test
    void binomialTailMatchesExactArithmeticAcrossScales() {
        double[] ps = {1e-12, 1e-7, 1e-4, 1e-3, 0.0097, 0.05, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9};
        int[][] nts = {{1, 1}, {150, 1}, {150, 2}, {150, 3}, {300, 2}, {150, 10}, {150, 149}, {150, 150}, {20, 2}};
        for (double p : ps) {
            for (int[] nt : nts) {
                double exact = exactTail(p, nt[0], nt[1]);
                double got = InclusionProbability.binomialTail(p, nt[0], nt[1]);
                if (exact < 1e-300) {
                    assertTrue(got < 1e-290, "p=" + p + " n,t=" + nt[0] + "," + nt[1]);
                } else {
                    assertEquals(exact, got, exact * 1e-11, "p=" + p + " n=" + nt[0] + " t=" + nt[1]);
                }
            }
        }
    }

    @Test
    void closedFormForTwoAgreesWhereItIsWellConditioned() {
        for (double p : new double[]{0.001, 0.01, 0.1, 0.5}) {
            assertEquals(exactTail(p, 150, 2), InclusionProbability.atLeastTwoClosedForm(p, 150), 1e-12);
        }
        // and the general path stays accurate where the closed form cancels (L P = 1.5e-7)
        double p = 1e-9;
        double exact = exactTail(p, 150, 2);
        assertEquals(exact, InclusionProbability.binomialTail(p, 150, 2), exact * 1e-12);
    }

    @Test
    void bitCollisionIsOneMinusAngleOverPi() {
        assertEquals(1, InclusionProbability.bitCollision(1), 0);
        assertEquals(0, InclusionProbability.bitCollision(-1), 0);
        assertEquals(0.5, InclusionProbability.bitCollision(0), 1e-15);
        assertEquals(1 - 1.0 / 3, InclusionProbability.bitCollision(0.5), 1e-15);
        assertEquals(1, InclusionProbability.bitCollision(1.0000001), 0); // clamped
        assertEquals(0.5, InclusionProbability.bitCollision(Double.NaN), 0);
    }

    /** u(cos) equals the frequency with which random projections make two vectors collide in >= T of L tables. */
    @Test
    void uMatchesMonteCarloCollisionFrequency() {
        int d = 16, k = 4, tables = 12, trials = 3000;
        Random r = new Random(3);
        for (double cos : new double[]{0.2, 0.5, 0.8}) {
            // two unit vectors at the given cosine
            float[] a = new float[d], b = new float[d];
            a[0] = 1;
            b[0] = (float) cos;
            b[1] = (float) Math.sqrt(1 - cos * cos);
            int[] hits = new int[4];
            long[] bits = null;
            char[] ca = new char[tables], cb = new char[tables];
            for (int trial = 0; trial < trials; trial++) {
                SimHash h = new SimHash(d, k, tables, r.nextLong());
                if (bits == null) bits = new long[h.bitWords()];
                h.codes(a, 0, bits, ca, 0, 1);
                h.codes(b, 0, bits, cb, 0, 1);
                int same = 0;
                for (int t = 0; t < tables; t++) if (ca[t] == cb[t]) same++;
                for (int t = 1; t <= 3; t++) if (same >= t) hits[t]++;
            }
            for (int t = 1; t <= 3; t++) {
                double u = new InclusionProbability(k, tables, t).u(cos);
                double freq = hits[t] / (double) trials;
                double sigma = Math.sqrt(u * (1 - u) / trials);
                assertEquals(u, freq, 4.5 * sigma + 1e-3, "cos=" + cos + " T=" + t);
            }
        }
    }

    @Test
    void logWeightUsesTheFloorAndNaturalLog() {
        InclusionProbability ip = new InclusionProbability(10, 150, 2);
        double u = ip.u(0.3);
        assertEquals(Math.log(u + 1e-4), ip.logWeight(0.3), 1e-15);
        assertEquals(Math.log(1 + 1e-4), ip.logWeight(1), 1e-15);
        assertEquals(Math.log(1e-4), ip.logWeight(-1), 1e-12);
        // u grows with the cosine
        double prev = -1;
        for (double c = -1; c <= 1; c += 0.01) {
            double v = ip.u(c);
            assertTrue(v >= prev - 1e-15, "u must not decrease with cos");
            prev = v;
        }
    }
}
