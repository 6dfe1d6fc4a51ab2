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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
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
import org.junit.jupiter.api.Test;

/**
 * Attention shards in their own JVMs, over UDP on 127.0.0.1. One shard's budget (3 MiB) holds less
 * than one sequence's offloaded KV (about 4.4 MB), so every sequence spans hosts. The test checks
 * parity with in-process MagicPIG, that a third host raises how many long sequences are held at
 * once, and that killing a shard's JVM in the middle of a generation loses no request.
 */
class MultiJvmShardTest {
    static final String ATTENTION = "magicpig.attention { mode = magicpig, lsh-k = 6, lsh-l = 40, dense-layers = none, block-tokens = 200 }";

    @Test
    void sequencesSpanShardHostsScaleOutAndSurviveAShardDeath() throws Exception {
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]";
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "\npekko.remote.artery.canonical.port = " + seedPort
                + "\nmagicpig.roles = [gateway, gpu-worker]\nmagicpig.model = \"synthetic:tiny\"\nmagicpig.http.port = 0\n" + ATTENTION));
             NodeProcess a = shardNode(seed);
             NodeProcess b = shardNode(seed)) {
            awaitShards(gateway, 2);
            int[] prompt = prompt(700, 0);
            AttentionSettings settings = PlacementPolicy.defaults(ConfigFactory.parseString(ATTENTION)
                    .withFallback(ConfigFactory.parseResources(ClusterNode.DEFAULTS)).resolve().getConfig("magicpig"));
            int[] expected = Generation.run(gateway.model(), prompt, 10, SamplingSettings.GREEDY, settings.factory(), t -> true).tokens();
            List<Integer> got = new ArrayList<>();
            SequenceEvent last = gateway.client().generate(new GenerationRequest("span-1", prompt, 10, SamplingSettings.GREEDY, Map.of()), e -> {
                if (e instanceof SequenceEvent.Token t) got.add(t.token());
            }).done().toCompletableFuture().get(120, TimeUnit.SECONDS);
            assertInstanceOf(SequenceEvent.Finished.class, last, String.valueOf(last));
            assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray(), "cluster MagicPIG over two shard hosts = in-process");

            // Scale-out: how many long sequences are held at once with two shard hosts, then three.
            int withTwo = heldAtOnce(gateway, "two", 3);
            try (NodeProcess c = shardNode(seed)) {
                awaitShards(gateway, 3);
                int withThree = heldAtOnce(gateway, "three", 3);
                System.err.printf("long sequences held at once: %d with two shard hosts, %d with three%n", withTwo, withThree);
                assertTrue(withThree > withTwo, "a third host must hold more sequences: " + withTwo + " -> " + withThree);

                // Kill a shard host in the middle of a generation: the request still completes.
                CountDownLatch flowing = new CountDownLatch(5);
                List<Integer> tokens = new ArrayList<>(), indices = new ArrayList<>();
                var h = gateway.client().generate(new GenerationRequest("survivor", prompt(700, 9), 200, SamplingSettings.GREEDY, Map.of()), e -> {
                    if (e instanceof SequenceEvent.Token t) {
                        tokens.add(t.token());
                        indices.add(t.index());
                        flowing.countDown();
                    }
                });
                assertTrue(flowing.await(120, TimeUnit.SECONDS), "tokens flow before the kill");
                long t0 = System.nanoTime();
                int before = tokens.size();
                c.kill();
                SequenceEvent end = h.done().toCompletableFuture().get(180, TimeUnit.SECONDS);
                SequenceEvent.Finished finished = assertInstanceOf(SequenceEvent.Finished.class, end, String.valueOf(end));
                for (int i = 0; i < indices.size(); i++) assertEquals(i, indices.get(i), "token " + i + ": no gap and no duplicate");
                assertEquals(tokens.size(), finished.completionTokens(), "the end counts every token sent");
                // The rebuilt sequence reads its generated tokens as prompt, so its sampling can differ
                // from here on (MagicPIG samples the offloaded keys), and a random-weight model may then
                // pick its end-of-text token: "stop" is an honest end, anything else must be all 200.
                if (!finished.reason().equals("stop")) assertEquals(200, tokens.size(), "every token (" + finished.reason() + ")");
                System.err.printf("shard host killed after %d tokens; the sequence completed %.1f s later with %d tokens, %s, none missing%n",
                        before, (System.nanoTime() - t0) / 1e9, tokens.size(), finished.reason());
            }
        }
    }

    static NodeProcess shardNode(String seed) throws Exception {
        return NodeProcess.start(seed, "pekko.remote.artery.canonical.port = 0", "magicpig.roles = [cpu-attention]",
                "magicpig.shard.count = 1", "magicpig.shard.memory-budget = 3MiB", "magicpig.http.port = 0");
    }

    static int[] prompt(int n, int salt) {
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) p[i] = 3 + (i * 7919 + salt * 131) % 500;
        return p;
    }

    /**
     * Starts n long sequences one after another, each once the one before holds its blocks or was
     * refused, so that they do not compete for reservations (started together, each could reserve
     * part of the room and be refused the rest); counts those that got their blocks placed while the
     * earlier ones still run, then cancels all.
     */
    static int heldAtOnce(ClusterNode gateway, String tag, int n) throws Exception {
        awaitEmptyShards(gateway); // what ran before holds nothing any more
        List<SequenceClient.Handle> handles = new ArrayList<>();
        int held = 0;
        for (int i = 0; i < n; i++) {
            CompletableFuture<Boolean> ok = new CompletableFuture<>();
            handles.add(gateway.client().generate(new GenerationRequest("held-" + tag + "-" + i, prompt(700, i + 1), 100_000,
                    SamplingSettings.GREEDY, Map.of()), e -> {
                        if (e instanceof SequenceEvent.Token) ok.complete(true);
                        if (e instanceof SequenceEvent.Failed f) {
                            assertTrue(f.error().contains("not enough attention capacity"), f.error());
                            ok.complete(false);
                        }
                    }));
            if (ok.get(120, TimeUnit.SECONDS)) held++;
        }
        for (var h : handles) h.cancel().run();
        awaitEmptyShards(gateway);
        return held;
    }

    /**
     * Waits until every shard holds and reserves nothing. Blocks are released asynchronously, and a
     * round started before that finds less room. (One CI run read 1 sequence held with two hosts and
     * 1 with three, when a fixed 1.5 s sleep stood here and the sequences were started together.)
     */
    static void awaitEmptyShards(ClusterNode gateway) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean empty = true;
            String state = "";
            for (var shard : MultiJvmParityTest.shards(gateway)) {
                AttentionShard.ShardStats s = AskPattern.<AttentionShard.Command, AttentionShard.ShardStats>ask(shard, AttentionShard.GetStats::new,
                        Duration.ofSeconds(10), gateway.system().scheduler()).toCompletableFuture().get();
                empty &= s.usedBytes() == 0 && s.reservedBytes() == 0 && s.sequences() == 0;
                state += " " + s.name() + ": " + s.usedBytes() + " used, " + s.reservedBytes() + " reserved, " + s.sequences() + " sequences;";
            }
            if (empty) return;
            if (System.nanoTime() > deadline) throw new AssertionError("the shards still hold cancelled sequences after 60 s:" + state);
            Thread.sleep(100);
        }
    }

    static void awaitShards(ClusterNode node, int expected) throws Exception {
        for (int i = 0; i < 600; i++) {
            Receptionist.Listing l = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(node.system().receptionist(),
                    r -> Receptionist.find(AttentionShard.KEY, r), Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get();
            if (l.getServiceInstances(AttentionShard.KEY).size() >= expected) return;
            Thread.sleep(100);
        }
        throw new AssertionError("fewer than " + expected + " attention shards joined");
    }
}
