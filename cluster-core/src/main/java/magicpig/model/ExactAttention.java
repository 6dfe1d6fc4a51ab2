package magicpig.model;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Exact softmax attention of one query head over the cached positions [0, end) of its kv head:
 * out = sum_i softmax(q·k_i / sqrt(d))_i v_i. Used by prefill (every token, causal) and by dense
 * decode.
 */
public final class ExactAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private ExactAttention() {}

    /**
     * @param scores scratch of at least {@code end} floats
     */
    public static void attendHead(float[] q, int qOff, KvCache cache, int layer, int kvHead, int end,
                                  float[] out, int outOff, float[] scores) {
        int d = cache.headDim();
        MemorySegment keys = cache.keys(layer);
        MemorySegment values = cache.values(layer);
        float scale = (float) (1.0 / Math.sqrt(d));
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < end; t++) {
            float s = dot(q, qOff, keys, cache.offset(t, kvHead), d) * scale;
            scores[t] = s;
            if (s > max) max = s;
        }
        float sum = 0f;
        for (int t = 0; t < end; t++) {
            float e = (float) Math.exp(scores[t] - max);
            scores[t] = e;
            sum += e;
        }
        float inv = 1f / sum;
        java.util.Arrays.fill(out, outOff, outOff + d, 0f);
        for (int t = 0; t < end; t++) {
            axpy(scores[t] * inv, values, cache.offset(t, kvHead), out, outOff, d);
        }
    }

    /** dot(q[qOff..], segment floats from byte offset) over n values. */
    static float dot(float[] q, int qOff, MemorySegment seg, long byteOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, seg, byteOff + 4L * i, ByteOrder.nativeOrder())
                    .fma(FloatVector.fromArray(F, q, qOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += q[qOff + i] * seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, byteOff + 4L * i);
        return sum;
    }

    /** out[outOff..] += a * segment floats, over n values. */
    static void axpy(float a, MemorySegment seg, long byteOff, float[] out, int outOff, int n) {
        int i = 0;
        int upper = F.loopBound(n);
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i < upper; i += F.length()) {
            FloatVector.fromMemorySegment(F, seg, byteOff + 4L * i, ByteOrder.nativeOrder())
                    .fma(av, FloatVector.fromArray(F, out, outOff + i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] += a * seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, byteOff + 4L * i);
    }
}
