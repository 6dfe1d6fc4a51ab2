package magicpig.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Stands in for a missing vocabulary (a llama2.c checkpoint given without its tokenizer): prompts
 * can only be empty (BOS alone), and tokens print as their ids. Use token-id input and output.
 */
public final class IdOnlyTokenizer implements Tokenizer {
    private final int vocabSize, bos, eos;

    public IdOnlyTokenizer(int vocabSize, int bos, int eos) {
        this.vocabSize = vocabSize;
        this.bos = bos;
        this.eos = eos;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public boolean isEndOfText(int token) {
        return token == eos;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        if (!text.isEmpty()) {
            throw new IllegalArgumentException("this model has no tokenizer, so a text prompt cannot be encoded (give --tokenizer, or --prompt-ids)");
        }
        return addBos ? new int[] {bos} : new int[0];
    }

    @Override
    public byte[] tokenBytes(int token) {
        return ("<" + token + ">").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int token) {
        return "<" + token + ">";
    }

    @Override
    public int pieceId(String piece) {
        return -1;
    }
}
