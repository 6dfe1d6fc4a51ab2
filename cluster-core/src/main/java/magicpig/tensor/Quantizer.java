package magicpig.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Placeholder: f32 only, until the quantizers land. */
public final class Quantizer {
    private Quantizer() {}

    public static void quantizeRow(GgmlType type, float[] src, int srcOff, int cols, MemorySegment dst, long dstOff) {
        if (type != GgmlType.F32) throw new UnsupportedOperationException(type + " quantization is not implemented yet");
        MemorySegment.copy(src, srcOff, dst, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), dstOff, cols);
    }
}
