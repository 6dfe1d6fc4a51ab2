package magicpig.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * The vocabulary of synthetic (random-weight) models: 0 = unknown, 1 = BOS, 2 = EOS, 3..258 the
 * 256 byte values, and every id above stands for a made-up syllable, so that any id decodes to
 * readable text. Text encodes byte by byte.
 */
public final class SyntheticTokenizer implements Tokenizer {
    private static final String[] ONSETS = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ou", "ee"};
    private final int vocabSize;

    public SyntheticTokenizer(int vocabSize) {
        if (vocabSize < 259) throw new IllegalArgumentException("a synthetic vocabulary needs at least 259 tokens, got " + vocabSize);
        this.vocabSize = vocabSize;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public boolean isEndOfText(int token) {
        return token == 2;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int off = addBos ? 1 : 0;
        int[] ids = new int[bytes.length + off];
        if (addBos) ids[0] = 1;
        for (int i = 0; i < bytes.length; i++) ids[i + off] = (bytes[i] & 0xFF) + 3;
        return ids;
    }

    @Override
    public byte[] tokenBytes(int token) {
        if (token < 3 || token >= vocabSize) return new byte[0];
        if (token < 259) return new byte[] {(byte) (token - 3)};
        return piece(token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int token) {
        if (token == 0) return "<unk>";
        if (token == 1) return "<s>";
        if (token == 2) return "</s>";
        if (token < 259) return String.format("<0x%02X>", token - 3);
        int x = token - 259;
        return " " + ONSETS[x % ONSETS.length] + VOWELS[(x / ONSETS.length) % VOWELS.length]
                + (x >= 128 ? ONSETS[(x / 128) % ONSETS.length] : "");
    }

    @Override
    public int pieceId(String piece) {
        return switch (piece) {
            case "<unk>" -> 0;
            case "<s>" -> 1;
            case "</s>" -> 2;
            default -> -1;
        };
    }
}
