package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q8_0 weights: blocks of 32 values, each block an f16 scale d then 32 int8 q; value = d * q.
 * 34 bytes a block, 8.5 bits a value.
 *
 * <p>The dot product sums {@code q * x} over a block in f32 lanes and applies the block's scale
 * once, to that partial sum: {@code acc += d * sum(q * x)}.
 */
public final class Q8_0Matrix extends WeightMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many bytes as F has floats: a quarter of its bits. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    private static final int N = F.length();
    /** Vectors of N values in one block. */
    private static final int PARTS = BLOCK / N;
    /** Whether the vector kernel applies: F of 256 or 512 bits (AVX2, AVX-512), so a block is whole vectors of bytes. */
    private static final boolean VECTOR = B.length() == N && BLOCK % N == 0;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    private static float scale(MemorySegment data, long at) {
        return Float.float16ToFloat(data.get(SHORT_LE, at));
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        if (PARTS == 2) return dot2(row, x, xOff);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < cols / BLOCK; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                ByteVector q = ByteVector.fromMemorySegment(B, data, at + 2 + (long) p * N, ByteOrder.LITTLE_ENDIAN);
                sum = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xi + p * N), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, scale(data, at)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The kernel for 16-float vectors (AVX-512), where a block is two vectors. The row's blocks are
     * taken as four quarters walked in lockstep: four streams through memory give the hardware
     * prefetchers four times the look-ahead of one, which is what lets the loads of a
     * compute-heavy loop overlap its arithmetic (one stream ran at about the sum, not the max, of
     * the memory time and the compute time). Each quarter has its own accumulator.
     */
    private float dot2(int row, float[] x, int xOff) {
        MemorySegment data = this.data;
        long base = row * rowBytes;
        int blocks = cols / BLOCK;
        int q = blocks / 4;
        long stride = (long) q * BLOCK_BYTES;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < q; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            // acc += d * (q[0..16) . x[0..16) + q[16..32) . x[16..32)), for block b of each quarter
            FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector s0 = w1.fma(FloatVector.fromArray(F, x, xi + 16), w0.mul(FloatVector.fromArray(F, x, xi)));
            acc0 = s0.fma(FloatVector.broadcast(F, scale(data, at)), acc0);
            at += stride;
            xi += q * BLOCK;
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector s1 = w1.fma(FloatVector.fromArray(F, x, xi + 16), w0.mul(FloatVector.fromArray(F, x, xi)));
            acc1 = s1.fma(FloatVector.broadcast(F, scale(data, at)), acc1);
            at += stride;
            xi += q * BLOCK;
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector s2 = w1.fma(FloatVector.fromArray(F, x, xi + 16), w0.mul(FloatVector.fromArray(F, x, xi)));
            acc2 = s2.fma(FloatVector.broadcast(F, scale(data, at)), acc2);
            at += stride;
            xi += q * BLOCK;
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector s3 = w1.fma(FloatVector.fromArray(F, x, xi + 16), w0.mul(FloatVector.fromArray(F, x, xi)));
            acc3 = s3.fma(FloatVector.broadcast(F, scale(data, at)), acc3);
        }
        // The blocks past four whole quarters (at most three).
        for (int b = 4 * q; b < blocks; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector s0 = w1.fma(FloatVector.fromArray(F, x, xi + 16), w0.mul(FloatVector.fromArray(F, x, xi)));
            acc0 = s0.fma(FloatVector.broadcast(F, scale(data, at)), acc0);
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        if (!VECTOR || PARTS != 2) {
            super.dot4(row, x, xOff, y, yOff);
            return;
        }
        // Four rows block by block: each block's 32 x values are loaded once for the four, the four
        // rows are four streams through memory, and the per-row setup and reduction are paid once
        // per four rows (a 1B model's rows are only 64 blocks long).
        MemorySegment data = this.data;
        long r0 = row * rowBytes, r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long o = (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 16);
            FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, r0 + o + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, r0 + o + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            acc0 = w1.fma(x1, w0.mul(x0)).fma(FloatVector.broadcast(F, scale(data, r0 + o)), acc0);
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, r1 + o + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, r1 + o + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            acc1 = w1.fma(x1, w0.mul(x0)).fma(FloatVector.broadcast(F, scale(data, r1 + o)), acc1);
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, r2 + o + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, r2 + o + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            acc2 = w1.fma(x1, w0.mul(x0)).fma(FloatVector.broadcast(F, scale(data, r2 + o)), acc2);
            w0 = (FloatVector) ByteVector.fromMemorySegment(B, data, r3 + o + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            w1 = (FloatVector) ByteVector.fromMemorySegment(B, data, r3 + o + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
            acc3 = w1.fma(x1, w0.mul(x0)).fma(FloatVector.broadcast(F, scale(data, r3 + o)), acc3);
        }
        y[yOff] = acc0.reduceLanes(VectorOperators.ADD);
        y[yOff + 1] = acc1.reduceLanes(VectorOperators.ADD);
        y[yOff + 2] = acc2.reduceLanes(VectorOperators.ADD);
        y[yOff + 3] = acc3.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (!VECTOR) {
            scalarRow(row, null, 0, dst, dstOff);
            return;
        }
        MemorySegment data = this.data;
        long base = row * rowBytes;
        for (int b = 0; b < cols / BLOCK; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, scale(data, at));
            int o = dstOff + b * BLOCK;
            for (int p = 0; p < PARTS; p++) {
                ByteVector q = ByteVector.fromMemorySegment(B, data, at + 2 + (long) p * N, ByteOrder.LITTLE_ENDIAN);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, o + p * N);
            }
        }
    }

    /** The layout, one value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = scale(data, at);
            for (int j = 0; j < BLOCK; j++) {
                float v = d * data.get(ValueLayout.JAVA_BYTE, at + 2 + j);
                if (x != null) sum += v * x[xOff + b * BLOCK + j];
                else dst[dstOff + b * BLOCK + j] = v;
            }
        }
        return sum;
    }

    /**
     * Writes one row of cols values (a multiple of 32) as Q8_0 blocks: d = max|x| / 127 (rounded
     * up to a half, so no quant leaves -127..127), q = round(x / d), halves away from zero.
     */
    static void quantizeRow(float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        byte[] out = new byte[cols / BLOCK * BLOCK_BYTES];
        for (int b = 0; b < cols / BLOCK; b++) {
            int o = srcOff + b * BLOCK, at = b * BLOCK_BYTES;
            float amax = 0;
            if (VECTOR) {
                FloatVector m = FloatVector.zero(F);
                for (int p = 0; p < PARTS; p++) m = m.max(FloatVector.fromArray(F, src, o + p * N).abs());
                amax = m.reduceLanes(VectorOperators.MAX);
            } else {
                for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(src[o + j]));
            }
            short dh = HalfFloat.halfAtLeast(amax / 127);
            float d = Float.float16ToFloat(dh);
            float id = d != 0 ? 1 / d : 0;
            out[at] = (byte) dh;
            out[at + 1] = (byte) (dh >> 8);
            if (VECTOR) {
                for (int p = 0; p < PARTS; p++) {
                    FloatVector v = FloatVector.fromArray(F, src, o + p * N).mul(id);
                    // round half away from zero: add +-0.5, then the conversion truncates
                    v = v.add(FloatVector.broadcast(F, 0.5f).blend(-0.5f, v.compare(VectorOperators.LT, 0)));
                    v.convertShape(VectorOperators.F2B, B, 0).reinterpretAsBytes().intoArray(out, at + 2 + p * N);
                }
            } else {
                for (int j = 0; j < BLOCK; j++) out[at + 2 + j] = (byte) Math.clamp(Math.round(src[o + j] * id), -127, 127);
            }
        }
        MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, dstOff, out.length);
    }
}
