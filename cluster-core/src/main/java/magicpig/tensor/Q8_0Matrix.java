package magicpig.tensor;

import java.lang.foreign.Arena;
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
 *
 * <p><b>The CPU layout.</b> Before its first product on the CPU (with AVX-512, and rows a multiple of
 * four), the matrix copies itself once into a layout of its own, on huge pages where granted:
 * rows in groups of four, and for each block of 32 columns a 144-byte record of the four rows' scales
 * as f32, then their four runs of 32 quants. A decode step then reads one sequential stream per
 * thread instead of four rows' worth of short ones, every 16-byte load is aligned, and a scale is
 * one broadcast from memory instead of a half-to-float conversion and a shuffle. Measured on the
 * project's 2-core VM with a 544 MiB matrix from memory, alternating with the GGUF layout in one
 * process: 1.27x (15.7 against 12.3 GB/s by the GGUF bytes). The values and the order of every sum
 * are the same as the GGUF kernel's, so results are bit-for-bit equal. The price is memory: a
 * model loaded from a file keeps its GGUF bytes mapped beside the copy (clean file pages, which the
 * kernel can drop), a synthetic model keeps only the copy ({@link #withCpuLayoutOnly}), and the
 * scales take 4 bytes instead of 2 (144 bytes for 136). {@code -Dmagicpig.q8_0.cpuLayout=false}
 * keeps the GGUF kernel.
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
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /**
     * Whether products build the CPU layout: where the 16-float kernel runs (AVX-512), unless
     * {@code -Dmagicpig.q8_0.cpuLayout=false} (to save the memory, or to compare the two).
     */
    private static final boolean PACKS = VECTOR && PARTS == 2 && cpuLayoutAllowed(GgmlType.Q8_0);
    /** One block of a four-row group in the CPU layout: four f32 scales, then four rows' 32 quants. */
    static final int GROUP_BLOCK_BYTES = 4 * Float.BYTES + 4 * BLOCK;

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    /** A matrix that keeps only the CPU layout. */
    private Q8_0Matrix(int rows, int cols, MemorySegment packed) {
        super(rows, cols, packed);
    }

    /** Whether a Q8_0 matrix of this many rows gets the CPU layout on this machine. */
    public static boolean hasCpuLayout(int rows) {
        return PACKS && rows % 4 == 0;
    }

    /**
     * The same matrix keeping only the CPU layout, allocated in {@code arena}, so that the caller
     * can free m's GGUF bytes (a synthetic model would otherwise hold its weights twice). Its
     * {@link #data()} and {@link #ggufBytes} rebuild the GGUF bytes on every call. Requires
     * {@link #hasCpuLayout}.
     */
    public static Q8_0Matrix withCpuLayoutOnly(Q8_0Matrix m, Arena arena) {
        if (!hasCpuLayout(m.rows)) throw new IllegalArgumentException("no CPU layout for " + m);
        return new Q8_0Matrix(m.rows, m.cols, m.buildCpuLayout(arena));
    }

    @Override
    public MemorySegment data() {
        return ggufBytes(Arena.ofAuto());
    }

    @Override
    public MemorySegment ggufBytes(Arena scratch) {
        if (data != null) return data;
        // Rebuilt from the CPU layout: the scales were halves, so converting them back is exact.
        MemorySegment p = cpuLayout(), out = scratch.allocate(byteSize(), 64);
        for (int r = 0; r < rows; r++) {
            long at = packedRow(r), scale = packedScale(r);
            for (int b = 0; b < cols / BLOCK; b++, at += GROUP_BLOCK_BYTES, scale += GROUP_BLOCK_BYTES) {
                long to = r * rowBytes + (long) b * BLOCK_BYTES;
                out.set(SHORT_LE, to, Float.floatToFloat16(p.get(FLOAT_LE, scale)));
                MemorySegment.copy(p, at, out, to + 2, BLOCK);
            }
        }
        return out;
    }

    @Override
    boolean hasCpuLayout() {
        return hasCpuLayout(rows);
    }

    /** Copies row r's GGUF blocks into the CPU layout: each block's scale as f32, its 32 quants as they are. */
    @Override
    void packRow(MemorySegment p, int r) {
        long from = r * rowBytes, at = packedRow(r), scale = packedScale(r);
        for (int b = 0; b < cols / BLOCK; b++, from += BLOCK_BYTES, at += GROUP_BLOCK_BYTES, scale += GROUP_BLOCK_BYTES) {
            p.set(FLOAT_LE, scale, scale(data, from));
            MemorySegment.copy(data, from + 2, p, at, BLOCK);
        }
    }

    /** Bytes of the CPU layout: a {@value #GROUP_BLOCK_BYTES}-byte record per block of each group of four rows. */
    @Override
    long cpuLayoutBytes() {
        return (long) (rows / 4) * (cols / BLOCK) * GROUP_BLOCK_BYTES;
    }

    /** 16 quants at {@code at}, as floats. */
    private static FloatVector quants(MemorySegment data, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(B, data, at, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
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
        MemorySegment cpu = cpuLayout();
        if (cpu != null) return dotPacked(cpu, row, x, xOff);
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
    boolean nativeTakesX16() {
        return cpuLayout() != null && NativeKernels.available();
    }

    @Override
    boolean nativeRowsX16(MemorySegment xq, MemorySegment xs, MemorySegment y, int yOff, int start, int end) {
        MemorySegment p = cpuLayout();
        return p != null && (start & 3) == 0 && (end & 3) == 0 && NativeKernels.q8_0Groups(p, cols, xq, xs, y, yOff, start >> 2, end >> 2);
    }

    @Override
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        if (!VECTOR || PARTS != 2) {
            super.dot4(row, x, xOff, y, yOff);
            return;
        }
        MemorySegment p = cpuLayout();
        if (p != null) {
            if ((row & 3) == 0) dot4Packed(p, row, x, xOff, y, yOff);
            else for (int i = 0; i < 4; i++) y[yOff + i] = dotPacked(p, row + i, x, xOff);
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

    /**
     * Four rows of a group in the CPU layout: one sequential stream, each block's 32 x values loaded
     * once for the four rows, sums in the same order as the GGUF kernel's.
     */
    private void dot4Packed(MemorySegment p, int row, float[] x, int xOff, float[] y, int yOff) {
        int blocks = cols / BLOCK;
        long at = (long) (row >> 2) * blocks * GROUP_BLOCK_BYTES;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++, at += GROUP_BLOCK_BYTES) {
            int xi = xOff + b * BLOCK;
            FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 16);
            acc0 = quants(p, at + 32).fma(x1, quants(p, at + 16).mul(x0)).fma(FloatVector.broadcast(F, p.get(FLOAT_LE, at)), acc0);
            acc1 = quants(p, at + 64).fma(x1, quants(p, at + 48).mul(x0)).fma(FloatVector.broadcast(F, p.get(FLOAT_LE, at + 4)), acc1);
            acc2 = quants(p, at + 96).fma(x1, quants(p, at + 80).mul(x0)).fma(FloatVector.broadcast(F, p.get(FLOAT_LE, at + 8)), acc2);
            acc3 = quants(p, at + 128).fma(x1, quants(p, at + 112).mul(x0)).fma(FloatVector.broadcast(F, p.get(FLOAT_LE, at + 12)), acc3);
        }
        y[yOff] = acc0.reduceLanes(VectorOperators.ADD);
        y[yOff + 1] = acc1.reduceLanes(VectorOperators.ADD);
        y[yOff + 2] = acc2.reduceLanes(VectorOperators.ADD);
        y[yOff + 3] = acc3.reduceLanes(VectorOperators.ADD);
    }

    /** One row in the CPU layout (the same sums as one lane of {@link #dot4Packed}). */
    private float dotPacked(MemorySegment p, int row, float[] x, int xOff) {
        long at = packedRow(row), scale = packedScale(row);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < cols / BLOCK; b++, at += GROUP_BLOCK_BYTES, scale += GROUP_BLOCK_BYTES) {
            int xi = xOff + b * BLOCK;
            FloatVector s = quants(p, at + 16).fma(FloatVector.fromArray(F, x, xi + 16), quants(p, at).mul(FloatVector.fromArray(F, x, xi)));
            acc = s.fma(FloatVector.broadcast(F, p.get(FLOAT_LE, scale)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Where row's quants of block 0 start in the CPU layout; each next block is {@value #GROUP_BLOCK_BYTES} bytes on. */
    private long packedRow(int row) {
        return (long) (row >> 2) * (cols / BLOCK) * GROUP_BLOCK_BYTES + 4 * Float.BYTES + (long) BLOCK * (row & 3);
    }

    /** Where row's f32 scale of block 0 is in the CPU layout; each next block is {@value #GROUP_BLOCK_BYTES} bytes on. */
    private long packedScale(int row) {
        return (long) (row >> 2) * (cols / BLOCK) * GROUP_BLOCK_BYTES + (long) Float.BYTES * (row & 3);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (!VECTOR) {
            scalarRow(row, null, 0, dst, dstOff);
            return;
        }
        MemorySegment cpu = cpuLayout();
        if (cpu != null) {
            long at = packedRow(row), scale = packedScale(row);
            for (int b = 0; b < cols / BLOCK; b++, at += GROUP_BLOCK_BYTES, scale += GROUP_BLOCK_BYTES) {
                FloatVector d = FloatVector.broadcast(F, cpu.get(FLOAT_LE, scale));
                int o = dstOff + b * BLOCK;
                quants(cpu, at).mul(d).intoArray(dst, o);
                quants(cpu, at + 16).mul(d).intoArray(dst, o + 16);
            }
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
