package magicpig.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every kernel ({@code dot}, {@code dequantizeRow}, their scalar fallbacks, and the parallel
 * {@code matvec} / {@code matmul} built on them) against {@link GgmlReference}, on random blocks:
 * both arbitrary bit patterns (every field of a block takes values a quantizer might never write)
 * and quantized gaussian weights.
 */
class KernelTest {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Row lengths per block size: several whole vectors, odd numbers of blocks, and for 1-value types, tails. */
    static int[] colsFor(GgmlType type) {
        return switch (type.blockSize) {
            case 1 -> new int[] {1, 7, 16, 17, 31, 33, 48, 95, 250, 1000, 2048, 4099};
            case 32 -> new int[] {32, 64, 96, 160, 1024};
            default -> new int[] {256, 512, 768, 2304};
        };
    }

    /** Random bytes in the layout of type, with every half-float field a finite value of moderate size. */
    static MemorySegment randomBlocks(GgmlType type, int rows, int cols, Random rnd, Arena arena) {
        long size = type.bytes(rows, cols);
        MemorySegment data = arena.allocate(size, 64);
        byte[] bytes = new byte[(int) size];
        rnd.nextBytes(bytes);
        MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, 0, bytes.length);
        long blocks = size / type.blockBytes;
        for (long b = 0; b < blocks; b++) {
            long at = b * type.blockBytes;
            switch (type) {
                case F32 -> data.set(FLOAT_LE, at, (float) rnd.nextGaussian());
                case F16 -> data.set(SHORT_LE, at, randomFiniteHalf(rnd));
                // bf16: keep the exponent within 2^-40 .. 2^40 so no dot overflows
                case BF16 -> data.set(SHORT_LE, at, (short) (Float.floatToRawIntBits((float) Math.scalb(rnd.nextGaussian(), rnd.nextInt(81) - 40)) >>> 16));
                case Q8_0, Q4_0 -> data.set(SHORT_LE, at, Float.floatToFloat16(scale(rnd)));
                case Q4_K -> {
                    data.set(SHORT_LE, at, Float.floatToFloat16(scale(rnd)));
                    data.set(SHORT_LE, at + 2, Float.floatToFloat16(scale(rnd)));
                }
                case Q6_K -> data.set(SHORT_LE, at + 208, Float.floatToFloat16(scale(rnd)));
            }
        }
        return data;
    }

    /** Any finite half: zeros, subnormals and normals of either sign. */
    static short randomFiniteHalf(Random rnd) {
        while (true) {
            short h = (short) rnd.nextInt(1 << 16);
            if ((h & 0x7C00) != 0x7C00) return h;
        }
    }

    private static float scale(Random rnd) {
        return (float) (rnd.nextGaussian() * Math.scalb(1.0, -rnd.nextInt(12)));
    }

    /** Gaussian weights of varying spread per row, quantized by the Quantizer. */
    static MemorySegment quantizedGaussian(GgmlType type, int rows, int cols, Random rnd, Arena arena) {
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double sigma = Math.scalb(1.0, -rnd.nextInt(10));
            for (int i = 0; i < cols; i++) w[r * cols + i] = (float) (sigma * rnd.nextGaussian());
        }
        MemorySegment data = arena.allocate(type.bytes(rows, cols), 64);
        Quantizer.quantize(type, w, rows, cols, data);
        return data;
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dequantizeRowAndDotMatchTheReference(GgmlType type) {
        Random rnd = new Random(type.ordinal() * 1000L + 7);
        try (Arena arena = Arena.ofShared()) {
            for (int cols : colsFor(type)) {
                int rows = 3;
                for (MemorySegment data : new MemorySegment[] {randomBlocks(type, rows, cols, rnd, arena), quantizedGaussian(type, rows, cols, rnd, arena)}) {
                    WeightMatrix w = WeightMatrix.of(type, data, rows, cols);
                    for (int r = 0; r < rows; r++) {
                        float[] expected = GgmlReference.row(type, data, r, cols);
                        checkDequantized(type, expected, w::dequantizeRow, r, type + " " + rows + "x" + cols + " row " + r);
                        checkDot(expected, w::dot, r, rnd, type + " " + rows + "x" + cols + " row " + r);
                        // The scalar fallback (for machines without 256/512-bit vectors) must agree too.
                        checkDequantized(type, expected, (row, dst, off) -> scalarRow(w, row, null, 0, dst, off), r, type + " scalar row " + r);
                        checkDot(expected, (row, x, off) -> scalarRow(w, row, x, off, null, 0), r, rnd, type + " scalar row " + r);
                    }
                }
            }
        }
    }

    interface RowWriter {
        void write(int row, float[] dst, int dstOff);
    }

    interface RowDot {
        float dot(int row, float[] x, int xOff);
    }

    private static float scalarRow(WeightMatrix w, int row, float[] x, int xOff, float[] dst, int dstOff) {
        return switch (w) {
            case F32Matrix m -> {
                // F32 has no separate scalar path: its vector loop has a scalar tail only.
                if (x != null) yield m.dot(row, x, xOff);
                m.dequantizeRow(row, dst, dstOff);
                yield 0;
            }
            case F16Matrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            case BF16Matrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            case Q8_0Matrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            case Q4_0Matrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            case Q4_KMatrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            case Q6_KMatrix m -> m.scalarRow(row, x, xOff, dst, dstOff);
            default -> throw new AssertionError(w);
        };
    }

    /**
     * Dequantized values must equal the reference bit for bit, except Q4_K: the kernel computes
     * d*sc*q - dmin*m as one fused multiply-add, the reference rounds the product first.
     */
    private static void checkDequantized(GgmlType type, float[] expected, RowWriter writer, int row, String what) {
        int cols = expected.length, off = 3;
        float[] dst = new float[cols + 2 * off];
        java.util.Arrays.fill(dst, 12345f);
        writer.write(row, dst, off);
        assertEquals(12345f, dst[off - 1], what + ": wrote before dstOff");
        assertEquals(12345f, dst[off + cols], what + ": wrote past the row");
        float rowMax = 0;
        for (float e : expected) rowMax = Math.max(rowMax, Math.abs(e));
        float tolerance = type == GgmlType.Q4_K ? 1e-6f * rowMax : 0;
        for (int i = 0; i < cols; i++) {
            float e = expected[i], got = dst[off + i];
            boolean ok = tolerance == 0 ? Float.floatToRawIntBits(got) == Float.floatToRawIntBits(e) : Math.abs(got - e) <= tolerance;
            if (!ok) fail(what + ": value " + i + " is " + got + ", the reference says " + e);
        }
    }

    /** The dot must match the exact (double) sum within f32 accumulation error, relative to sum |w x|. */
    private static void checkDot(float[] w, RowDot dot, int row, Random rnd, String what) {
        int cols = w.length, off = 5;
        float[] x = new float[cols + off + 2];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        double exact = 0, magnitude = 0;
        for (int i = 0; i < cols; i++) {
            exact += (double) w[i] * x[off + i];
            magnitude += Math.abs((double) w[i] * x[off + i]);
        }
        float got = dot.dot(row, x, off);
        assertTrue(Math.abs(got - exact) <= 1e-5 * magnitude + 1e-35, what + ": dot is " + got + ", exact " + exact + " (sum |w x| = " + magnitude + ")");
    }

    /** The F16 conversion is exact for every finite half, signed zeros and subnormals included. */
    @Test
    void f16DecodesEveryFiniteHalfExactly() {
        int n = 63488; // 2^16 halves less the 2 * 1024 with exponent 31 (infinities, NaNs)
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate(2L * n);
            int i = 0;
            for (int h = 0; h < 1 << 16; h++) {
                if ((h & 0x7C00) != 0x7C00) data.set(SHORT_LE, 2L * i++, (short) h);
            }
            float[] got = new float[n];
            new F16Matrix(data, 1, n).dequantizeRow(0, got, 0);
            for (i = 0; i < n; i++) {
                short h = data.get(SHORT_LE, 2L * i);
                float e = Float.float16ToFloat(h);
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(e)) {
                    fail("half 0x" + Integer.toHexString(h & 0xFFFF) + " decoded as " + got[i] + ", is " + e);
                }
            }
        }
    }

    /**
     * The same checks after the kernels have run hot enough for C2 to compile them (the other tests
     * mostly see the interpreter and C1, which run the Vector API's Java fallbacks and F16's scalar
     * conversions, not the intrinsics the hot path uses).
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void kernelsAgreeOnceCompiled(GgmlType type) {
        Random rnd = new Random(99 + type.ordinal());
        int rows = 4, cols = 256;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = randomBlocks(type, rows, cols, rnd, arena);
            WeightMatrix w = WeightMatrix.of(type, data, rows, cols);
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
            float[] y = new float[rows], y4 = new float[rows], rowBuf = new float[cols];
            for (int round = 0; round < 5000; round++) {
                for (int r = 0; r < rows; r++) y[r] = w.dot(r, x, 0);
                w.dot4(0, x, 0, y4, 0);
                for (int r = 0; r < rows; r++) w.dequantizeRow(r, rowBuf, 0);
            }
            for (int r = 0; r < rows; r++) {
                float[] expected = GgmlReference.row(type, data, r, cols);
                checkDequantized(type, expected, w::dequantizeRow, r, type + " (compiled) row " + r);
                double exact = 0, magnitude = 0;
                for (int i = 0; i < cols; i++) {
                    exact += (double) expected[i] * x[i];
                    magnitude += Math.abs((double) expected[i] * x[i]);
                }
                assertEquals(exact, y[r], 1e-5 * magnitude + 1e-35, type + " (compiled) dot of row " + r);
                assertEquals(exact, y4[r], 1e-5 * magnitude + 1e-35, type + " (compiled) dot4, row " + r);
            }
        }
    }

    /** matvec and matmul (parallel, tiles of rows with a ragged end) against the reference, odd row counts. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matvecAndMatmulMatchTheReference(GgmlType type) {
        Random rnd = new Random(42 + type.ordinal());
        int rows = 37, cols = type.blockSize == 1 ? 200 : 2 * Math.max(type.blockSize, 128);
        int batch = 6;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = quantizedGaussian(type, rows, cols, rnd, arena);
            WeightMatrix w = WeightMatrix.of(type, data, rows, cols);
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] y = new float[batch * rows];
            w.matmul(x, cols, batch, y, rows);
            float[] yv = new float[rows];
            w.matvec(x, 0, yv, 0);
            for (int r = 0; r < rows; r++) {
                float[] ref = GgmlReference.row(type, data, r, cols);
                for (int b = 0; b < batch; b++) {
                    double exact = 0, magnitude = 0;
                    for (int i = 0; i < cols; i++) {
                        exact += (double) ref[i] * x[b * cols + i];
                        magnitude += Math.abs((double) ref[i] * x[b * cols + i]);
                    }
                    assertEquals(exact, y[b * rows + r], 1e-5 * magnitude + 1e-35, type + " matmul row " + r + " batch " + b);
                    if (b == 0) assertEquals(exact, yv[r], 1e-5 * magnitude + 1e-35, type + " matvec row " + r);
                }
            }
        }
    }
    /**
     * Q8_0's CPU layout (built before the first product) gives the GGUF kernel's results bit for bit,
     * interpreted and once compiled; its single-row and dequantizing paths match the reference.
     */
    @Test
    void q8_0CpuLayoutMatchesTheGgufKernel() {
        Random rnd = new Random(808);
        int rows = 36, cols = 512;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = quantizedGaussian(GgmlType.Q8_0, rows, cols, rnd, arena);
            Q8_0Matrix gguf = (Q8_0Matrix) WeightMatrix.of(GgmlType.Q8_0, data, rows, cols);
            Q8_0Matrix packed = (Q8_0Matrix) WeightMatrix.of(GgmlType.Q8_0, data, rows, cols);
            packed.prepareCpu();
            if (Q8_0Matrix.hasCpuLayout(rows)) {
                // Kept only in the CPU layout: the GGUF bytes come back exactly, and the kernels agree.
                Q8_0Matrix only = Q8_0Matrix.withCpuLayoutOnly(gguf, arena);
                assertEquals(-1, only.data().mismatch(data), "GGUF bytes rebuilt from the CPU layout");
                float[] a = new float[rows], b = new float[rows];
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
                only.matvec(x, 0, a, 0);
                packed.matvec(x, 0, b, 0);
                assertArrayEquals(b, a, "matvec of the CPU-layout-only copy");
                only.dot4(1, x, 0, a, 0); // rows 1-4: across a group boundary
                for (int i = 0; i < 4; i++) assertEquals(packed.dot(1 + i, x, 0), a[i], "unaligned dot4 row " + (1 + i));
            }
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
            float[] expected = new float[rows], actual = new float[rows], viaMatvec = new float[rows], row = new float[cols];
            for (int round = 0; round < 3000; round++) {
                for (int r = 0; r < rows; r += 4) {
                    gguf.dot4(r, x, 0, expected, r);
                    packed.dot4(r, x, 0, actual, r);
                }
                if (round == 0 || round == 2999) {
                    assertArrayEquals(expected, actual, "dot4, round " + round);
                    packed.matvec(x, 0, viaMatvec, 0);
                    if (NativeKernels.available() && Q8_0Matrix.hasCpuLayout(rows)) {
                        // the native kernel takes x rounded to 16-bit integers per block: within that rounding's bound
                        for (int r = 0; r < rows; r++) {
                            packed.dequantizeRow(r, row, 0);
                            assertEquals(expected[r], viaMatvec[r], 1e-5f * (1 + Math.abs(expected[r])) + NativeKernels.x16ErrorBound(row, x, 0, cols),
                                    "matvec, round " + round + " row " + r);
                        }
                    } else {
                        assertMatvec(expected, viaMatvec, "matvec, round " + round);
                    }
                    for (int r = 0; r < rows; r++) {
                        float[] ref = GgmlReference.row(GgmlType.Q8_0, data, r, cols);
                        packed.dequantizeRow(r, row, 0);
                        assertArrayEquals(ref, row, "dequantized row " + r + ", round " + round);
                        double exact = 0, magnitude = 0;
                        for (int i = 0; i < cols; i++) {
                            exact += (double) ref[i] * x[i];
                            magnitude += Math.abs((double) ref[i] * x[i]);
                        }
                        assertEquals(exact, packed.dot(r, x, 0), 1e-5 * magnitude + 1e-35, "dot of row " + r + ", round " + round);
                    }
                }
            }
        }
    }

    /**
     * matvec against the Java kernel's dot4: bit for bit, except where the native kernels serve the
     * product; they sum a vector's lanes in their own order, so there the results agree to rounding
     * (NativeKernelsTest checks them against the Java kernels for every type they cover).
     */
    private static void assertMatvec(float[] expected, float[] actual, String what) {
        if (!NativeKernels.available()) {
            assertArrayEquals(expected, actual, what);
            return;
        }
        for (int r = 0; r < expected.length; r++) assertEquals(expected[r], actual[r], 1e-5f * (1 + Math.abs(expected[r])), what + " row " + r);
    }

    /**
     * Q4_K's CPU layout (built before the first product) gives the GGUF kernel's results bit for bit:
     * dot4 over aligned and unaligned rows, dot, matvec and dequantized rows, interpreted and once
     * compiled. The blocks are random bytes, so every 6-bit scale and min pattern occurs.
     */
    @Test
    void q4_KCpuLayoutMatchesTheGgufKernel() {
        Random rnd = new Random(404);
        int rows = 36, cols = 512;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = randomBlocks(GgmlType.Q4_K, rows, cols, rnd, arena);
            Q4_KMatrix gguf = (Q4_KMatrix) WeightMatrix.of(GgmlType.Q4_K, data, rows, cols);
            Q4_KMatrix packed = (Q4_KMatrix) WeightMatrix.of(GgmlType.Q4_K, data, rows, cols);
            packed.prepareCpu();
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
            float[] expected = new float[rows], actual = new float[rows], viaMatvec = new float[rows];
            float[] want = new float[cols], got = new float[cols], four = new float[4], single = new float[rows];
            // Every path runs every round, so that the JIT compiles them all: interpreted, a vector's
            // lanes are summed in another order than compiled, and the paths are compared in one state.
            for (int round = 0; round < 3000; round++) {
                for (int r = 0; r < rows; r += 4) {
                    for (int i = 0; i < 4; i++) expected[r + i] = gguf.dot(r + i, x, 0);
                    packed.dot4(r, x, 0, actual, r);
                }
                packed.dot4(5, x, 0, four, 0); // rows 5-8: across a group boundary
                for (int r = 0; r < rows; r++) single[r] = packed.dot(r, x, 0);
                if (round == 0 || round == 2999) {
                    assertArrayEquals(expected, actual, "dot4, round " + round);
                    packed.matvec(x, 0, viaMatvec, 0);
                    assertMatvec(expected, viaMatvec, "matvec, round " + round);
                    for (int i = 0; i < 4; i++) assertEquals(expected[5 + i], four[i], "unaligned dot4 row " + (5 + i) + ", round " + round);
                    for (int r = 0; r < rows; r++) {
                        assertEquals(expected[r], single[r], "dot of row " + r + ", round " + round);
                        gguf.dequantizeRow(r, want, 0);
                        packed.dequantizeRow(r, got, 0);
                        assertArrayEquals(want, got, "dequantized row " + r + ", round " + round);
                    }
                }
            }
        }
    }
}
