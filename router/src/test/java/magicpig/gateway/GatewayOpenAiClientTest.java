package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import magicpig.cluster.ClusterNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Node client ({@code openai} on npm, version pinned in src/test/js/package.json)
 * against a gateway started here: runs {@code npm ci} into target/openai-client, then the script.
 * Skipped, with a message, where node and npm are not installed or the npm registry cannot be reached.
 */
class GatewayOpenAiClientTest {
    static final Path SOURCES = Path.of("src", "test", "js");
    static final Path WORK = Path.of("target", "openai-client");

    @Test
    void officialNodeClientWorksStreamingAndNotForCompletionsAndChat() throws Exception {
        Assumptions.assumeTrue(NodeScript.onPath("node") && NodeScript.onPath("npm"), "node and npm are not installed: the OpenAI Node client test is skipped");
        install();
        try (ClusterNode node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.model = "synthetic:tiny"
                magicpig.http.port = 0
                magicpig.http.api-keys = ["sk-magicpig-test"]
                """))) {
            GatewayTestSupport.awaitReady(node);
            NodeScript.Result r = NodeScript.run(WORK, List.of("node", "openai-client.test.mjs"), Map.of(
                    "MAGICPIG_BASE_URL", "http://127.0.0.1:" + node.httpPort() + "/v1",
                    "MAGICPIG_MODEL", "synthetic:tiny",
                    "MAGICPIG_API_KEY", "sk-magicpig-test"), 120);
            System.out.print(r.output());
            assertEquals(0, r.status(), r.output());
            assertTrue(r.output().contains("all checks passed"), r.output());
        }
    }

    /** npm ci of the pinned client into target/, once per lock file. */
    private static void install() throws Exception {
        Files.createDirectories(WORK);
        byte[] lock = Files.readAllBytes(SOURCES.resolve("package-lock.json"));
        Path stamp = WORK.resolve("node_modules").resolve(".installed-lock");
        for (String f : List.of("package.json", "package-lock.json", "openai-client.test.mjs")) {
            Files.copy(SOURCES.resolve(f), WORK.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (Files.exists(stamp) && java.util.Arrays.equals(Files.readAllBytes(stamp), lock)) return;
        NodeScript.Result r = NodeScript.run(WORK, List.of("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"), Map.of(), 300);
        if (r.status() != 0) {
            boolean offline = r.output().matches("(?s).*(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network).*");
            Assumptions.assumeFalse(offline, "the npm registry cannot be reached; the OpenAI Node client test is skipped:\n" + r.output());
            throw new AssertionError("npm ci failed:\n" + r.output());
        }
        Files.write(stamp, lock);
    }
}
