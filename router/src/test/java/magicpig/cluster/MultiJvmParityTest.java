package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import magicpig.attention.AttentionSettings;
import magicpig.attention.MagicPigAttention;
import magicpig.model.Generation;
import magicpig.model.Model;
import magicpig.sampling.SamplingSettings;
import magicpig.shard.AttentionShard;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.Test;

/**
 * Parity (issue 4): the same greedy request gives the same tokens in process and through the
 * cluster, with one and then three {@code cpu-attention} nodes in their own JVMs (UDP on
 * 127.0.0.1), on the shared {@code stories260K.bin} and on {@code synthetic:tiny}; and the logits
 * of every step agree within 1e-3 relative.
 *
 * <p><b>In process</b> is what {@code generate --attention magicpig ...} runs: {@link Generation#run}
 * with the {@link AttentionSettings} its flags make. <b>Through the cluster</b>: a gateway and
 * transformer worker in this JVM, serving the same model object, configured with the same values
 * as {@code magicpig.attention} keys; the request asks the worker for each step's logits
 * ({@link GenerationRequest#withLogits()}). Blocks are small (64 or 128 tokens), so the prompt's
 * offloaded tokens make five blocks, spread over all three shard hosts; max-static is small, so
 * generated tokens spill out of the exact window in both paths during the run.
 *
 * <p><b>Logit agreement</b>, per step: {@code max_i |cluster_i - inProcess_i| / max_i |inProcess_i|}
 * (the largest difference over the vocabulary, relative to the largest logit in magnitude), at most
 * 1e-3. LSH codes are not continuous in the query, so a difference in the last bits of an
 * attention output can change which keys a later layer or step samples, and the logits then
 * differ by 1e-2 (a CI run saw this). Two sources of such differences are closed:
 * <ul>
 *   <li>the order of the exact merge (per block, per shard, replies as they arrive): partial
 *       states merge in double ({@link magicpig.attention.MergedState}), so that order does not
 *       show in the float output;</li>
 *   <li>the JIT: compiled vector sums run in another order than interpreted ones. Every path is
 *       warmed before it is compared: the cluster for each shard layout (the two new
 *       shard JVMs included) and the in-process run, each until two runs in a row agree bit for
 *       bit.</li>
 * </ul>
 * The check prints how many steps agree bit for bit (all of them, as measured).
 */
class MultiJvmParityTest {
    static final double TOLERANCE = 1e-3;

    @Test
    void storiesModelGivesTheSameTokensAndLogitsWithOneAndThreeShardHosts() throws Exception {
        Path model = Path.of(System.getProperty("magicpig.shared", Path.of("..", "shared").toString()), "models", "stories260K.bin");
        assumeTrue(Files.isRegularFile(model), "skipped: shared model " + model + " is absent (the shared folder is not beside this checkout)");
        Map<String, String> flags = flags("lsh-k", "6", "lsh-l", "40", "sink", "4", "local", "32", "dense-layers", "none",
                "max-static", "52", "block-tokens", "64");
        parity("stories260K", "\"" + model.toAbsolutePath().toString().replace("\\", "/") + "\"", flags, 40, m -> storyPrompt(m, 300));
    }

    @Test
    void syntheticModelGivesTheSameTokensAndLogitsWithOneAndThreeShardHosts() throws Exception {
        Map<String, String> flags = flags("lsh-k", "6", "lsh-l", "40", "sink", "4", "local", "64", "dense-layers", "none",
                "max-static", "80", "block-tokens", "128");
        parity("synthetic:tiny", "\"synthetic:tiny\"", flags, 30, m -> MultiJvmShardTest.prompt(700, 5));
    }

