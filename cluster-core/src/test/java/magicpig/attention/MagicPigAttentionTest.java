package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class MagicPigAttentionTest {

    private static AttentionSettings settings(int k, int l, int t, int sink, int local, int maxStatic) {
        return AttentionSettings.magicPig().withLsh(k, l, t).withStatic(sink, local).withDenseLayers(DenseLayers.NONE).withMaxStatic(maxStatic);
    }

    /** Appends a random token to every layer of the cache at pos. */
    private static void appendToken(KvCache cache, int pos, Random r) {
        float[] k = TestData.gaussian(cache.kvDim(), r, 1), v = TestData.gaussian(cache.kvDim(), r, 1);
        for (int i = 0; i < k.length; i += 3) k[i] += 0.8f; // the same offset as the prompt keys
        for (int layer = 0; layer < cache.layers(); layer++) {
            cache.writeKey(layer, pos, k, 0);
            cache.writeValue(layer, pos, v, 0);
        }
        cache.setLength(pos + 1);
    }

    /**
     * With every offloaded key forced into the sample (u = 1) and no sink/local window, MagicPIG is
     * dense attention up to the 1e-4 floor of the weights, through prefill, decoding and spills.
     */
    @Test
    void everyKeySampledEqualsDenseThroughSpills() {
        LlamaConfig c = TestData.config(2, 4, 2, 16, 700);
        Random r = new Random(12);
        try (KvCache cache = new KvCache(c, 700)) {
            TestData.fill(cache, 500, 13, 0.8f);
            int maxStatic = 12;
            MagicPigAttention mp = new MagicPigAttention(c, settings(4, 8, 2, 0, 0, maxStatic), 0);
            mp.prefilled(cache, 500);
            float[] out = new float[c.qDim()];
            for (int pos = 500; pos < 700; pos++) {
                appendToken(cache, pos, r);
                for (int layer = 0; layer < 2; layer++) {
                    float[] q = TestData.gaussian(c.qDim(), r, 0.7f);
                    mp.decode(layer, q, 0, cache, pos, out, 0);
                    float[] ref = TestData.naive(c, cache, layer, q, pos);
                    assertTrue(TestData.maxAbsDiff(out, ref) < 5e-4, "layer " + layer + " pos " + pos + ": " + TestData.maxAbsDiff(out, ref));
                    int stat = pos + 1 - mp.staticGeneratedFrom(layer);
                    assertTrue(stat <= maxStatic, "static window " + stat + " > " + maxStatic);
                    assertEquals(pos + 1, mp.offloadedTokens(layer) + stat, "every token is static or sampled, once");
                    for (int h = 0; h < c.heads(); h++) assertEquals(pos + 1, mp.attendedKeys(h));
                }
            }
            assertTrue(mp.offloadedTokens(0) > 500, "generated tokens were spilled");
            mp.close();
        }
    }

    /**
     * Blocks are cut at {@code blockTokens} from the first offloaded token, as the cluster places
     * them; the cut changes what is summed when, not which keys are sampled.
     */
    @Test
    void blocksAreCutAtTheBlockSizeAndTheCutChangesOnlyRounding() {
        LlamaConfig c = TestData.config(1, 4, 2, 16, 600);
        Random r = new Random(5);
        try (KvCache cache = new KvCache(c, 600)) {
            TestData.fill(cache, 500, 13, 0.8f);
            appendToken(cache, 500, r);
            AttentionSettings s = settings(6, 20, 2, 4, 16, 4096);
            try (MagicPigAttention whole = new MagicPigAttention(c, s); MagicPigAttention cut = new MagicPigAttention(c, s.withBlockTokens(100))) {
                whole.prefilled(cache, 500);
                cut.prefilled(cache, 500);
                LshBlock[] blocks = cut.blocks(0, 1);
                assertEquals(5, blocks.length, "480 offloaded tokens in blocks of 100");
                for (int b = 0; b < 5; b++) {
                    assertEquals(4 + 100 * b, blocks[b].start());
                    assertEquals(b < 4 ? 100 : 80, blocks[b].size());
                }
                assertEquals(1, whole.blocks(0, 1).length);
                float[] q = TestData.gaussian(c.qDim(), r, 0.7f), a = new float[c.qDim()], b = new float[c.qDim()];
                whole.decode(0, q, 0, cache, 500, a, 0);
                cut.decode(0, q, 0, cache, 500, b, 0);
                for (int h = 0; h < c.heads(); h++) assertEquals(whole.attendedKeys(h), cut.attendedKeys(h), "head " + h);
                assertTrue(TestData.maxAbsDiff(a, b) < 1e-5, "outputs differ by " + TestData.maxAbsDiff(a, b));
            }
        }
    }

    /**
     * The real sampler with a tiny cap: decode far more tokens than the cap. The window stays
     * bounded, and the generated tokens, which carry most of the attention here and are mostly
     * spilled, still shape the output (they were hashed and centered like the prompt).
     */
    @Test
    void staticWindowNeverOverflowsWithRealSampling() {
        LlamaConfig c = TestData.config(1, 4, 1, 32, 1600);
        Random r = new Random(14);
        float[] dir = TestData.gaussian(32, r, 1);
        float dn = VectorMath.norm(dir, 0, 32);
        for (int i = 0; i < 32; i++) dir[i] /= dn;
        try (KvCache cache = new KvCache(c, 1600)) {
            TestData.fill(cache, 1000, 15, 0.8f);
            int sink = 4, local = 8, maxStatic = 40;
            MagicPigAttention mp = new MagicPigAttention(c, settings(5, 40, 2, sink, local, maxStatic));
            mp.prefilled(cache, 1000);
            float[] out = new float[c.qDim()];
            float[] q = new float[c.qDim()];
            for (int h = 0; h < 4; h++) for (int i = 0; i < 32; i++) q[h * 32 + i] = 4 * dir[i];
            double errSum = 0;
            int steps = 0;
            for (int pos = 1000; pos < 1600; pos++) {
                // generated keys lean towards the query; their values stand out
                float[] k = TestData.gaussian(32, r, 1), v = TestData.gaussian(32, r, 0.3f);
                for (int i = 0; i < 32; i++) k[i] += 3 * dir[i] + (i % 3 == 0 ? 0.8f : 0);
                v[1] += 5;
                cache.writeKey(0, pos, k, 0);
                cache.writeValue(0, pos, v, 0);
                cache.setLength(pos + 1);
                mp.decode(0, q, 0, cache, pos, out, 0);
                int stat = sink + local + pos + 1 - mp.staticGeneratedFrom(0);
                assertTrue(stat <= maxStatic, "static set " + stat);
                assertEquals(pos + 1, mp.offloadedTokens(0) + stat);
                for (float x : out) assertTrue(Float.isFinite(x));
                if (pos >= 1300) {
                    errSum += TestData.relativeError(out, TestData.naive(c, cache, 0, q, pos));
                    steps++;
                }
            }
            assertTrue(mp.offloadedTokens(0) > 1400, "most generated tokens spilled");
            double meanErr = errSum / steps;
            assertTrue(meanErr < 0.1, "mean relative error " + meanErr);
            mp.close();
        }
    }

    @Test
    void shortPromptRunsDenseUntilTheFirstSpill() {
        LlamaConfig c = TestData.config(1, 2, 1, 16, 400);
        Random r = new Random(16);
        try (KvCache cache = new KvCache(c, 400)) {
            TestData.fill(cache, 20, 17, 0);
            MagicPigAttention mp = new MagicPigAttention(c, settings(4, 10, 2, 4, 64, 100), 0);
            mp.prefilled(cache, 20); // 20 < sink + local: nothing offloaded
            float[] out = new float[c.qDim()];
            for (int pos = 20; pos < 400; pos++) {
                appendToken(cache, pos, r);
                float[] q = TestData.gaussian(c.qDim(), r, 0.5f);
                mp.decode(0, q, 0, cache, pos, out, 0);
                if (pos < 100) assertTrue(mp.lastStepDense());
                assertTrue(TestData.maxAbsDiff(out, TestData.naive(c, cache, 0, q, pos)) < 5e-4);
            }
            assertFalse(mp.lastStepDense());
            assertTrue(mp.offloadedTokens(0) > 0);
            mp.close();
        }
    }

    @Test
    void denseLayersAreExactAndSeedsAreReproducible() {
        LlamaConfig c = TestData.config(3, 4, 2, 16, 3000);
        Random r = new Random(18);
        try (KvCache cache = new KvCache(c, 3000)) {
            TestData.fill(cache, 3000, 19, 0.5f);
            AttentionSettings s = settings(6, 20, 2, 4, 16, 4096).withDenseLayers(DenseLayers.parse("every2"));
            MagicPigAttention a = new MagicPigAttention(c, s), b = new MagicPigAttention(c, s);
            a.prefilled(cache, 2999);
            b.prefilled(cache, 2999);
            float[] q = TestData.gaussian(c.qDim(), r, 0.5f);
            float[] oa = new float[c.qDim()], ob = new float[c.qDim()], layer1 = null;
            for (int layer = 0; layer < 3; layer++) {
                a.decode(layer, q, 0, cache, 2999, oa, 0);
                b.decode(layer, q, 0, cache, 2999, ob, 0);
                if (layer == 1) layer1 = oa.clone();
                assertArrayEquals(oa, ob, "same seed, same sample");
                if (layer % 2 == 0) {
                    assertTrue(a.lastStepDense());
                    assertTrue(TestData.maxAbsDiff(oa, TestData.naive(c, cache, layer, q, 2999)) < 2e-5);
                } else {
                    assertFalse(a.lastStepDense());
                    assertTrue(a.attendedKeys(0) < 3000);
                }
            }
            assertEquals(0, a.blocks(0, 0).length, "no tables for dense layers");
            // a second prompt replaces the first one's blocks
            int blocks = a.blocks(1, 0).length;
            a.prefilled(cache, 2999);
            assertEquals(blocks, a.blocks(1, 0).length);
            assertEquals(2999 - 4 - 16, a.offloadedTokens(1));
            a.decode(1, q, 0, cache, 2999, oa, 0);
            assertArrayEquals(layer1, oa, "same blocks, same sample");
            a.close();
            b.close();
        }
    }

    /** Retrieval, sampled attention and the static part allocate nothing per step, on any thread. */
    @Test
    void decodeStepsAllocateNothing() {
        int n = 8192;
        LlamaConfig c = TestData.config(1, 8, 2, 64, n);
        Random r = new Random(20);
        try (KvCache cache = new KvCache(c, n)) {
            TestData.fill(cache, n, 21, 0.5f);
            MagicPigAttention mp = new MagicPigAttention(c, settings(8, 40, 2, 4, 64, 4096));
            mp.prefilled(cache, n - 1);
            DenseAttention dense = new DenseAttention(c);
            float[] q = TestData.gaussian(c.qDim(), r, 0.5f);
            float[] out = new float[c.qDim()];
            for (int i = 0; i < 3000; i++) { // let the JIT settle
                mp.decode(0, q, 0, cache, n - 1, out, 0);
                if (i % 10 == 0) dense.decode(0, q, 0, cache, n - 1, out, 0);
            }
            long[] ids = AllocationMeter.computeThreads();
            long before = AllocationMeter.allocated(ids);
            for (int i = 0; i < 1000; i++) mp.decode(0, q, 0, cache, n - 1, out, 0);
            long magicPig = AllocationMeter.allocated(ids) - before;
            before = AllocationMeter.allocated(ids);
            for (int i = 0; i < 100; i++) dense.decode(0, q, 0, cache, n - 1, out, 0);
            long denseBytes = AllocationMeter.allocated(ids) - before;
            System.out.printf("allocation per decode step after warm-up: magicpig %.2f bytes (1000 steps), dense %.2f bytes (100 steps)%n", magicPig / 1000.0, denseBytes / 100.0);
            assertTrue(magicPig < 1000 * 8, "magicpig allocated " + magicPig + " bytes in 1000 steps");
            assertTrue(denseBytes < 100 * 8, "dense allocated " + denseBytes + " bytes in 100 steps");
            mp.close();
        }
    }
}
