package magicpig.model;

/**
 * The attention step of decoding, pluggable per sequence: dense (exact), MagicPIG sampling, or a
 * baseline. Prefill is always exact and done by the engine itself; an implementation sees the
 * finished prompt through {@link #prefilled} and then one call to {@link #decode} per layer per
 * generated token.
 *
 * <p>One instance belongs to one sequence (it may keep per-sequence state such as LSH tables) and
 * is used by one thread at a time.
 */
public interface Attention extends AutoCloseable {

    /**
     * Called once when positions [0, promptLength) of every layer are in the cache, before the
     * first decode step.
     */
    default void prefilled(KvCache cache, int promptLength) {}

    /**
     * Attention output of the token at {@code pos} for one layer.
     *
     * @param q   queries after RoPE, heads * headDim values from qOff
     * @param pos the token's position; the cache holds keys and values of positions [0, pos]
     * @param out receives heads * headDim values from outOff
     */
    void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff);

    @Override
    default void close() {}

    /** Makes the per-sequence attention for a model. */
    @FunctionalInterface
    interface Factory {
        Attention create(LlamaConfig config);
    }
}
