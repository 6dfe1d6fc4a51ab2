package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_K weights: super-blocks of 256 values, 144 bytes each (4.5 bits a value), laid out as in
 * llama.cpp's block_q4_K:
 *
 * <pre>
 *   0: f16 d        super-block scale of the sub-block scales
 *   2: f16 dmin     super-block scale of the sub-block mins
 *   4: 12 bytes     eight 6-bit scales sc[j] and eight 6-bit mins m[j], one pair per sub-block of 32
 *  16: 128 bytes    4-bit quants: bytes 32g .. 32g+31 hold sub-block 2g in their low nibbles and
 *                   sub-block 2g+1 in their high nibbles (g = 0..3)
 * </pre>
 *
 * value = d * sc[j] * q - dmin * m[j], for the value's sub-block j.
 *
 * <p><b>The CPU layout.</b> The kernel on the GGUF bytes is bound by its arithmetic, not by memory:
 * per sub-block pair it unpacks two 6-bit scales and mins and converts two halves in scalar code.
 * Before its first product on the CPU (with AVX-512, and rows a multiple of four), the matrix
 * copies itself once into a layout of its own, on huge pages where granted: rows in groups of four,
 * and for each super-block a {@value #GROUP_BLOCK_BYTES}-byte record of the four rows' sub-block
 * factors {@code d * sc[j]} and {@code -dmin * m[j]} as f32 (64 floats), then their four runs of
 * 128 quant bytes. A factor is then one broadcast from memory, a group is one sequential stream,
 * and the x values are loaded once for four rows; the four-row kernel reads each record from a
 * per-thread copy (see {@link Scratch}). The factors are the floats the GGUF kernel
 * computes and the sums run in its order, so results are bit-for-bit equal. The price is memory:
 * 192 bytes a row per super-block instead of 144, beside the file's mapped bytes (clean pages the
 * kernel can drop). {@code -Dmagicpig.q4_k.cpuLayout=false} keeps the GGUF kernel.
 */
public final class Q4_KMatrix extends WeightMatrix {
    static final int BLOCK = 256;
    static final int BLOCK_BYTES = 144;
    private static final int SCALES = 4;
    private static final int QS = 16;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many bytes as F has floats. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int N = F.length();
    /** Vectors of N quant bytes in one 32-byte group. */
    private static final int PARTS = 32 / N;
    /** Whether the vector kernel applies (F of 256 or 512 bits); else the scalar one runs. */
    private static final boolean VECTOR = B.length() == N && 32 % N == 0;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /**
     * Whether products build the CPU layout: where the 16-float kernel runs (AVX-512), unless
     * {@code -Dmagicpig.q4_k.cpuLayout=false} (to save the memory, or to compare the two).
     */
    private static final boolean PACKS = VECTOR && PARTS == 2 && cpuLayoutAllowed(GgmlType.Q4_K);
    /** In a record of the CPU layout: row r's eight scale factors at 32 r, its eight negated min factors at 128 + 32 r. */
    private static final int PACKED_MINS = 4 * 8 * Float.BYTES;
    /** In a record of the CPU layout: row r's 128 quant bytes at 256 + 128 r. */
    private static final int PACKED_QS = 2 * PACKED_MINS;
    /** One super-block of a four-row group in the CPU layout. */
    static final int GROUP_BLOCK_BYTES = PACKED_QS + 4 * 128;

    /**
     * Per thread: one record of the CPU layout, copied out of it before its arithmetic. Read in
     * place, each of the 24 loads of a sub-block pair (16 factors, 8 quant vectors) cost a
     * MemorySegment bounds check that C2 did not hoist, about 25 scalar instructions each: some 600
     * beside 32 FMAs in its output. From the copy they are plain array loads.
     */
    private static final class Scratch {
        final byte[] record = new byte[GROUP_BLOCK_BYTES];
    }

    /** Little-endian floats out of {@link Scratch#record}. */
    private static final java.lang.invoke.VarHandle FLOATS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    public Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    /** Whether a Q4_K matrix of this many rows gets the CPU layout on this machine. */
    public static boolean hasCpuLayout(int rows) {
        return PACKS && rows % 4 == 0;
    }

    @Override
    boolean hasCpuLayout() {
        return hasCpuLayout(rows);
    }

    /** Bytes of the CPU layout: a {@value #GROUP_BLOCK_BYTES}-byte record per super-block of each group of four rows. */
    @Override
    long cpuLayoutBytes() {
        return (long) (rows / 4) * (cols / BLOCK) * GROUP_BLOCK_BYTES;
    }

