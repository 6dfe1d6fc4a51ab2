package magicpig.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * f32 to the bytes of any {@link GgmlType}, in GGML's block layouts (what llama.cpp reads). Each
 * block format's encoder lives beside its kernels, in its matrix class; this class dispatches and
 * runs big matrices in parallel by rows, writing straight into a {@link MemorySegment}.
 *
 * <p>The parallel entry points write {@code dst} from the {@link Parallel} pool's threads, so it
 * must not come from a confined arena (use a shared, global or automatic one, or a heap segment).
 *
 * <p>The K-quant encoders are simple (min/max per sub-block, scales rounded to their bit width),
 * not llama.cpp's error-minimizing search: valid blocks, somewhat larger error.
 */
public final class Quantizer {
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Quantizer() {}

    /** Produces the values of one row; called from several threads at once, for distinct rows. */
    @FunctionalInterface
    public interface RowSource {
        /** Writes the {@code cols} values of row {@code row} into dst[0 .. cols). */
        void fill(int row, float[] dst);
    }

    /** Encodes src[srcOff .. srcOff + cols) as one row of {@code type} at dst[dstOff ..). */
    public static void quantizeRow(GgmlType type, float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        type.rowBytes(cols); // rejects a row that is not whole blocks
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, FLOAT_LE, dstOff, cols);
            case F16 -> {
                for (int i = 0; i < cols; i++) dst.set(SHORT_LE, dstOff + 2L * i, Float.floatToFloat16(src[srcOff + i]));
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) dst.set(SHORT_LE, dstOff + 2L * i, HalfFloat.floatToBf16(src[srcOff + i]));
            }
            case Q8_0 -> Q8_0Matrix.quantizeRow(src, srcOff, cols, dst, dstOff);
            case Q4_0 -> Q4_0Matrix.quantizeRow(src, srcOff, cols, dst, dstOff);
            case Q4_K -> Q4_KMatrix.quantizeRow(src, srcOff, cols, dst, dstOff);
            case Q6_K -> Q6_KMatrix.quantizeRow(src, srcOff, cols, dst, dstOff);
        }
    }

    /** Encodes the row-major [rows x cols] matrix src into dst (at least type.bytes(rows, cols) long), rows in parallel. */
    public static void quantize(GgmlType type, float[] src, int rows, int cols, MemorySegment dst) {
        if ((long) rows * cols > src.length) {
            throw new IllegalArgumentException("a " + rows + "x" + cols + " matrix needs " + (long) rows * cols + " values, got " + src.length);
        }
        long rowBytes = checkTarget(type, rows, cols, dst);
        Parallel.forRange(rows, 1, (start, end) -> {
            for (int r = start; r < end; r++) quantizeRow(type, src, r * cols, cols, dst, r * rowBytes);
        });
    }

    /**
     * Encodes a [rows x cols] matrix whose rows come from {@code source} (for matrices too big for
     * one float[]), rows in parallel, each thread with its own row buffer.
     */
    public static void quantize(GgmlType type, int rows, int cols, RowSource source, MemorySegment dst) {
        long rowBytes = checkTarget(type, rows, cols, dst);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                source.fill(r, row);
                quantizeRow(type, row, 0, cols, dst, r * rowBytes);
            }
        });
    }

    /** The [rows x cols] matrix src encoded as {@code type} in memory from {@code arena}. */
    public static WeightMatrix matrix(GgmlType type, float[] src, int rows, int cols, Arena arena) {
        MemorySegment data = arena.allocate(type.bytes(rows, cols), 64);
        quantize(type, src, rows, cols, data);
        return WeightMatrix.of(type, data, rows, cols);
    }

    private static long checkTarget(GgmlType type, int rows, int cols, MemorySegment dst) {
        long rowBytes = type.rowBytes(cols);
        if (dst.byteSize() < rowBytes * rows) {
            throw new IllegalArgumentException(type + " " + rows + "x" + cols + " needs " + rowBytes * rows + " bytes, the target has " + dst.byteSize());
        }
        return rowBytes;
    }
}
