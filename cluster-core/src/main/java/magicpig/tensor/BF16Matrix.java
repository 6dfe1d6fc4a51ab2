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
