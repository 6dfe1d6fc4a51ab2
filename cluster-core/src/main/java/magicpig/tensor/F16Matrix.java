package magicpig.tensor;

import java.lang.foreign.MemorySegment;

/** F16 weights. Placeholder until its kernels land. */
public final class F16Matrix extends WeightMatrix {
    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        throw new UnsupportedOperationException("F16 kernels are not implemented yet");
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int dstOff) {
        throw new UnsupportedOperationException("F16 kernels are not implemented yet");
    }
}
