package magicpig.tensor;

/** How far a value may move when a row is quantized to each type and read back (shared by the quantizer and GGUF tests). */
public final class QuantizationTolerance {
    private QuantizationTolerance() {}

    /**
     * The largest error allowed for value i of a row, from the values of the block (or sub-block)
     * that holds it:
     * <ul>
     *   <li>F32: exact.
     *   <li>F16: half an f16 ulp, 2^-11 relative (2^-25 absolute below the normal range).
     *   <li>BF16: half a bf16 ulp, 2^-8 relative.
     *   <li>Q8_0: half a step of max|x| / 127 (plus the rounding of the scale to a half): max|x| / 250.
     *   <li>Q4_0: llama.cpp's mapping puts the value of largest magnitude m at quant -8, so the
     *       other end can clamp a full step: max|x| / 8. Half a step elsewhere.
     *   <li>Q4_K: half a step of its sub-block of 32, whose step is (max - min(min, 0)) / 15 rounded up
     *       to a multiple of the 6-bit scale unit: range / 16 of the super-block, in practice ~range / 30.
     *   <li>Q6_K: half a step of its sub-block of 16, step max|x| / 31 rounded up: max|x| / 60.
     * </ul>
     * Block scales are halves, which cannot go below 2^-24 (their smallest subnormal) nor resolve
     * finer than that: blocks of tiny values get an absolute floor of a few 2^-24 steps.
     */
    public static double of(GgmlType type, float[] row, int i) {
        float v = row[i];
        return switch (type) {
            case F32 -> 0;
            case F16 -> Math.max(Math.abs(v) * 0x1p-11, 0x1p-25);
            case BF16 -> Math.abs(v) * 0x1p-8;
            case Q8_0 -> amax(row, i, 32) / 250 + 0x1p-25;
            case Q4_0 -> amax(row, i, 32) / 8 + 0x1p-21;
            case Q4_K -> range(row, i, 256) / 16 + 0x1p-23;
            case Q6_K -> amax(row, i, 16) / 60 + amax(row, i, 256) / 3000 + 0x1p-24;
        };
    }

    static double amax(float[] row, int i, int block) {
        double m = 0;
        for (int j = i / block * block; j < (i / block + 1) * block; j++) m = Math.max(m, Math.abs(row[j]));
        return m;
    }

    static double range(float[] row, int i, int block) {
        double lo = 0, hi = 0;
        for (int j = i / block * block; j < (i / block + 1) * block; j++) {
            lo = Math.min(lo, row[j]);
            hi = Math.max(hi, row[j]);
        }
        return hi - lo;
    }
}
