package magicpig.model;

import magicpig.sampling.Sampler;
import magicpig.sampling.SamplingSettings;

/**
 * One generation in-process: exact prefill of the prompt, then decode token by token until an
 * end-of-text token, the token limit, or the end of the context.
 */
public final class Generation {

    /** Receives each generated token as soon as it is chosen; returns false to stop early. */
    @FunctionalInterface
    public interface TokenSink {
        boolean accept(int token);
    }

    /**
     * Sees the logits of each step just before its token is sampled from them; {@code index} is the
     * number of tokens generated before it. The array is the engine's and is overwritten by the next
     * step: copy what you keep.
     */
    @FunctionalInterface
    public interface LogitsSink {
        void accept(int index, float[] logits);
    }

    /**
     * @param finishReason "stop" (end-of-text token or the sink stopped) or "length" (token limit or context full)
     */
    public record Result(int promptTokens, int[] tokens, String finishReason, long prefillNanos, long decodeNanos) {
        public double prefillTokensPerSecond() {
            return prefillNanos == 0 ? 0 : promptTokens * 1e9 / prefillNanos;
        }

        /** Decode steps per second; the first token comes from the prefill logits, so steps = tokens - 1. */
        public double decodeTokensPerSecond() {
            int steps = Math.max(0, tokens.length - 1);
            return decodeNanos == 0 ? 0 : steps * 1e9 / decodeNanos;
        }
    }

    private Generation() {}

    /** Checks that a prompt fits the model's context; the message is what a user sees. */
    public static void checkPromptFits(Model model, int promptTokens) {
        int ctx = model.config().contextLength();
        if (promptTokens >= ctx) {
            throw new IllegalArgumentException("prompt of " + promptTokens + " tokens does not fit the model's context of "
                    + ctx + " tokens (at least one token must be left to generate)");
        }
    }

    public static Result run(Model model, int[] prompt, int maxTokens, SamplingSettings sampling,
                             Attention.Factory attention, TokenSink sink) {
        return run(model.llama(), model, prompt, maxTokens, sampling, attention, sink);
    }

    /** The same, on a chosen compute backend (the model gives the tokenizer's stop tokens and the shape). */
    public static Result run(ComputeBackend backend, Model model, int[] prompt, int maxTokens, SamplingSettings sampling,
                             Attention.Factory attention, TokenSink sink) {
        return run(backend, model, prompt, maxTokens, sampling, attention, sink, null);
    }

    /** The same, showing each step's logits to {@code logitsSink} (may be null). */
    public static Result run(ComputeBackend backend, Model model, int[] prompt, int maxTokens, SamplingSettings sampling,
                             Attention.Factory attention, TokenSink sink, LogitsSink logitsSink) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty (not even a BOS token)");
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        checkPromptFits(model, prompt.length);
        LlamaConfig config = model.config();
        int budget = Math.min(maxTokens, config.contextLength() - prompt.length);
        int capacity = prompt.length + Math.max(0, budget - 1);
        Sampler sampler = new Sampler(sampling, config.vocabSize());
        int[] out = new int[budget];
        int n = 0;
        String finish = "length";
        long t0 = System.nanoTime();
        long prefillNanos = 0;
        try (ComputeBackend.InferenceSession session = backend.newSession(capacity, attention == null ? null : attention.create(config))) {
            if (budget == 0) return new Result(prompt.length, out, "length", 0, 0);
            float[] logits = session.prefill(prompt);
            prefillNanos = System.nanoTime() - t0;
            while (true) {
                if (logitsSink != null) logitsSink.accept(n, logits);
                int token = sampler.sample(logits);
                if (model.endsText(token)) {
                    finish = "stop";
                    break;
                }
                out[n++] = token;
                if (!sink.accept(token)) {
                    finish = "stop";
                    break;
                }
                if (n == budget) break;
                logits = session.decode(token);
            }
        }
        long total = System.nanoTime() - t0;
        return new Result(prompt.length, java.util.Arrays.copyOf(out, n), finish, prefillNanos, total - prefillNanos);
    }
}
