package magicpig.model.hf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;

/** A tiny Llama with random f32 weights, for writing and loading checkpoints in tests. */
record TinyLlamaModel(LlamaConfig config, LlamaWeights weights) {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** dim 8, hidden 12, 2 layers, 2 query heads over 1 kv head of width 4, vocab 10. */
    static LlamaConfig config(boolean halfSplit, LlamaConfig.Llama3Scaling scaling) {
        return new LlamaConfig(8, 12, 2, 2, 1, 4, 10, 32, 1e-5f, new LlamaConfig.Rope(10000f, halfSplit, scaling));
    }

    static TinyLlamaModel random(LlamaConfig c, boolean tied, long seed) {
        Random rnd = new Random(seed);
        int n = c.layers();
        WeightMatrix embed = matrix(rnd, c.vocabSize(), c.dim());
        float[][] attnNorm = new float[n][];
        float[][] ffnNorm = new float[n][];
        WeightMatrix[] wq = new WeightMatrix[n], wk = new WeightMatrix[n], wv = new WeightMatrix[n], wo = new WeightMatrix[n];
        WeightMatrix[] gate = new WeightMatrix[n], up = new WeightMatrix[n], down = new WeightMatrix[n];
        for (int l = 0; l < n; l++) {
            attnNorm[l] = vector(rnd, c.dim());
            wq[l] = matrix(rnd, c.qDim(), c.dim());
            wk[l] = matrix(rnd, c.kvDim(), c.dim());
            wv[l] = matrix(rnd, c.kvDim(), c.dim());
            wo[l] = matrix(rnd, c.dim(), c.qDim());
            ffnNorm[l] = vector(rnd, c.dim());
            gate[l] = matrix(rnd, c.hiddenDim(), c.dim());
            up[l] = matrix(rnd, c.hiddenDim(), c.dim());
            down[l] = matrix(rnd, c.dim(), c.hiddenDim());
        }
        float[] outNorm = vector(rnd, c.dim());
        WeightMatrix output = tied ? embed : matrix(rnd, c.vocabSize(), c.dim());
        return new TinyLlamaModel(c, new LlamaWeights(embed, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, outNorm, output));
    }

    static WeightMatrix f32(float[] values, int rows, int cols) {
        MemorySegment seg = Arena.ofAuto().allocate(4L * values.length, 4);
        MemorySegment.copy(values, 0, seg, LE, 0, values.length);
        return WeightMatrix.of(GgmlType.F32, seg, rows, cols);
    }

    /** The row-major f32 values of a matrix with kernels (F32 here). */
    static float[] values(WeightMatrix m) {
        float[] out = new float[m.rows() * m.cols()];
        for (int r = 0; r < m.rows(); r++) m.dequantizeRow(r, out, r * m.cols());
        return out;
    }

    /** The values of an F16 or BF16 matrix, decoded from its raw bytes (their kernels may not exist yet). */
    static float[] rawValues(WeightMatrix m) {
        return FloatCodec.decode(m.type(), m.data().asSlice(0, m.byteSize()));
    }

    private static WeightMatrix matrix(Random rnd, int rows, int cols) {
        return f32(vector(rnd, rows * cols), rows, cols);
    }

    private static float[] vector(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
