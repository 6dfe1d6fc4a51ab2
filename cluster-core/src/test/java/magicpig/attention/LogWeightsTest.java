package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LogWeightsTest {

    /**
     * The tabulated logits agree with the exact binomial tail to a fraction of a float ulp, across
     * K, L, T and the whole cosine range (ends, zero keys and cosines next to +-1 included).
     */
    @Test
    void tableMatchesExactReference() {
        Random r = new Random(22);
        int n = 20_000;
        float[] dot = new float[n], norm = new float[n], s = new float[n];
        for (int[] klt : new int[][]{{10, 150, 2}, {8, 75, 2}, {11, 300, 2}, {16, 1000, 2}, {6, 64, 2}, {10, 150, 1}, {6, 40, 3}, {10, 150, 5}}) {
            InclusionProbability ip = new InclusionProbability(klt[0], klt[1], klt[2]);
            LogWeights lw = new LogWeights(ip);
            assertTrue(lw.tabulated(), "K=" + klt[0] + " L=" + klt[1] + " T=" + klt[2] + " error " + lw.tableError());
            float qNorm = 3f;
            for (int j = 0; j < n; j++) {
                double cos = j < 7 ? new double[]{-1, 1, 0, 0.999999, -0.999999, 1 - 1e-4, 0.5}[j] : 2 * r.nextDouble() - 1;
                norm[j] = (float) (0.5 + r.nextDouble() * 4);
                dot[j] = (float) (cos * qNorm * norm[j]);
            }
            norm[7] = 0f; // a zero key with a nonzero dot: infinite cosine, clamped to 1
            dot[8] = 0f;
            norm[8] = 0f; // 0/0: NaN cosine, treated as orthogonal
            lw.logits(dot, norm, n, qNorm, 0.125f, s);
            for (int j = 0; j < n; j++) {
                double cos = j == 8 ? 0 : dot[j] / ((double) qNorm * norm[j]);
                double expected = dot[j] * 0.125f - ip.logWeight(cos);
                assertEquals(expected, s[j], 2e-6 * Math.max(1, Math.abs(expected)), "K=" + klt[0] + " L=" + klt[1] + " cos=" + cos);
            }
        }
    }

    /** Where u rises too steeply for the table (tiny K x L), every key gets the exact value. */
    @Test
    void steepSettingsUseTheExactValue() {
        InclusionProbability ip = new InclusionProbability(1, 2, 2);
        LogWeights lw = new LogWeights(ip);
        assertFalse(lw.tabulated(), "error " + lw.tableError());
        float[] dot = {0.5f, -1f, 2f, 1.9999f}, norm = {1f, 1f, 1f, 1f}, s = new float[4];
        lw.logits(dot, norm, 4, 2f, 1f, s);
        for (int j = 0; j < 4; j++) assertEquals(dot[j] - ip.logWeight(dot[j] / 2.0), s[j], 1e-6);
    }

    @Test
    void instancesAreSharedPerSettings() {
        assertSame(LogWeights.of(10, 150, 2), LogWeights.of(10, 150, 2));
        assertNotSame(LogWeights.of(10, 150, 2), LogWeights.of(10, 150, 3));
    }

    /** The vector exp used by every softmax here has Math.exp's accuracy (the reference's was off by 1.7%). */
    @Test
    void vectorExpIsAccurate() {
        int n = 10_000;
        float[] s = new float[n], x = new float[n];
        for (int i = 0; i < n; i++) x[i] = s[i] = -100f + 110f * i / n;
        double sum = VectorMath.expShifted(s, 0, n, 3f);
        double ref = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp(x[i] - 3f);
            ref += (float) e;
            assertEquals(e, s[i], Math.ulp((float) e) * 2, "exp(" + (x[i] - 3f) + ")");
        }
        assertEquals(ref, sum, ref * 1e-6); // lanes are summed in float, then in double
    }
}
