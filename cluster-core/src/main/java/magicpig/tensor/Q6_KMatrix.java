package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q6_K weights: super-blocks of 256 values, 210 bytes each (6.5625 bits a value), laid out as in
 * llama.cpp's block_q6_K:
 *
 * <pre>
 *     0: ql[128]      low 4 bits of the quants
 *   128: qh[64]       high 2 bits of the quants
 *   192: int8 sc[16]  one scale per sub-block of 16 values (sub-block j = values 16j .. 16j+15)
 *   208: f16 d        super-block scale
 * </pre>
 *
 * Each half h (values 128h .. 128h+127) uses ql[64h ..], qh[32h ..]; for l in 0..31 its four
 * values l, l+32, l+64, l+96 take their low bits from the low nibble of ql[l], the low nibble
 * of ql[l+32], the high nibble of ql[l], the high nibble of ql[l+32], and their high bits from
 * bits 0-1, 2-3, 4-5, 6-7 of qh[l]. value = d * sc[j] * (q - 32), q in 0..63.
 */
public final class Q6_KMatrix extends WeightMatrix {
    static final int BLOCK = 256;
    static final int BLOCK_BYTES = 210;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many bytes as F has floats. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int N = F.length();
    /** Vectors of N positions l in one half's 32. */
    private static final int PARTS = 32 / N;
    /** Whether the vector kernel applies (F of 256 or 512 bits); else the scalar one runs. */
    private static final boolean VECTOR = B.length() == N && 16 % N == 0;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /** d * sc[j]. */
    private static float subScale(MemorySegment data, long block, float d, int j) {
        return d * data.get(ValueLayout.JAVA_BYTE, block + SCALES + j);
    }

