package magicpig.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The native decode kernels against the Java ones, through {@link WeightMatrix#matvec} (the path
 * decode takes): every type they cover, shapes with row and column tails, offsets into x and y, and
 * matrices large enough to span several downcalls and both threads. Skipped where they do not load
 * (no C compiler, no AVX-512, not Linux x86-64): the Java kernels then serve, and KernelTest covers them.
 */
class NativeKernelsTest {
    private static void assumeNative() {
        assumeTrue(NativeKernels.available(), "skipped: native kernels " + NativeKernels.status());
    }

    @Test
    void statusNamesWhatRuns() {
        String status = NativeKernels.status();
        assertFalse(status.isBlank());
        assertEquals(NativeKernels.available(), status.startsWith("loaded"), status);
    }

    @Test
    void halfPrecisionMatvecMatchesTheJavaKernels() {
        assumeNative();
        for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.BF16}) {
            for (int[] shape : new int[][] {{13, 40}, {64, 2048}, {7, 16}, {3, 8}, {1030, 1000}}) check(type, shape[0], shape[1]);
        }
    }

    @Test
    void q8_0MatvecMatchesTheJavaKernels() {
        assumeNative();
        assumeTrue(Q8_0Matrix.hasCpuLayout(4), "skipped: Q8_0 has no CPU layout on this machine");
        for (int[] shape : new int[][] {{12, 64}, {64, 2048}, {2048, 96}, {1028, 1024}}) check(GgmlType.Q8_0, shape[0], shape[1]);
    }

    /** matvec (native) against dot row by row (always Java), with x and y at offsets. */
    private static void check(GgmlType type, int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        float[] src = new float[rows * cols];
        for (int i = 0; i < src.length; i++) src[i] = (float) rnd.nextGaussian() * 0.05f;
        int xOff = 5, yOff = 3;
        float[] x = new float[xOff + cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = Quantizer.matrix(type, src, rows, cols, arena);
            float[] y = new float[yOff + rows + 2];
            y[yOff + rows] = 42;
            m.matvec(x, xOff, y, yOff);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                float want = m.dot(r, x, xOff);
                m.dequantizeRow(r, row, 0);
                // Q8_0's kernel takes x rounded to 16-bit integers per block: within that rounding's bound
                double slack = type == GgmlType.Q8_0 ? NativeKernels.x16ErrorBound(row, x, xOff, cols) : 0;
                assertEquals(want, y[yOff + r], 1e-4f * (1 + Math.abs(want)) + slack, type + " " + rows + "x" + cols + " row " + r);
            }
            assertEquals(42, y[yOff + rows], "wrote past its rows");
        }
    }

    /**
     * The Q8_0 kernel's int16 x, exactly: the kernel on a matrix of one-hot rows returns
     * d * xq[i] * xs[b], so each value must be within half a step of x, zero blocks zero and a block
     * with a NaN or an infinity NaN.
     */
    @Test
    void x16RoundsEachValueToHalfAStepOfItsBlock() {
        assumeNative();
        int cols = 128;
        float[] x = new float[cols];
        Random rnd = new Random(3);
        for (int i = 0; i < 32; i++) x[i] = (float) rnd.nextGaussian() * 100;   // block 0: wide range
        for (int i = 32; i < 64; i++) x[i] = (float) rnd.nextGaussian() * 1e-3f; // block 1: small values
        // block 2: all zeros
        for (int i = 96; i < 128; i++) x[i] = i == 100 ? Float.POSITIVE_INFINITY : 1;
        short[] xq = new short[cols];
        float[] xs = new float[cols / 32];
        assertTrue(NativeKernels.x16(MemorySegment.ofArray(x), 0, cols, MemorySegment.ofArray(xq), MemorySegment.ofArray(xs)));
        for (int b = 0; b < 2; b++) {
            float max = 0;
            for (int i = 32 * b; i < 32 * b + 32; i++) max = Math.max(max, Math.abs(x[i]));
            assertEquals(max / 32767, xs[b], 1e-6f * max, "scale of block " + b);
            for (int i = 32 * b; i < 32 * b + 32; i++) {
                assertTrue(Math.abs(x[i] - xq[i] * xs[b]) <= xs[b] * 0.5001f, "value " + i + ": " + x[i] + " vs " + xq[i] * xs[b]);
            }
        }
        assertEquals(0f, xs[2]);
        for (int i = 64; i < 96; i++) assertEquals(0, xq[i]);
        assertTrue(Float.isNaN(xs[3]), "a block with an infinity has no scale");
        // ... and its products come out NaN through matvec, as in floats
        try (Arena arena = Arena.ofShared()) {
            float[] ones = new float[4 * cols];
            java.util.Arrays.fill(ones, 0.5f);
            WeightMatrix m = Quantizer.matrix(GgmlType.Q8_0, ones, 4, cols, arena);
            float[] y = new float[4];
            m.matvec(x, 0, y, 0);
            for (float v : y) assertTrue(Float.isNaN(v) || Float.isInfinite(v), "got " + v);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> NativeKernels.x16(MemorySegment.ofArray(x), 1, cols, MemorySegment.ofArray(xq),
                MemorySegment.ofArray(xs)));
    }

    /** Decode passes a few buffers in turn; once each has been seen, a product allocates nothing. */
    @Test
    void productsOverAFewBuffersAllocateNothing() {
        assumeNative();
        for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.Q8_0}) productsAllocateNothing(type);
    }

    private static void productsAllocateNothing(GgmlType type) {
        int rows = 256, cols = 512;
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = Quantizer.matrix(type, new float[rows * cols], rows, cols, arena);
            float[][] xs = {new float[cols], new float[cols], new float[cols]};
            float[][] ys = {new float[rows], new float[rows + 8]};
            for (int i = 0; i < 2000; i++) m.matvec(xs[i % 3], 0, ys[i % 2], 0);
            long[] threads = magicpig.attention.AllocationMeter.computeThreads();
            long before = magicpig.attention.AllocationMeter.allocated(threads);
            for (int i = 0; i < 2000; i++) m.matvec(xs[i % 3], 0, ys[i % 2], 0);
            // Less than a byte per product: an allocation per product would be at least 16 bytes each.
            // (Once, a few thousand products in, the JIT's recompilation allocates about a kilobyte.)
            long bytes = magicpig.attention.AllocationMeter.allocated(threads) - before;
            assertTrue(bytes < 2000, bytes + " bytes allocated by 2000 " + type + " products");
        }
    }

    @Test
    void anOutOfBoundsCallFailsInsteadOfReadingPastTheMatrix() {
        assumeNative();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate(GgmlType.F16.bytes(4, 32));
            float[] x = new float[32], y = new float[8];
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> NativeKernels.f16Rows(w, 64, 32, MemorySegment.ofArray(x), 0, MemorySegment.ofArray(y), 0, 0, 8));
            assertTrue(e.getMessage().contains("out of bounds"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> NativeKernels.f16Rows(w, 64, 32, MemorySegment.ofArray(x), 1, MemorySegment.ofArray(y), 0, 0, 4));
        }
    }
}
