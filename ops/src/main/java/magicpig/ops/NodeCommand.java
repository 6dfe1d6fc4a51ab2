package magicpig.ops;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import magicpig.cluster.ClusterNode;

/**
 * {@code magicpig serve} (all roles, the embedded default when no seed nodes are given) and
 * {@code magicpig node --roles ... --seed-nodes ...} (one process of a multi-host cluster). Flags
 * override the HOCON settings ({@code --config FILE}, then reference.conf).
 */
final class NodeCommand {
    /** Flag -> configuration path. */
    private static final Map<String, String> SETTINGS = new LinkedHashMap<>();

    static {
        SETTINGS.put("model", "magicpig.model");
        SETTINGS.put("dtype", "magicpig.model-dtype");
        SETTINGS.put("weights-seed", "magicpig.model-seed");
        SETTINGS.put("ctx-size", "magicpig.ctx-size");
        SETTINGS.put("backend", "magicpig.backend");
        SETTINGS.put("port", "magicpig.http.port");
        SETTINGS.put("host", "magicpig.http.host");
        SETTINGS.put("cluster-port", "pekko.remote.artery.canonical.port");
        SETTINGS.put("cluster-host", "pekko.remote.artery.canonical.hostname");
        SETTINGS.put("attention", "magicpig.attention.mode");
        SETTINGS.put("lsh-k", "magicpig.attention.lsh-k");
        SETTINGS.put("lsh-l", "magicpig.attention.lsh-l");
        SETTINGS.put("lsh-threshold", "magicpig.attention.lsh-threshold");
        SETTINGS.put("sink", "magicpig.attention.sink");
        SETTINGS.put("local", "magicpig.attention.local");
        SETTINGS.put("dense-layers", "magicpig.attention.dense-layers");
        SETTINGS.put("block-tokens", "magicpig.attention.block-tokens");
        SETTINGS.put("lsh-seed", "magicpig.attention.seed");
        SETTINGS.put("max-static", "magicpig.attention.max-static");
        SETTINGS.put("shards", "magicpig.shard.count");
        SETTINGS.put("shard-memory", "magicpig.shard.memory-budget");
        SETTINGS.put("max-batch", "magicpig.worker.max-batch");
        SETTINGS.put("aeron-port", "magicpig.aeron.port");
        SETTINGS.put("max-in-flight", "magicpig.http.max-in-flight");
        SETTINGS.put("served-model-name", "magicpig.http.served-model-name");
        SETTINGS.put("metrics-port", "magicpig.metrics.port");
        SETTINGS.put("metrics", "magicpig.metrics.enabled");
    }

    private NodeCommand() {}

    static int serve(String[] args, PrintStream out, PrintStream err) throws Exception {
        return run(args, true, out, err);
    }

    static int node(String[] args, PrintStream out, PrintStream err) throws Exception {
        return run(args, false, out, err);
    }

    private static int run(String[] args, boolean serve, PrintStream out, PrintStream err) throws Exception {
        Set<String> valued = new HashSet<>(SETTINGS.keySet());
        valued.addAll(Set.of("config", "seed-nodes", "roles", "api-key"));
        Flags f = Flags.parse(args, 1, valued, Set.of());
        if (!f.positional().isEmpty()) throw new UsageException("unexpected argument '" + f.positional().get(0) + "'");
        Config config = toConfig(f, serve);
        try (ClusterNode node = ClusterNode.start(config)) {
            err.println("magicpig: node up at " + node.system().address() + " with roles " + node.roles()
                    + " (Ctrl-C stops it)");
            if (node.roles().contains(ClusterNode.GATEWAY)) {
                err.println("magicpig: OpenAI API for " + node.gateway().model().name() + " at " + node.gateway().url());
                if (node.metricsPort() > 0) {
                    String base = node.gateway().url().substring(0, node.gateway().url().length() - "/v1".length());
                    err.println("magicpig: metrics at " + base + "/metrics, the dashboard's data at " + base + "/dashboard/state");
                }
            } else if (node.metricsPort() > 0) {
                err.println("magicpig: metrics at http://" + node.metricsHost() + ":" + node.metricsPort() + "/metrics");
            }
            CountDownLatch stopped = new CountDownLatch(1);
            node.system().getWhenTerminated().thenRun(stopped::countDown);
            // Ctrl-C / SIGTERM: close the whole node here (actor system, media driver and its /dev/shm
            // files, model), since the JVM may exit before the main thread gets to.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    node.close();
                } catch (Exception e) {
                    err.println("magicpig: error while stopping: " + e.getMessage());
                }
            }, "magicpig-shutdown"));
            stopped.await();
        }
        return 0;
    }

    static Config toConfig(Flags f, boolean serve) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (var e : SETTINGS.entrySet()) {
            if (f.has(e.getKey())) values.put(e.getValue(), f.get(e.getKey(), null));
        }
        List<String> seeds = new ArrayList<>();
        if (f.has("seed-nodes")) {
            for (String s : f.get("seed-nodes", "").split(",")) {
                String hp = s.trim();
                if (hp.isEmpty()) continue;
                if (!hp.matches("[^:/@]+:\\d{1,5}")) throw new UsageException("--seed-nodes needs HOST:PORT[,HOST:PORT...], got '" + hp + "'");
                seeds.add("pekko://magicpig@" + hp);
            }
        }
        values.put("pekko.cluster.seed-nodes", seeds);
        if (f.has("api-key")) {
            List<String> keys = new ArrayList<>();
            for (String k : f.get("api-key", "").split(",")) if (!k.isBlank()) keys.add(k.strip());
            if (keys.isEmpty()) throw new UsageException("--api-key needs KEY[,KEY...]");
            values.put("magicpig.http.api-keys", keys);
        }
        if (f.has("roles")) {
            values.put("magicpig.roles", List.of(f.get("roles", "").split(",")));
        } else if (!serve) {
            throw new UsageException("node needs --roles (gateway, gpu-worker, cpu-attention)");
        }
        if (!serve && seeds.isEmpty()) throw new UsageException("node needs --seed-nodes HOST:PORT to join a cluster (serve runs one alone)");
        Config config = ConfigFactory.parseMap(values);
        if (f.has("config")) {
            Path file = Path.of(f.get("config", ""));
            if (!Files.isRegularFile(file)) throw new UsageException("--config: no such file " + file);
            config = config.withFallback(ConfigFactory.parseFile(file.toFile()));
        }
        return config;
    }
}
