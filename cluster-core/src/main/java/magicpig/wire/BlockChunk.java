package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Worker to shard during prefill: one piece of one array ({@link PayloadKind}) of one block of one
 * (layer, kv head). A transfer is the chunks 0..chunkCount-1 that share a correlation id; they are
 * sent in order and the receiver reassembles them, treating a repeated index as a duplicate and a
 * skipped one as a gap.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#BLOCK_CHUNK}
 *   8  correlationId  i64  the transfer; the shard's {@link BlockAck} echoes it
 *  16  sequenceId     i64
 *  24  blockId        i32
 *  28  layer          i32
 *  32  kvHead         u16
 *  34  payloadKind    u8   {@link PayloadKind#code()}
 *  35  reserved       u8
 *  36  firstToken     i32  sequence position of the block's first token
 *  40  tokenCount     i32  tokens in the block
 *  44  chunkIndex     i32  the sequence number of this chunk in its transfer, from 0
 *  48  chunkCount     i32  >= 1
 *  52  totalLength    i32  bytes of the whole payload of the transfer
 *  56  chunkOffset    i32  where this chunk's bytes go in the whole payload
 *  60  payloadLength  i32  bytes that follow
 *  64  payload        u8 x payloadLength
 * </pre>
 */
public final class BlockChunk {
    static final int CORRELATION_ID_OFFSET = 8;
    static final int SEQUENCE_ID_OFFSET = 16;
    static final int BLOCK_ID_OFFSET = 24;
    static final int LAYER_OFFSET = 28;
    static final int KV_HEAD_OFFSET = 32;
    static final int KIND_OFFSET = 34;
    static final int FIRST_TOKEN_OFFSET = 36;
    static final int TOKEN_COUNT_OFFSET = 40;
    static final int CHUNK_INDEX_OFFSET = 44;
    static final int CHUNK_COUNT_OFFSET = 48;
    static final int TOTAL_LENGTH_OFFSET = 52;
    static final int CHUNK_OFFSET_OFFSET = 56;
    static final int PAYLOAD_LENGTH_OFFSET = 60;
    /** Bytes before the payload. */
    public static final int HEADER_LENGTH = 64;

    private BlockChunk() {}

    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;
        private int payloadLength;

        /** Wraps for a chunk of {@code payloadLength} bytes, with room for the payload in this buffer. */
        public Encoder wrap(MutableDirectBuffer buffer, int offset, int payloadLength) {
            return wrap(buffer, offset, payloadLength, HEADER_LENGTH + (long) payloadLength);
        }

        /**
         * Wraps to write only the {@link #HEADER_LENGTH} bytes before the payload, for a sender that
         * offers the payload straight from its own buffer as the second part of a gathered offer.
         */
        public Encoder wrapHeaderOnly(MutableDirectBuffer buffer, int offset, int payloadLength) {
            return wrap(buffer, offset, payloadLength, HEADER_LENGTH);
        }

        private Encoder wrap(MutableDirectBuffer buffer, int offset, int payloadLength, long room) {
            if (payloadLength < 0 || payloadLength > Integer.MAX_VALUE - HEADER_LENGTH) {
                throw new WireFormatException("BlockChunk: bad payload length " + payloadLength);
            }
            MessageHeader.ensureCapacity(buffer, offset, room, MessageType.BLOCK_CHUNK);
            this.buffer = buffer;
            this.offset = offset;
            this.payloadLength = payloadLength;
            MessageHeader.write(buffer, offset, MessageType.BLOCK_CHUNK, HEADER_LENGTH + payloadLength);
            buffer.putByte(offset + KIND_OFFSET + 1, (byte) 0);
            buffer.putInt(offset + PAYLOAD_LENGTH_OFFSET, payloadLength, BYTE_ORDER);
            return this;
        }

        public int encodedLength() {
            return HEADER_LENGTH + payloadLength;
        }

        public Encoder correlationId(long value) {
            buffer.putLong(offset + CORRELATION_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder sequenceId(long value) {
            buffer.putLong(offset + SEQUENCE_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder blockId(int value) {
            buffer.putInt(offset + BLOCK_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder layer(int value) {
            buffer.putInt(offset + LAYER_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder kvHead(int value) {
            if (value < 0 || value > 0xFFFF) {
                throw new WireFormatException("BlockChunk: kv head " + value + " does not fit in u16");
            }
            buffer.putShort(offset + KV_HEAD_OFFSET, (short) value, BYTE_ORDER);
            return this;
        }

        public Encoder payloadKind(PayloadKind kind) {
            buffer.putByte(offset + KIND_OFFSET, (byte) kind.code());
            return this;
        }

        public Encoder tokens(int firstToken, int tokenCount) {
            buffer.putInt(offset + FIRST_TOKEN_OFFSET, firstToken, BYTE_ORDER);
            buffer.putInt(offset + TOKEN_COUNT_OFFSET, tokenCount, BYTE_ORDER);
            return this;
        }

        /** Sequence number of this chunk in its transfer, and where its bytes sit in the whole payload. */
        public Encoder chunk(int chunkIndex, int chunkCount, int totalLength, int chunkOffset) {
            buffer.putInt(offset + CHUNK_INDEX_OFFSET, chunkIndex, BYTE_ORDER);
            buffer.putInt(offset + CHUNK_COUNT_OFFSET, chunkCount, BYTE_ORDER);
            buffer.putInt(offset + TOTAL_LENGTH_OFFSET, totalLength, BYTE_ORDER);
            buffer.putInt(offset + CHUNK_OFFSET_OFFSET, chunkOffset, BYTE_ORDER);
            return this;
        }

        /** Copies the payload (payloadLength bytes) from {@code src[srcOffset..]}. */
        public Encoder payload(DirectBuffer src, int srcOffset) {
            buffer.putBytes(offset + HEADER_LENGTH, src, srcOffset, payloadLength);
            return this;
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;
        private PayloadKind kind;

        /** @throws WireFormatException if the frame is not a well-formed, self-consistent chunk */
        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.BLOCK_CHUNK,
                HEADER_LENGTH);
            int payloadLength = buffer.getInt(offset + PAYLOAD_LENGTH_OFFSET, BYTE_ORDER);
            if (payloadLength < 0 || (long) HEADER_LENGTH + payloadLength != messageLength) {
                throw new WireFormatException("BlockChunk: payload length " + payloadLength
                    + " does not match message length " + messageLength);
            }
            int kindCode = buffer.getByte(offset + KIND_OFFSET) & 0xFF;
            PayloadKind kind = PayloadKind.fromCode(kindCode);
            if (kind == null) {
                throw new WireFormatException("BlockChunk: unknown payload kind " + kindCode);
            }
            int index = buffer.getInt(offset + CHUNK_INDEX_OFFSET, BYTE_ORDER);
            int count = buffer.getInt(offset + CHUNK_COUNT_OFFSET, BYTE_ORDER);
            int total = buffer.getInt(offset + TOTAL_LENGTH_OFFSET, BYTE_ORDER);
            int at = buffer.getInt(offset + CHUNK_OFFSET_OFFSET, BYTE_ORDER);
            if (count < 1 || index < 0 || index >= count || total < 0 || at < 0
                || (long) at + payloadLength > total) {
                throw new WireFormatException("BlockChunk: chunk " + index + " of " + count + " with " + payloadLength
                    + " bytes at " + at + " does not fit a payload of " + total + " bytes");
            }
            int firstToken = buffer.getInt(offset + FIRST_TOKEN_OFFSET, BYTE_ORDER);
            int tokenCount = buffer.getInt(offset + TOKEN_COUNT_OFFSET, BYTE_ORDER);
            if (firstToken < 0 || tokenCount < 0) {
                throw new WireFormatException("BlockChunk: bad token range first=" + firstToken + " count=" + tokenCount);
            }
            this.buffer = buffer;
            this.offset = offset;
            this.kind = kind;
            return this;
        }

        public DirectBuffer buffer() {
            return buffer;
        }

        public int offset() {
            return offset;
        }

        public int encodedLength() {
            return HEADER_LENGTH + payloadLength();
        }

        public long correlationId() {
            return buffer.getLong(offset + CORRELATION_ID_OFFSET, BYTE_ORDER);
        }

        public long sequenceId() {
            return buffer.getLong(offset + SEQUENCE_ID_OFFSET, BYTE_ORDER);
        }

        public int blockId() {
            return buffer.getInt(offset + BLOCK_ID_OFFSET, BYTE_ORDER);
        }

        public int layer() {
            return buffer.getInt(offset + LAYER_OFFSET, BYTE_ORDER);
        }

        public int kvHead() {
            return buffer.getShort(offset + KV_HEAD_OFFSET, BYTE_ORDER) & 0xFFFF;
        }

        public PayloadKind payloadKind() {
            return kind;
        }

        public int firstToken() {
            return buffer.getInt(offset + FIRST_TOKEN_OFFSET, BYTE_ORDER);
        }

        public int tokenCount() {
            return buffer.getInt(offset + TOKEN_COUNT_OFFSET, BYTE_ORDER);
        }

        public int chunkIndex() {
            return buffer.getInt(offset + CHUNK_INDEX_OFFSET, BYTE_ORDER);
        }

        public int chunkCount() {
            return buffer.getInt(offset + CHUNK_COUNT_OFFSET, BYTE_ORDER);
        }

        public int totalLength() {
            return buffer.getInt(offset + TOTAL_LENGTH_OFFSET, BYTE_ORDER);
        }

        public int chunkOffset() {
            return buffer.getInt(offset + CHUNK_OFFSET_OFFSET, BYTE_ORDER);
        }

        public int payloadLength() {
            return buffer.getInt(offset + PAYLOAD_LENGTH_OFFSET, BYTE_ORDER);
        }

        /** Offset in {@link #buffer()} where the payload starts. */
        public int payloadOffset() {
            return offset + HEADER_LENGTH;
        }
    }
}
