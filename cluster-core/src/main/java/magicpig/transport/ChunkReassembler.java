package magicpig.transport;

import java.util.ArrayDeque;
import magicpig.wire.BlockChunk;
import magicpig.wire.PayloadKind;
import org.agrona.ExpandableDirectByteBuffer;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Reassembles the {@link BlockChunk} transfers of one sender. Aeron delivers a stream reliably and
 * in order, so the chunks of a transfer must come as 0, 1, 2, ...: a smaller index than expected
 * is a duplicate (ignored), a larger one is a gap (the transfer is dropped and reported), and so is
 * a chunk whose metadata or offset disagrees with the transfer so far. A sender numbers transfers
 * with increasing correlation ids, so a chunk of an id at or below the highest started that is not
 * in progress is a duplicate of a finished transfer.
 *
 * <p>Reassembly buffers are pooled and reused; a transfer allocates only when it is larger than any
 * pooled buffer. Used by one thread.
 */
final class ChunkReassembler {
    static final int ACCEPTED = 0;
    static final int COMPLETE = 1;
    static final int DUPLICATE = 2;
    static final int GAP = 3;
    static final int REJECTED = 4;

    private static final int POOLED_TRANSFERS = 4;

    static final class Transfer {
        final ExpandableDirectByteBuffer buffer = new ExpandableDirectByteBuffer(64 * 1024);
        final ReceivedBlock block = new ReceivedBlock();
        int totalLength;
        int nextChunk;
        int receivedBytes;
    }

    private final Long2ObjectHashMap<Transfer> active = new Long2ObjectHashMap<>();
    private final ArrayDeque<Transfer> pool;
    private final int maxTransferBytes;
    private long highestStarted = Long.MIN_VALUE;
    private Transfer completed;
    private String problem;

    ChunkReassembler(ArrayDeque<Transfer> pool, int maxTransferBytes) {
        this.pool = pool;
        this.maxTransferBytes = maxTransferBytes;
    }

    /** Takes one decoded chunk; returns one of the outcome constants. */
    int onChunk(BlockChunk.Decoder chunk) {
        long id = chunk.correlationId();
        int index = chunk.chunkIndex();
        Transfer transfer = active.get(id);
        if (transfer == null) {
            if (id <= highestStarted) {
                return DUPLICATE;
            }
            highestStarted = id;
            if (index != 0) {
                problem = "transfer " + id + " began at chunk " + index + " of " + chunk.chunkCount()
                    + "; chunks 0.." + (index - 1) + " are missing";
                return GAP;
            }
            if (chunk.totalLength() > maxTransferBytes) {
                problem = "transfer " + id + " of " + chunk.totalLength() + " bytes exceeds the limit of "
                    + maxTransferBytes;
                return REJECTED;
            }
            transfer = start(chunk);
            active.put(id, transfer);
        } else if (index < transfer.nextChunk) {
            return DUPLICATE;
        } else if (index > transfer.nextChunk) {
            problem = transfer.block + ": expected chunk " + transfer.nextChunk + " of " + transfer.block.chunkCount
                + ", got " + index;
            drop(id, transfer);
            return GAP;
        } else if (!sameTransfer(transfer, chunk)) {
            problem = transfer.block + ": chunk " + index + " disagrees with the transfer's first chunk (count "
                + chunk.chunkCount() + ", total " + chunk.totalLength() + ", offset " + chunk.chunkOffset()
                + ", expected offset " + transfer.receivedBytes + ")";
            drop(id, transfer);
            return REJECTED;
        }
        if (chunk.chunkOffset() != transfer.receivedBytes) {
            problem = transfer.block + ": chunk " + index + " at offset " + chunk.chunkOffset() + ", expected "
                + transfer.receivedBytes;
            drop(id, transfer);
            return REJECTED;
        }
        int length = chunk.payloadLength();
        transfer.buffer.putBytes(transfer.receivedBytes, chunk.buffer(), chunk.payloadOffset(), length);
        transfer.receivedBytes += length;
        transfer.nextChunk++;
        if (transfer.nextChunk < transfer.block.chunkCount) {
            return ACCEPTED;
        }
        active.remove(id);
        if (transfer.receivedBytes != transfer.totalLength) {
            problem = transfer.block + ": all " + transfer.block.chunkCount + " chunks came with "
                + transfer.receivedBytes + " bytes of " + transfer.totalLength;
            release(transfer);
            return REJECTED;
        }
        completed = transfer;
        return COMPLETE;
    }

    /** After {@link #COMPLETE}: the transfer, to read and then {@link #release}. */
    Transfer completed() {
        return completed;
    }

    /** After {@link #GAP} or {@link #REJECTED}: what went wrong. */
    String problem() {
        return problem;
    }

    int activeTransfers() {
        return active.size();
    }

    void release(Transfer transfer) {
        if (transfer == completed) {
            completed = null;
        }
        if (pool.size() < POOLED_TRANSFERS) {
            pool.push(transfer);
        }
    }

    /** Drops every transfer in progress (the sender went away). */
    void clear() {
        for (Transfer transfer : active.values()) {
            release(transfer);
        }
        active.clear();
    }

    private Transfer start(BlockChunk.Decoder chunk) {
        Transfer transfer = pool.isEmpty() ? new Transfer() : pool.pop();
        ReceivedBlock block = transfer.block;
        block.correlationId = chunk.correlationId();
        block.sequenceId = chunk.sequenceId();
        block.blockId = chunk.blockId();
        block.layer = chunk.layer();
        block.kvHead = chunk.kvHead();
        block.kind = chunk.payloadKind();
        block.firstToken = chunk.firstToken();
        block.tokenCount = chunk.tokenCount();
        block.chunkCount = chunk.chunkCount();
        transfer.totalLength = chunk.totalLength();
        transfer.nextChunk = 0;
        transfer.receivedBytes = 0;
        transfer.buffer.checkLimit(Math.max(1, chunk.totalLength()));
        return transfer;
    }

    private static boolean sameTransfer(Transfer transfer, BlockChunk.Decoder chunk) {
        ReceivedBlock block = transfer.block;
        PayloadKind kind = chunk.payloadKind();
        return chunk.chunkCount() == block.chunkCount && chunk.totalLength() == transfer.totalLength
            && chunk.sequenceId() == block.sequenceId && chunk.blockId() == block.blockId
            && chunk.layer() == block.layer && chunk.kvHead() == block.kvHead && kind == block.kind;
    }

    private void drop(long id, Transfer transfer) {
        active.remove(id);
        release(transfer);
    }
}
