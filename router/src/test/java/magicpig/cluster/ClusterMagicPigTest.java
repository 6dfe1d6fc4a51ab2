package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import magicpig.attention.AttentionSettings;
import magicpig.model.Generation;
import magicpig.sampling.SamplingSettings;
import magicpig.shard.AttentionShard;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * MagicPIG through the cluster in one JVM: the prompt's offloaded tokens are placed as several KV
 * blocks over two attention shards, shipped over Aeron at prefill, and sampled there at every step.
 */
class ClusterMagicPigTest {
    static final String SETTINGS = """
            pekko.remote.artery.canonical.port = 0
            magicpig.http.port = 0
            magicpig.model = "synthetic:tiny"
            magicpig.shard.count = 2
            magicpig.attention { mode = magicpig, lsh-k = 6, lsh-l = 40, dense-layers = none, block-tokens = 200 }
            """;
    static ClusterNode node;

    @BeforeAll
    static void start() throws Exception {
        node = ClusterNode.start(ConfigFactory.parseString(SETTINGS));
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) node.close();
    }

    @Test
    void clusterMagicPigMatchesInProcessMagicPigAndFreesItsBlocks() throws Exception {
        int[] prompt = new int[700];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + (i * 7919) % 500;
        AttentionSettings settings = PlacementPolicy.defaults(ConfigFactory.parseString(SETTINGS)
                .withFallback(ConfigFactory.parseResources(ClusterNode.DEFAULTS)).resolve().getConfig("magicpig"));
        int[] expected = Generation.run(node.model(), prompt, 12, SamplingSettings.GREEDY, settings.factory(), t -> true).tokens();

        List<ActorRef<AttentionShard.Command>> shards = shards(2);
        List<Integer> got = new ArrayList<>();
        SequenceEvent last = null;
        for (int attempt = 0; attempt < 30; attempt++) { // the worker registers shortly after start
            got.clear();
            var h = node.client().generate(new GenerationRequest("mp-" + attempt, prompt, 12, SamplingSettings.GREEDY, Map.of()), e -> {
                if (e instanceof SequenceEvent.Token t) got.add(t.token());
            });
            last = h.done().toCompletableFuture().get(120, TimeUnit.SECONDS);
            if (last instanceof SequenceEvent.Finished) break;
            Thread.sleep(500);
        }
        assertInstanceOf(SequenceEvent.Finished.class, last, String.valueOf(last));
        assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray());

        // Both shards served queries, and every block is freed once the sequence ended.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        List<AttentionShard.ShardStats> stats;
        do {
            Thread.sleep(100);
            stats = stats(shards);
        } while (stats.stream().anyMatch(s -> s.usedBytes() > 0) && System.nanoTime() < deadline);
        for (AttentionShard.ShardStats s : stats) {
            assertTrue(s.queries() > 0, s.name() + " answered no query: the blocks should span both shards");
            assertEquals(0, s.usedBytes(), s.name() + " still holds the finished sequence's blocks");
            assertEquals(0, s.blocks(), s.name());
        }
    }

    /** A client that goes away in the middle of a generation frees the sequence's KV blocks on every shard within a second. */
    @Test
    void cancellingFreesTheBlocksOnEveryShardWithinASecond() throws Exception {
        List<ActorRef<AttentionShard.Command>> shards = shards(2);
        int[] prompt = new int[700];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + (i * 31) % 500;
        java.util.concurrent.CountDownLatch flowing = new java.util.concurrent.CountDownLatch(3);
        SequenceClient.Handle h = null;
        for (int attempt = 0; attempt < 30 && flowing.getCount() > 0; attempt++) {
            h = node.client().generate(new GenerationRequest("cancel-" + attempt, prompt, 100_000, SamplingSettings.GREEDY, Map.of()), e -> {
                if (e instanceof SequenceEvent.Token) flowing.countDown();
            });
            if (flowing.await(60, TimeUnit.SECONDS)) break;
        }
        assertEquals(0, flowing.getCount(), "tokens flow");
        assertTrue(stats(shards).stream().mapToLong(AttentionShard.ShardStats::usedBytes).sum() > 0, "the running sequence holds blocks");
        long t0 = System.nanoTime();
        h.cancel().run();
        List<AttentionShard.ShardStats> stats;
        do {
            Thread.sleep(20);
            stats = stats(shards);
        } while (stats.stream().anyMatch(s -> s.usedBytes() > 0) && System.nanoTime() - t0 < Duration.ofSeconds(1).toNanos());
        double ms = (System.nanoTime() - t0) / 1e6;
        for (AttentionShard.ShardStats s : stats) assertEquals(0, s.usedBytes(), s.name() + " still holds blocks " + ms + " ms after the cancel");
        System.err.printf("cancel: every shard freed the sequence's blocks %.0f ms after the client went away%n", ms);
    }

    static List<ActorRef<AttentionShard.Command>> shards(int expected) throws Exception {
        for (int i = 0; i < 100; i++) {
            Receptionist.Listing l = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(node.system().receptionist(),
                    r -> Receptionist.find(AttentionShard.KEY, r), Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get();
            if (l.getServiceInstances(AttentionShard.KEY).size() >= expected) return new ArrayList<>(l.getServiceInstances(AttentionShard.KEY));
            Thread.sleep(100);
        }
        throw new AssertionError("fewer than " + expected + " attention shards registered");
    }

    static List<AttentionShard.ShardStats> stats(List<ActorRef<AttentionShard.Command>> shards) throws Exception {
        List<AttentionShard.ShardStats> out = new ArrayList<>();
        for (var s : shards) {
            out.add(AskPattern.<AttentionShard.Command, AttentionShard.ShardStats>ask(s, AttentionShard.GetStats::new, Duration.ofSeconds(5),
                    node.system().scheduler()).toCompletableFuture().get());
        }
        return out;
    }
}
