package magicpig.attention;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The few vector kernels attention needs: dot products and scaled adds over a head's vector, with
 * the key or value read from an off-heap segment (the KV cache, a shard's block) or a heap array.
 * The species is a static final constant so the JIT turns each loop into SIMD code of the host's
 * width (AVX-512, AVX2, NEON); a scalar tail covers head dims that are not a multiple of it.
 */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private VectorMath() {}

    /** a · b over n floats. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** q · x where x is n floats at byte offset {@code off} of {@code seg}. */
    public static float dot(float[] q, int qOff, MemorySegment seg, long off, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, seg, off + 4L * i, ORDER).fma(FloatVector.fromArray(F, q, qOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += q[qOff + i] * seg.get(FLOAT, off + 4L * i);
        return sum;
    }

    /** y += w * x, x being n floats at byte offset {@code off} of {@code seg}. */
    public static void axpy(float w, MemorySegment seg, long off, float[] y, int yOff, int n) {
        FloatVector wv = FloatVector.broadcast(F, w);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector x = FloatVector.fromMemorySegment(F, seg, off + 4L * i, ORDER);
            x.fma(wv, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += w * seg.get(FLOAT, off + 4L * i);
    }

    /** y = y * s + w * x over n floats of heap arrays. */
    public static void scaleAdd(float[] y, int yOff, float s, float w, float[] x, int xOff, int n) {
        FloatVector sv = FloatVector.broadcast(F, s);
        FloatVector wv = FloatVector.broadcast(F, w);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector yv = FloatVector.fromArray(F, y, yOff + i).mul(sv);
            FloatVector.fromArray(F, x, xOff + i).fma(wv, yv).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] = y[yOff + i] * s + w * x[xOff + i];
    }

    /** y *= s over n floats. */
    public static void scale(float[] y, int yOff, float s, int n) {
        FloatVector sv = FloatVector.broadcast(F, s);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector.fromArray(F, y, yOff + i).mul(sv).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] *= s;
    }

    /** |x| of n floats. */
    public static float norm(float[] x, int off, int n) {
        return (float) Math.sqrt(dot(x, off, x, off, n));
    }
}
