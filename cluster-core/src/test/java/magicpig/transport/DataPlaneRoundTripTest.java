package magicpig.transport;

import static magicpig.transport.TestShards.freeUdpPort;
import static magicpig.transport.TestShards.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import magicpig.transport.TestShards.CheckableShard;
import magicpig.transport.TestShards.SentQuery;
import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Queries and replies between a worker and shards, over IPC and over UDP on the loopback. */
class DataPlaneRoundTripTest {
    private AeronDataPlane plane;

    @AfterEach
    void closeAndCheckNothingIsLeft() {
        if (plane != null) {
            String directory = plane.aeronDirectoryName();
            plane.close();
            assertFalse(Files.exists(Path.of(directory)), "Aeron directory left behind: " + directory);
            assertEquals(0, plane.errorCount(), "errors reported by the data plane");
        }
    }

    private static DataPlaneSettings settings() {
        return DataPlaneSettings.defaults().withConnectTimeout(Duration.ofSeconds(5)).withIdle(IdlePolicy.BACKOFF);
    }

    @Test
    void ipcQueriesToTwoShardsComeBackWithTheirBlockLists() {
        plane = AeronDataPlane.launchEmbedded(settings());
        var handler = new CheckableShard();
        plane.start(plane.newShard("shard-a", "aeron:ipc", 10, handler));
        plane.start(plane.newShard("shard-b", "aeron:ipc", 11, handler));
        WorkerEndpoint worker = plane.newWorker("worker-0", "aeron:ipc", 20);
        ShardLink a = worker.connect("aeron:ipc", 10);
        ShardLink b = worker.connect("aeron:ipc", 11);
        assertEquals("shard-a", a.name());
        assertEquals("shard-b", b.name());

        int[] blocks = {3, 4, 5, 100};
        for (int step = 0; step < 20; step++) {
            var sent = new SentQuery(step, 32, 128, 150, step % 4);
            AttentionQuery.Encoder query = sent.encode(worker, 7);
            long toA = worker.send(a, query, blocks, 0, 3);
            long toB = worker.send(b, query, blocks, 3, 1);
            Map<Long, String> seen = new HashMap<>();
            int replies = worker.awaitReplies((shard, reply) -> {
                seen.put(reply.correlationId(), shard.name());
                sent.check(reply, 7, shard == a ? 12 : 100);
            });
            assertEquals(2, replies);
            assertEquals(Map.of(toA, "shard-a", toB, "shard-b"), seen);
        }
        TransportStats stats = worker.stats();
        assertEquals(0, worker.pendingReplies());
        assertEquals(42, stats.messagesSent(), "2 hellos and 40 queries");
        assertEquals(42, stats.messagesReceived());
        assertTrue(stats.bytesSent() > 40 * 26_000, "bytes sent " + stats.bytesSent());
    }

    @Test
    void udpLoopbackQueryWithAllBlocks() {
        plane = AeronDataPlane.launchEmbedded(settings());
        int shardPort = freeUdpPort();
        int workerPort = freeUdpPort();
        ShardEndpoint shard = plane.newShard("udp-shard", udp(shardPort), 10, new CheckableShard());
        plane.start(shard);
        WorkerEndpoint worker = plane.newWorker("udp-worker", udp(workerPort), 20);
        ShardLink link = worker.connect(udp(shardPort), 10);
        assertEquals("udp-shard", link.name());
        for (int step = 0; step < 20; step++) {
            var sent = new SentQuery(100 + step, 32, 128, 150, 3);
            long correlationId = worker.send(link, sent.encode(worker, 99));
            long[] got = {0};
            assertEquals(1, worker.awaitReplies((s, reply) -> {
                got[0] = reply.correlationId();
                sent.check(reply, 99, -1);
                assertTrue(reply.computeNanos() > 0);
            }));
            assertEquals(correlationId, got[0]);
        }
        assertEquals(1, shard.connectedWorkers());
        assertEquals(21, shard.stats().messagesReceived());
        assertEquals(21, shard.stats().messagesSent());
    }

