package magicpig.attention;

import java.util.Random;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;

/** Small models and caches filled with random keys for the attention tests. */
final class TestData {
    private TestData() {}

    static LlamaConfig config(int layers, int heads, int kvHeads, int headDim, int context) {
        return new LlamaConfig(heads * headDim, 4, layers, heads, kvHeads, headDim, 8, context, 1e-5f,
                new LlamaConfig.Rope(10000f, false, null));
    }

    /** Fills positions [0, n) of every layer with Gaussian keys (plus a shared offset) and values. */
    static void fill(KvCache cache, int n, long seed, float offset) {
        Random r = new Random(seed);
        float[] k = new float[cache.kvDim()];
        float[] v = new float[cache.kvDim()];
        for (int layer = 0; layer < cache.layers(); layer++) {
            for (int p = 0; p < n; p++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) r.nextGaussian() + (i % 3 == 0 ? offset : 0);
                    v[i] = (float) r.nextGaussian();
                }
                cache.writeKey(layer, p, k, 0);
                cache.writeValue(layer, p, v, 0);
            }
        }
        cache.setLength(n);
    }

    static float[] gaussian(int n, Random r, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian() * scale;
        return x;
    }

    /** Exact attention, scalar and in double: the reference for every test. */
    static float[] naive(LlamaConfig c, KvCache cache, int layer, float[] q, int pos) {
        int d = c.headDim();
        float[] out = new float[c.heads() * d];
        float[] key = new float[c.kvDim()];
        float[] val = new float[c.kvDim()];
        for (int h = 0; h < c.heads(); h++) {
            int kv = h / c.groupSize();
            double[] s = new double[pos + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int p = 0; p <= pos; p++) {
                java.lang.foreign.MemorySegment.copy(cache.keys(layer), java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) p * c.kvDim() * 4, key, 0, c.kvDim());
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) q[h * d + i] * key[kv * d + i];
                s[p] = dot / Math.sqrt(d);
                max = Math.max(max, s[p]);
            }
            double sum = 0;
            double[] o = new double[d];
            for (int p = 0; p <= pos; p++) {
                double w = Math.exp(s[p] - max);
                sum += w;
                java.lang.foreign.MemorySegment.copy(cache.values(layer), java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) p * c.kvDim() * 4, val, 0, c.kvDim());
                for (int i = 0; i < d; i++) o[i] += w * val[kv * d + i];
            }
            for (int i = 0; i < d; i++) out[h * d + i] = (float) (o[i] / sum);
        }
        return out;
    }

    static double relativeError(float[] a, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - ref[i]) * (double) (a[i] - ref[i]);
            den += ref[i] * (double) ref[i];
        }
        return Math.sqrt(num / den);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
