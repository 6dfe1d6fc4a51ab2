package magicpig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import magicpig.transport.TestShards.CheckableShard;
import magicpig.wire.BlockChunk;
import magicpig.wire.ErrorMessage;
import magicpig.wire.Hello;
import magicpig.wire.MessageHeader;
import magicpig.wire.MessageType;
import magicpig.wire.PayloadKind;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A hand-made client that sends what a WorkerEndpoint never would: garbage, messages a shard does
 * not serve, chunk transfers with gaps and duplicates. The shard must answer each with a clear
 * Error and keep serving.
 */
class ShardProtocolErrorsTest {
    private AeronDataPlane plane;

    @AfterEach
    void close() {
        if (plane != null) {
            String directory = plane.aeronDirectoryName();
            plane.close();
            assertFalse(Files.exists(Path.of(directory)));
        }
    }

    private record Reply(int type, long correlationId, int code, String text) {}

    private final List<Reply> replies = new ArrayList<>();
    private final FragmentAssembler collector = new FragmentAssembler((buffer, offset, length, header) -> {
        int type = MessageHeader.type(buffer, offset, length);
        if (type == MessageType.ERROR) {
            var error = new ErrorMessage.Decoder().wrap(buffer, offset, length);
            replies.add(new Reply(type, error.correlationId(), error.code(), error.text()));
        } else {
            replies.add(new Reply(type, buffer.getLong(offset + 8, MessageHeader.BYTE_ORDER), 0, ""));
        }
    });

    private Reply next(Subscription subscription) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (replies.isEmpty() && System.nanoTime() < deadline) {
            if (subscription.poll(collector, 10) == 0) {
                Thread.onSpinWait();
            }
        }
        assertFalse(replies.isEmpty(), "no reply from the shard");
        return replies.removeFirst();
    }

    private static void offer(ExclusivePublication publication, DirectBuffer buffer, int length) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (publication.offer(buffer, 0, length) < 0) {
            assertTrue(System.nanoTime() < deadline, "could not offer");
            Thread.onSpinWait();
        }
    }

    private static int chunk(ExpandableArrayBuffer frame, long id, int index, int count) {
        var encoder = new BlockChunk.Encoder().wrap(frame, 0, 4);
        encoder.correlationId(id).sequenceId(1).blockId(2).layer(3).kvHead(0).payloadKind(PayloadKind.KEYS)
            .tokens(0, 1).chunk(index, count, 4 * count, 4 * index).payload(new UnsafeBuffer(new byte[4]), 0);
        return encoder.encodedLength();
    }

    @Test
    void badFramesGapsAndDuplicatesGetClearAnswers() {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults());
        var handler = new CheckableShard();
        ShardEndpoint shard = plane.newShard("strict", "aeron:ipc", 10, handler);
        plane.start(shard);
        Subscription responses = plane.aeron().addSubscription("aeron:ipc", 30);
        ExclusivePublication toShard = plane.aeron().addExclusivePublication("aeron:ipc", 10);
        var frame = new ExpandableArrayBuffer(256);

        int hello = new Hello.Encoder().encode(frame, 0, 1, 30, "raw", "aeron:ipc").encodedLength();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!toShard.isConnected() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        offer(toShard, frame, hello);
        assertEquals(new Reply(MessageType.HELLO, 1, 0, ""), next(responses));

        // A frame of another protocol.
        frame.putLong(0, 0x0102030405060708L);
        frame.putLong(8, 42L, MessageHeader.BYTE_ORDER);
        offer(toShard, frame, 16);
        Reply garbage = next(responses);
        assertEquals(ErrorMessage.MALFORMED, garbage.code());
        assertTrue(garbage.text().contains("not a MagicPIG data-plane frame"), garbage.text());

        // A message a shard does not serve.
        new Hello.Encoder().encode(frame, 0, 5, 0, "x", "");
        frame.putByte(2, (byte) MessageType.PARTIAL_STATES);
        offer(toShard, frame, Hello.FIXED_LENGTH + 1);
        Reply unsupported = next(responses);
        assertEquals(new Reply(MessageType.ERROR, 5, ErrorMessage.UNSUPPORTED,
            "shard 'strict' does not serve PartialStates messages"), unsupported);

        // Transfer 100: chunks 0, 0 again (duplicate), then 2 (gap).
        offer(toShard, frame, chunk(frame, 100, 0, 3));
        offer(toShard, frame, chunk(frame, 100, 0, 3));
        offer(toShard, frame, chunk(frame, 100, 2, 3));
        Reply gap = next(responses);
        assertEquals(new Reply(MessageType.ERROR, 100, ErrorMessage.TRANSFER_GAP, gap.text()), gap);
        assertTrue(gap.text().contains("expected chunk 1 of 3, got 2"), gap.text());

        // The shard still serves: transfer 101 completes and is acknowledged.
        offer(toShard, frame, chunk(frame, 101, 0, 2));
        offer(toShard, frame, chunk(frame, 101, 1, 2));
        assertEquals(new Reply(MessageType.BLOCK_ACK, 101, 0, ""), next(responses));
        assertEquals(8, handler.blocks.get(101L).length);

        TransportStats stats = shard.stats();
        assertEquals(1, stats.duplicateChunks());
        assertEquals(1, stats.chunkGaps());
        assertEquals(3, stats.errorReplies());
        assertEquals(1, stats.malformedMessages());
        toShard.close();
        responses.close();
    }
}