    @Test
    void aShardForgetsAWorkerThatClosedAndServesOneThatComesBack() throws Exception {
        plane = AeronDataPlane.launchEmbedded(settings());
        ShardEndpoint shard = plane.newShard("s", "aeron:ipc", 10, new CheckableShard());
        plane.start(shard);
        for (int round = 0; round < 2; round++) {
            WorkerEndpoint worker = plane.newWorker("w" + round, "aeron:ipc", 20 + round);
            ShardLink link = worker.connect("aeron:ipc", 10);
            assertEquals(1, shard.connectedWorkers());
            var sent = new SentQuery(round, 2, 8, 4, 0);
            worker.send(link, sent.encode(worker, 3));
            assertEquals(1, worker.awaitReplies((s, reply) -> sent.check(reply, 3, -1)));
            worker.close();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (shard.connectedWorkers() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, shard.connectedWorkers(), "the departed worker is dropped");
        }
    }

    @Test
    void aHandlerThatThrowsComesBackAsAShardErrorNamingTheShard() {
        plane = AeronDataPlane.launchEmbedded(settings());
        plane.start(plane.newShard("broken", "aeron:ipc", 10, (query, reply) -> {
            throw new IllegalStateException("no blocks for sequence " + query.sequenceId());
        }));
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        ShardLink link = worker.connect("aeron:ipc", 10);
        long correlationId = worker.send(link, new SentQuery(1, 2, 8, 4, 0).encode(worker, 55));
        var error = org.junit.jupiter.api.Assertions.assertThrows(ShardErrorException.class,
            () -> worker.awaitReplies((s, r) -> { }));
        assertEquals("broken", error.shard());
        assertEquals(correlationId, error.correlationId());
        assertTrue(error.getMessage().contains("HANDLER_FAILED")
            && error.getMessage().contains("no blocks for sequence 55"), error.getMessage());
        assertEquals(0, worker.pendingReplies());
        assertEquals(1, worker.stats().errorReplies());
    }

    @Test
    void steadyStateRoundTripsAllocateNothingOnEitherSide() throws Exception {
        plane = AeronDataPlane.launchEmbedded(settings().withIdle(IdlePolicy.YIELDING));
        var handler = new ShardHandler() {
            @Override
            public void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
                for (int h = 0; h < query.headCount(); h++) {
                    reply.state(h, query.query(h, 0), 1f, query.code(h, 1));
                }
            }
        };
        var runner = plane.start(plane.newShard("s", "aeron:ipc", 10, handler));
        WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 20);
        ShardLink link = worker.connect("aeron:ipc", 10);
        var sent = new SentQuery(5, 32, 128, 150, 1);
        float[] sink = new float[1];
        ReplyHandler merge = (shard, reply) -> sink[0] += reply.m(0);
        Runnable round = () -> {
            AttentionQuery.Encoder query = worker.newQuery(1, 1, 1, 32, 128, 10, 150);
            for (int h = 0; h < 32; h++) {
                query.kvHead(h, h / 4).query(h, sent.q, h * 128).codes(h, sent.codes, h * 150);
            }
            worker.send(link, query);
            worker.awaitReplies(merge);
        };
        for (int i = 0; i < 3_000; i++) {
            round.run();
        }
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long shardThread = runner.thread().threadId();
        long workerBefore = threads.getCurrentThreadAllocatedBytes();
        long shardBefore = threads.getThreadAllocatedBytes(shardThread);
        for (int i = 0; i < 500; i++) {
            round.run();
        }
        long workerAllocated = threads.getCurrentThreadAllocatedBytes() - workerBefore;
        long shardAllocated = threads.getThreadAllocatedBytes(shardThread) - shardBefore;
        assertTrue(workerAllocated < 2_000, "worker allocated " + workerAllocated + " bytes in 500 round trips");
        assertTrue(shardAllocated < 2_000, "shard allocated " + shardAllocated + " bytes in 500 round trips");
    }
}
