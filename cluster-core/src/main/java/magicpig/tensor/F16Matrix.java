package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * IEEE half-precision weights, 2 bytes a value, little-endian.
 *
 * <p>The Vector API of JDK 25 has no half-to-float conversion, but C2 compiles a plain loop of
 * {@link Float#float16ToFloat} over a short[] into the hardware's own conversion (vcvtph2ps, 16
 * halves an instruction, exact, subnormals included). So a row is done a chunk at a time: copy
 * its halves out of the segment into a short[], convert them into a float[], and take the dot
 * product of that with x; the chunk stays in the L1 cache throughout. Measured against building
 * the f32 bits with integer vector operations (an exact but 9-operation sequence), this ran about
 * 1.6x faster on Sapphire Rapids.
 */
public final class F16Matrix extends WeightMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int N = F.length();
    /** Halves converted at a time: 4 KiB in and 8 KiB out, well within L1. */
    private static final int CHUNK = 2048;
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A thread's chunk buffers, so the kernels allocate nothing. */
    private static final class Chunk {
        final short[] halves = new short[CHUNK];
        final float[] floats = new float[CHUNK];
    }

    private static final ThreadLocal<Chunk> CHUNKS = ThreadLocal.withInitial(Chunk::new);

    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    /** dst[dstOff + i] = half h[i] as f32, i < n: the loop C2 turns into vcvtph2ps. */
    private static void toFloats(short[] h, float[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(h[i]);
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        Chunk chunk = CHUNKS.get();
        short[] halves = chunk.halves;
        float[] w = chunk.floats;
        long base = row * rowBytes;
        float sum = 0;
        for (int c = 0; c < cols; c += CHUNK) {
            int n = Math.min(CHUNK, cols - c);
            MemorySegment.copy(data, LE, base + 2L * c, halves, 0, n);
            toFloats(halves, w, 0, n);
            sum += dot(w, x, xOff + c, n);
        }
        return sum;
    }

    /** dot(w[0 .. n), x[xOff ..]), two FMA chains in flight. */
    private static float dot(float[] w, float[] x, int xOff, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int i = 0;
        for (int upper = n - 2 * N; i <= upper; i += 2 * N) {
            acc0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = FloatVector.fromArray(F, w, i + N).fma(FloatVector.fromArray(F, x, xOff + i + N), acc1);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += w[i] * x[xOff + i];
        return sum;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        short[] halves = CHUNKS.get().halves;
        long base = row * rowBytes;
        for (int c = 0; c < cols; c += CHUNK) {
            int n = Math.min(CHUNK, cols - c);
            MemorySegment.copy(data, LE, base + 2L * c, halves, 0, n);
            toFloats(halves, dst, dstOff + c, n);
        }
    }
}
