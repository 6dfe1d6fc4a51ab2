package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import java.nio.charset.StandardCharsets;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Either direction: the request with this correlation id failed. Encoding and decoding the text
 * allocate; errors are off the hot path.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#ERROR}
 *   8  correlationId  i64  of the failed request (0 when it could not be read)
 *  16  code           i32  one of the constants below
 *  20  textLength     i32  at most {@link #MAX_TEXT_BYTES}
 *  24  text           UTF-8 x textLength
 * </pre>
 */
public final class ErrorMessage {
    /** The request could not be decoded. */
    public static final int MALFORMED = 1;
    /** A message type the receiver does not serve. */
    public static final int UNSUPPORTED = 2;
    /** The shard's handler threw. */
    public static final int HANDLER_FAILED = 3;
    /** A chunk transfer skipped a sequence number; the transfer is dropped. */
    public static final int TRANSFER_GAP = 4;
    /** A chunk transfer is larger than the receiver accepts, or disagrees with its earlier chunks. */
    public static final int TRANSFER_REJECTED = 5;
    /**
     * The shard holds no blocks of the queried sequence, or not the block named: they were released
     * (the sequence was cancelled, finished, or moved to a new attempt) or never stored.
     */
    public static final int UNKNOWN_SEQUENCE = 6;

    static final int CORRELATION_ID_OFFSET = 8;
    static final int CODE_OFFSET = 16;
    static final int TEXT_LENGTH_OFFSET = 20;
    public static final int FIXED_LENGTH = 24;
    public static final int MAX_TEXT_BYTES = 1024;

    private ErrorMessage() {}

    public static String codeName(int code) {
        return switch (code) {
            case MALFORMED -> "MALFORMED";
            case UNSUPPORTED -> "UNSUPPORTED";
            case HANDLER_FAILED -> "HANDLER_FAILED";
            case TRANSFER_GAP -> "TRANSFER_GAP";
            case TRANSFER_REJECTED -> "TRANSFER_REJECTED";
            case UNKNOWN_SEQUENCE -> "UNKNOWN_SEQUENCE";
            default -> "CODE_" + code;
        };
    }

    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;
        private int length;

        /** Encodes the whole message; text longer than {@link #MAX_TEXT_BYTES} in UTF-8 is cut. */
        public Encoder encode(MutableDirectBuffer buffer, int offset, long correlationId, int code, String text) {
            byte[] bytes = (text == null ? "" : text).getBytes(StandardCharsets.UTF_8);
            int textLength = Math.min(bytes.length, MAX_TEXT_BYTES);
            MessageHeader.ensureCapacity(buffer, offset, FIXED_LENGTH + textLength, MessageType.ERROR);
            this.buffer = buffer;
            this.offset = offset;
            this.length = FIXED_LENGTH + textLength;
            MessageHeader.write(buffer, offset, MessageType.ERROR, length);
            buffer.putLong(offset + CORRELATION_ID_OFFSET, correlationId, BYTE_ORDER);
            buffer.putInt(offset + CODE_OFFSET, code, BYTE_ORDER);
            buffer.putInt(offset + TEXT_LENGTH_OFFSET, textLength, BYTE_ORDER);
            buffer.putBytes(offset + FIXED_LENGTH, bytes, 0, textLength);
            return this;
        }

        public int encodedLength() {
            return length;
        }

        /** Bytes needed to encode {@code text} (an upper bound without encoding it: 3 bytes per char). */
        public static int maxLength(String text) {
            return FIXED_LENGTH + Math.min(MAX_TEXT_BYTES, 3 * (text == null ? 0 : text.length()));
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;

        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.ERROR, FIXED_LENGTH);
            int textLength = buffer.getInt(offset + TEXT_LENGTH_OFFSET, BYTE_ORDER);
            if (textLength < 0 || textLength > MAX_TEXT_BYTES || FIXED_LENGTH + textLength != messageLength) {
                throw new WireFormatException("Error: text length " + textLength + " does not match message length "
                    + messageLength + " (at most " + MAX_TEXT_BYTES + ")");
            }
            this.buffer = buffer;
            this.offset = offset;
            return this;
        }

        public long correlationId() {
            return buffer.getLong(offset + CORRELATION_ID_OFFSET, BYTE_ORDER);
        }

        public int code() {
            return buffer.getInt(offset + CODE_OFFSET, BYTE_ORDER);
        }

        public String text() {
            int textLength = buffer.getInt(offset + TEXT_LENGTH_OFFSET, BYTE_ORDER);
            byte[] bytes = new byte[textLength];
            buffer.getBytes(offset + FIXED_LENGTH, bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
