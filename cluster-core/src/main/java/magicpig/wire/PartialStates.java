package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Shard to worker, the reply to one {@link AttentionQuery}: per query head the partial attention
 * state over the blocks this shard holds (MAGICPIG.md step 7), which the worker merges exactly.
 *
 * <pre>
 *   0  header          8   {@link MessageHeader}, type {@link MessageType#PARTIAL_STATES}
 *   8  correlationId  i64  of the query
 *  16  sequenceId     i64
 *  24  layer          i32
 *  28  headCount      u16  H, as in the query
 *  30  headDim        u16  d, as in the query
 *  32  computeNanos   i64  time the shard spent computing this reply
 *  40  heads          H records of 16 + 8d bytes:
 *                       +0   m    f32  max score (natural log domain); -inf when nnz = 0
 *                       +4   nnz  i32  keys sampled
 *                       +8   l    f64  sum exp(s - m); 0 when nnz = 0
 *                       +16  o    f64 x d  weighted mean of the sampled values
 * </pre>
 *
 * <p>l and o are doubles, the shard's {@link magicpig.attention.MergedState} unrounded, so that the
 * worker's merge does not depend on how the blocks are spread over shards or in which order the
 * replies come (see MergedState for what float did). 32 heads x 128 dims is 33,320 bytes: twice
 * MAGICPIG.md's cost model, H*(d*4 + 12), in the head records, plus 40.
 */
public final class PartialStates {
    static final int CORRELATION_ID_OFFSET = 8;
    static final int SEQUENCE_ID_OFFSET = 16;
    static final int LAYER_OFFSET = 24;
    static final int HEAD_COUNT_OFFSET = 28;
    static final int HEAD_DIM_OFFSET = 30;
    static final int COMPUTE_NANOS_OFFSET = 32;
    public static final int FIXED_LENGTH = 40;

    private PartialStates() {}

    public static int headStride(int headDim) {
        return 16 + 8 * headDim;
    }

    public static long messageLength(int headCount, int headDim) {
        return FIXED_LENGTH + (long) headCount * headStride(headDim);
    }

    static void checkShape(int headCount, int headDim) {
        if (headCount < 1 || headCount > 0xFFFF || headDim < 1 || headDim > 0xFFFF) {
            throw new WireFormatException("PartialStates: bad shape heads=" + headCount + " headDim=" + headDim
                + " (need 1..65535 each)");
        }
    }

    public static final class Encoder {
        private MutableDirectBuffer buffer;
        private int offset;
        private int headCount;
        private int headDim;
        private int stride;

        public Encoder wrap(MutableDirectBuffer buffer, int offset, int headCount, int headDim) {
            checkShape(headCount, headDim);
            long length = messageLength(headCount, headDim);
            MessageHeader.ensureCapacity(buffer, offset, length, MessageType.PARTIAL_STATES);
            this.buffer = buffer;
            this.offset = offset;
            this.headCount = headCount;
            this.headDim = headDim;
            this.stride = headStride(headDim);
            MessageHeader.write(buffer, offset, MessageType.PARTIAL_STATES, (int) length);
            buffer.putShort(offset + HEAD_COUNT_OFFSET, (short) headCount, BYTE_ORDER);
            buffer.putShort(offset + HEAD_DIM_OFFSET, (short) headDim, BYTE_ORDER);
            buffer.putLong(offset + COMPUTE_NANOS_OFFSET, 0L, BYTE_ORDER);
            return this;
        }

        public MutableDirectBuffer buffer() {
            return buffer;
        }

        public int offset() {
            return offset;
        }

        public int encodedLength() {
            return FIXED_LENGTH + headCount * stride;
        }

        public int headCount() {
            return headCount;
        }

        public int headDim() {
            return headDim;
        }

        public Encoder correlationId(long value) {
            buffer.putLong(offset + CORRELATION_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder sequenceId(long value) {
            buffer.putLong(offset + SEQUENCE_ID_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder layer(int value) {
            buffer.putInt(offset + LAYER_OFFSET, value, BYTE_ORDER);
            return this;
        }

        public Encoder computeNanos(long value) {
            buffer.putLong(offset + COMPUTE_NANOS_OFFSET, value, BYTE_ORDER);
            return this;
        }

        /** Sets m, l and nnz of {@code head}; o is set separately. */
        public Encoder state(int head, float m, double l, int nnz) {
            int at = headOffset(head);
            buffer.putFloat(at, m, BYTE_ORDER);
            buffer.putInt(at + 4, nnz, BYTE_ORDER);
            buffer.putDouble(at + 8, l, BYTE_ORDER);
            return this;
        }

        /** The state of a head that sampled nothing: m = -inf, l = 0, nnz = 0, o = 0. */
        public Encoder empty(int head) {
            state(head, Float.NEGATIVE_INFINITY, 0, 0);
            int at = headOffset(head) + 16;
            buffer.setMemory(at, 8 * headDim, (byte) 0);
            return this;
        }

        public Encoder o(int head, int i, double value) {
            AttentionQuery.checkIndex(i, headDim, "dim");
            buffer.putDouble(headOffset(head) + 16 + 8 * i, value, BYTE_ORDER);
            return this;
        }

        /** Copies headDim doubles from {@code src[srcOffset..]} as o of {@code head}. */
        public Encoder o(int head, double[] src, int srcOffset) {
            int at = headOffset(head) + 16;
            for (int i = 0; i < headDim; i++) {
                buffer.putDouble(at + 8 * i, src[srcOffset + i], BYTE_ORDER);
            }
            return this;
        }

        private int headOffset(int head) {
            if (head < 0 || head >= headCount) {
                throw new IndexOutOfBoundsException("PartialStates: head " + head + " not in [0, " + headCount + ")");
            }
            return offset + FIXED_LENGTH + head * stride;
        }
    }

    public static final class Decoder {
        private DirectBuffer buffer;
        private int offset;
        private int headCount;
        private int headDim;
        private int stride;

        /** @throws WireFormatException if the frame is not a well-formed reply */
        public Decoder wrap(DirectBuffer buffer, int offset, int length) {
            int messageLength = MessageHeader.checkDecode(buffer, offset, length, MessageType.PARTIAL_STATES,
                FIXED_LENGTH);
            int headCount = buffer.getShort(offset + HEAD_COUNT_OFFSET, BYTE_ORDER) & 0xFFFF;
            int headDim = buffer.getShort(offset + HEAD_DIM_OFFSET, BYTE_ORDER) & 0xFFFF;
            checkShape(headCount, headDim);
            long expected = messageLength(headCount, headDim);
            if (expected != messageLength) {
                throw new WireFormatException("PartialStates: " + headCount + " heads x " + headDim + " dims need "
                    + expected + " bytes, the message has " + messageLength);
            }
            this.buffer = buffer;
            this.offset = offset;
            this.headCount = headCount;
            this.headDim = headDim;
            this.stride = headStride(headDim);
            return this;
        }

        public DirectBuffer buffer() {
            return buffer;
        }

        public int offset() {
            return offset;
        }

        public int encodedLength() {
            return FIXED_LENGTH + headCount * stride;
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

        public int headCount() {
            return headCount;
        }

        public int headDim() {
            return headDim;
        }

        public long computeNanos() {
            return buffer.getLong(offset + COMPUTE_NANOS_OFFSET, BYTE_ORDER);
        }

        public float m(int head) {
            return buffer.getFloat(headOffset(head), BYTE_ORDER);
        }

        public double l(int head) {
            return buffer.getDouble(headOffset(head) + 8, BYTE_ORDER);
        }

        public int nnz(int head) {
            return buffer.getInt(headOffset(head) + 4, BYTE_ORDER);
        }

        public double o(int head, int i) {
            AttentionQuery.checkIndex(i, headDim, "dim");
            return buffer.getDouble(headOffset(head) + 16 + 8 * i, BYTE_ORDER);
        }

        /** Copies o of {@code head} into {@code dst[dstOffset..dstOffset+headDim)}. */
        public void getO(int head, double[] dst, int dstOffset) {
            int at = headOffset(head) + 16;
            for (int i = 0; i < headDim; i++) {
                dst[dstOffset + i] = buffer.getDouble(at + 8 * i, BYTE_ORDER);
            }
        }

        private int headOffset(int head) {
            if (head < 0 || head >= headCount) {
                throw new IndexOutOfBoundsException("PartialStates: head " + head + " not in [0, " + headCount + ")");
            }
            return offset + FIXED_LENGTH + head * stride;
        }
    }
}
