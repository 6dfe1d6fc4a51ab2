package magicpig.model;

import magicpig.tokenizer.Tokenizer;

/**
 * A loaded model: the forward pass, its tokenizer and what generation needs to know about it.
 *
 * @param name         what users call it (file name or synthetic name)
 * @param format       where it came from: llama2c, gguf, safetensors, synthetic
 * @param llama        the forward pass over the weights
 * @param tokenizer    the model's tokenizer
 * @param addBos       whether prompts start with the tokenizer's BOS
 * @param stopIds      tokens that end the text besides the tokenizer's own end-of-text tokens (the
 *                     model's configured EOS ids; for llama2.c checkpoints BOS, as in run.c)
 * @param chatTemplate the model's own chat template (Jinja source), or null
 * @param resources    what to close to release the weights (mapped files, off-heap memory)
 */
public record Model(String name, String format, Llama llama, Tokenizer tokenizer, boolean addBos, int[] stopIds,
                    String chatTemplate, AutoCloseable resources) implements AutoCloseable {

    public LlamaConfig config() {
        return llama.config();
    }

    /** True when generating this token ends the text. */
    public boolean endsText(int token) {
        if (tokenizer.isEndOfText(token)) return true;
        for (int id : stopIds) if (id == token) return true;
        return false;
    }

    /** The same model served with another forward pass (e.g. a shorter context). */
    public Model withLlama(Llama other) {
        return new Model(name, format, other, tokenizer, addBos, stopIds, chatTemplate, resources);
    }

    /** Prompt text to token ids, with BOS when the model wants one. */
    public int[] encode(String text) {
        return tokenizer.encode(text, addBos);
    }

    @Override
    public void close() throws Exception {
        if (resources != null) resources.close();
    }
}
