package magicpig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import magicpig.wire.BlockChunk;
import magicpig.wire.PayloadKind;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.Test;

class ChunkReassemblerTest {
    private final ExpandableArrayBuffer frame = new ExpandableArrayBuffer(256);
    private final BlockChunk.Encoder encoder = new BlockChunk.Encoder();
    private final BlockChunk.Decoder decoder = new BlockChunk.Decoder();
    private final ChunkReassembler reassembler = new ChunkReassembler(new ArrayDeque<>(), 1000);

    /** Chunk {@code index} of transfer {@code id}: 10 bytes each of a 25-byte payload whose byte i is i. */
    private BlockChunk.Decoder chunk(long id, int index) {
        int at = 10 * index;
        int length = Math.min(10, 25 - at);
        encoder.wrap(frame, 0, length).correlationId(id).sequenceId(1).blockId(2).layer(3).kvHead(4)
            .payloadKind(PayloadKind.VALUES).tokens(0, 5).chunk(index, 3, 25, at);
        for (int i = 0; i < length; i++) {
            frame.putByte(BlockChunk.HEADER_LENGTH + i, (byte) (at + i));
        }
        return decoder.wrap(frame, 0, encoder.encodedLength());
    }

    @Test
    void inOrderChunksCompleteWithTheExactPayload() {
        assertEquals(ChunkReassembler.ACCEPTED, reassembler.onChunk(chunk(7, 0)));
        assertEquals(ChunkReassembler.ACCEPTED, reassembler.onChunk(chunk(7, 1)));
        assertEquals(ChunkReassembler.COMPLETE, reassembler.onChunk(chunk(7, 2)));
        ChunkReassembler.Transfer transfer = reassembler.completed();
        assertEquals(25, transfer.totalLength);
        for (int i = 0; i < 25; i++) {
            assertEquals(i, transfer.buffer.getByte(i));
        }
        assertEquals(7, transfer.block.correlationId());
        assertEquals(PayloadKind.VALUES, transfer.block.kind());
        reassembler.release(transfer);
        assertEquals(0, reassembler.activeTransfers());
    }

    @Test
    void repeatedChunksAreDuplicatesEvenAfterTheTransferFinished() {
        reassembler.onChunk(chunk(7, 0));
        assertEquals(ChunkReassembler.DUPLICATE, reassembler.onChunk(chunk(7, 0)));
        reassembler.onChunk(chunk(7, 1));
        assertEquals(ChunkReassembler.COMPLETE, reassembler.onChunk(chunk(7, 2)));
        reassembler.release(reassembler.completed());
        assertEquals(ChunkReassembler.DUPLICATE, reassembler.onChunk(chunk(7, 2)));
        assertEquals(ChunkReassembler.DUPLICATE, reassembler.onChunk(chunk(7, 0)));
    }

    @Test
    void aSkippedChunkIsAGapThatDropsTheTransfer() {
        reassembler.onChunk(chunk(8, 0));
        assertEquals(ChunkReassembler.GAP, reassembler.onChunk(chunk(8, 2)));
        assertTrue(reassembler.problem().contains("expected chunk 1 of 3, got 2"), reassembler.problem());
        assertEquals(0, reassembler.activeTransfers());
        assertEquals(ChunkReassembler.GAP, reassembler.onChunk(chunk(9, 1)));
        assertTrue(reassembler.problem().contains("began at chunk 1"), reassembler.problem());
    }

    @Test
    void chunksThatDisagreeOrExceedTheLimitAreRejected() {
        reassembler.onChunk(chunk(10, 0));
        chunk(10, 1);
        frame.putInt(28, 99, magicpig.wire.MessageHeader.BYTE_ORDER); // another layer
        assertEquals(ChunkReassembler.REJECTED, reassembler.onChunk(decoder.wrap(frame, 0, encoder.encodedLength())));
        assertTrue(reassembler.problem().contains("disagrees"), reassembler.problem());

        var small = new ChunkReassembler(new ArrayDeque<>(), 20);
        assertEquals(ChunkReassembler.REJECTED, small.onChunk(chunk(11, 0)));
        assertTrue(small.problem().contains("exceeds the limit of 20"), small.problem());
    }

    @Test
    void interleavedTransfersReassembleIndependentlyAndReusePooledBuffers() {
        var pool = new ArrayDeque<ChunkReassembler.Transfer>();
        var chunks = new ChunkReassembler(pool, 1000);
        chunks.onChunk(chunk(20, 0));
        chunks.onChunk(chunk(21, 0));
        chunks.onChunk(chunk(20, 1));
        chunks.onChunk(chunk(21, 1));
        assertEquals(ChunkReassembler.COMPLETE, chunks.onChunk(chunk(20, 2)));
        var first = chunks.completed();
        chunks.release(first);
        assertEquals(ChunkReassembler.COMPLETE, chunks.onChunk(chunk(21, 2)));
        chunks.release(chunks.completed());
        assertEquals(2, pool.size());
        chunks.onChunk(chunk(22, 0));
        assertEquals(1, pool.size(), "a pooled transfer was reused");
    }
}
