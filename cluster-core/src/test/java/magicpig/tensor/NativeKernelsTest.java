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
            for (int r = 0; r < rows; r++) {
                float want = m.dot(r, x, xOff);
                assertEquals(want, y[yOff + r], 1e-4f * (1 + Math.abs(want)), type + " " + rows + "x" + cols + " row " + r);
            }
            assertEquals(42, y[yOff + rows], "wrote past its rows");
        }
    }

    /** Decode passes a few buffers in turn; once each has been seen, a product allocates nothing. */
    @Test
    void productsOverAFewBuffersAllocateNothing() {
        assumeNative();
        int rows = 256, cols = 512;
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = Quantizer.matrix(GgmlType.F16, new float[rows * cols], rows, cols, arena);
            float[][] xs = {new float[cols], new float[cols], new float[cols]};
            float[][] ys = {new float[rows], new float[rows + 8]};
            for (int i = 0; i < 2000; i++) m.matvec(xs[i % 3], 0, ys[i % 2], 0);
            long[] threads = magicpig.attention.AllocationMeter.computeThreads();
            long before = magicpig.attention.AllocationMeter.allocated(threads);
            for (int i = 0; i < 200; i++) m.matvec(xs[i % 3], 0, ys[i % 2], 0);
            assertEquals(0, magicpig.attention.AllocationMeter.allocated(threads) - before, "bytes allocated by 200 products");
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
