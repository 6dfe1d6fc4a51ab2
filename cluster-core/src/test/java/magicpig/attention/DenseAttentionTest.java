package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class DenseAttentionTest {

    @Test
    void matchesScalarReferenceWithGroupedQueries() {
        Random r = new Random(5);
        // head dim 20 is not a multiple of any vector width: exercises the scalar tails
        for (int[] shape : new int[][]{{8, 2, 20}, {4, 4, 32}, {6, 1, 16}}) {
            LlamaConfig c = TestData.config(2, shape[0], shape[1], shape[2], 3000);
            try (KvCache cache = new KvCache(c, 3000)) {
                TestData.fill(cache, 3000, 6, 0.5f);
                DenseAttention dense = new DenseAttention(c);
                for (int pos : new int[]{0, 1, 63, 64, 700, 2999}) {
                    float[] q = TestData.gaussian(c.qDim(), r, 1);
                    float[] out = new float[c.qDim() + 3];
                    dense.decode(1, q, 0, cache, pos, out, 3);
                    float[] ref = TestData.naive(c, cache, 1, q, pos);
                    float[] got = java.util.Arrays.copyOfRange(out, 3, 3 + c.qDim());
                    assertTrue(TestData.maxAbsDiff(got, ref) < 2e-5, "shape " + java.util.Arrays.toString(shape) + " pos " + pos);
                }
            }
        }
    }

    @Test
    void staysFiniteWithHugeLogits() {
        LlamaConfig c = TestData.config(1, 2, 1, 16, 600);
        try (KvCache cache = new KvCache(c, 600)) {
            TestData.fill(cache, 600, 7, 0);
            float[] q = new float[c.qDim()];
            for (int i = 0; i < q.length; i++) q[i] = 400f; // logits in the thousands
            float[] out = new float[c.qDim()];
            new DenseAttention(c).decode(0, q, 0, cache, 599, out, 0);
            float[] ref = TestData.naive(c, cache, 0, q, 599);
            for (int i = 0; i < out.length; i++) assertTrue(Float.isFinite(out[i]));
            assertTrue(TestData.maxAbsDiff(out, ref) < 1e-4);
        }
    }
}
