package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LogWeightsTest {

    /** The vectorised T = 2 logits agree with the scalar binomial tail, across K, L and the whole cosine range. */
    @Test
    void vectorPathMatchesScalarReference() {
        Random r = new Random(22);
        int n = 3000;
        float[] dot = new float[n], norm = new float[n], s = new float[n];
        double[] buf = new double[2 * LogWeights.CHUNK];
        for (int[] kl : new int[][]{{10, 150}, {8, 75}, {11, 300}, {16, 1000}, {1, 2}, {4, 3}}) {
            InclusionProbability ip = new InclusionProbability(kl[0], kl[1], 2);
            LogWeights lw = new LogWeights(ip);
            float qNorm = 3f;
            for (int j = 0; j < n; j++) {
                double cos = j < 5 ? new double[]{-1, 1, 0, 0.999999, -0.999999}[j] : 2 * r.nextDouble() - 1;
                norm[j] = (float) (0.5 + r.nextDouble() * 4);
                dot[j] = (float) (cos * qNorm * norm[j]);
            }
            norm[7] = 0f; // a zero key: NaN cosine, treated as orthogonal
            lw.logits(dot, norm, n, qNorm, 0.125f, s, buf);
            for (int j = 0; j < n; j++) {
                double cos = dot[j] / ((double) qNorm * norm[j]);
                double expected = dot[j] * 0.125f - ip.logWeight(cos);
                assertEquals(expected, s[j], 2e-6 * Math.max(1, Math.abs(expected)), "K=" + kl[0] + " L=" + kl[1] + " cos=" + cos);
            }
        }
    }

    @Test
    void otherThresholdsUseTheScalarTail() {
        InclusionProbability ip = new InclusionProbability(6, 40, 3);
        LogWeights lw = new LogWeights(ip);
        float[] dot = {0.5f, -1f, 2f}, norm = {1f, 1f, 1f}, s = new float[3];
        lw.logits(dot, norm, 3, 2f, 1f, s, new double[2 * LogWeights.CHUNK]);
        for (int j = 0; j < 3; j++) assertEquals(dot[j] - ip.logWeight(dot[j] / 2.0), s[j], 1e-6);
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
