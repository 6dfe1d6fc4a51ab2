package magicpig.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token bytes into text without ever emitting a broken character: bytes of a
 * UTF-8 sequence split across tokens are held until the sequence is complete. Bytes that can never
 * form a valid character are emitted as U+FFFD.
 */
public final class Utf8Stream {
    private final byte[] pending = new byte[4];
    private int pendingLength;
    private final StringBuilder text = new StringBuilder();

    /** Adds bytes; returns the text they complete (possibly empty). */
    public String push(byte[] bytes) {
        text.setLength(0);
        for (byte b : bytes) pushByte(b & 0xFF);
        return text.toString();
    }

    /** Whatever is still held, as text (incomplete sequences become U+FFFD). */
    public String flush() {
        text.setLength(0);
        if (pendingLength > 0) {
            text.append('\uFFFD');
            pendingLength = 0;
        }
        return text.toString();
    }

    private void pushByte(int b) {
        if (pendingLength == 0) {
            if (b < 0x80) {
                text.append((char) b);
            } else if (expectedLength(b) > 1) {
                pending[pendingLength++] = (byte) b;
            } else {
                text.append('\uFFFD');
            }
            return;
        }
        if ((b & 0xC0) != 0x80) { // not a continuation: the held sequence is broken
            pendingLength = 0;
            text.append('\uFFFD');
            pushByte(b);
            return;
        }
        pending[pendingLength++] = (byte) b;
        if (pendingLength == expectedLength(pending[0] & 0xFF)) {
            text.append(new String(pending, 0, pendingLength, StandardCharsets.UTF_8));
            pendingLength = 0;
        }
    }

    private static int expectedLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 1;
    }
}