    /** generate's attention flags (without the dashes): MagicPIG and the given values. */
    static Map<String, String> flags(String... kv) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("attention", "magicpig");
        for (int i = 0; i < kv.length; i += 2) f.put(kv[i], kv[i + 1]);
        return f;
    }

    /** The same values as a node's {@code magicpig.attention} block. */
    static String attentionConfig(Map<String, String> flags) {
        StringBuilder c = new StringBuilder("magicpig.attention { ");
        flags.forEach((k, v) -> c.append(k.equals("attention") ? "mode" : k).append(" = \"").append(v).append("\", "));
        return c.append("}").toString();
    }

    private void parity(String name, String modelSpec, Map<String, String> flags, int tokens,
                        java.util.function.Function<Model, int[]> promptOf) throws Exception {
        AttentionSettings settings = AttentionSettings.fromFlags(new HashMap<>(flags));
        String attention = attentionConfig(flags);
        assertEquals(settings, PlacementPolicy.defaults(ConfigFactory.parseString(attention)
                .withFallback(ConfigFactory.parseResources(ClusterNode.DEFAULTS)).resolve().getConfig("magicpig")),
                "the node's settings are generate's");
        String aeronPrefix = "/dev/shm/magicpig-parity-" + UUID.randomUUID().toString().substring(0, 8);
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]";
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "\npekko.remote.artery.canonical.port = " + seedPort
                + "\nmagicpig.roles = [gateway, gpu-worker]\nmagicpig.model = " + modelSpec + "\nmagicpig.http.port = 0\n"
                + "magicpig.aeron.dir = \"" + aeronPrefix + "\"\n" + attention))) {
            Model model = gateway.model();
            int[] prompt = promptOf.apply(model);
            try (NodeProcess a = shardNode(seed)) {
                MultiJvmShardTest.awaitShards(gateway, 1);
                settledCluster(gateway, name + "-warm1", prompt, tokens); // the worker's batched forward pass and the shard
                Run local = settledInProcess(model, prompt, tokens, settings);
                check(gateway, name, prompt, local, 1);
                List<NodeProcess> more = shardNodes(seed, 2);
                try {
                    MultiJvmShardTest.awaitShards(gateway, 3);
                    settledCluster(gateway, name + "-warm3", prompt, tokens); // the two new shard JVMs
                    check(gateway, name, prompt, local, 3);
                } finally {
                    for (NodeProcess p : more) p.close();
                }
            }
        }
        try (var left = Files.list(Path.of(aeronPrefix).getParent())) {
            String stem = Path.of(aeronPrefix).getFileName().toString();
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(stem)), "the gateway's media driver directory is deleted");
        }
    }

    private void check(ClusterNode gateway, String name, int[] prompt, Run local, int hosts) throws Exception {
        List<ActorRef<AttentionShard.Command>> shards = shards(gateway);
        assertEquals(hosts, shards.size());
        long[] before = queries(gateway, shards);
        Run remote = cluster(gateway, name + "-" + hosts, prompt, local.tokens.length);
        long[] after = queries(gateway, shards);
        for (int s = 0; s < shards.size(); s++) assertTrue(after[s] > before[s], "shard host " + s + " of " + hosts + " answered no query");

        assertArrayEquals(local.tokens, remote.tokens, name + " over " + hosts + " shard host(s): the same greedy tokens");
        assertEquals(local.logits.length, remote.logits.length);
        double worst = 0;
        int exact = 0;
        for (int i = 0; i < local.logits.length; i++) {
            double d = relativeDifference(remote.logits[i], local.logits[i]);
            assertTrue(d <= TOLERANCE, name + " over " + hosts + " shard host(s), step " + i + ": logits differ by " + d + " (relative)");
            worst = Math.max(worst, d);
            if (java.util.Arrays.equals(remote.logits[i], local.logits[i])) exact++;
        }
        System.err.printf("parity %s, %d shard host(s): %d prompt tokens (%d offloaded), %d tokens identical, logits within %.1e relative "
                + "(largest step), %d of %d steps bit for bit, %d generated tokens spilled per layer in process%n", name, hosts, prompt.length,
                local.offloaded, local.tokens.length, worst, exact, local.logits.length, local.spilled);
    }

    /** {@code max_i |a_i - ref_i| / max_i |ref_i|}. */
    static double relativeDifference(float[] a, float[] ref) {
        double diff = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs((double) a[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }

    record Run(int[] tokens, float[][] logits, int offloaded, int spilled) {}

    /**
     * {@link #inProcess}, run until two runs in a row give the same bits (at most eight runs). Until
     * the JIT has compiled the forward pass, its vector sums run in another order (reduceLanes is a
     * tree compiled and lane after lane interpreted), so an early run is a few ulps off the compiled
     * ones; measured on synthetic:tiny, the second run still was (5e-7 in the logits, every step),
     * and through the LSH codes such a difference can change which keys are sampled.
     */
    static Run settledInProcess(Model model, int[] prompt, int tokens, AttentionSettings settings) throws Exception {
        return settled(8, i -> inProcess(model, prompt, tokens, settings));
    }

    /** {@link #cluster} until two requests in a row give the same bits (at most six), to warm every JVM on the path. */
    static void settledCluster(ClusterNode gateway, String id, int[] prompt, int tokens) throws Exception {
        settled(6, i -> cluster(gateway, id + "-" + i, prompt, tokens));
    }

    /** A run that may throw; i counts the runs from 0. */
    @FunctionalInterface
    interface Runner {
        Run run(int i) throws Exception;
    }

    /** Runs until two runs in a row give the same logits, bit for bit, or {@code most} runs; returns the last. */
    static Run settled(int most, Runner runner) throws Exception {
        Run last = runner.run(0);
        for (int i = 1; i < most; i++) {
            Run next = runner.run(i);
            if (java.util.Arrays.deepEquals(next.logits, last.logits)) return next;
            last = next;
        }
        return last;
    }

    /** What {@code generate} runs, keeping each step's logits; checks that the run spilled generated tokens. */
    static Run inProcess(Model model, int[] prompt, int tokens, AttentionSettings settings) {
        List<float[]> logits = new ArrayList<>();
        MagicPigAttention[] made = new MagicPigAttention[1];
        int[] out = Generation.run(model.llama(), model, prompt, tokens, SamplingSettings.GREEDY,
                config -> made[0] = (MagicPigAttention) settings.factory().create(config), t -> true, (i, l) -> logits.add(l.clone())).tokens();
        assertEquals(tokens, out.length, "the in-process run generates every token (no end of text)");
        int offloaded = magicpig.worker.remote.Placement.offloadedTokens(prompt.length, settings);
        int spilled = made[0].offloadedTokens(0) - offloaded;
        assertTrue(spilled > 0, "generated tokens spill out of the exact window (max-static " + settings.maxStatic() + ")");
        return new Run(out, logits.toArray(float[][]::new), offloaded, spilled);
    }

    static Run cluster(ClusterNode gateway, String id, int[] prompt, int tokens) throws Exception {
        List<Integer> got = new ArrayList<>();
        float[][] logits = new float[tokens + 1][];
        SequenceEvent last = gateway.client().generate(new GenerationRequest(id, prompt, tokens, SamplingSettings.GREEDY, Map.of()).withLogits(), e -> {
            if (e instanceof SequenceEvent.Token t) got.add(t.token());
            if (e instanceof SequenceEvent.Logits l) logits[l.index()] = l.logits();
        }).done().toCompletableFuture().get(180, TimeUnit.SECONDS);
        assertInstanceOf(SequenceEvent.Finished.class, last, String.valueOf(last));
        int n = got.size();
        for (int i = 0; i < n; i++) assertTrue(logits[i] != null, "the logits of step " + i + " came");
        return new Run(got.stream().mapToInt(Integer::intValue).toArray(), java.util.Arrays.copyOf(logits, n), 0, 0);
    }

    /** The model's own text from BOS, sampled (seed fixed), with BOS again where a story ends, up to n tokens. */
    static int[] storyPrompt(Model model, int n) {
        int[] prompt = {1};
        var sampling = new SamplingSettings(1.0f, 0, 1.0f, 0f, 7);
        while (prompt.length < n) {
            int[] more = Generation.run(model, prompt, n - prompt.length, sampling, null, t -> true).tokens();
            int at = prompt.length;
            prompt = java.util.Arrays.copyOf(prompt, Math.min(n, at + more.length + 1));
            System.arraycopy(more, 0, prompt, at, Math.min(more.length, prompt.length - at));
            if (at + more.length < prompt.length) prompt[at + more.length] = 1; // the story ended: a new one
        }
        return prompt;
    }

    static NodeProcess shardNode(String seed) throws Exception {
        return NodeProcess.start(seed, "pekko.remote.artery.canonical.port = 0", "magicpig.roles = [cpu-attention]",
                "magicpig.shard.count = 1", "magicpig.shard.memory-budget = 64MiB", "magicpig.http.port = 0");
    }

    /** n shard nodes started side by side; none is left running when one fails to start. */
    static List<NodeProcess> shardNodes(String seed, int n) throws Exception {
        List<java.util.concurrent.CompletableFuture<NodeProcess>> starting = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            starting.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return shardNode(seed);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }));
        }
        List<NodeProcess> up = new ArrayList<>();
        Exception failure = null;
        for (var f : starting) {
            try {
                up.add(f.get());
            } catch (Exception e) {
                failure = e;
            }
        }
        if (failure != null) {
            for (NodeProcess p : up) p.close();
            throw failure;
        }
        return up;
    }

    static List<ActorRef<AttentionShard.Command>> shards(ClusterNode node) throws Exception {
        Receptionist.Listing l = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(node.system().receptionist(),
                r -> Receptionist.find(AttentionShard.KEY, r), Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get();
        List<ActorRef<AttentionShard.Command>> s = new ArrayList<>(l.getServiceInstances(AttentionShard.KEY));
        s.sort(java.util.Comparator.comparing(r -> r.path().toString()));
        return s;
    }

    static long[] queries(ClusterNode node, List<ActorRef<AttentionShard.Command>> shards) throws Exception {
        long[] q = new long[shards.size()];
        for (int i = 0; i < q.length; i++) {
            q[i] = AskPattern.<AttentionShard.Command, AttentionShard.ShardStats>ask(shards.get(i), AttentionShard.GetStats::new,
                    Duration.ofSeconds(10), node.system().scheduler()).toCompletableFuture().get().queries();
        }
        return q;
    }
}
