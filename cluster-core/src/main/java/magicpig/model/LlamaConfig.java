package magicpig.model;

/**
 * The shape of a Llama-family model.
 *
 * @param dim           model (residual) width
 * @param hiddenDim     SwiGLU hidden width
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads (grouped-query attention when fewer than heads)
 * @param headDim       width of one head (usually dim / heads)
 * @param vocabSize     tokens in the vocabulary
 * @param contextLength longest sequence the model was trained for
 * @param rmsEps        RMSNorm epsilon
 * @param rope          rotary position embedding settings
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                          int vocabSize, int contextLength, float rmsEps, Rope rope) {

    public LlamaConfig {
        require(dim > 0 && hiddenDim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim > 0 && vocabSize > 0 && contextLength > 0,
                "every dimension must be positive: " + this);
        require(heads % kvHeads == 0, "heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        require(headDim % 2 == 0, "head dim must be even for RoPE, got " + headDim);
        require(rmsEps > 0, "rms epsilon must be positive");
    }

    /** Query heads that share one kv head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public LlamaConfig withContextLength(int n) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, n, rmsEps, rope);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException("invalid model config: " + message);
    }

    /**
     * Rotary embedding.
     *
     * @param theta    base frequency
     * @param halfSplit true for the Hugging Face layout (rotate i with i + d/2), false for llama2.c /
     *                 GGUF's adjacent pairs (2i, 2i+1)
     * @param scaling  Llama 3 frequency scaling, or null
     * @param frequencyFactors per-pair divisors of the frequencies, as GGUF files of Llama 3.1 store
     *                 them precomputed ({@code rope_freqs.weight}), or null
     */
    public record Rope(float theta, boolean halfSplit, Llama3Scaling scaling, float[] frequencyFactors) {
        public Rope(float theta, boolean halfSplit, Llama3Scaling scaling) {
            this(theta, halfSplit, scaling, null);
        }
    }

    /** Llama 3.1's rope_scaling (rope_type "llama3"). */
    public record Llama3Scaling(float factor, float lowFreqFactor, float highFreqFactor, int originalContextLength) {}
}
