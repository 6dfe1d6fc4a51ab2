package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Worker to shard, once per decode step, sparse layer and shard: the query heads of one sequence
 * with their LSH codes, and the blocks of that sequence on this shard to attend over.
 *
 * <pre>
 *   0  header            8   {@link MessageHeader}, type {@link MessageType#ATTENTION_QUERY}
 *   8  correlationId    i64  echoed in the reply
 *  16  sequenceId       i64
 *  24  layer            i32
 *  28  step             i32  decode step (token position), for tracing and staleness checks
 *  32  headCount        u16  H >= 1
 *  34  headDim          u16  d >= 1
 *  36  k                u16  bits per code, 1..16
 *  38  l                u16  tables (codes per head), L >= 1
 *  40  blockCount       i32  {@link #ALL_BLOCKS} (-1): every block of the sequence held here
 *  44  reserved         i32
 *  48  blockIds         i32 x max(blockCount, 0)
 *   .  heads            H records of {@link #headStride} bytes:
 *                         +0        kvHead  u16
 *                         +2        reserved u16
 *                         +4        query   f32 x d       (after RoPE, not centered)
 *                         +4+4d     codes   u16 x L       (table t's code, LSB-first SimHash)
 *                                   padding to a multiple of 4
 * </pre>
 *
 * The block list precedes the heads so that a worker can encode the heads once and send them to
 * several shards behind a different fixed part and block list each (see
 * {@link Encoder#writePrefix}). A query of 32 heads x 128 dims x L = 150 is 26,160 bytes, which is
 * the cost model's H*(L*2 + d*4) plus 176 bytes of framing.
 */
public final class AttentionQuery {
    public static final int ALL_BLOCKS = -1;
    public static final int MAX_K = 16;

    static final int CORRELATION_ID_OFFSET = 8;
    static final int SEQUENCE_ID_OFFSET = 16;
    static final int LAYER_OFFSET = 24;
    static final int STEP_OFFSET = 28;
    static final int HEAD_COUNT_OFFSET = 32;
    static final int HEAD_DIM_OFFSET = 34;
    static final int K_OFFSET = 36;
    static final int L_OFFSET = 38;
    static final int BLOCK_COUNT_OFFSET = 40;
    /** Bytes before the block ids. */
    public static final int FIXED_LENGTH = 48;

    private AttentionQuery() {}

    /** Bytes of one head record. */
    public static int headStride(int headDim, int l) {
        return 4 + 4 * headDim + MessageHeader.align4(2 * l);
    }

    /** Bytes of the fixed part plus the block list (where the head records start). */
    public static int prefixLength(int blockCount) {
        return FIXED_LENGTH + 4 * Math.max(blockCount, 0);
    }

    /** Bytes of a whole message of this shape. */
    public static long messageLength(int headCount, int headDim, int l, int blockCount) {
        return prefixLength(blockCount) + (long) headCount * headStride(headDim, l);
    }

    static void checkShape(int headCount, int headDim, int k, int l, int blockCount) {
        if (headCount < 1 || headCount > 0xFFFF || headDim < 1 || headDim > 0xFFFF
            || k < 1 || k > MAX_K || l < 1 || l > 0xFFFF || blockCount < ALL_BLOCKS) {
            throw new WireFormatException("AttentionQuery: bad shape heads=" + headCount + " headDim=" + headDim
                + " K=" + k + " L=" + l + " blockCount=" + blockCount
                + " (need 1..65535 heads, dims and tables, K in 1.." + MAX_K + ", blockCount >= -1)");
        }
    }

    /** Writes a query into a buffer. Fields may be set in any order; nothing is allocated. */
    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;
        private int headCount;
        private int headDim;
        private int l;
        private int blockCount;
        private int headsOffset;
        private int stride;

        /**
         * Wraps {@code buffer} at {@code offset} for a query of this shape, writes the header and
         * shape fields, and grows an expandable buffer (or refuses a fixed one) to fit it.
         */
        public Encoder wrap(MutableDirectBuffer buffer, int offset, int headCount, int headDim, int k, int l,
                            int blockCount) {
            checkShape(headCount, headDim, k, l, blockCount);
            long length = messageLength(headCount, headDim, l, blockCount);
            MessageHeader.ensureCapacity(buffer, offset, length, MessageType.ATTENTION_QUERY);
            this.buffer = buffer;
            this.offset = offset;
            this.headCount = headCount;
            this.headDim = headDim;
            this.l = l;
            this.blockCount = blockCount;
            this.headsOffset = offset + prefixLength(blockCount);
            this.stride = headStride(headDim, l);
            MessageHeader.write(buffer, offset, MessageType.ATTENTION_QUERY, (int) length);
            buffer.putShort(offset + HEAD_COUNT_OFFSET, (short) headCount, BYTE_ORDER);
            buffer.putShort(offset + HEAD_DIM_OFFSET, (short) headDim, BYTE_ORDER);
            buffer.putShort(offset + K_OFFSET, (short) k, BYTE_ORDER);
            buffer.putShort(offset + L_OFFSET, (short) l, BYTE_ORDER);
            buffer.putInt(offset + BLOCK_COUNT_OFFSET, blockCount, BYTE_ORDER);
            buffer.putInt(offset + BLOCK_COUNT_OFFSET + 4, 0, BYTE_ORDER);
            int padOffset = headsOffset + 4 + 4 * headDim + 2 * l;
            int padBytes = stride - (4 + 4 * headDim + 2 * l);
            for (int h = 0; h < headCount; h++) {
                buffer.putShort(headsOffset + h * stride + 2, (short) 0, BYTE_ORDER);
                if (padBytes != 0) {
                    buffer.putShort(padOffset + h * stride, (short) 0, BYTE_ORDER);
                }
            }
            return this;
        }

        public MutableDirectBuffer buffer() {
            return buffer;
        }

        public int offset() {
            return offset;
        }

        public int encodedLength() {
            return headsOffset - offset + headCount * stride;
        }

        /** Where the head records start, relative to {@link #offset()}. */
        public int headsOffset() {
            return headsOffset - offset;
        }

        public int headCount() {
            return headCount;
        }

        public int headDim() {
            return headDim;
        }

        public int l() {
            return l;
        }

        public int k() {
            return buffer.getShort(offset + K_OFFSET, BYTE_ORDER) & 0xFFFF;
        }

        public int blockCount() {
            return blockCount;
        }

        public Encoder correlationId(long value) {
            buffer.putLong(offset + CORRELATION_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public long correlationId() {
            return buffer.getLong(offset + CORRELATION_ID_OFFSET, BYTE_ORDER);
        }

        public Encoder sequenceId(long value) {
            buffer.putLong(offset + SEQUENCE_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder layer(int value) {
            buffer.putInt(offset + LAYER_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder step(int value) {
            buffer.putInt(offset + STEP_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder blockId(int index, int blockId) {
            checkIndex(index, blockCount, "block");
            buffer.putInt(offset + FIXED_LENGTH + 4 * index, blockId, BYTE_ORDER);
            return this;
        }

        public Encoder kvHead(int head, int kvHead) {
            checkIndex(head, headCount, "head");
            if (kvHead < 0 || kvHead > 0xFFFF) {
                throw new WireFormatException("AttentionQuery: kv head " + kvHead + " does not fit in u16");
            }
            buffer.putShort(headsOffset + head * stride, (short) kvHead, BYTE_ORDER);
            return this;
        }

        /** Copies headDim floats from {@code src[srcOffset..]} as the query of {@code head}. */
        public Encoder query(int head, float[] src, int srcOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4;
            for (int i = 0; i < headDim; i++) {
                buffer.putFloat(at + 4 * i, src[srcOffset + i], BYTE_ORDER);
            }
            return this;
        }

        public Encoder query(int head, int i, float value) {
            checkIndex(head, headCount, "head");
            checkIndex(i, headDim, "dim");
            buffer.putFloat(headsOffset + head * stride + 4 + 4 * i, value, BYTE_ORDER);
            return this;
        }

        /** Copies the L codes of {@code head} from {@code src[srcOffset..]}; each must fit in K bits. */
        public Encoder codes(int head, int[] src, int srcOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4 + 4 * headDim;
            int limit = 1 << k();
            for (int t = 0; t < l; t++) {
                int code = src[srcOffset + t];
                if (code < 0 || code >= limit) {
                    throw codeOutOfRange(head, t, code, k());
                }
                buffer.putShort(at + 2 * t, (short) code, BYTE_ORDER);
            }
            return this;
        }

        /** Copies the L codes of {@code head} from {@code src[srcOffset..]} (as SimHash extracts them); each must fit in K bits. */
        public Encoder codes(int head, char[] src, int srcOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4 + 4 * headDim;
            int limit = 1 << k();
            for (int t = 0; t < l; t++) {
                int code = src[srcOffset + t];
                if (code >= limit) {
                    throw codeOutOfRange(head, t, code, k());
                }
                buffer.putShort(at + 2 * t, (short) code, BYTE_ORDER);
            }
            return this;
        }

        public Encoder code(int head, int table, int code) {
            checkIndex(head, headCount, "head");
            checkIndex(table, l, "table");
            if (code < 0 || code >= 1 << k()) {
                throw codeOutOfRange(head, table, code, k());
            }
            buffer.putShort(headsOffset + head * stride + 4 + 4 * headDim + 2 * table, (short) code, BYTE_ORDER);
            return this;
        }

        /**
         * Writes, at {@code dst[dstOffset..]}, the fixed part of this query with another correlation id
         * and block list: followed by this encoder's head records (from {@link #headsOffset()}), it is
         * a complete query. Returns the bytes written ({@link #prefixLength}).
         */
        public int writePrefix(MutableDirectBuffer dst, int dstOffset, long correlationId,
                               int[] blockIds, int blockIdsOffset, int blockCount) {
            if (blockCount < ALL_BLOCKS) {
                throw new WireFormatException("AttentionQuery: blockCount " + blockCount + " < -1");
            }
            int prefix = prefixLength(blockCount);
            int length = prefix + headCount * stride;
            MessageHeader.ensureCapacity(dst, dstOffset, prefix, MessageType.ATTENTION_QUERY);
            dst.putBytes(dstOffset, buffer, offset, FIXED_LENGTH);
            dst.putInt(dstOffset + MessageHeader.LENGTH_OFFSET, length, BYTE_ORDER);
            dst.putLong(dstOffset + CORRELATION_ID_OFFSET, correlationId, BYTE_ORDER);
            dst.putInt(dstOffset + BLOCK_COUNT_OFFSET, blockCount, BYTE_ORDER);
            for (int i = 0; i < blockCount; i++) {
                dst.putInt(dstOffset + FIXED_LENGTH + 4 * i, blockIds[blockIdsOffset + i], BYTE_ORDER);
            }
            return prefix;
        }
    }

    /** Reads a query in place; {@link #wrap} validates the whole frame first. */
    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;
        private int length;
        private int headCount;
        private int headDim;
        private int k;
        private int l;
        private int blockCount;
        private int headsOffset;
        private int stride;

        /**
         * Wraps the {@code length} bytes at {@code offset}, after checking header, shape, that the
         * length matches the shape exactly, and that every code fits in K bits.
         *
         * @throws WireFormatException naming what is wrong
         */
        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.ATTENTION_QUERY,
                FIXED_LENGTH);
            int headCount = buffer.getShort(offset + HEAD_COUNT_OFFSET, BYTE_ORDER) & 0xFFFF;
            int headDim = buffer.getShort(offset + HEAD_DIM_OFFSET, BYTE_ORDER) & 0xFFFF;
            int k = buffer.getShort(offset + K_OFFSET, BYTE_ORDER) & 0xFFFF;
            int l = buffer.getShort(offset + L_OFFSET, BYTE_ORDER) & 0xFFFF;
            int blockCount = buffer.getInt(offset + BLOCK_COUNT_OFFSET, BYTE_ORDER);
            checkShape(headCount, headDim, k, l, blockCount);
            long expected = messageLength(headCount, headDim, l, blockCount);
            if (expected != messageLength) {
                throw new WireFormatException("AttentionQuery: " + headCount + " heads x " + headDim + " dims, L="
                    + l + ", " + blockCount + " blocks need " + expected + " bytes, the message has " + messageLength);
            }
            this.buffer = buffer;
            this.offset = offset;
            this.length = messageLength;
            this.headCount = headCount;
            this.headDim = headDim;
            this.k = k;
            this.l = l;
            this.blockCount = blockCount;
            this.headsOffset = offset + prefixLength(blockCount);
            this.stride = headStride(headDim, l);
            if (k < 16) {
                int limit = 1 << k;
                for (int h = 0; h < headCount; h++) {
                    int at = headsOffset + h * stride + 4 + 4 * headDim;
                    for (int t = 0; t < l; t++) {
                        int code = buffer.getShort(at + 2 * t, BYTE_ORDER) & 0xFFFF;
                        if (code >= limit) {
                            throw codeOutOfRange(h, t, code, k);
                        }
                    }
                }
            }
            return this;
        }

        public DirectBuffer buffer() {
            return buffer;
        }

        public int offset() {
            return offset;
        }

        public int encodedLength() {
            return length;
        }

        public long correlationId() {
            return buffer.getLong(offset + CORRELATION_ID_OFFSET, BYTE_ORDER);
        }

        public long sequenceId() {
            return buffer.getLong(offset + SEQUENCE_ID_OFFSET, BYTE_ORDER);
        }

        public int layer() {
            return buffer.getInt(offset + LAYER_OFFSET, BYTE_ORDER);
        }

        public int step() {
            return buffer.getInt(offset + STEP_OFFSET, BYTE_ORDER);
        }

        public int headCount() {
            return headCount;
        }

        public int headDim() {
            return headDim;
        }

        public int k() {
            return k;
        }

        public int l() {
            return l;
        }

        /** {@link #ALL_BLOCKS} or the number of block ids. */
        public int blockCount() {
            return blockCount;
        }

        public boolean allBlocks() {
            return blockCount == ALL_BLOCKS;
        }

        public int blockId(int index) {
            checkIndex(index, blockCount, "block");
            return buffer.getInt(offset + FIXED_LENGTH + 4 * index, BYTE_ORDER);
        }

        public int kvHead(int head) {
            checkIndex(head, headCount, "head");
            return buffer.getShort(headsOffset + head * stride, BYTE_ORDER) & 0xFFFF;
        }

        public float query(int head, int i) {
            checkIndex(head, headCount, "head");
            checkIndex(i, headDim, "dim");
            return buffer.getFloat(headsOffset + head * stride + 4 + 4 * i, BYTE_ORDER);
        }

        /** Copies the query of {@code head} into {@code dst[dstOffset..dstOffset+headDim)}. */
        public void getQuery(int head, float[] dst, int dstOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4;
            for (int i = 0; i < headDim; i++) {
                dst[dstOffset + i] = buffer.getFloat(at + 4 * i, BYTE_ORDER);
            }
        }

        public int code(int head, int table) {
            checkIndex(head, headCount, "head");
            checkIndex(table, l, "table");
            return buffer.getShort(headsOffset + head * stride + 4 + 4 * headDim + 2 * table, BYTE_ORDER) & 0xFFFF;
        }

        /** Copies the L codes of {@code head} into {@code dst[dstOffset..dstOffset+L)}. */
        public void getCodes(int head, int[] dst, int dstOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4 + 4 * headDim;
            for (int t = 0; t < l; t++) {
                dst[dstOffset + t] = buffer.getShort(at + 2 * t, BYTE_ORDER) & 0xFFFF;
            }
        }

        /** Copies the L codes of {@code head} into {@code dst[dstOffset..dstOffset+L)}, as chars. */
        public void getCodes(int head, char[] dst, int dstOffset) {
            checkIndex(head, headCount, "head");
            int at = headsOffset + head * stride + 4 + 4 * headDim;
            for (int t = 0; t < l; t++) {
                dst[dstOffset + t] = (char) buffer.getShort(at + 2 * t, BYTE_ORDER);
            }
        }

        /** Offset in {@link #buffer()} of the query floats of {@code head} (for vectorised reads). */
        public int queryOffset(int head) {
            checkIndex(head, headCount, "head");
            return headsOffset + head * stride + 4;
        }
    }

    static void checkIndex(int index, int count, String what) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("AttentionQuery: " + what + " " + index + " not in [0, " + count + ")");
        }
    }

    static WireFormatException codeOutOfRange(int head, int table, int code, int k) {
        return new WireFormatException("AttentionQuery: code " + code + " of head " + head + ", table " + table
            + " does not fit in K=" + k + " bits");
    }
}
