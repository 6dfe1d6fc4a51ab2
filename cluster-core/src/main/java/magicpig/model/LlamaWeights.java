package magicpig.model;

import magicpig.tensor.WeightMatrix;

/**
 * The tensors of a Llama-family model. Matrices stay in their file's storage type, off-heap; the
 * small per-layer norm vectors are f32 on the heap. Matrices are [out x in]: y = W x.
 *
 * @param tokenEmbedding [vocab x dim]
 * @param attnNorm       per layer [dim]
 * @param wq             per layer [heads*headDim x dim]
 * @param wk             per layer [kvHeads*headDim x dim]
 * @param wv             per layer [kvHeads*headDim x dim]
 * @param wo             per layer [dim x heads*headDim]
 * @param ffnNorm        per layer [dim]
 * @param gate           per layer [hidden x dim] (w1)
 * @param down           per layer [dim x hidden] (w2)
 * @param up             per layer [hidden x dim] (w3)
 * @param outputNorm     [dim]
 * @param output         [vocab x dim]; the same object as tokenEmbedding when tied
 */
public record LlamaWeights(WeightMatrix tokenEmbedding, float[][] attnNorm, WeightMatrix[] wq, WeightMatrix[] wk,
                           WeightMatrix[] wv, WeightMatrix[] wo, float[][] ffnNorm, WeightMatrix[] gate,
                           WeightMatrix[] down, WeightMatrix[] up, float[] outputNorm, WeightMatrix output) {

    /** Bytes one decode step reads from the weights: every matrix once, the embedding row aside. */
    public long decodeBytes() {
        long sum = output.byteSize();
        for (int l = 0; l < wq.length; l++) {
            sum += wq[l].byteSize() + wk[l].byteSize() + wv[l].byteSize() + wo[l].byteSize()
                    + gate[l].byteSize() + down[l].byteSize() + up[l].byteSize();
        }
        return sum;
    }

    /** Checks every shape against the config; a loader calls this so a bad file fails with a clear message. */
    public void validate(LlamaConfig c) {
        check("token embedding", tokenEmbedding, c.vocabSize(), c.dim());
        check("output", output, c.vocabSize(), c.dim());
        if (outputNorm.length != c.dim()) throw new IllegalArgumentException("output norm has " + outputNorm.length + " values, expected " + c.dim());
        for (int l = 0; l < c.layers(); l++) {
            check("layer " + l + " wq", wq[l], c.qDim(), c.dim());
            check("layer " + l + " wk", wk[l], c.kvDim(), c.dim());
            check("layer " + l + " wv", wv[l], c.kvDim(), c.dim());
            check("layer " + l + " wo", wo[l], c.dim(), c.qDim());
            check("layer " + l + " ffn gate", gate[l], c.hiddenDim(), c.dim());
            check("layer " + l + " ffn down", down[l], c.dim(), c.hiddenDim());
            check("layer " + l + " ffn up", up[l], c.hiddenDim(), c.dim());
            if (attnNorm[l].length != c.dim() || ffnNorm[l].length != c.dim()) {
                throw new IllegalArgumentException("layer " + l + " norm has the wrong size, expected " + c.dim());
            }
        }
    }

    private static void check(String name, WeightMatrix m, int rows, int cols) {
        if (m.rows() != rows || m.cols() != cols) {
            throw new IllegalArgumentException(name + " is " + m.rows() + "x" + m.cols() + ", expected " + rows + "x" + cols);
        }
    }
}
