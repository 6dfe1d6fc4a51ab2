package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Shard to worker: a {@link BlockChunk} transfer was reassembled and stored, or a
 * {@link BlockFree} was carried out.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#BLOCK_ACK}
 *   8  correlationId  i64  of the transfer or the free
 *  16  sequenceId     i64
 *  24  blockId        i32  ({@link AttentionQuery#ALL_BLOCKS} for a free of the whole sequence)
 *  28  layer          i32  (0 for a free)
 *  32  kvHead         u16  (0 for a free)
 *  34  ackedType      u8   {@link MessageType#BLOCK_CHUNK} or {@link MessageType#BLOCK_FREE}
 *  35  payloadKind    u8   {@link PayloadKind#code()}, 0 for a free
 *  36  chunkCount     i32  chunks received (0 for a free)
 *  40  bytes          i64  payload bytes stored, or bytes released by a free
 *  48
 * </pre>
 */
public final class BlockAck {
    static final int CORRELATION_ID_OFFSET = 8;
    static final int SEQUENCE_ID_OFFSET = 16;
    static final int BLOCK_ID_OFFSET = 24;
    static final int LAYER_OFFSET = 28;
    static final int KV_HEAD_OFFSET = 32;
    static final int ACKED_TYPE_OFFSET = 34;
    static final int KIND_OFFSET = 35;
    static final int CHUNK_COUNT_OFFSET = 36;
    static final int BYTES_OFFSET = 40;
    public static final int LENGTH = 48;

    private BlockAck() {}

    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;

        public Encoder wrap(MutableDirectBuffer buffer, int offset) {
            MessageHeader.ensureCapacity(buffer, offset, LENGTH, MessageType.BLOCK_ACK);
            this.buffer = buffer;
            this.offset = offset;
            MessageHeader.write(buffer, offset, MessageType.BLOCK_ACK, LENGTH);
            return this;
        }

        public int encodedLength() {
            return LENGTH;
        }

        /** Acknowledges a reassembled transfer. */
        public Encoder ackTransfer(long correlationId, long sequenceId, int blockId, int layer, int kvHead,
                                   PayloadKind kind, int chunkCount, long bytes) {
            put(correlationId, sequenceId, blockId, layer, kvHead, MessageType.BLOCK_CHUNK, kind.code(), chunkCount,
                bytes);
            return this;
        }

        /** Acknowledges a free. */
        public Encoder ackFree(long correlationId, long sequenceId, int blockId, long bytesReleased) {
            put(correlationId, sequenceId, blockId, 0, 0, MessageType.BLOCK_FREE, 0, 0, bytesReleased);
            return this;
        }

        private void put(long correlationId, long sequenceId, int blockId, int layer, int kvHead, int ackedType,
                         int kind, int chunkCount, long bytes) {
            buffer.putLong(offset + CORRELATION_ID_OFFSET, correlationId, BYTE_ORDER);
            buffer.putLong(offset + SEQUENCE_ID_OFFSET, sequenceId, BYTE_ORDER);
            buffer.putInt(offset + BLOCK_ID_OFFSET, blockId, BYTE_ORDER);
            buffer.putInt(offset + LAYER_OFFSET, layer, BYTE_ORDER);
            buffer.putShort(offset + KV_HEAD_OFFSET, (short) kvHead, BYTE_ORDER);
            buffer.putByte(offset + ACKED_TYPE_OFFSET, (byte) ackedType);
            buffer.putByte(offset + KIND_OFFSET, (byte) kind);
            buffer.putInt(offset + CHUNK_COUNT_OFFSET, chunkCount, BYTE_ORDER);
            buffer.putLong(offset + BYTES_OFFSET, bytes, BYTE_ORDER);
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;

        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.BLOCK_ACK, LENGTH);
            if (messageLength != LENGTH) {
                throw new WireFormatException("BlockAck: length " + messageLength + ", expected " + LENGTH);
            }
            int acked = buffer.getByte(offset + ACKED_TYPE_OFFSET) & 0xFF;
            int kind = buffer.getByte(offset + KIND_OFFSET) & 0xFF;
            boolean ok = acked == MessageType.BLOCK_CHUNK ? PayloadKind.fromCode(kind) != null
                : acked == MessageType.BLOCK_FREE && kind == 0;
            if (!ok) {
                throw new WireFormatException("BlockAck: acknowledges " + MessageType.name(acked)
                    + " with payload kind " + kind);
            }
            this.buffer = buffer;
            this.offset = offset;
            return this;
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

        /** {@link MessageType#BLOCK_CHUNK} or {@link MessageType#BLOCK_FREE}. */
        public int ackedType() {
            return buffer.getByte(offset + ACKED_TYPE_OFFSET) & 0xFF;
        }

        /** The kind of the acknowledged transfer; null for a free. */
        public PayloadKind payloadKind() {
            return PayloadKind.fromCode(buffer.getByte(offset + KIND_OFFSET) & 0xFF);
        }

        public int chunkCount() {
            return buffer.getInt(offset + CHUNK_COUNT_OFFSET, BYTE_ORDER);
        }

        public long bytes() {
            return buffer.getLong(offset + BYTES_OFFSET, BYTE_ORDER);
        }
    }
}
