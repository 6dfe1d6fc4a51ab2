package magicpig.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-to-character table: byte-level BPE vocabularies spell every byte as one printable
 * character so pieces are text. Bytes that are printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ')
 * stand for themselves; the other 68 bytes take U+0100, U+0101, ... in byte order (so a space is
 * 'Ġ' U+0120 and a newline 'Ċ' U+010A).
 */
final class ByteLevelAlphabet {

    private static final char[] CHAR_OF_BYTE = new char[256];
    /** Byte of each character below U+0144, or -1. */
    private static final int[] BYTE_OF_CHAR = new int[256 + 68];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + shifted++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The character that spells byte b. */
    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** Text's UTF-8 bytes, each spelled as its character. */
    static String spell(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(utf8.length);
        for (byte b : utf8) out.append(CHAR_OF_BYTE[b & 0xFF]);
        return out.toString();
    }

    /**
     * The bytes a spelled piece stands for. A character outside the alphabet (a vocabulary that
     * breaks the convention) is kept as its own UTF-8 bytes.
     */
    static byte[] unspell(String piece) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
        piece.codePoints().forEach(cp -> {
            int b = cp < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[cp] : -1;
            if (b >= 0) out.write(b);
            else out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
        });
        return out.toByteArray();
    }
}