    /** Where super-block b of row's group starts in the CPU layout. */
    private long packedRecord(int row, int b) {
        return ((long) (row >> 2) * (cols / BLOCK) + b) * GROUP_BLOCK_BYTES;
    }

    /** Copies row r's GGUF super-blocks into the CPU layout; the factors are the GGUF kernel's floats. */
    @Override
    void packRow(MemorySegment p, int r) {
        int lane = r & 3;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = r * rowBytes + (long) b * BLOCK_BYTES, rec = packedRecord(r, b);
            float d = Float.float16ToFloat(data.get(SHORT_LE, block));
            float dmin = Float.float16ToFloat(data.get(SHORT_LE, block + 2));
            long lo8 = data.get(LONG_LE, block + SCALES);
            int hi4 = data.get(INT_LE, block + SCALES + 8);
            for (int j = 0; j < 8; j++) {
                int sm = scaleMin(lo8, hi4, j);
                p.set(FLOAT_LE, rec + 32L * lane + 4L * j, d * (sm & 0xFF));
                p.set(FLOAT_LE, rec + PACKED_MINS + 32L * lane + 4L * j, -dmin * (sm >>> 8));
            }
            MemorySegment.copy(data, block + QS, p, rec + PACKED_QS + 128L * lane, 128);
        }
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /**
     * Sub-block j's 6-bit scale (low byte of the result) and min (next byte), unpacked from the 12
     * scale bytes s (bytes 0-7 in lo8, 8-11 in hi4) as llama.cpp's get_scale_min_k4 does: for
     * j < 4, sc = s[j] & 63 and m = s[j+4] & 63; for j >= 4 the low 4 bits come from s[j+4]
     * (scale in its low nibble, min in its high one) and the top 2 bits from the spare top bits of
     * s[j-4] (scale) and s[j] (min).
     */
    static int scaleMin(long lo8, int hi4, int j) {
        if (j < 4) {
            int sc = (int) (lo8 >>> 8 * j) & 63;
            int m = (int) (lo8 >>> 8 * (j + 4)) & 63;
            return sc | m << 8;
        }
        int packed = hi4 >>> 8 * (j - 4) & 0xFF;
        int sc = (packed & 0x0F) | ((int) (lo8 >>> 8 * (j - 4)) & 0xC0) >>> 2;
        int m = (packed >>> 4) | ((int) (lo8 >>> 8 * j) & 0xC0) >>> 2;
        return sc | m << 8;
    }

