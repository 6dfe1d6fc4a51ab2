package magicpig.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import magicpig.attention.HeadSlice;
import magicpig.attention.InclusionProbability;
import magicpig.attention.LogWeights;
import magicpig.attention.LshBlock;
import magicpig.attention.MergedState;
import magicpig.attention.PartialState;
import magicpig.attention.SimHash;
import magicpig.attention.VectorMath;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.DataPlaneSettings;
import magicpig.transport.ReplyHandler;
import magicpig.transport.ShardAddress;
import magicpig.transport.ShardErrorException;
import magicpig.transport.ShardLink;
import magicpig.transport.WorkerEndpoint;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockParams;
import magicpig.wire.PartialStates;
import magicpig.wire.PayloadKind;
import org.agrona.concurrent.UnsafeBuffer;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An attention shard end to end in one JVM: its protocol (every message serialized as CBOR on the
 * way), a block shipped over Aeron IPC exactly as a worker ships one, a query answered with what
 * the in-process LSH block computes, and a release that frees everything.
 */
class AttentionShardTest {
    static final int D = 16, K = 6, L = 12, T = 2, N = 300;
    static final long SEED = 77;
    static ActorTestKit kit;
    AeronDataPlane plane;
    WorkerEndpoint worker;

    @BeforeAll
    static void startKit() {
        kit = ActorTestKit.create(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            pekko.actor.serialize-messages = on
            pekko.actor.serializers.jackson-cbor = "org.apache.pekko.serialization.jackson.JacksonCborSerializer"
            pekko.actor.serialization-bindings { "magicpig.wire.ClusterMessage" = jackson-cbor }
            """).withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopKit() {
        kit.shutdownTestKit();
    }

    @BeforeEach
    void startPlane() {
        plane = AeronDataPlane.launchEmbedded(DataPlaneSettings.defaults().withReplyTimeout(Duration.ofSeconds(2)));
        worker = plane.newWorker("w", "aeron:ipc", 2001);
    }

    @AfterEach
    void closePlane() {
        String dir = plane.aeronDirectoryName();
        plane.close();
        assertFalse(Files.exists(Path.of(dir)), "the driver's directory is gone");
    }

    /** Raw keys (offset so that centering matters) and values of N tokens, head dim D, as floats. */
    static float[][] block(long seed) {
        Random r = new Random(seed);
        float[] k = new float[N * D], v = new float[N * D];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian() + (i % 3 == 0 ? 0.7f : 0);
            v[i] = (float) r.nextGaussian();
        }
        float[] c = new float[D];
        for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) c[j] += k[i * D + j] / N;
        return new float[][] {k, v, c};
    }

    static UnsafeBuffer wire(float[] x) {
        UnsafeBuffer b = new UnsafeBuffer(new byte[4 * x.length]);
        for (int i = 0; i < x.length; i++) b.putFloat(4 * i, x[i], ByteOrder.LITTLE_ENDIAN);
        return b;
    }

    /** Ships one block (1 layer, 1 kv head) the way a worker does, and waits for the acks. */
    void ship(ShardLink link, long seq, int blockId, float[][] kvc) {
        UnsafeBuffer params = new UnsafeBuffer(new byte[BlockParams.LENGTH]);
        new BlockParams(SEED, K, L, T, D, 1, 1).write(params, 0);
        worker.sendBlock(link, seq, blockId, 0, 0, PayloadKind.BLOCK_PARAMS, 4, N, params, 0, BlockParams.LENGTH);
        worker.sendBlock(link, seq, blockId, 0, 0, PayloadKind.KEYS, 4, N, wire(kvc[0]), 0, 4 * N * D);
        worker.sendBlock(link, seq, blockId, 0, 0, PayloadKind.VALUES, 4, N, wire(kvc[1]), 0, 4 * N * D);
        worker.sendBlock(link, seq, blockId, 0, 0, PayloadKind.CENTERING_MEAN, 4, N, wire(kvc[2]), 0, 4 * D);
        worker.awaitReplies((s, r) -> { throw new AssertionError("no query was sent"); });
    }

    ActorRef<AttentionShard.Command> spawn(String name, int stream, long budget) {
        ShardAddress address = ShardServer.address(plane, name, "test", null, stream);
        return kit.spawn(AttentionShard.create(plane, address, budget), name);
    }

    AttentionShard.ShardStats stats(ActorRef<AttentionShard.Command> shard) {
        TestProbe<AttentionShard.ShardStats> probe = kit.createTestProbe();
        shard.tell(new AttentionShard.GetStats(probe.getRef()));
        return probe.receiveMessage();
    }

    @Test
    void reservesAnswersQueriesLikeTheInProcessBlockAndReleasesEverything() {
        long bytes = ShardStore.headBytes(N, D, K, L);
        ActorRef<AttentionShard.Command> shard = spawn("a0", 1101, bytes * 3 / 2);
        TestProbe<Receptionist.Listing> listing = kit.createTestProbe();
        listing.awaitAssert(Duration.ofSeconds(3), () -> {
            kit.system().receptionist().tell(Receptionist.find(AttentionShard.KEY, listing.getRef()));
            assertTrue(listing.receiveMessage().getServiceInstances(AttentionShard.KEY).contains(shard), "registered with the receptionist");
            return null;
        });

        TestProbe<AttentionShard.ReserveReply> reply = kit.createTestProbe();
        shard.tell(new AttentionShard.Reserve(1, 0, bytes, reply.getRef()));
        var reserved = assertInstanceOf(AttentionShard.Reserved.class, reply.receiveMessage());
        assertEquals("a0", reserved.shard().shardName());
        shard.tell(new AttentionShard.Reserve(2, 0, bytes, reply.getRef()));
        var refused = assertInstanceOf(AttentionShard.Refused.class, reply.receiveMessage());
        assertTrue(refused.reason().startsWith("shard a0: block of "), refused.reason());
        assertTrue(refused.reason().contains(" exceeds the free "), refused.reason());

        // the worker ships the reserved block over Aeron; it fits the reservation
        ShardLink link = worker.connect(reserved.shard().channelFor(worker.aeronDirectoryName()), reserved.shard().streamId());
        float[][] kvc = block(5);
        ship(link, 1, 0, kvc);
        var s = stats(shard);
        assertEquals(1, s.blocks());
        assertEquals(1, s.sequences());
        assertEquals(bytes, s.usedBytes());
        assertEquals(0, s.reservedBytes());

        // a query: two heads of kv head 0, codes from the projection rebuilt from the seed
        SimHash hash = SimHash.forHead(SEED, 0, 0, D, K, L);
        Random r = new Random(9);
        float[] q = new float[2 * D];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian() * 2;
        char[] codes = new char[2 * L];
        long[] bits = new long[hash.bitWords()];
        var query = worker.newQuery(1, 0, 400, 2, D, K, L);
        for (int h = 0; h < 2; h++) {
            hash.codes(q, h * D, bits, codes, h * L, 1);
            query.kvHead(h, 0).query(h, q, h * D).codes(h, codes, h * L);
        }
        worker.send(link, query, new int[] {0}, 0, 1);
        MergedState[] got = {new MergedState(D), new MergedState(D)};
        double[] o = new double[D];
        worker.awaitReplies((ReplyHandler) (from, states) -> {
            for (int h = 0; h < 2; h++) {
                states.getO(h, o, 0);
                got[h].mergeNormalised(states.m(h), states.l(h), o, 0, states.nnz(h));
            }
        });
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment keys = arena.allocate(4L * N * D), values = arena.allocate(4L * N * D);
            MemorySegment.copy(kvc[0], 0, keys, ValueLayout.JAVA_FLOAT, 0, N * D);
            MemorySegment.copy(kvc[1], 0, values, ValueLayout.JAVA_FLOAT, 0, N * D);
            HeadSlice slice = new HeadSlice(keys, values, 0, 0, 4L * D);
            LshBlock local = LshBlock.build(slice, D, 0, N, kvc[2], hash, arena);
            var weights = new LogWeights(new InclusionProbability(K, L, T));
            for (int h = 0; h < 2; h++) {
                PartialState want = new PartialState(D);
                char[] hc = java.util.Arrays.copyOfRange(codes, h * L, (h + 1) * L);
                local.attend(q, h * D, VectorMath.norm(q, h * D, D), hc, 0, weights, T, new LshBlock.SampleScratch(), want);
                assertTrue(want.nnz() > 0 && want.nnz() < N, "some keys sampled: " + want.nnz());
                assertEquals(want.nnz(), got[h].nnz());
                assertEquals(want.m(), got[h].m());
                assertEquals(want.l(), got[h].l(), 1e-6 * want.l());
                for (int i = 0; i < D; i++) assertEquals(want.o(i), got[h].o(i), 1e-6);
            }
        }
        assertEquals(1, stats(shard).queries());

        // release: everything of the sequence goes, within a second
        TestProbe<AttentionShard.Released> released = kit.createTestProbe();
        shard.tell(new AttentionShard.Release(1, released.getRef()));
        assertEquals(bytes, released.receiveMessage(Duration.ofSeconds(1)).freedBytes());
        s = stats(shard);
        assertEquals(0, s.usedBytes());
        assertEquals(0, s.blocks());
        assertEquals(0, s.sequences());
        var e = assertThrows(ShardErrorException.class, () -> {
            worker.send(link, worker.newQuery(1, 0, 401, 1, D, K, L).kvHead(0, 0).query(0, q, 0).codes(0, codes, 0), new int[] {0}, 0, 1);
            worker.awaitReplies((ReplyHandler) (from, states) -> { });
        });
        assertTrue(e.getMessage().contains("holds no blocks of sequence 1"), e.getMessage());
        kit.stop(shard);
    }

    @Test
    void aBlockBeyondTheBudgetIsRefusedOverTheDataPlaneWithTheReason() {
        ActorRef<AttentionShard.Command> shard = spawn("a1", 1102, ShardStore.headBytes(N, D, K, L) - 1);
        ShardLink link = worker.connect("aeron:ipc", 1102);
        var e = assertThrows(ShardErrorException.class, () -> ship(link, 3, 0, block(6)));
        assertTrue(e.getMessage().contains("shard a1: 48.8 KiB more for block 0 of sequence 3 (48.8 KiB in all) exceeds the free 48.8 KiB of its 48.8 KiB budget"), e.getMessage());
        assertEquals(0, stats(shard).usedBytes(), "nothing of the refused head is kept");
        kit.stop(shard);
    }
}
