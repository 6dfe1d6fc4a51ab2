package magicpig.tensor;

import java.lang.foreign.MemorySegment;

/** BF16 weights. Placeholder until its kernels land. */
public final class BF16Matrix extends WeightMatrix {
    public BF16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        throw new UnsupportedOperationException("BF16 kernels are not implemented yet");
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        throw new UnsupportedOperationException("BF16 kernels are not implemented yet");
    }
}
