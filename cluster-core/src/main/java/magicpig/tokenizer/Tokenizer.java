package magicpig.tokenizer;

/**
 * Text to token ids and back, exactly as the model's own tooling does it (llama2.c / SentencePiece
 * for Llama 1-2 style vocabularies, byte-level BPE for Llama 3).
 */
public interface Tokenizer {

    int vocabSize();

    /** Beginning-of-sequence id, or -1 when the vocabulary has none. */
    int bosId();

    /** True for every token that ends generation (end of text, end of turn, ...). */
    boolean isEndOfText(int token);

    /**
     * Token ids of text, with the model's BOS first when addBos is true. Special-token texts written
     * in the text (such as "<|eot_id|>" in a chat template's output) become their single ids: this
     * is {@code encode(text, addBos, true)}.
     */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, true);
    }

    /**
     * Token ids of text, with the model's BOS first when addBos is true. When parseSpecial is true,
     * the texts of control tokens written in the text become their single ids (what a chat template's
     * output needs); when false they are tokenized as ordinary text (for untrusted user text).
     * User-defined added tokens are always recognized, as llama.cpp does.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * The raw bytes a token stands for: byte-fallback pieces give their byte, SentencePiece's
     * word marker becomes a space, byte-level BPE symbols map back to bytes. A token may hold part
     * of a UTF-8 character; callers join bytes before decoding text. Control tokens give no bytes.
     */
    byte[] tokenBytes(int token);

    /** The piece as stored in the vocabulary (for diagnostics and special-token lookups). */
    String piece(int token);

    /** Id of an exact piece (special tokens such as "<|eot_id|>"), or -1. */
    int pieceId(String piece);

    /** Text of a run of tokens (bytes joined, then decoded as UTF-8). */
    default String decode(int[] tokens) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int t : tokens) out.writeBytes(tokenBytes(t));
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
