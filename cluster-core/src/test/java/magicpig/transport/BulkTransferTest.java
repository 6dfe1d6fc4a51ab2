package magicpig.transport;

import static magicpig.transport.TestShards.freeUdpPort;
import static magicpig.transport.TestShards.udp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import magicpig.transport.TestShards.CheckableShard;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockAck;
import magicpig.wire.MessageType;
import magicpig.wire.PayloadKind;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Prefill's bulk path: several MB in chunks, reassembled exactly, acknowledged, then freed. */
class BulkTransferTest {
    private AeronDataPlane plane;

    @AfterEach
    void close() {
        if (plane != null) {
            String directory = plane.aeronDirectoryName();
            plane.close();
            assertFalse(Files.exists(Path.of(directory)));
            assertEquals(0, plane.errorCount());
        }
    }

    private static byte[] randomBytes(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private void transferAndCheck(String shardChannel, String workerChannel, int expectedChunkBytes) {
        var handler = new CheckableShard();
        ShardEndpoint shard = plane.newShard("bulk", shardChannel, 10, handler);
        plane.start(shard);
        WorkerEndpoint worker = plane.newWorker("w", workerChannel, 20);
        ShardLink link = worker.connect(shardChannel, 10);
        int chunkBytes = worker.chunkPayloadBytes(link);
        assertEquals(expectedChunkBytes, chunkBytes);

        // 6 MiB of keys + 1 MiB + 3 bytes of codes (a short last chunk) + an empty payload.
        byte[] keys = randomBytes(1, 6 << 20);
        byte[] codes = randomBytes(2, (1 << 20) + 3);
        long keysId = worker.sendBlock(link, 5, 2, 7, 3, PayloadKind.KEYS, 4, 1 << 14, new UnsafeBuffer(keys), 0,
            keys.length);
        long codesId = worker.sendBlock(link, 5, 2, 7, 3, PayloadKind.CODES, 4, 1 << 14, new UnsafeBuffer(codes), 0,
            codes.length);
        long emptyId = worker.sendBlock(link, 5, 2, 7, 3, PayloadKind.CENTERING_MEAN, 4, 0, new UnsafeBuffer(new byte[0]),
            0, 0);
        List<String> acks = new ArrayList<>();
        worker.awaitReplies(new ReplyHandler() {
            @Override
            public void onPartialStates(ShardLink s, magicpig.wire.PartialStates.Decoder reply) {
                throw new AssertionError("no query was sent");
            }

            @Override
            public void onBlockAck(ShardLink s, BlockAck.Decoder ack) {
                assertEquals(MessageType.BLOCK_CHUNK, ack.ackedType());
                assertEquals(5, ack.sequenceId());
                assertEquals(2, ack.blockId());
                assertEquals(7, ack.layer());
                assertEquals(3, ack.kvHead());
                acks.add(ack.correlationId() + ":" + ack.payloadKind() + ":" + ack.chunkCount() + ":" + ack.bytes());
            }
        });
        int keyChunks = (keys.length + chunkBytes - 1) / chunkBytes;
        int codeChunks = (codes.length + chunkBytes - 1) / chunkBytes;
        assertEquals(List.of(keysId + ":KEYS:" + keyChunks + ":" + keys.length,
            codesId + ":CODES:" + codeChunks + ":" + codes.length,
            emptyId + ":CENTERING_MEAN:1:0"), acks);
        assertArrayEquals(keys, handler.blocks.get(keysId));
        assertArrayEquals(codes, handler.blocks.get(codesId));
        assertEquals(0, handler.blocks.get(emptyId).length);

        // Free one block, then the whole sequence.
        worker.freeBlocks(link, 5, 2);
        worker.freeBlocks(link, 5, AttentionQuery.ALL_BLOCKS);
        List<Long> freedBytes = new ArrayList<>();
        worker.awaitReplies(new ReplyHandler() {
            @Override
            public void onPartialStates(ShardLink s, magicpig.wire.PartialStates.Decoder reply) {
            }

            @Override
            public void onBlockAck(ShardLink s, BlockAck.Decoder ack) {
                assertEquals(MessageType.BLOCK_FREE, ack.ackedType());
                freedBytes.add(ack.bytes());
            }
        });
        assertEquals(List.of(1234L, 1234L), freedBytes);
        assertEquals(List.of("5/2", "5/-1"), List.copyOf(handler.freed));
        TransportStats stats = shard.stats();
        assertEquals(0, stats.duplicateChunks());
        assertEquals(0, stats.chunkGaps());
        assertEquals(1 + keyChunks + codeChunks + 1 + 2, stats.messagesReceived());
    }

    @Test
    void ipcTransferInOneFrameChunks() {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults());
        // The default IPC MTU 65,504 less Aeron's 32-byte frame header and the 64-byte chunk header.
        transferAndCheck("aeron:ipc", "aeron:ipc", 65_504 - 32 - 64);
    }

    @Test
    void udpTransferInLargeChunksCappedByTheMaxMessageLength() {
        // A 1 MiB term allows 128 KiB messages: 256 KiB chunks are capped to fit.
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults().withTermLength(1 << 20)
            .withChunkPayloadBytes(256 * 1024));
        transferAndCheck(udp(freeUdpPort()), udp(freeUdpPort()), (128 * 1024) - 64);
    }

    @Test
    void ipcTransferWithAeronsDefaultMtu() {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults().withIpcMtuLength(0));
        // Aeron's default MTU 1,408: about 4,700 chunks for the 6 MiB.
        transferAndCheck("aeron:ipc", "aeron:ipc", 1408 - 32 - 64);
    }
}
