package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The LSH importance-sampling estimator of one block, averaged over many random projections. */
class EstimatorTest {

    @Test
    void numeratorAndNormaliserAreUnbiasedOverSeeds() {
        int d = 32, n = 3000, k = 6, tables = 20, threshold = 2, seeds = 400;
        Random r = new Random(11);
        float[] q = TestData.gaussian(d, r, 0.6f);
        float[] keys = new float[n * d], vals = new float[n * d];
        for (int i = 0; i < n; i++) {
            // a mix of keys unrelated to q, and keys leaning towards it; all share an offset c0
            double lean = i % 10 == 0 ? 0.6 : i % 10 == 1 ? 0.3 : 0;
            for (int c = 0; c < d; c++) {
                keys[i * d + c] = (float) (r.nextGaussian() + lean * q[c] * 2 + (c == 0 ? 3 : 0));
                vals[i * d + c] = (float) r.nextGaussian() + (c == 1 ? 1 : 0);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ks = arena.allocate((long) n * d * 4), vs = arena.allocate((long) n * d * 4);
            MemorySegment.copy(keys, 0, ks, ValueLayout.JAVA_FLOAT, 0, n * d);
            MemorySegment.copy(vals, 0, vs, ValueLayout.JAVA_FLOAT, 0, n * d);
            HeadSlice kv = new HeadSlice(ks, vs, 0, 0, d * 4L);
            float[] center = LshQueries.meanKey(kv, d, 0, n);
            float qc = VectorMath.dot(q, 0, center, 0, d);
            float qNorm = VectorMath.norm(q, 0, d);
            InclusionProbability ip = new InclusionProbability(k, tables, threshold);

            // exact values, and the estimator's expectation E[1{sampled}/(u+1e-4)] = u/(u+1e-4) per key
            double exactDen = 0, expectDen = 0;
            double[] exactNum = new double[d], expectNum = new double[d];
            for (int i = 0; i < n; i++) {
                double dot = 0, kn = 0;
                for (int c = 0; c < d; c++) {
                    double kc = keys[i * d + c] - center[c];
                    dot += q[c] * kc;
                    kn += kc * kc;
                }
                double e = Math.exp(dot / Math.sqrt(d));
                double u = ip.u(dot / (qNorm * Math.sqrt(kn)));
                double f = u / (u + InclusionProbability.FLOOR);
                exactDen += e;
                expectDen += e * f;
                for (int c = 0; c < d; c++) {
                    exactNum[c] += e * vals[i * d + c];
                    expectNum[c] += e * f * vals[i * d + c];
                }
            }

            double sumDen = 0, sqDen = 0;
            double[] sumNum = new double[d], sqNum = new double[d];
            LshBlock.SampleScratch scratch = new LshBlock.SampleScratch();
            LogWeights weights = new LogWeights(ip);
            PartialState st = new PartialState(d);
            long[] bits = null;
            char[] codes = new char[tables];
            double sampled = 0;
            for (int s = 0; s < seeds; s++) {
                SimHash h = new SimHash(d, k, tables, 1000 + s);
                if (bits == null) bits = new long[h.bitWords()];
                LshBlock block = LshBlock.build(kv, d, 0, n, center, h, arena);
                h.codes(q, 0, bits, codes, 0, 1);
                st.reset();
                sampled += block.attend(q, 0, qNorm, codes, 0, weights, threshold, scratch, st);
                double scaleBack = Math.exp(st.m());
                double den = st.l() * scaleBack;
                sumDen += den;
                sqDen += den * den;
                for (int c = 0; c < d; c++) {
                    double num = st.o(c) * den;
                    sumNum[c] += num;
                    sqNum[c] += num * num;
                }
            }
            double frac = sampled / seeds / n;
            assertTrue(frac > 0.02 && frac < 0.5, "sampled fraction " + frac);
            double meanDen = sumDen / seeds;
            double seDen = Math.sqrt((sqDen / seeds - meanDen * meanDen) / seeds);
            assertEquals(expectDen, meanDen, 4 * seDen, "normaliser");
            for (int c = 0; c < d; c++) {
                double mean = sumNum[c] / seeds;
                double se = Math.sqrt(Math.max(0, sqNum[c] / seeds - mean * mean) / seeds);
                assertEquals(expectNum[c], mean, 4.5 * se + 1e-9 * Math.abs(expectNum[c]), "numerator component " + c);
            }
            // the 1e-4 floor biases each key by at most 1e-4/u: small next to the exact values
            assertEquals(exactDen, expectDen, 0.02 * exactDen);
            // and the averaged estimate is close to exact attention
            double err = 0, ref = 0;
            for (int c = 0; c < d; c++) {
                double o = (sumNum[c] / seeds) / meanDen, oe = exactNum[c] / exactDen;
                err += (o - oe) * (o - oe);
                ref += oe * oe;
            }
            assertTrue(Math.sqrt(err / ref) < 0.05, "averaged output error " + Math.sqrt(err / ref));
        }
    }
}
