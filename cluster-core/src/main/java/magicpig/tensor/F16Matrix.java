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

/**
 * IEEE half-precision weights, 2 bytes a value, little-endian.
 *
 * <p>The Vector API of JDK 25 has no half-to-float conversion, so the kernel builds the f32 with
 * integer operations, exactly, for every finite half (infinities and NaNs do not occur in weights).
 * A half {@code s eeeee mmmmmmmmmm} shifted left by 13 has its exponent and mantissa where an
 * f32 keeps them; adding 112 (= 127 - 15, the difference of the exponent biases) to the exponent
 * field gives the magnitude n of every normal half. A half with e = 0 (zero or subnormal, worth
 * m * 2^-24) comes out as n = 2^-15 + m * 2^-25, and {@code 2n - 2^-14} is its exact value. The
 * smaller of n and 2n - 2^-14 is the right one either way: for normal halves n >= 2^-14, so
 * 2n - 2^-14 >= n; for e = 0, n < 2^-14, so 2n - 2^-14 < n. The sign bit is put back last.
 *
 * <p>What was measured against it (Sapphire Rapids, JDK 25): multiplying the shifted bits by
 * 2^112 as a float is exact too, but multiplies f32 denormals for subnormal halves, and x86 takes
 * a microcode assist for each: with weights of realistic spread that halved the speed. A plain
 * {@code Float.float16ToFloat} loop over a short[] does compile to the hardware conversion
 * (vcvtph2ps), and copying row chunks out, converting them and then multiplying was 1.4x faster
 * on cached rows, but its loads come in bursts between long stretches of arithmetic, so from
 * memory it ran at about the sum of the memory time and the compute time: 30% slower than this.
 */
public final class F16Matrix extends WeightMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** As many halves as F has floats, in half the bits. */
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 2)));
    /** Whether the vector kernel applies (F of at least 128 bits); else the scalar one runs. */
    private static final boolean VECTOR = H.length() == F.length();
    private static final int N = F.length();
    /** Exponent and mantissa of a half shifted left by 13 (bits 13-27). */
    private static final IntVector MAGNITUDE = IntVector.broadcast(I, 0x0FFF_E000);
    /** 112 added to the exponent field: the f32 bias 127 minus the f16 bias 15. */
    private static final IntVector REBIAS = IntVector.broadcast(I, 112 << 23);
    private static final IntVector SIGN = IntVector.broadcast(I, 0x8000_0000);
    /** -2^-14: minus the smallest normal half. */
    private static final FloatVector NEG_MIN_NORMAL = FloatVector.broadcast(F, -0x1p-14f);
    private static final FloatVector TWO = FloatVector.broadcast(F, 2f);
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    /** N halves at byte offset {@code at}, as floats (see the class comment for the steps). */
    private static FloatVector load(MemorySegment data, long at) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(H, data, at, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.S2I, I, 0);
        FloatVector normal = h.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE).add(REBIAS).reinterpretAsFloats();
        // min(n, 2n - 2^-14), taken on the bits: both are >= +0, and non-negative floats order as
        // their bits do as ints. FloatVector.min has Math.min's NaN and -0 rules, which cost C2 six
        // instructions a vector on AVX-512 (blends, a compare, a masked move); IntVector.min is one.
        IntVector magnitude = normal.reinterpretAsInts().min(normal.fma(TWO, NEG_MIN_NORMAL).reinterpretAsInts());
        return magnitude.or(h.and(SIGN)).reinterpretAsFloats();
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        // Four quarters of the row in lockstep, one accumulator each: four streams through memory
        // give the hardware prefetchers four times the look-ahead of one, so the loads overlap the
        // arithmetic (one stream ran at about the sum of the memory time and the compute time).
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
        for (; i < cols; i++) sum += Float.float16ToFloat(data.get(LE, base + 2L * i)) * x[xOff + i];
        return sum;
    }

    @Override
    boolean nativeRows(MemorySegment x, int xOff, MemorySegment y, int yOff, int start, int end) {
        return NativeKernels.f16Rows(data, rowBytes, cols, x, xOff, y, yOff, start, end);
    }

    @Override
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        if (!VECTOR) {
            super.dot4(row, x, xOff, y, yOff);
            return;
        }
        // Four rows in lockstep: each x vector is loaded once for the four, the rows are four
        // streams through memory, and the per-row setup and reduction are paid once per four rows
        // (a 1B model's rows are 2048 values, where the quarter-row split of dot has short streams).
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
            s0 += Float.float16ToFloat(data.get(LE, r0 + o)) * xi;
            s1 += Float.float16ToFloat(data.get(LE, r1 + o)) * xi;
            s2 += Float.float16ToFloat(data.get(LE, r2 + o)) * xi;
            s3 += Float.float16ToFloat(data.get(LE, r3 + o)) * xi;
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
        for (; i < cols; i++) dst[dstOff + i] = Float.float16ToFloat(data.get(LE, base + 2L * i));
    }

    /** One value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int i = 0; i < cols; i++) {
            float v = Float.float16ToFloat(data.get(LE, base + 2L * i));
            if (x != null) sum += v * x[xOff + i];
            else dst[dstOff + i] = v;
        }
        return sum;
    }
}
