package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import magicpig.gateway.NodeScript;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core
 * ({@code src/test/js/dashboard.test.mjs}, versions pinned by {@code src/main/dashboard/package-lock.json}),
 * against a running three-node cluster on 127.0.0.1: this JVM is the gateway and transformer worker,
 * two more JVMs are cpu-attention nodes. The page must show every node with its roles, and its
 * counters must move after a completion; the screenshot lands in {@code target/dashboard.png}.
 * Skipped, with a message, where Chromium or node/npm is missing ({@code .ci/run} installs Chromium).
 */
class DashboardBrowserTest {
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("MAGICPIG_CHROMIUM", "/usr/bin/chromium"));
    static final Path WORK = Path.of("target", "dashboard-browser");
    static final Path SCREENSHOT = Path.of("target", "dashboard.png").toAbsolutePath();
    static final String ATTENTION = "magicpig.attention { mode = magicpig, lsh-k = 6, lsh-l = 40, dense-layers = none, block-tokens = 200 }";

    @Test
    void showsEveryNodeAndRoleAndItsCountersMoveAfterACompletion() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "no Chromium at " + CHROMIUM
                + " (apt-get install chromium; .ci/run does it): the dashboard browser test is skipped");
        Assumptions.assumeTrue(NodeScript.onPath("node") && NodeScript.onPath("npm"), "node and npm are not installed: the dashboard browser test is skipped");
        install();
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]";
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "\npekko.remote.artery.canonical.port = " + seedPort
                + "\nmagicpig.roles = [gateway, gpu-worker]\nmagicpig.model = \"synthetic:tiny\"\nmagicpig.http.port = 0\n" + ATTENTION));
             NodeProcess a = attentionNode(seed);
             NodeProcess b = attentionNode(seed)) {
            MultiJvmShardTest.awaitShards(gateway, 2);
            Map<String, List<String>> nodes = new LinkedHashMap<>();
            nodes.put(hostPort(gateway.system().address().toString()), List.of(ClusterNode.GATEWAY, ClusterNode.GPU_WORKER));
            nodes.put(hostPort(a.address()), List.of(ClusterNode.CPU_ATTENTION));
            nodes.put(hostPort(b.address()), List.of(ClusterNode.CPU_ATTENTION));
            ArrayNode expected = JSON.createArrayNode();
            nodes.forEach((address, roles) -> {
                ObjectNode n = expected.addObject().put("address", address);
                roles.forEach(n.putArray("roles")::add);
            });

            String url = "http://127.0.0.1:" + gateway.httpPort();
            Map<String, String> env = Map.of("MAGICPIG_URL", url, "MAGICPIG_NODES", JSON.writeValueAsString(expected),
                    "MAGICPIG_SCREENSHOT", SCREENSHOT.toString(), "MAGICPIG_CHROMIUM", CHROMIUM.toString());
            Files.deleteIfExists(SCREENSHOT);
            NodeScript.Result r = NodeScript.run(WORK, List.of("node", "dashboard.test.mjs"), env, 240);
            System.out.print(r.output());
            assertEquals(0, r.status(), r.output() + "\n--- attention node log:\n" + a.log());
            assertTrue(r.output().contains("all checks passed"), r.output());
            assertTrue(ImageIO.read(SCREENSHOT.toFile()).getWidth() >= 1000, "the screenshot is a full-width page");
        }
    }

    static NodeProcess attentionNode(String seed) throws Exception {
        return NodeProcess.start(seed, "pekko.remote.artery.canonical.port = 0", "magicpig.roles = [cpu-attention]",
                "magicpig.shard.count = 1", "magicpig.shard.memory-budget = 64MiB", "magicpig.http.port = 0");
    }

    /** 127.0.0.1:25520 from pekko://magicpig@127.0.0.1:25520. */
    static String hostPort(String address) {
        return address.substring(address.indexOf('@') + 1);
    }


    /** npm ci of the pinned playwright-core (and uPlot) into target/, once per lock file. */
    private static void install() throws Exception {
        Files.createDirectories(WORK);
        Path page = Path.of("src", "main", "dashboard");
        Files.copy(page.resolve("package.json"), WORK.resolve("package.json"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(page.resolve("package-lock.json"), WORK.resolve("package-lock.json"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(Path.of("src", "test", "js", "dashboard.test.mjs"), WORK.resolve("dashboard.test.mjs"), StandardCopyOption.REPLACE_EXISTING);
        byte[] lock = Files.readAllBytes(WORK.resolve("package-lock.json"));
        Path stamp = WORK.resolve("node_modules").resolve(".installed-lock");
        if (Files.exists(stamp) && java.util.Arrays.equals(Files.readAllBytes(stamp), lock)) return;
        NodeScript.Result r = NodeScript.run(WORK, List.of("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"), Map.of(), 300);
        if (r.status() != 0) {
            boolean offline = r.output().matches("(?s).*(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network).*");
            Assumptions.assumeFalse(offline, "the npm registry cannot be reached; the dashboard browser test is skipped:\n" + r.output());
            throw new AssertionError("npm ci failed:\n" + r.output());
        }
        Files.write(stamp, lock);
    }

    static final ObjectMapper JSON = new ObjectMapper();
}
