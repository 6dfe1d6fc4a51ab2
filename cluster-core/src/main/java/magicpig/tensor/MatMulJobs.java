package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The parallel drivers of {@link WeightMatrix#matvec} and {@link WeightMatrix#matmul}. Job objects
 * are kept per calling thread, so a product allocates nothing.
 */
final class MatMulJobs {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Weight rows dequantized together in batched products; each is reused for every token. */
    static final int TILE = 4;

    private static final ThreadLocal<MatVec> MATVEC = ThreadLocal.withInitial(MatVec::new);
    private static final ThreadLocal<MatMul> MATMUL = ThreadLocal.withInitial(MatMul::new);
    /** Per worker thread: TILE dequantized rows. Grows to the widest matrix seen. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private MatMulJobs() {}

    static void matvec(WeightMatrix w, float[] x, int xOff, float[] y, int yOff) {
        MatVec job = MATVEC.get();
        job.w = w;
        job.x = x;
        job.xOff = xOff;
        job.y = y;
        job.yOff = yOff;
        job.xSeg = job.segments.of(x);
        job.ySeg = job.segments.of(y);
        w.prepareCpu();
        job.x16 = w.nativeTakesX16() && job.quantizeX(w.cols);
        try {
            // Split by groups of four rows (dot4's unit, and a group of Q8_0's CPU layout), only where
            // each thread gets enough bytes to amortise the hand-off (~64 KiB).
            Parallel.forRange((w.rows + 3) / 4, (int) Math.max(1, (16 << 10) / w.rowBytes), job);
        } finally {
            job.w = null;
            job.x = job.y = null;
            job.xSeg = job.ySeg = null;
            job.x16 = false;
        }
    }

    static void matmul(WeightMatrix w, float[] x, int xStride, int batch, float[] y, int yStride) {
        MatMul job = MATMUL.get();
        job.w = w;
        job.x = x;
        job.xStride = xStride;
        job.batch = batch;
        job.y = y;
        job.yStride = yStride;
        w.prepareCpu();
        try {
            Parallel.forRange((w.rows + TILE - 1) / TILE, 1, job);
        } finally {
            job.w = null;
            job.x = job.y = null;
        }
    }

    private static final class MatVec implements Parallel.RangeBody {
        WeightMatrix w;
        float[] x, y;
        int xOff, yOff;
        /** x and y as heap segments, for the native kernels. */
        MemorySegment xSeg, ySeg;
        final ArraySegments segments = new ArraySegments();
        /** x as 16-bit integers and block scales ({@link NativeKernels#x16}), when the matrix takes that. */
        boolean x16;
        short[] xq = new short[0];
        float[] xs = new float[0];
        MemorySegment xqSeg = MemorySegment.ofArray(xq), xsSeg = MemorySegment.ofArray(xs);

        /** Makes x16 of x, once for the whole product, on the calling thread; grows the buffers to the widest matrix seen. */
        boolean quantizeX(int cols) {
            if (xq.length < cols) {
                xq = new short[cols];
                xs = new float[(cols + 31) / 32];
                xqSeg = MemorySegment.ofArray(xq);
                xsSeg = MemorySegment.ofArray(xs);
            }
            return NativeKernels.x16(xSeg, xOff, cols, xqSeg, xsSeg);
        }

        @Override
        public void run(int startGroup, int endGroup) {
            WeightMatrix w = this.w;
            float[] x = this.x, y = this.y;
            int xOff = this.xOff, yOff = this.yOff;
            int r = 4 * startGroup, end = Math.min(w.rows, 4 * endGroup);
            if (x16 ? w.nativeRowsX16(xqSeg, xsSeg, ySeg, yOff, r, end) : w.nativeRows(xSeg, xOff, ySeg, yOff, r, end)) return;
            for (; r + 4 <= end; r += 4) w.dot4(r, x, xOff, y, yOff + r);
            for (; r < end; r++) y[yOff + r] = w.dot(r, x, xOff);
        }
    }

    /**
     * Heap segments of the last few float arrays seen. A model passes the same few buffers every
     * token (x, q, the hidden and attention buffers, the logits), so after the first token a product
     * finds its segments here and allocates nothing; a new array takes the oldest slot. It holds on
     * to at most eight arrays per calling thread after their session ends.
     */
    static final class ArraySegments {
        private final float[][] arrays = new float[8][];
        private final MemorySegment[] segments = new MemorySegment[8];
        private int next;

        MemorySegment of(float[] a) {
            for (int i = 0; i < arrays.length; i++) if (arrays[i] == a) return segments[i];
            int i = next;
            next = (next + 1) % arrays.length;
            arrays[i] = a;
            return segments[i] = MemorySegment.ofArray(a);
        }
    }

    private static final class MatMul implements Parallel.RangeBody {
        WeightMatrix w;
        float[] x, y;
        int xStride, batch, yStride;

        @Override
        public void run(int startTile, int endTile) {
            WeightMatrix w = this.w;
            int cols = w.cols;
            float[][] holder = SCRATCH.get();
            if (holder[0].length < TILE * cols) holder[0] = new float[TILE * cols];
            float[] rowsBuf = holder[0];
            for (int tile = startTile; tile < endTile; tile++) {
                int r0 = tile * TILE;
                int n = Math.min(TILE, w.rows - r0);
                for (int k = 0; k < n; k++) w.dequantizeRow(r0 + k, rowsBuf, k * cols);
                if (n == TILE) {
                    int b = 0;
                    for (; b + 4 <= batch; b += 4) dot4x4(rowsBuf, cols, x, b * xStride, xStride, y, b * yStride + r0, yStride);
                    for (; b < batch; b++) dot4(rowsBuf, cols, x, b * xStride, y, b * yStride + r0);
                } else {
                    for (int b = 0; b < batch; b++) {
                        for (int k = 0; k < n; k++) y[b * yStride + r0 + k] = dot(rowsBuf, k * cols, x, b * xStride, cols);
                    }
                }
            }
        }
    }

    /**
     * Sixteen dot products: four consecutive rows of w (each cols long) with four tokens of x (at
     * xOff + t * xStride); y[yOff + t * yStride + i] = row i . token t. Each step loads four row
     * vectors and four token vectors for 16 fused multiply-adds, where four dot4 calls would load 20
     * vectors for the same work. The sums run in dot4's order, so the results are the same.
     */
    static void dot4x4(float[] w, int cols, float[] x, int xOff, int xStride, float[] y, int yOff, int yStride) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x0 = xOff, x1 = xOff + xStride, x2 = xOff + 2 * xStride, x3 = xOff + 3 * xStride;
        int i = 0;
        int upper = F.loopBound(cols);
        for (; i < upper; i += F.length()) {
            FloatVector t0 = FloatVector.fromArray(F, x, x0 + i), t1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector t2 = FloatVector.fromArray(F, x, x2 + i), t3 = FloatVector.fromArray(F, x, x3 + i);
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            a00 = w0.fma(t0, a00);
            a01 = w0.fma(t1, a01);
            a02 = w0.fma(t2, a02);
            a03 = w0.fma(t3, a03);
            FloatVector w1 = FloatVector.fromArray(F, w, cols + i);
            a10 = w1.fma(t0, a10);
            a11 = w1.fma(t1, a11);
            a12 = w1.fma(t2, a12);
            a13 = w1.fma(t3, a13);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * cols + i);
            a20 = w2.fma(t0, a20);
            a21 = w2.fma(t1, a21);
            a22 = w2.fma(t2, a22);
            a23 = w2.fma(t3, a23);
            FloatVector w3 = FloatVector.fromArray(F, w, 3 * cols + i);
            a30 = w3.fma(t0, a30);
            a31 = w3.fma(t1, a31);
            a32 = w3.fma(t2, a32);
            a33 = w3.fma(t3, a33);
        }
        int y0 = yOff, y1 = yOff + yStride, y2 = yOff + 2 * yStride, y3 = yOff + 3 * yStride;
        y[y0] = a00.reduceLanes(VectorOperators.ADD);
        y[y0 + 1] = a10.reduceLanes(VectorOperators.ADD);
        y[y0 + 2] = a20.reduceLanes(VectorOperators.ADD);
        y[y0 + 3] = a30.reduceLanes(VectorOperators.ADD);
        y[y1] = a01.reduceLanes(VectorOperators.ADD);
        y[y1 + 1] = a11.reduceLanes(VectorOperators.ADD);
        y[y1 + 2] = a21.reduceLanes(VectorOperators.ADD);
        y[y1 + 3] = a31.reduceLanes(VectorOperators.ADD);
        y[y2] = a02.reduceLanes(VectorOperators.ADD);
        y[y2 + 1] = a12.reduceLanes(VectorOperators.ADD);
        y[y2 + 2] = a22.reduceLanes(VectorOperators.ADD);
        y[y2 + 3] = a32.reduceLanes(VectorOperators.ADD);
        y[y3] = a03.reduceLanes(VectorOperators.ADD);
        y[y3 + 1] = a13.reduceLanes(VectorOperators.ADD);
        y[y3 + 2] = a23.reduceLanes(VectorOperators.ADD);
        y[y3 + 3] = a33.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            for (int t = 0; t < 4; t++) {
                float xv = x[xOff + t * xStride + i];
                int o = yOff + t * yStride;
                for (int r = 0; r < 4; r++) y[o + r] += w[r * cols + i] * xv;
            }
        }
    }

    /** Four dot products of consecutive rows in w (each cols long) with x, loading x once. */
    static void dot4(float[] w, int cols, float[] x, int xOff, float[] y, int yOff) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        int upper = F.loopBound(cols);
        for (; i < upper; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            a0 = FloatVector.fromArray(F, w, i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, cols + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, 2 * cols + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, 3 * cols + i).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            float xv = x[xOff + i];
            s0 += w[i] * xv;
            s1 += w[cols + i] * xv;
            s2 += w[2 * cols + i] * xv;
            s3 += w[3 * cols + i] * xv;
        }
        y[yOff] = s0;
        y[yOff + 1] = s1;
        y[yOff + 2] = s2;
        y[yOff + 3] = s3;
    }

    /** dot(a[aOff ..], b[bOff ..]) over n values. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int upper = F.loopBound(n);
        for (; i < upper; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }
}
