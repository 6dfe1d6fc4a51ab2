package magicpig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import magicpig.transport.TestShards.CheckableShard;
import magicpig.transport.TestShards.SentQuery;
import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A slow shard back-pressures its workers; a silent one times out with its name in the error. */
class BackPressureAndTimeoutTest {
    private AeronDataPlane plane;

    @AfterEach
    void close() {
        if (plane != null) {
            String directory = plane.aeronDirectoryName();
            plane.close();
            assertFalse(Files.exists(Path.of(directory)));
        }
    }

    /** A shard that blocks in its first query until released, then answers like CheckableShard. */
    private static final class StalledShard extends CheckableShard {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            super.onQuery(query, reply);
        }
    }

    @Test
    void aStalledSubscriberBackPressuresUntilTheOfferDeadlineThenEverythingAcceptedIsAnswered() throws Exception {
        // 64 KiB terms: the publication may run at most half a term (32 KiB) ahead of the shard.
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults().withTermLength(64 * 1024)
            .withOfferTimeout(Duration.ofMillis(200)));
        var shard = new StalledShard();
        plane.start(plane.newShard("slow", "aeron:ipc", 10, shard));
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        ShardLink link = worker.connect("aeron:ipc", 10);

        var sent = new SentQuery(9, 4, 16, 8, 2);
        worker.send(link, sent.encode(worker, 1));
        assertTrue(shard.entered.await(5, TimeUnit.SECONDS));
        int accepted = 1;
        DataPlaneException refused = null;
        while (refused == null && accepted < 10_000) {
            try {
                worker.send(link, sent.encode(worker, 1));
                accepted++;
            } catch (DataPlaneException e) {
                refused = e;
            }
        }
        assertTrue(refused != null, "the offers never stopped");
        assertTrue(refused.getMessage().contains("still BACK_PRESSURED after 200 ms")
            && refused.getMessage().contains("shard 'slow' (aeron:ipc stream 10)"), refused.getMessage());
        TransportStats stats = worker.stats();
        assertTrue(stats.backPressureEvents() > 0);
        assertEquals(1, stats.offerFailures());
        assertEquals(accepted, worker.pendingReplies(), "the refused offer is not pending");
        assertTrue(accepted > 10 && accepted < 200, "queries accepted before back-pressure: " + accepted);

        shard.release.countDown();
        int[] replies = {0};
        worker.awaitReplies((s, reply) -> {
            sent.check(reply, 1, -1);
            replies[0]++;
        }, TimeUnit.SECONDS.toNanos(5));
        assertEquals(accepted, replies[0]);
    }

    @Test
    void aShardThatDoesNotAnswerTimesOutWithItsNameAndTheLateReplyIsStale() throws Exception {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults());
        var stalled = new StalledShard();
        plane.start(plane.newShard("silent", "aeron:ipc", 10, stalled));
        plane.start(plane.newShard("prompt", "aeron:ipc", 11, new CheckableShard()));
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        ShardLink silent = worker.connect("aeron:ipc", 10);
        ShardLink prompt = worker.connect("aeron:ipc", 11);
        var sent = new SentQuery(3, 4, 16, 8, 0);
        AttentionQuery.Encoder query = sent.encode(worker, 8);
        long toSilent = worker.send(silent, query);
        worker.send(prompt, query);

        int[] delivered = {0};
        long start = System.nanoTime();
        var timeout = assertThrows(ShardTimeoutException.class,
            () -> worker.awaitReplies((s, reply) -> delivered[0]++, TimeUnit.MILLISECONDS.toNanos(150)));
        long waitedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waitedMs >= 150 && waitedMs < 2_000, "waited " + waitedMs + " ms");
        assertEquals(1, delivered[0], "the prompt shard's reply was delivered");
        assertEquals(List.of("silent"), timeout.shards());
        assertEquals("no reply within 150 ms from shard 'silent' (aeron:ipc stream 10) for correlation ids ["
            + toSilent + "]", timeout.getMessage());
        assertEquals(0, worker.pendingReplies());
        assertEquals(1, worker.stats().timeouts());

        stalled.release.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (worker.stats().staleReplies() == 0 && System.nanoTime() < deadline) {
            assertEquals(0, worker.poll((s, reply) -> delivered[0]++));
            Thread.onSpinWait();
        }
        assertEquals(1, worker.stats().staleReplies());
        assertEquals(1, delivered[0]);
    }

    @Test
    void connectingWhereNoShardListensFailsNamingTheChannel() {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults().withConnectTimeout(Duration.ofMillis(200)));
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        var error = assertThrows(DataPlaneException.class, () -> worker.connect("aeron:ipc", 77));
        assertEquals("no shard is listening on aeron:ipc stream 77: not connected after 200 ms", error.getMessage());
        assertEquals(1, worker.stats().timeouts());
    }

    @Test
    void sendingToAShardThatWentAwayIsNotConnected() throws Exception {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults());
        ShardEndpoint shard = plane.newShard("gone", "aeron:ipc", 10, new CheckableShard());
        var runner = plane.start(shard);
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        ShardLink link = worker.connect("aeron:ipc", 10);
        runner.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (link.isConnected() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        var error = assertThrows(DataPlaneException.class,
            () -> worker.send(link, new SentQuery(1, 1, 4, 2, 0).encode(worker, 1)));
        assertTrue(error.getMessage().startsWith("offer to shard 'gone' (aeron:ipc stream 10) failed: NOT_CONNECTED"),
            error.getMessage());
        assertEquals(0, worker.pendingReplies());
    }
}
