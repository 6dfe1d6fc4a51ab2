package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain scalar dequantizers, one value at a time, following the loops of llama.cpp's
 * dequantize_row_* functions (ggml-quants.c) rather than the kernels' own structure, so a layout
 * mistake in a kernel does not repeat here. Test oracle only: slow on purpose.
 */
final class GgmlReference {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private GgmlReference() {}

    /** Row {@code row} of a [rows x cols] matrix of {@code type} stored in data, as f32. */
    static float[] row(GgmlType type, MemorySegment data, int row, int cols) {
        float[] y = new float[cols];
        long at = row * type.rowBytes(cols);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < cols; i++) y[i] = data.get(FLOAT_LE, at + 4L * i);
            }
            case F16 -> {
                for (int i = 0; i < cols; i++) y[i] = Float.float16ToFloat(data.get(SHORT_LE, at + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) y[i] = Float.intBitsToFloat((data.get(SHORT_LE, at + 2L * i) & 0xFFFF) << 16);
            }
            case Q8_0 -> q8_0(data, at, cols, y);
            case Q4_0 -> q4_0(data, at, cols, y);
            case Q4_K -> q4_K(data, at, cols, y);
            case Q6_K -> q6_K(data, at, cols, y);
        }
        return y;
    }

    private static int u8(MemorySegment d, long at) {
        return d.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    private static float f16(MemorySegment d, long at) {
        return Float.float16ToFloat(d.get(SHORT_LE, at));
    }

    // block_q8_0 { ggml_half d; int8_t qs[32]; }
    private static void q8_0(MemorySegment x, long at, int k, float[] y) {
        for (int i = 0; i < k / 32; i++) {
            long b = at + 34L * i;
            float d = f16(x, b);
            for (int j = 0; j < 32; j++) y[i * 32 + j] = x.get(ValueLayout.JAVA_BYTE, b + 2 + j) * d;
        }
    }

    // block_q4_0 { ggml_half d; uint8_t qs[16]; }
    private static void q4_0(MemorySegment x, long at, int k, float[] y) {
        for (int i = 0; i < k / 32; i++) {
            long b = at + 18L * i;
            float d = f16(x, b);
            for (int j = 0; j < 16; j++) {
                int x0 = (u8(x, b + 2 + j) & 0x0F) - 8;
                int x1 = (u8(x, b + 2 + j) >> 4) - 8;
                y[i * 32 + j] = x0 * d;
                y[i * 32 + j + 16] = x1 * d;
            }
        }
    }

    // get_scale_min_k4(j, q, &d, &m)
    private static int[] scaleMinK4(int j, MemorySegment x, long q) {
        if (j < 4) return new int[] {u8(x, q + j) & 63, u8(x, q + j + 4) & 63};
        return new int[] {(u8(x, q + j + 4) & 0xF) | ((u8(x, q + j - 4) >> 6) << 4), (u8(x, q + j + 4) >> 4) | ((u8(x, q + j) >> 6) << 4)};
    }

    // block_q4_K { ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128]; }
    private static void q4_K(MemorySegment x, long at, int k, float[] y) {
        int yi = 0;
        for (int i = 0; i < k / 256; i++) {
            long b = at + 144L * i;
            float d = f16(x, b), min = f16(x, b + 2);
            long scales = b + 4, q = b + 16;
            int is = 0;
            for (int j = 0; j < 256; j += 64) {
                int[] sm = scaleMinK4(is, x, scales);
                float d1 = d * sm[0], m1 = min * sm[1];
                sm = scaleMinK4(is + 1, x, scales);
                float d2 = d * sm[0], m2 = min * sm[1];
                for (int l = 0; l < 32; ++l) y[yi++] = d1 * (u8(x, q + l) & 0xF) - m1;
                for (int l = 0; l < 32; ++l) y[yi++] = d2 * (u8(x, q + l) >> 4) - m2;
                q += 32;
                is += 2;
            }
        }
    }

    // block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }
    private static void q6_K(MemorySegment x, long at, int k, float[] y) {
        for (int i = 0; i < k / 256; i++) {
            long b = at + 210L * i;
            float d = f16(x, b + 208);
            long ql = b, qh = b + 128, sc = b + 192;
            int yo = i * 256;
            for (int n = 0; n < 256; n += 128) {
                for (int l = 0; l < 32; ++l) {
                    int is = l / 16;
                    int q1 = ((u8(x, ql + l) & 0xF) | (((u8(x, qh + l) >> 0) & 3) << 4)) - 32;
                    int q2 = ((u8(x, ql + l + 32) & 0xF) | (((u8(x, qh + l) >> 2) & 3) << 4)) - 32;
                    int q3 = ((u8(x, ql + l) >> 4) | (((u8(x, qh + l) >> 4) & 3) << 4)) - 32;
                    int q4 = ((u8(x, ql + l + 32) >> 4) | (((u8(x, qh + l) >> 6) & 3) << 4)) - 32;
                    y[yo + l] = d * x.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                    y[yo + l + 32] = d * x.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                    y[yo + l + 64] = d * x.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                    y[yo + l + 96] = d * x.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
                }
                yo += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }
}
