package magicpig.wire;

import static magicpig.wire.MessageHeader.BYTE_ORDER;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The payload of a {@link PayloadKind#BLOCK_PARAMS} transfer: everything a shard needs, besides the
 * keys, values and c of each head, to index a block and answer queries over it. The shard rebuilds
 * each (layer, kv head)'s SimHash projection from the master seed, as the worker does.
 *
 * <pre>
 *   0  seed       i64  master seed of the LSH projections
 *   8  k          u16  bits per code, 1..16
 *  10  l          u16  tables, >= 1
 *  12  threshold  u16  T: collisions a key needs to be sampled, 1..L
 *  14  headDim    u16
 *  16  layers     u16  of the model
 *  18  kvHeads    u16  of the model
 *  20  reserved   i32
 *  24
 * </pre>
 *
 * @param seed      master seed of the projections
 * @param k         bits per table
 * @param l         tables
 * @param threshold T
 * @param headDim   head dimension
 * @param layers    layers of the model
 * @param kvHeads   kv heads of the model
 */
public record BlockParams(long seed, int k, int l, int threshold, int headDim, int layers, int kvHeads) {
    public static final int LENGTH = 24;

    public BlockParams {
        if (k < 1 || k > AttentionQuery.MAX_K || l < 1 || l > 0xFFFF || threshold < 1 || threshold > l
            || headDim < 1 || headDim > 0xFFFF || layers < 1 || layers > 0xFFFF || kvHeads < 1 || kvHeads > 0xFFFF) {
            throw new WireFormatException("BlockParams: bad values K=" + k + " L=" + l + " T=" + threshold + " headDim="
                + headDim + " layers=" + layers + " kvHeads=" + kvHeads);
        }
    }

    /** Writes the {@value #LENGTH} bytes at offset. */
    public void write(MutableDirectBuffer buffer, int offset) {
        buffer.putLong(offset, seed, BYTE_ORDER);
        buffer.putShort(offset + 8, (short) k, BYTE_ORDER);
        buffer.putShort(offset + 10, (short) l, BYTE_ORDER);
        buffer.putShort(offset + 12, (short) threshold, BYTE_ORDER);
        buffer.putShort(offset + 14, (short) headDim, BYTE_ORDER);
        buffer.putShort(offset + 16, (short) layers, BYTE_ORDER);
        buffer.putShort(offset + 18, (short) kvHeads, BYTE_ORDER);
        buffer.putInt(offset + 20, 0, BYTE_ORDER);
    }

    /** Reads a payload of exactly {@value #LENGTH} bytes. @throws WireFormatException naming what is wrong */
    public static BlockParams read(DirectBuffer buffer, int offset, int length) {
        if (length != LENGTH) {
            throw new WireFormatException("BlockParams: payload of " + length + " bytes, expected " + LENGTH);
        }
        return new BlockParams(buffer.getLong(offset, BYTE_ORDER),
            buffer.getShort(offset + 8, BYTE_ORDER) & 0xFFFF,
            buffer.getShort(offset + 10, BYTE_ORDER) & 0xFFFF,
            buffer.getShort(offset + 12, BYTE_ORDER) & 0xFFFF,
            buffer.getShort(offset + 14, BYTE_ORDER) & 0xFFFF,
            buffer.getShort(offset + 16, BYTE_ORDER) & 0xFFFF,
            buffer.getShort(offset + 18, BYTE_ORDER) & 0xFFFF);
    }
}
