package magicpig.model;

/**
 * Where the transformer blocks run: the CPU ({@link Llama}, Vector API) or a GPU (the CUDA backend
 * in gpu-actors). Chosen once at start-up; the code that generates never asks which it has.
 */
public interface ComputeBackend extends AutoCloseable {

    /** What runs, for logs: "cpu (2 threads)", "cuda:0 NVIDIA H100 80GB HBM3". */
    String description();

    LlamaConfig config();

    /** A new sequence of up to {@code capacity} tokens; {@code attention} null means dense. */
    InferenceSession newSession(int capacity, Attention attention);

    /** A reusable batch for stepping up to {@code maxBatch} sessions of this backend at once. */
    BatchDecoder newDecodeBatch(int maxBatch);

    @Override
    default void close() {}

    /** One sequence's state on a backend. Used by one thread at a time. */
    interface InferenceSession extends AutoCloseable {
        /** Exact prefill of the whole prompt; returns the logits after its last token. */
        float[] prefill(int[] tokens);

        /** Prefills tokens[from, from + at most maxTokens); returns the next index to prefill. */
        int prefillPart(int[] tokens, int from, int maxTokens);

        /** Ends prefill and returns the logits after the prompt's last token. */
        float[] finishPrefill();

        /** Feeds one token at the next position; returns the logits that follow it. */
        float[] decode(int token);

        /** Tokens processed so far. */
        int position();

        int capacity();

        @Override
        void close();
    }

    /** Continuous-batching decode: one step for many sessions, weights read once. */
    interface BatchDecoder {
        int maxBatch();

        /** Feeds tokens[i] to sessions[i], i < n; returns logits, row i at i * vocabSize. */
        float[] step(InferenceSession[] sessions, int[] tokens, int n);
    }
}
