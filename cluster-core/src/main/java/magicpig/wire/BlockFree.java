package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Worker (or whoever owns the sequence) to shard: release a block, or every block of a sequence
 * ({@link AttentionQuery#ALL_BLOCKS}). Answered by a {@link BlockAck}.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#BLOCK_FREE}
 *   8  correlationId  i64
 *  16  sequenceId     i64
 *  24  blockId        i32  or -1: all blocks of the sequence
 *  28  reserved       i32
 *  32
 * </pre>
 */
public final class BlockFree {
    static final int CORRELATION_ID_OFFSET = 8;
    static final int SEQUENCE_ID_OFFSET = 16;
    static final int BLOCK_ID_OFFSET = 24;
    public static final int LENGTH = 32;

    private BlockFree() {}

    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;

        public Encoder wrap(MutableDirectBuffer buffer, int offset) {
            MessageHeader.ensureCapacity(buffer, offset, LENGTH, MessageType.BLOCK_FREE);
            this.buffer = buffer;
            this.offset = offset;
            MessageHeader.write(buffer, offset, MessageType.BLOCK_FREE, LENGTH);
            buffer.putInt(offset + BLOCK_ID_OFFSET + 4, 0, BYTE_ORDER);
            return this;
        }

        public int encodedLength() {
            return LENGTH;
        }

        public Encoder set(long correlationId, long sequenceId, int blockId) {
            if (blockId < AttentionQuery.ALL_BLOCKS) {
                throw new WireFormatException("BlockFree: block id " + blockId + " (use -1 for all blocks)");
            }
            buffer.putLong(offset + CORRELATION_ID_OFFSET, correlationId, BYTE_ORDER);
            buffer.putLong(offset + SEQUENCE_ID_OFFSET, sequenceId, BYTE_ORDER);
            buffer.putInt(offset + BLOCK_ID_OFFSET, blockId, BYTE_ORDER);
            return this;
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;

        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.BLOCK_FREE, LENGTH);
            if (messageLength != LENGTH) {
                throw new WireFormatException("BlockFree: length " + messageLength + ", expected " + LENGTH);
            }
            int blockId = buffer.getInt(offset + BLOCK_ID_OFFSET, BYTE_ORDER);
            if (blockId < AttentionQuery.ALL_BLOCKS) {
                throw new WireFormatException("BlockFree: block id " + blockId);
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

        /** A block id, or {@link AttentionQuery#ALL_BLOCKS}. */
        public int blockId() {
            return buffer.getInt(offset + BLOCK_ID_OFFSET, BYTE_ORDER);
        }

        public boolean allBlocks() {
            return blockId() == AttentionQuery.ALL_BLOCKS;
        }
    }
}
