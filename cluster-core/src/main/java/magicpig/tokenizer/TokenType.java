package magicpig.tokenizer;

/**
 * The kinds of vocabulary entries, numbered as GGUF's {@code tokenizer.ggml.token_type} array numbers
 * them (llama.cpp's {@code llama_token_type}), so the loader can pass that array through unchanged.
 */
public final class TokenType {

    /** Not set by the file; treated as {@link #NORMAL}. */
    public static final int UNDEFINED = 0;
    /** An ordinary piece: takes part in merges, decodes to its text. */
    public static final int NORMAL = 1;
    /** The unknown-piece marker ({@code <unk>}): decodes to nothing. */
    public static final int UNKNOWN = 2;
    /** A control token ({@code <s>}, {@code <|eot_id|>}, ...): decodes to nothing. */
    public static final int CONTROL = 3;
    /** An added token that is matched in text and decodes to its raw text. */
    public static final int USER_DEFINED = 4;
    /** A reserved slot nobody uses: decodes to nothing. */
    public static final int UNUSED = 5;
    /** A byte-fallback piece {@code <0xNN>}: decodes to that one byte. */
    public static final int BYTE = 6;

    private TokenType() {
    }

    /** Ordinary text pieces: the ones a merge may start from or produce. */
    static boolean isOrdinary(int type) {
        return type == NORMAL || type == UNDEFINED;
    }

    /** Types whose text is matched as a whole in the input before any merging. */
    static boolean isSpecial(int type) {
        return type == CONTROL || type == UNKNOWN || type == USER_DEFINED;
    }

    /** The byte of a {@code <0xNN>} piece, or -1 when the piece has another form. */
    static int fallbackByte(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** The pieces' types from the file, checked against the vocabulary size. */
    static int[] checked(int[] tokenTypes, int vocabSize) {
        if (tokenTypes.length != vocabSize)
            throw new IllegalArgumentException("token types hold " + tokenTypes.length + " entries for " + vocabSize + " pieces");
        return tokenTypes.clone();
    }
}