    // The loops below spell every vector step out rather than calling small helpers: C2 stops
    // inlining ordinary calls once a method has inlined a lot of Vector API code, and a helper
    // left as a call boxes its vectors, which is many times slower. Bits are assembled after
    // widening to int lanes: the Vector API's byte shifts are not intrinsified on x86.
    //
    // For positions l .. l+N-1 of half h, with a = ql[l], c = ql[l+32], hb = qh[l] (as ints):
    //   q0 = (a & 15) | (hb & 3) << 4          value l
    //   q1 = (c & 15) | (hb >> 2 & 3) << 4     value l + 32
    //   q2 = (a >> 4) | (hb >> 4 & 3) << 4     value l + 64
    //   q3 = (c >> 4) | (hb >> 6) << 4         value l + 96
    // and value = d * sc * (q - 32) = q * (d * sc) + (-32 * d * sc).

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block + D));
            for (int h = 0; h < 2; h++) {
                long ql = block + 64 * h, qh = block + QH + 32 * h;
                int xi = xOff + b * BLOCK + 128 * h;
                for (int p = 0; p < PARTS; p++) {
                    int l = p * N;
                    int j = 8 * h + l / 16; // sub-block of value l; value l + 32k is in sub-block j + 2k
                    IntVector a = (IntVector) ByteVector.fromMemorySegment(B, data, ql + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector c = (IntVector) ByteVector.fromMemorySegment(B, data, ql + 32 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, data, qh + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector q0 = a.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30));
                    IntVector q1 = c.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30));
                    IntVector q2 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and(0x30));
                    IntVector q3 = c.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30));
                    float s0 = subScale(data, block, d, j), s1 = subScale(data, block, d, j + 2);
                    float s2 = subScale(data, block, d, j + 4), s3 = subScale(data, block, d, j + 6);
                    FloatVector w0 = ((FloatVector) q0.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, s0), FloatVector.broadcast(F, -32 * s0));
                    FloatVector w1 = ((FloatVector) q1.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, s1), FloatVector.broadcast(F, -32 * s1));
                    FloatVector w2 = ((FloatVector) q2.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, s2), FloatVector.broadcast(F, -32 * s2));
                    FloatVector w3 = ((FloatVector) q3.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, s3), FloatVector.broadcast(F, -32 * s3));
                    acc0 = w0.fma(FloatVector.fromArray(F, x, xi + l), acc0);
                    acc1 = w1.fma(FloatVector.fromArray(F, x, xi + 32 + l), acc1);
                    acc0 = w2.fma(FloatVector.fromArray(F, x, xi + 64 + l), acc0);
                    acc1 = w3.fma(FloatVector.fromArray(F, x, xi + 96 + l), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        if (!VECTOR) {
            scalarRow(row, null, 0, dst, dstOff);
            return;
        }
        MemorySegment data = this.data;
        long base = row * rowBytes;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block + D));
            for (int h = 0; h < 2; h++) {
                long ql = block + 64 * h, qh = block + QH + 32 * h;
                int o = dstOff + b * BLOCK + 128 * h;
                for (int p = 0; p < PARTS; p++) {
                    int l = p * N;
                    int j = 8 * h + l / 16;
                    IntVector a = (IntVector) ByteVector.fromMemorySegment(B, data, ql + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector c = (IntVector) ByteVector.fromMemorySegment(B, data, ql + 32 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, data, qh + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector q0 = a.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30));
                    IntVector q1 = c.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30));
                    IntVector q2 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and(0x30));
                    IntVector q3 = c.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30));
                    float s0 = subScale(data, block, d, j), s1 = subScale(data, block, d, j + 2);
                    float s2 = subScale(data, block, d, j + 4), s3 = subScale(data, block, d, j + 6);
                    ((FloatVector) q0.sub(32).convertShape(VectorOperators.I2F, F, 0)).mul(s0).intoArray(dst, o + l);
                    ((FloatVector) q1.sub(32).convertShape(VectorOperators.I2F, F, 0)).mul(s1).intoArray(dst, o + 32 + l);
                    ((FloatVector) q2.sub(32).convertShape(VectorOperators.I2F, F, 0)).mul(s2).intoArray(dst, o + 64 + l);
                    ((FloatVector) q3.sub(32).convertShape(VectorOperators.I2F, F, 0)).mul(s3).intoArray(dst, o + 96 + l);
                }
            }
        }
    }

    /** The layout, one value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(SHORT_LE, block + D));
            for (int h = 0; h < 2; h++) {
                long ql = block + 64 * h, qh = block + QH + 32 * h;
                for (int l = 0; l < 32; l++) {
                    int a = data.get(ValueLayout.JAVA_BYTE, ql + l) & 0xFF;
                    int c = data.get(ValueLayout.JAVA_BYTE, ql + 32 + l) & 0xFF;
                    int hb = data.get(ValueLayout.JAVA_BYTE, qh + l) & 0xFF;
                    for (int k = 0; k < 4; k++) {
                        // value l + 32k: low bits from ql[l] (k even) or ql[l+32] (k odd), low nibble for k < 2; high bits from qh[l] >> 2k
                        int low = ((k & 1) == 0 ? a : c) >>> (k < 2 ? 0 : 4) & 0x0F;
                        int q = low | (hb >>> (2 * k) & 3) << 4;
                        int i = b * BLOCK + 128 * h + 32 * k + l;
                        float v = subScale(data, block, d, 8 * h + 2 * k + l / 16) * (q - 32);
                        if (x != null) sum += v * x[xOff + i];
                        else dst[dstOff + i] = v;
                    }
                }
            }
        }
        return sum;
    }

    /**
     * Writes one row (cols a multiple of 256) as Q6_K super-blocks. Simple, not error-minimizing:
     * sub-block j of 16 values gets the step that maps its largest magnitude to 31, rounded up to
     * a multiple sc[j] * d of the super-block scale (d rounded up to a half so sc fits 7 bits);
     * q = round(x / step) + 32. Quants use -31..31 of the -32..31 available and none is clamped,
     * so the error is at most half a step, about max|x| / 62.
     */
    static void quantizeRow(float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        float[] need = new float[16];
        int[] sc = new int[16];
        int[] q = new int[BLOCK];
        byte[] out = new byte[BLOCK_BYTES];
        for (int b = 0; b < cols / BLOCK; b++) {
            int o = srcOff + b * BLOCK;
            long block = dstOff + (long) b * BLOCK_BYTES;
            float maxStep = 0;
            for (int j = 0; j < 16; j++) {
                float amax = 0;
                for (int l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(src[o + 16 * j + l]));
                need[j] = amax / 31;
                maxStep = Math.max(maxStep, need[j]);
            }
            short dh = HalfFloat.halfAtLeast(maxStep / 127);
            float d = Float.float16ToFloat(dh);
            for (int j = 0; j < 16; j++) {
                sc[j] = d > 0 ? Math.min(127, (int) Math.ceil(need[j] / d)) : 0;
                float step = d * sc[j], inv = step > 0 ? 1 / step : 0;
                for (int l = 0; l < 16; l++) q[16 * j + l] = Math.clamp((int) Math.rint(src[o + 16 * j + l] * inv), -32, 31) + 32;
            }
            // Half h, position l: values l, l+32, l+64, l+96 of the half (see the class comment).
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    int q0 = q[128 * h + l], q1 = q[128 * h + 32 + l], q2 = q[128 * h + 64 + l], q3 = q[128 * h + 96 + l];
                    out[64 * h + l] = (byte) ((q0 & 0x0F) | (q2 & 0x0F) << 4);
                    out[64 * h + 32 + l] = (byte) ((q1 & 0x0F) | (q3 & 0x0F) << 4);
                    out[QH + 32 * h + l] = (byte) ((q0 >>> 4) | (q1 >>> 4) << 2 | (q2 >>> 4) << 4 | (q3 >>> 4) << 6);
                }
            }
            for (int j = 0; j < 16; j++) out[SCALES + j] = (byte) sc[j];
            out[D] = (byte) dh;
            out[D + 1] = (byte) (dh >> 8);
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, block, BLOCK_BYTES);
        }
    }
}
