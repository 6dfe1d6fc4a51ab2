package magicpig.tensor;

/**
 * The two 16-bit float formats of weight files, as raw {@code short} bits: IEEE half (F16, the
 * scales of every quantized block) and bfloat16 (BF16, the top half of an f32).
 */
public final class HalfFloat {
    private HalfFloat() {}

    /** IEEE binary16 bits to f32 (exact; the JIT turns it into one vcvtph2ps). */
    public static float halfToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** f32 to IEEE binary16 bits, rounded to nearest even; overflow gives infinity. */
    public static short floatToHalf(float f) {
        return Float.floatToFloat16(f);
    }

    /**
     * The smallest finite half at least v (v >= 0, below 65504): a block scale rounded so that
     * the quants computed against it never need to exceed their range.
     */
    static short halfAtLeast(float v) {
        short h = Float.floatToFloat16(v);
        return Float.float16ToFloat(h) < v ? (short) (h + 1) : h;
    }

    /** bfloat16 bits to f32: they are the f32's top 16 bits. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat(b << 16);
    }

    /** f32 to bfloat16 bits, rounded to nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        // Round half to even on the 16 bits dropped: add 0x7FFF plus the lowest kept bit.
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }
}