    // The loops below spell every vector step out rather than calling small helpers: C2 stops
    // inlining ordinary calls once a method has inlined a lot of Vector API code, and a helper
    // left as a call boxes its vectors, which is many times slower. Nibbles are split after
    // widening to int lanes: the Vector API's byte shifts are not intrinsified on x86.

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        MemorySegment cpu = cpuLayout();
        if (cpu != null) return dotPacked(cpu, row, x, xOff);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block));
            float dmin = Float.float16ToFloat(data.get(SHORT_LE, block + 2));
            long lo8 = data.get(LONG_LE, block + SCALES);
            int hi4 = data.get(INT_LE, block + SCALES + 8);
            for (int g = 0; g < 4; g++) {
                int lo = scaleMin(lo8, hi4, 2 * g), hi = scaleMin(lo8, hi4, 2 * g + 1);
                // value = q * (d * sc) + (-dmin * m), per sub-block: low nibbles are sub-block 2g, high ones 2g+1
                FloatVector scaleLo = FloatVector.broadcast(F, d * (lo & 0xFF)), minLo = FloatVector.broadcast(F, -dmin * (lo >>> 8));
                FloatVector scaleHi = FloatVector.broadcast(F, d * (hi & 0xFF)), minHi = FloatVector.broadcast(F, -dmin * (hi >>> 8));
                int xi = xOff + b * BLOCK + 64 * g;
                for (int p = 0; p < PARTS; p++) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, data, block + QS + 32 * g + (long) p * N, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    FloatVector wLo = ((FloatVector) q.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(scaleLo, minLo);
                    FloatVector wHi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(scaleHi, minHi);
                    accLo = wLo.fma(FloatVector.fromArray(F, x, xi + p * N), accLo);
                    accHi = wHi.fma(FloatVector.fromArray(F, x, xi + 32 + p * N), accHi);
                }
            }
        }
        return accLo.add(accHi).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        MemorySegment p = cpuLayout();
        if (p == null) {
            super.dot4(row, x, xOff, y, yOff);
        } else if ((row & 3) == 0) {
            dot4Packed(p, row, x, xOff, y, yOff);
        } else {
            for (int i = 0; i < 4; i++) y[yOff + i] = dotPacked(p, row + i, x, xOff);
        }
    }

    /** One row in the CPU layout: {@link #dot}'s steps and order, with the factors read instead of unpacked. */
    private float dotPacked(MemorySegment p, int row, float[] x, int xOff) {
        int lane = row & 3;
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        for (int b = 0; b < cols / BLOCK; b++) {
            long rec = packedRecord(row, b), sc = rec + 32L * lane, mn = sc + PACKED_MINS, qs = rec + PACKED_QS + 128L * lane;
            for (int g = 0; g < 4; g++) {
                FloatVector scaleLo = FloatVector.broadcast(F, p.get(FLOAT_LE, sc + 8 * g)), minLo = FloatVector.broadcast(F, p.get(FLOAT_LE, mn + 8 * g));
                FloatVector scaleHi = FloatVector.broadcast(F, p.get(FLOAT_LE, sc + 8 * g + 4)), minHi = FloatVector.broadcast(F, p.get(FLOAT_LE, mn + 8 * g + 4));
                int xi = xOff + b * BLOCK + 64 * g;
                for (int part = 0; part < 2; part++) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, p, qs + 32 * g + 16 * part, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    FloatVector wLo = ((FloatVector) q.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(scaleLo, minLo);
                    FloatVector wHi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(scaleHi, minHi);
                    accLo = wLo.fma(FloatVector.fromArray(F, x, xi + 16 * part), accLo);
                    accHi = wHi.fma(FloatVector.fromArray(F, x, xi + 32 + 16 * part), accHi);
                }
            }
        }
        return accLo.add(accHi).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Four rows of a group in the CPU layout, one sequential stream: each record is copied into
     * this thread's {@link Scratch} (one bulk copy), then per sub-block pair the 64 x values are
     * loaded once for the four rows; each row's sums run as in {@link #dotPacked}.
     */
    private void dot4Packed(MemorySegment p, int row, float[] x, int xOff, float[] y, int yOff) {
        byte[] rb = SCRATCH.get().record;
        FloatVector lo0 = FloatVector.zero(F), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0, lo3 = lo0, hi3 = lo0;
        long rec = packedRecord(row, 0);
        for (int b = 0; b < cols / BLOCK; b++, rec += GROUP_BLOCK_BYTES) {
            MemorySegment.copy(p, ValueLayout.JAVA_BYTE, rec, rb, 0, GROUP_BLOCK_BYTES);
            for (int g = 0; g < 4; g++) {
                int xi = xOff + b * BLOCK + 64 * g;
                FloatVector xa = FloatVector.fromArray(F, x, xi), xb = FloatVector.fromArray(F, x, xi + 16);
                FloatVector xc = FloatVector.fromArray(F, x, xi + 32), xd = FloatVector.fromArray(F, x, xi + 48);
                // row 0
                FloatVector sLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (0 + 2 * g)));
                FloatVector mLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (32 + 2 * g)));
                FloatVector sHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (1 + 2 * g)));
                FloatVector mHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (33 + 2 * g)));
                IntVector q0 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 0 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector q1 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 16 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                lo0 = ((FloatVector) q0.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xa, lo0);
                hi0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xc, hi0);
                lo0 = ((FloatVector) q1.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xb, lo0);
                hi0 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xd, hi0);
                // row 1
                sLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (8 + 2 * g)));
                mLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (40 + 2 * g)));
                sHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (9 + 2 * g)));
                mHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (41 + 2 * g)));
                q0 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 128 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                q1 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 144 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                lo1 = ((FloatVector) q0.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xa, lo1);
                hi1 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xc, hi1);
                lo1 = ((FloatVector) q1.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xb, lo1);
                hi1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xd, hi1);
                // row 2
                sLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (16 + 2 * g)));
                mLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (48 + 2 * g)));
                sHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (17 + 2 * g)));
                mHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (49 + 2 * g)));
                q0 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 256 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                q1 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 272 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                lo2 = ((FloatVector) q0.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xa, lo2);
                hi2 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xc, hi2);
                lo2 = ((FloatVector) q1.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xb, lo2);
                hi2 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xd, hi2);
                // row 3
                sLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (24 + 2 * g)));
                mLo = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (56 + 2 * g)));
                sHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (25 + 2 * g)));
                mHi = FloatVector.broadcast(F, (float) FLOATS.get(rb, 4 * (57 + 2 * g)));
                q0 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 384 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                q1 = (IntVector) ByteVector.fromArray(B, rb, PACKED_QS + 400 + 32 * g).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                lo3 = ((FloatVector) q0.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xa, lo3);
                hi3 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xc, hi3);
                lo3 = ((FloatVector) q1.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(sLo, mLo).fma(xb, lo3);
                hi3 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(sHi, mHi).fma(xd, hi3);
            }
        }
        y[yOff] = lo0.add(hi0).reduceLanes(VectorOperators.ADD);
        y[yOff + 1] = lo1.add(hi1).reduceLanes(VectorOperators.ADD);
        y[yOff + 2] = lo2.add(hi2).reduceLanes(VectorOperators.ADD);
        y[yOff + 3] = lo3.add(hi3).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (!VECTOR) {
            scalarRow(row, null, 0, dst, dstOff);
            return;
        }
        MemorySegment cpu = cpuLayout();
        if (cpu != null) {
            int lane = row & 3;
            for (int b = 0; b < cols / BLOCK; b++) {
                long rec = packedRecord(row, b), sc = rec + 32L * lane, mn = sc + PACKED_MINS, qs = rec + PACKED_QS + 128L * lane;
                for (int g = 0; g < 4; g++) {
                    FloatVector scaleLo = FloatVector.broadcast(F, cpu.get(FLOAT_LE, sc + 8 * g)), minLo = FloatVector.broadcast(F, cpu.get(FLOAT_LE, mn + 8 * g));
                    FloatVector scaleHi = FloatVector.broadcast(F, cpu.get(FLOAT_LE, sc + 8 * g + 4)), minHi = FloatVector.broadcast(F, cpu.get(FLOAT_LE, mn + 8 * g + 4));
                    int o = dstOff + b * BLOCK + 64 * g;
                    for (int part = 0; part < 2; part++) {
                        IntVector q = (IntVector) ByteVector.fromMemorySegment(B, cpu, qs + 32 * g + 16 * part, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                        ((FloatVector) q.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(scaleLo, minLo).intoArray(dst, o + 16 * part);
                        ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(scaleHi, minHi).intoArray(dst, o + 32 + 16 * part);
                    }
                }
            }
            return;
        }
        MemorySegment data = this.data;
        long base = row * rowBytes;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block));
            float dmin = Float.float16ToFloat(data.get(SHORT_LE, block + 2));
            long lo8 = data.get(LONG_LE, block + SCALES);
            int hi4 = data.get(INT_LE, block + SCALES + 8);
            for (int g = 0; g < 4; g++) {
                int lo = scaleMin(lo8, hi4, 2 * g), hi = scaleMin(lo8, hi4, 2 * g + 1);
                FloatVector scaleLo = FloatVector.broadcast(F, d * (lo & 0xFF)), minLo = FloatVector.broadcast(F, -dmin * (lo >>> 8));
                FloatVector scaleHi = FloatVector.broadcast(F, d * (hi & 0xFF)), minHi = FloatVector.broadcast(F, -dmin * (hi >>> 8));
                int o = dstOff + b * BLOCK + 64 * g;
                for (int p = 0; p < PARTS; p++) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, data, block + QS + 32 * g + (long) p * N, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    ((FloatVector) q.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).fma(scaleLo, minLo).intoArray(dst, o + p * N);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(scaleHi, minHi).intoArray(dst, o + 32 + p * N);
                }
            }
        }
    }

    /** The layout, one value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block));
            float dmin = Float.float16ToFloat(data.get(SHORT_LE, block + 2));
            long lo8 = data.get(LONG_LE, block + SCALES);
            int hi4 = data.get(INT_LE, block + SCALES + 8);
            for (int g = 0; g < 4; g++) {
                int lo = scaleMin(lo8, hi4, 2 * g), hi = scaleMin(lo8, hi4, 2 * g + 1);
                for (int l = 0; l < 32; l++) {
                    int q = data.get(ValueLayout.JAVA_BYTE, block + QS + 32 * g + l) & 0xFF;
                    float vLo = d * (lo & 0xFF) * (q & 0x0F) - dmin * (lo >>> 8);
                    float vHi = d * (hi & 0xFF) * (q >>> 4) - dmin * (hi >>> 8);
                    int i = b * BLOCK + 64 * g + l;
                    if (x != null) {
                        sum += vLo * x[xOff + i] + vHi * x[xOff + i + 32];
                    } else {
                        dst[dstOff + i] = vLo;
                        dst[dstOff + i + 32] = vHi;
                    }
                }
            }
        }
        return sum;
    }

    /**
     * Writes one row (cols a multiple of 256) as Q4_K super-blocks. Simple, not error-minimizing:
     * sub-block j of 32 values spans [lo, hi] with lo = min(min(x), 0); its min m[j] * dmin is
     * -lo rounded up to a multiple of dmin, and its scale sc[j] * d is the step that reaches hi
     * from there in 15, rounded up to a multiple of d (d, dmin themselves rounded up to halves so
     * sc, m fit 6 bits). No quant is clamped, so the error is at most half a step, about
     * (hi - lo) / 30.
     */
    static void quantizeRow(float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        float[] hi = new float[8], offset = new float[8];
        int[] sc = new int[8], m = new int[8];
        byte[] packed = new byte[12], qs = new byte[128];
        for (int b = 0; b < cols / BLOCK; b++) {
            int o = srcOff + b * BLOCK;
            long block = dstOff + (long) b * BLOCK_BYTES;
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float lo = 0;
                hi[j] = -Float.MAX_VALUE;
                for (int l = 0; l < 32; l++) {
                    lo = Math.min(lo, src[o + 32 * j + l]);
                    hi[j] = Math.max(hi[j], src[o + 32 * j + l]);
                }
                offset[j] = -lo;
                maxMin = Math.max(maxMin, -lo);
            }
            short dminh = HalfFloat.halfAtLeast(maxMin / 63);
            float dmin = Float.float16ToFloat(dminh);
            float maxStep = 0;
            for (int j = 0; j < 8; j++) {
                m[j] = dmin > 0 ? Math.min(63, (int) Math.ceil(offset[j] / dmin)) : 0;
                offset[j] = dmin * m[j];
                hi[j] = Math.max(0, hi[j] + offset[j]) / 15; // now: the step this sub-block needs
                maxStep = Math.max(maxStep, hi[j]);
            }
            short dh = HalfFloat.halfAtLeast(maxStep / 63);
            float d = Float.float16ToFloat(dh);
            for (int j = 0; j < 8; j++) sc[j] = d > 0 ? Math.min(63, (int) Math.ceil(hi[j] / d)) : 0;
            dst.set(SHORT_LE, block, dh);
            dst.set(SHORT_LE, block + 2, dminh);
            // The inverse of scaleMin: 6 bits each in bytes 0-7 for j < 4; for j >= 4, the low
            // 4 bits in byte j+4 (scale low nibble, min high nibble), the top 2 bits in the spare
            // top bits of byte j-4 (scale) and byte j (min).
            java.util.Arrays.fill(packed, (byte) 0);
            for (int j = 0; j < 8; j++) {
                if (j < 4) {
                    packed[j] |= (byte) sc[j];
                    packed[j + 4] |= (byte) m[j];
                } else {
                    packed[j + 4] = (byte) ((sc[j] & 0x0F) | (m[j] & 0x0F) << 4);
                    packed[j - 4] |= (byte) ((sc[j] >>> 4) << 6);
                    packed[j] |= (byte) ((m[j] >>> 4) << 6);
                }
            }
            MemorySegment.copy(packed, 0, dst, ValueLayout.JAVA_BYTE, block + SCALES, 12);
            for (int g = 0; g < 4; g++) {
                // low nibbles: sub-block 2g, high nibbles: sub-block 2g+1; q = round((x + offset) / step)
                float stepLo = d * sc[2 * g], stepHi = d * sc[2 * g + 1];
                float invLo = stepLo > 0 ? 1 / stepLo : 0, invHi = stepHi > 0 ? 1 / stepHi : 0;
                float offLo = dmin * m[2 * g], offHi = dmin * m[2 * g + 1];
                for (int l = 0; l < 32; l++) {
                    int qLo = Math.clamp((int) Math.rint((src[o + 64 * g + l] + offLo) * invLo), 0, 15);
                    int qHi = Math.clamp((int) Math.rint((src[o + 64 * g + 32 + l] + offHi) * invHi), 0, 15);
                    qs[32 * g + l] = (byte) (qLo | qHi << 4);
                }
            }
            MemorySegment.copy(qs, 0, dst, ValueLayout.JAVA_BYTE, block + QS, 128);
        }
    }
}
