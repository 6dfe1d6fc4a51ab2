package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import java.nio.charset.StandardCharsets;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The handshake. A worker's first message on a new publication to a shard names the channel and
 * stream its replies go to; the shard answers with a Hello of its own (same correlation id,
 * its name, its stream, an empty channel) once its reply publication is connected. Names and
 * channels are ASCII; the handshake is off the hot path and allocates.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#HELLO}
 *   8  correlationId  i64
 *  16  streamId       i32  worker: its response stream; shard: the stream it serves
 *  20  nameLength     u16  at most {@link #MAX_NAME_BYTES}
 *  22  channelLength  u16  at most {@link #MAX_CHANNEL_BYTES}
 *  24  name           bytes x nameLength
 *   .  channel        bytes x channelLength (the worker's response channel; empty from a shard)
 * </pre>
 */
public final class Hello {
    static final int CORRELATION_ID_OFFSET = 8;
    static final int STREAM_ID_OFFSET = 16;
    static final int NAME_LENGTH_OFFSET = 20;
    static final int CHANNEL_LENGTH_OFFSET = 22;
    public static final int FIXED_LENGTH = 24;
    public static final int MAX_NAME_BYTES = 256;
    public static final int MAX_CHANNEL_BYTES = 2048;

    private Hello() {}

    public static final class Encoder {
        private int length;

        public Encoder encode(MutableDirectBuffer buffer, int offset, long correlationId, int streamId, String name,
                              String channel) {
            byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
            byte[] channelBytes = channel.getBytes(StandardCharsets.US_ASCII);
            if (nameBytes.length > MAX_NAME_BYTES || channelBytes.length > MAX_CHANNEL_BYTES) {
                throw new WireFormatException("Hello: name (" + nameBytes.length + " bytes) or channel ("
                    + channelBytes.length + " bytes) too long; at most " + MAX_NAME_BYTES + " and "
                    + MAX_CHANNEL_BYTES);
            }
            length = FIXED_LENGTH + nameBytes.length + channelBytes.length;
            MessageHeader.ensureCapacity(buffer, offset, length, MessageType.HELLO);
            MessageHeader.write(buffer, offset, MessageType.HELLO, length);
            buffer.putLong(offset + CORRELATION_ID_OFFSET, correlationId, BYTE_ORDER);
            buffer.putInt(offset + STREAM_ID_OFFSET, streamId, BYTE_ORDER);
            buffer.putShort(offset + NAME_LENGTH_OFFSET, (short) nameBytes.length, BYTE_ORDER);
            buffer.putShort(offset + CHANNEL_LENGTH_OFFSET, (short) channelBytes.length, BYTE_ORDER);
            buffer.putBytes(offset + FIXED_LENGTH, nameBytes);
            buffer.putBytes(offset + FIXED_LENGTH + nameBytes.length, channelBytes);
            return this;
        }

        public int encodedLength() {
            return length;
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;

        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.HELLO, FIXED_LENGTH);
            int nameLength = buffer.getShort(offset + NAME_LENGTH_OFFSET, BYTE_ORDER) & 0xFFFF;
            int channelLength = buffer.getShort(offset + CHANNEL_LENGTH_OFFSET, BYTE_ORDER) & 0xFFFF;
            if (nameLength > MAX_NAME_BYTES || channelLength > MAX_CHANNEL_BYTES
                || FIXED_LENGTH + nameLength + channelLength != messageLength) {
                throw new WireFormatException("Hello: name " + nameLength + " + channel " + channelLength
                    + " bytes do not match message length " + messageLength);
            }
            this.buffer = buffer;
            this.offset = offset;
            return this;
        }

        public long correlationId() {
            return buffer.getLong(offset + CORRELATION_ID_OFFSET, BYTE_ORDER);
        }

        public int streamId() {
            return buffer.getInt(offset + STREAM_ID_OFFSET, BYTE_ORDER);
        }

        public String name() {
            int nameLength = buffer.getShort(offset + NAME_LENGTH_OFFSET, BYTE_ORDER) & 0xFFFF;
            return buffer.getStringWithoutLengthAscii(offset + FIXED_LENGTH, nameLength);
        }

        public String channel() {
            int nameLength = buffer.getShort(offset + NAME_LENGTH_OFFSET, BYTE_ORDER) & 0xFFFF;
            int channelLength = buffer.getShort(offset + CHANNEL_LENGTH_OFFSET, BYTE_ORDER) & 0xFFFF;
            return buffer.getStringWithoutLengthAscii(offset + FIXED_LENGTH + nameLength, channelLength);
        }
    }
}
