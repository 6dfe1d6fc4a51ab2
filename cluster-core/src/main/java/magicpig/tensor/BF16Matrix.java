package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** bfloat16 weights, 2 bytes a value, little-endian: the top 16 bits of an f32, so f32 bits = b << 16. */
public final class BF16Matrix extends WeightMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** As many bf16 values as F has floats, in half the bits. */
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    /** Whether the vector kernel applies (F of at least 128 bits); else the scalar one runs. */
    private static final boolean VECTOR = H.length() == F.length();
    private static final int N = F.length();
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public BF16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    /** N bf16 values at byte offset {@code at}, as floats. */
    private static FloatVector load(MemorySegment data, long at) {
        ShortVector b = ShortVector.fromMemorySegment(H, data, at, ByteOrder.LITTLE_ENDIAN);
        IntVector bits = (IntVector) b.convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        // Four quarters of the row in lockstep: four streams through memory give the hardware
        // prefetchers four times the look-ahead of one (one ran well below the memory's speed).
        int q = cols / (4 * N) * N;
        long stride = 2L * q;
        for (int i = 0; i < q; i += N) {
            long at = base + 2L * i;
            int xi = xOff + i;
            acc0 = load(data, at).fma(FloatVector.fromArray(F, x, xi), acc0);
            acc1 = load(data, at + stride).fma(FloatVector.fromArray(F, x, xi + q), acc1);
            acc2 = load(data, at + 2 * stride).fma(FloatVector.fromArray(F, x, xi + 2 * q), acc2);
            acc3 = load(data, at + 3 * stride).fma(FloatVector.fromArray(F, x, xi + 3 * q), acc3);
        }
        int i = 4 * q;
        for (int upper = cols - N; i <= upper; i += N) {
            acc0 = load(data, base + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) sum += HalfFloat.bf16ToFloat(data.get(LE, base + 2L * i)) * x[xOff + i];
        return sum;
    }

    @Override
    boolean nativeRows(MemorySegment x, int xOff, MemorySegment y, int yOff, int start, int end) {
        return NativeKernels.bf16Rows(data, rowBytes, cols, x, xOff, y, yOff, start, end);
    }

    @Override
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        if (!VECTOR) {
            super.dot4(row, x, xOff, y, yOff);
            return;
        }
        // Four rows in lockstep, as F16Matrix.dot4: each x vector is loaded once for the four, and
        // the per-row setup and reduction are paid once per four rows (a 1B model's rows are 2048
        // values, where the quarter-row split of dot has short streams).
        MemorySegment data = this.data;
        long r0 = row * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int i = 0;
        for (int upper = cols - N; i <= upper; i += N) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            long o = 2L * i;
            acc0 = load(data, r0 + o).fma(xv, acc0);
            acc1 = load(data, r1 + o).fma(xv, acc1);
            acc2 = load(data, r2 + o).fma(xv, acc2);
            acc3 = load(data, r3 + o).fma(xv, acc3);
        }
        float s0 = acc0.reduceLanes(VectorOperators.ADD), s1 = acc1.reduceLanes(VectorOperators.ADD);
        float s2 = acc2.reduceLanes(VectorOperators.ADD), s3 = acc3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float xi = x[xOff + i];
            long o = 2L * i;
            s0 += HalfFloat.bf16ToFloat(data.get(LE, r0 + o)) * xi;
            s1 += HalfFloat.bf16ToFloat(data.get(LE, r1 + o)) * xi;
            s2 += HalfFloat.bf16ToFloat(data.get(LE, r2 + o)) * xi;
            s3 += HalfFloat.bf16ToFloat(data.get(LE, r3 + o)) * xi;
        }
        y[yOff] = s0;
        y[yOff + 1] = s1;
        y[yOff + 2] = s2;
        y[yOff + 3] = s3;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (!VECTOR) {
            scalarRow(row, null, 0, dst, dstOff);
            return;
        }
        MemorySegment data = this.data;
        long base = row * rowBytes;
        int i = 0;
        for (int upper = cols - N; i <= upper; i += N) load(data, base + 2L * i).intoArray(dst, dstOff + i);
        for (; i < cols; i++) dst[dstOff + i] = HalfFloat.bf16ToFloat(data.get(LE, base + 2L * i));
    }

    /** One value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int i = 0; i < cols; i++) {
            float v = HalfFloat.bf16ToFloat(data.get(LE, base + 2L * i));
            if (x != null) sum += v * x[xOff + i];
            else dst[dstOff + i] = v;
        }
        return sum;
    }
}
