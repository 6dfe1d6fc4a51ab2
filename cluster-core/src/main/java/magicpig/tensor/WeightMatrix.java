package magicpig.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix [rows x cols] kept off-heap in its storage type (quantized weights stay
 * quantized). Each row is stored as {@code type.rowBytes(cols)} bytes, rows back to back, as in GGUF;
 * {@link #data()} always gives that layout, though a type may also keep (Q8_0 and Q4_K on
 * AVX-512), or keep only, a layout of its own for its CPU kernels.
 *
 * <p>Subclasses implement the two kernels of their type: {@link #dot} (one row against an f32
 * vector, the decode hot path) and {@link #dequantizeRow} (used by batched prefill, which
 * dequantizes a tile of rows once and reuses it for every token of the batch).
 */
public abstract class WeightMatrix {
    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;
    protected final long rowBytes;

    protected WeightMatrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type().rowBytes(cols);
        long need = rowBytes * rows;
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(type() + " matrix " + rows + "x" + cols + " needs " + need + " bytes, got " + data.byteSize());
        }
    }

    /** A matrix that keeps no GGUF bytes, only its CPU layout: the subclass overrides {@link #data()}. */
    protected WeightMatrix(int rows, int cols, MemorySegment cpuLayout) {
        this.data = null;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type().rowBytes(cols);
        this.cpuLayout = cpuLayout;
    }

    public abstract GgmlType type();

    /** Returns dot(row r, x[xOff .. xOff + cols)). */
    public abstract float dot(int row, float[] x, int xOff);

    /**
     * y[yOff + i] = dot(row + i, x) for i in [0, 4): four consecutive rows. Types whose kernel gains
     * from it override this (the x loads are shared, and short rows, 2048 values in a 1B model, pay
     * their per-row setup once per four); the default is four {@link #dot} calls.
     */
    public void dot4(int row, float[] x, int xOff, float[] y, int yOff) {
        for (int i = 0; i < 4; i++) y[yOff + i] = dot(row + i, x, xOff);
    }

    /**
     * Rows [start, end) of a matvec, y[yOff + r] = row r . x[xOff ..], by the native kernels
     * ({@link NativeKernels}) where they cover this matrix; x and y are heap segments of float arrays.
     * Returns false, having done nothing, where they do not: then {@link #dot4} and {@link #dot} serve.
     */
    boolean nativeRows(MemorySegment x, int xOff, MemorySegment y, int yOff, int start, int end) {
        return false;
    }

    /**
     * Whether this matrix's native kernel takes x as 16-bit integers per block of 32 columns
     * ({@link NativeKernels#x16}, made once per product) through {@link #nativeRowsX16}, rather than
     * as floats through {@link #nativeRows}. Asked after {@link #prepareCpu}.
     */
    boolean nativeTakesX16() {
        return false;
    }

    /** As {@link #nativeRows}, with x from {@link NativeKernels#x16}: xq its values, xs its block scales. */
    boolean nativeRowsX16(MemorySegment xq, MemorySegment xs, MemorySegment y, int yOff, int start, int end) {
        return false;
    }

    /** Writes row r, as f32, into dst[dstOff .. dstOff + cols). */
    public abstract void dequantizeRow(int row, float[] dst, int dstOff);

    /** The CPU layout ({@link #prepareCpu}); null until built, and for types or shapes without one. */
    private volatile MemorySegment cpuLayout;
    /** Set when the CPU layout could not be allocated: the GGUF kernel serves. */
    private volatile boolean noRoomForCpuLayout;
    private static final System.Logger LOG = System.getLogger(WeightMatrix.class.getName());

    /**
     * Called on the calling thread before each parallel product: a type whose CPU kernels read a
     * layout of their own (Q8_0, Q4_K) builds it here, once. A GPU backend never calls it, so it
     * never pays for that copy. When the copy cannot be allocated, one warning, and the kernels on
     * the GGUF bytes serve (the same results, only slower).
     */
    final void prepareCpu() {
        if (cpuLayout != null || noRoomForCpuLayout || !hasCpuLayout()) return;
        synchronized (this) {
            if (cpuLayout != null || noRoomForCpuLayout) return;
            try {
                cpuLayout = buildCpuLayout(Arena.ofAuto());
            } catch (OutOfMemoryError e) {
                noRoomForCpuLayout = true;
                LOG.log(System.Logger.Level.WARNING, "no memory for the CPU layout of " + this + " (" + (cpuLayoutBytes() >> 20)
                        + " MiB more): using the GGUF kernel; -D" + cpuLayoutProperty(type()) + "=false skips the attempt (" + e.getMessage() + ")");
            }
        }
    }

    /** The CPU layout, or null (not built yet, or none). */
    final MemorySegment cpuLayout() {
        return cpuLayout;
    }

    /** Whether this matrix gets a CPU layout on this machine; types that have one override. */
    boolean hasCpuLayout() {
        return false;
    }

    /** Builds the CPU layout in arena, on huge pages where granted, row by row over all cores ({@link #packRow}). */
    final MemorySegment buildCpuLayout(Arena arena) {
        MemorySegment layout = HugePages.allocate(arena, cpuLayoutBytes());
        Parallel.forRange(rows, 64, (start, end) -> {
            for (int r = start; r < end; r++) packRow(layout, r);
        });
        return layout;
    }

    /** Copies row r from the GGUF bytes into its place in the CPU layout. */
    void packRow(MemorySegment layout, int row) {
        throw new UnsupportedOperationException(type() + " has no CPU layout");
    }

    /** Bytes of the CPU layout. */
    long cpuLayoutBytes() {
        return 0;
    }

    /** The system property that turns a type's CPU layout off ({@code -Dmagicpig.q8_0.cpuLayout=false}). */
    static String cpuLayoutProperty(GgmlType type) {
        return "magicpig." + type.name().toLowerCase(java.util.Locale.ROOT) + ".cpuLayout";
    }

    /** Whether the type's CPU layout is not turned off by {@link #cpuLayoutProperty}. */
    static boolean cpuLayoutAllowed(GgmlType type) {
        return !"false".equals(System.getProperty(cpuLayoutProperty(type)));
    }

    public final int rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    /** The matrix's bytes in the GGUF layout of its type (what a GPU upload or a file writer needs). */
    public MemorySegment data() {
        return data;
    }

    /**
     * The GGUF bytes, as {@link #data()}, but a matrix that keeps only a layout of its own rebuilds
     * them into {@code scratch}, so a caller that needs them briefly (an upload) frees them at once.
     */
    public MemorySegment ggufBytes(Arena scratch) {
        return data();
    }

    /** Bytes a full pass over this matrix reads (what one decode step costs in memory traffic). */
    public final long byteSize() {
        return rowBytes * rows;
    }

    /** y[yOff + r] = row r · x[xOff ..] for every row, over all cores. */
    public final void matvec(float[] x, int xOff, float[] y, int yOff) {
        MatMulJobs.matvec(this, x, xOff, y, yOff);
    }

    /**
     * Batched product: for each b in [0, batch), y[b * yStride + r] = row r · x[b * xStride ..].
     * Each weight row is read once for the whole batch (matrix-matrix, not a loop of matvecs).
     */
    public final void matmul(float[] x, int xStride, int batch, float[] y, int yStride) {
        if (batch == 1) {
            matvec(x, 0, y, 0);
            return;
        }
        MatMulJobs.matmul(this, x, xStride, batch, y, yStride);
    }

    /** Wraps bytes already in the layout of {@code type}. */
    public static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
        };
    }

    @Override
    public String toString() {
        return type() + "[" + rows + "x" + cols + "]";
    }
}
