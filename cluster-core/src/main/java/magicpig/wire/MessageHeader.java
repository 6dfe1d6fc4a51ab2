package magicpig.wire;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The 8 bytes that start every message of the data plane, little-endian:
 *
 * <pre>
 *   0  magic    u16  0x4750 ("PG"): tells a MagicPIG frame from anything else on the stream
 *   2  type     u8   {@link MessageType}
 *   3  version  u8   {@link #VERSION}; a decoder refuses any other
 *   4  length   i32  bytes of the whole message, this header included
 * </pre>
 *
 * The length lets a receiver check a frame against what the transport delivered before reading
 * any field, and lets several messages sit back to back in one buffer.
 */
public final class MessageHeader {
    public static final int LENGTH = 8;
    public static final int MAGIC = 0x4750;
    public static final int VERSION = 1;
    /** Every multi-byte field of every message is little-endian (as SBE's default). */
    public static final ByteOrder BYTE_ORDER = ByteOrder.LITTLE_ENDIAN;

    static final int MAGIC_OFFSET = 0;
    static final int TYPE_OFFSET = 2;
    static final int VERSION_OFFSET = 3;
    static final int LENGTH_OFFSET = 4;

    private MessageHeader() {}

    /** Writes a header for a message of {@code type} that is {@code length} bytes long in all. */
    public static void write(MutableDirectBuffer buffer, int offset, int type, int length) {
        buffer.putShort(offset + MAGIC_OFFSET, (short) MAGIC, BYTE_ORDER);
        buffer.putByte(offset + TYPE_OFFSET, (byte) type);
        buffer.putByte(offset + VERSION_OFFSET, (byte) VERSION);
        buffer.putInt(offset + LENGTH_OFFSET, length, BYTE_ORDER);
    }

    /**
     * The type of the message at {@code offset}, after checking that the {@code length} bytes
     * there start with a well-formed header whose length fits in them.
     *
     * @throws WireFormatException if they do not
     */
    public static int type(DirectBuffer buffer, int offset, int length) {
        checkHeader(buffer, offset, length);
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    /** The length field of the header at {@code offset} (not validated: use {@link #type} first). */
    public static int messageLength(DirectBuffer buffer, int offset) {
        return buffer.getInt(offset + LENGTH_OFFSET, BYTE_ORDER);
    }

    /** Checks header, type and version, and that the message is at least {@code fixedLength}; returns its length. */
    static int checkDecode(DirectBuffer buffer, int offset, int length, int expectedType, int fixedLength) {
        checkHeader(buffer, offset, length);
        int type = buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
        if (type != expectedType) {
            throw new WireFormatException("expected a " + MessageType.name(expectedType) + " message, got "
                + MessageType.name(type));
        }
        int messageLength = buffer.getInt(offset + LENGTH_OFFSET, BYTE_ORDER);
        if (messageLength < fixedLength) {
            throw new WireFormatException(MessageType.name(type) + ": message length " + messageLength
                + " is shorter than its fixed part of " + fixedLength + " bytes");
        }
        return messageLength;
    }

    private static void checkHeader(DirectBuffer buffer, int offset, int length) {
        if (offset < 0 || length < LENGTH || (long) offset + length > buffer.capacity()) {
            throw new WireFormatException("truncated frame: " + length + " bytes at offset " + offset
                + " (buffer capacity " + buffer.capacity() + "), a message header alone needs " + LENGTH);
        }
        int magic = buffer.getShort(offset + MAGIC_OFFSET, BYTE_ORDER) & 0xFFFF;
        if (magic != MAGIC) {
            throw new WireFormatException(String.format(
                "not a MagicPIG data-plane frame: magic 0x%04x, expected 0x%04x", magic, MAGIC));
        }
        int version = buffer.getByte(offset + VERSION_OFFSET) & 0xFF;
        int type = buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
        if (version != VERSION) {
            throw new WireFormatException(MessageType.name(type) + ": wire version " + version
                + " is not supported (this build speaks version " + VERSION + ")");
        }
        int messageLength = buffer.getInt(offset + LENGTH_OFFSET, BYTE_ORDER);
        if (messageLength < LENGTH || messageLength > length) {
            throw new WireFormatException(MessageType.name(type) + ": header says " + messageLength
                + " bytes but the frame holds " + length + (messageLength > length ? " (truncated)" : ""));
        }
    }

    /**
     * Makes room for an encoder: grows an expandable buffer, or refuses a fixed one that is too small
     * with a message naming the message and its size.
     */
    static void ensureCapacity(MutableDirectBuffer buffer, int offset, long required, int type) {
        if (required > Integer.MAX_VALUE - offset) {
            throw new WireFormatException(MessageType.name(type) + ": " + required + " bytes is too large to encode");
        }
        int limit = offset + (int) required;
        if (limit > buffer.capacity()) {
            if (!buffer.isExpandable()) {
                throw new WireFormatException(MessageType.name(type) + ": needs " + required
                    + " bytes at offset " + offset + " but the buffer holds " + buffer.capacity());
            }
            buffer.checkLimit(limit);
        }
    }

    static int align4(int value) {
        return (value + 3) & ~3;
    }
}
