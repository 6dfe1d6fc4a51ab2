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
 * Q4_0 weights: blocks of 32 values, each an f16 scale d then 16 bytes of 4-bit quants; byte j
 * holds value j in its low nibble and value j + 16 in its high nibble; value = d * (q - 8).
 * 18 bytes a block, 4.5 bits a value.
 */
public final class Q4_0Matrix extends WeightMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many bytes as F has floats. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final int N = F.length();
    /** Vectors of N bytes in a block's 16 bytes of quants. */
    private static final int PARTS = 16 / N;
    /** Whether the vector kernel applies (F of 256 or 512 bits); else the scalar one runs. */
    private static final boolean VECTOR = B.length() == N && 16 % N == 0;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    private static float scale(MemorySegment data, long at) {
        return Float.float16ToFloat(data.get(SHORT_LE, at));
    }

    // The loops below spell every vector step out rather than calling small helpers: C2 stops
    // inlining ordinary calls once a method has inlined a lot of Vector API code, and a helper
    // left as a call boxes its vectors, which is many times slower. Nibbles are split after
    // widening to int lanes: the Vector API's byte shifts are not intrinsified on x86.

    @Override
    public float dot(int row, float[] x, int xOff) {
        if (!VECTOR) return scalarRow(row, x, xOff, null, 0);
        MemorySegment data = this.data;
        long base = row * rowBytes;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int blocks = cols / BLOCK;
        // Two blocks an iteration into two accumulators; each adds d * sum((q - 8) * x) over its block.
        for (int b = 0; b < blocks; b += 2) {
            long at = base + (long) b * BLOCK_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + (long) p * N, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = (FloatVector) q.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0); // values p*N ..
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0); // values 16 + p*N ..
                sum = lo.fma(FloatVector.fromArray(F, x, xi + p * N), sum);
                sum = hi.fma(FloatVector.fromArray(F, x, xi + 16 + p * N), sum);
            }
            acc0 = sum.fma(FloatVector.broadcast(F, scale(data, at)), acc0);
            if (b + 1 == blocks) break;
            at += BLOCK_BYTES;
            xi += BLOCK;
            sum = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + (long) p * N, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = (FloatVector) q.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0);
                sum = lo.fma(FloatVector.fromArray(F, x, xi + p * N), sum);
                sum = hi.fma(FloatVector.fromArray(F, x, xi + 16 + p * N), sum);
            }
            acc1 = sum.fma(FloatVector.broadcast(F, scale(data, at)), acc1);
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
            long at = base + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, scale(data, at));
            int o = dstOff + b * BLOCK;
            for (int p = 0; p < PARTS; p++) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, data, at + 2 + (long) p * N, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) q.and(0x0F).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(d).intoArray(dst, o + p * N);
                ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convertShape(VectorOperators.I2F, F, 0)).mul(d).intoArray(dst, o + 16 + p * N);
            }
        }
    }

    /** The layout, one value at a time: returns dot(row, x) when x is given, else writes the row to dst. */
    float scalarRow(int row, float[] x, int xOff, float[] dst, int dstOff) {
        long base = row * rowBytes;
        float sum = 0;
        for (int b = 0; b < cols / BLOCK; b++) {
            long at = base + (long) b * BLOCK_BYTES;
            float d = scale(data, at);
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xFF;
                float lo = d * ((q & 0x0F) - 8), hi = d * ((q >>> 4) - 8);
                int i = b * BLOCK + j;
                if (x != null) {
                    sum += lo * x[xOff + i] + hi * x[xOff + i + 16];
                } else {
                    dst[dstOff + i] = lo;
                    dst[dstOff + i + 16] = hi;
                }
            }
        }
        return sum;
    }

    /**
     * Writes one row (cols a multiple of 32) as Q4_0 blocks. As llama.cpp does, the value of largest
     * magnitude m maps to quant 0: d = m / -8, q = clamp(round(x / d) + 8, 0, 15).
     */
    static void quantizeRow(float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        byte[] out = new byte[cols / BLOCK * BLOCK_BYTES];
        for (int b = 0; b < cols / BLOCK; b++) {
            int o = srcOff + b * BLOCK, at = b * BLOCK_BYTES;
            float max = 0;
            for (int j = 0; j < BLOCK; j++) {
                if (Math.abs(src[o + j]) > Math.abs(max)) max = src[o + j];
            }
            short dh = Float.floatToFloat16(max / -8f);
            float d = Float.float16ToFloat(dh);
            float id = d != 0 ? 1f / d : 0f;
            out[at] = (byte) dh;
            out[at + 1] = (byte) (dh >> 8);
            for (int j = 0; j < 16; j++) {
                int lo = Math.clamp((int) Math.rint(src[o + j] * id) + 8, 0, 15);
                int hi = Math.clamp((int) Math.rint(src[o + j + 16] * id) + 8, 0, 15);
                out[at + 2 + j] = (byte) (lo | hi << 4);
            }
        }
        MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, dstOff, out.length);
    }
}
