package magicpig.model.hf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import magicpig.tensor.GgmlType;

/**
 * Little-endian F32, F16 and BF16 values to and from f32. F16 rounds as
 * {@link Float#floatToFloat16} does; BF16 rounds to nearest even, as PyTorch does, keeping NaN a NaN.
 */
public final class FloatCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FloatCodec() {}

    /** Bytes of one value of type. */
    public static int width(GgmlType type) {
        return switch (type) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw unsupported(type);
        };
    }

    /** Reads count values of type starting at byte srcOff into dst[dstOff ..]. */
    public static void decode(GgmlType type, MemorySegment src, long srcOff, float[] dst, int dstOff, int count) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, srcOff, dst, dstOff, count);
            case F16 -> {
                for (int i = 0; i < count; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(I16, srcOff + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst[dstOff + i] = bf16ToFloat(src.get(I16, srcOff + 2L * i));
            }
            default -> throw unsupported(type);
        }
    }

    /** All values of a segment holding only values of type. */
    public static float[] decode(GgmlType type, MemorySegment src) {
        long n = src.byteSize() / width(type);
        if (n * width(type) != src.byteSize() || n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(src.byteSize() + " bytes are not a whole array of " + type + " values");
        }
        float[] out = new float[(int) n];
        decode(type, src, 0, out, 0, (int) n);
        return out;
    }

    /** Writes src[srcOff .. srcOff + count) as type, starting at byte dstOff of dst. */
    public static void encode(GgmlType type, float[] src, int srcOff, int count, MemorySegment dst, long dstOff) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, F32, dstOff, count);
            case F16 -> {
                for (int i = 0; i < count; i++) dst.set(I16, dstOff + 2L * i, Float.floatToFloat16(src[srcOff + i]));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst.set(I16, dstOff + 2L * i, floatToBf16(src[srcOff + i]));
            }
            default -> throw unsupported(type);
        }
    }

    /** The bf16 nearest to f (ties to even); NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x0040);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    private static IllegalArgumentException unsupported(GgmlType type) {
        return new IllegalArgumentException(type + " is not a float type (expected F32, F16 or BF16)");
    }
}
