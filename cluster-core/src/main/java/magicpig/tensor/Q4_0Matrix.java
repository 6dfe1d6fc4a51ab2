package magicpig.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_0 weights. Placeholder until its kernels land. */
public final class Q4_0Matrix extends WeightMatrix {
    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        throw new UnsupportedOperationException("Q4_0 kernels are not implemented yet");
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        throw new UnsupportedOperationException("Q4_0 kernels are not implemented yet");
    }
}
