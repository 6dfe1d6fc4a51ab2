package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import magicpig.model.Attention;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class BaselinesTest {

    /** With a budget of every offloaded key, each baseline is exact attention. */
    @Test
    void fullBudgetIsExact() {
        LlamaConfig c = TestData.config(1, 4, 2, 16, 1000);
        Random r = new Random(30);
        try (KvCache cache = new KvCache(c, 1000)) {
            TestData.fill(cache, 1000, 31, 0.3f);
            float[] q = TestData.gaussian(c.qDim(), r, 0.6f);
            float[] ref = TestData.naive(c, cache, 0, q, 999);
            for (AttentionSettings.Mode mode : new AttentionSettings.Mode[]{AttentionSettings.Mode.TOPK, AttentionSettings.Mode.QUEST, AttentionSettings.Mode.ORACLE_SAMPLING}) {
                AttentionSettings s = AttentionSettings.defaults().withMode(mode).withDenseLayers(DenseLayers.NONE).withBudget(Budget.fraction(1));
                try (Attention a = s.factory().create(c)) {
                    a.prefilled(cache, 999);
                    float[] out = new float[c.qDim()];
                    a.decode(0, q, 0, cache, 999, out, 0);
                    assertTrue(TestData.maxAbsDiff(out, ref) < 2e-5, mode + ": " + TestData.maxAbsDiff(out, ref));
                    assertEquals(1000, ((SparseAttention<?>) a).attendedKeys(0));
                }
            }
        }
    }

    /** A small budget touches about the budget, plus the static set. */
    @Test
    void budgetsBoundTheKeysTouched() {
        LlamaConfig c = TestData.config(1, 2, 1, 16, 4000);
        try (KvCache cache = new KvCache(c, 4000)) {
            TestData.fill(cache, 4000, 32, 0.3f);
            float[] q = TestData.gaussian(c.qDim(), new Random(33), 0.6f);
            int statics = 4 + 64 + 1;
            for (AttentionSettings.Mode mode : new AttentionSettings.Mode[]{AttentionSettings.Mode.TOPK, AttentionSettings.Mode.QUEST, AttentionSettings.Mode.ORACLE_SAMPLING}) {
                AttentionSettings s = AttentionSettings.defaults().withMode(mode).withDenseLayers(DenseLayers.NONE).withBudget(Budget.count(160));
                try (Attention a = s.factory().create(c)) {
                    a.prefilled(cache, 3999);
                    a.decode(0, q, 0, cache, 3999, new float[c.qDim()], 0);
                    int touched = ((SparseAttention<?>) a).attendedKeys(0) - statics;
                    if (mode == AttentionSettings.Mode.ORACLE_SAMPLING) assertEquals(160, touched, 45, mode.flag()); // Bernoulli: 160 on average
                    else assertEquals(160, touched, mode.flag()); // topk exactly; quest: 10 pages of 16
                }
            }
        }
    }

    @Test
    void topSelectionPicksTheLargest() {
        Random r = new Random(34);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(300), k = 1 + r.nextInt(n);
            float[] s = new float[n];
            for (int i = 0; i < n; i++) s[i] = r.nextInt(40) - 20; // many ties
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            TopSelection.select(s, idx, n, k);
            float[] sorted = s.clone();
            Arrays.sort(sorted);
            float kth = sorted[n - k];
            float minPicked = Float.MAX_VALUE;
            boolean[] seen = new boolean[n];
            for (int j = 0; j < k; j++) {
                assertFalse(seen[idx[j]]);
                seen[idx[j]] = true;
                minPicked = Math.min(minPicked, s[idx[j]]);
            }
            assertEquals(kth, minPicked, "n=" + n + " k=" + k);
        }
    }

    @Test
    void waterLevelSpendsTheBudgetExactly() {
        Random r = new Random(35);
        int n = 5000;
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(r.nextGaussian() * 3);
        for (int i = 0; i < n; i++) p[i] /= sum;
        for (int budget : new int[]{1, 10, 100, 1000, 4999}) {
            double c = OracleSamplingAttention.waterLevel(p, n, budget);
            double spent = 0;
            for (double x : p) spent += Math.min(1, c * x);
            assertEquals(budget, spent, 1e-6 * budget, "budget " + budget);
        }
    }
}
