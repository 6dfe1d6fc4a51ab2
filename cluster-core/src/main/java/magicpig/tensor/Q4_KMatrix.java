package magicpig.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_K weights. Placeholder until its kernels land. */
public final class Q4_KMatrix extends WeightMatrix {
    public Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        throw new UnsupportedOperationException("Q4_K kernels are not implemented yet");
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        throw new UnsupportedOperationException("Q4_K kernels are not implemented yet");
    }
}
