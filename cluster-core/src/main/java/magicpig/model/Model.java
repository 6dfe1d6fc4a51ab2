package magicpig.model;

import magicpig.tokenizer.Tokenizer;

/**
 * A loaded model: the forward pass, its tokenizer and what generation needs to know about it.
 *
 * @param name         what users call it (file name or synthetic name)
 * @param format       where it came from: llama2c, gguf, safetensors, synthetic
 * @param llama        the forward pass over the weights
 * @param tokenizer    the model's tokenizer
 * @param bosEndsText  llama2.c convention: a generated BOS ends the text, as in run.c
 * @param chatTemplate the model's own chat template (Jinja source), or null
 * @param resources    what to close to release the weights (mapped files, off-heap memory)
 */
public record Model(String name, String format, Llama llama, Tokenizer tokenizer, boolean bosEndsText,
                    String chatTemplate, AutoCloseable resources) implements AutoCloseable {

    public LlamaConfig config() {
        return llama.config();
    }

    /** True when generating this token ends the text. */
    public boolean endsText(int token) {
        return tokenizer.isEndOfText(token) || (bosEndsText && token == tokenizer.bosId());
    }

    @Override
    public void close() throws Exception {
        if (resources != null) resources.close();
    }
}
