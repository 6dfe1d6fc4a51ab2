package magicpig.tensor;

import java.lang.foreign.MemorySegment;

/** Q6_K weights. Placeholder until its kernels land. */
public final class Q6_KMatrix extends WeightMatrix {
    public Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        throw new UnsupportedOperationException("Q6_K kernels are not implemented yet");
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        throw new UnsupportedOperationException("Q6_K kernels are not implemented yet");
    }
}
