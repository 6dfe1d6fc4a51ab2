package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import magicpig.cluster.metrics.MetricsExtension;
import magicpig.cluster.metrics.PrometheusText;
import org.junit.jupiter.api.Test;

/**
 * Metrics across nodes (two nodes in this JVM): a node without a gateway serves its own
 * {@code /metrics} on its metrics port, and its snapshot reaches the gateway's dashboard over the
 * cluster (CBOR), next to the gateway's own. And a gateway with metrics off says so.
 */
class ClusterMetricsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    record Answer(int status, String body) {}

    static Answer get(int port, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }

    @Test
    void aNodeWithoutGatewayServesItsOwnMetricsAndReportsToTheGatewaysDashboard() throws Exception {
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]\n"
                + "magicpig.model = \"synthetic:tiny\"\nmagicpig.metrics.report-interval = 200ms\n";
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "pekko.remote.artery.canonical.port = " + seedPort
                + "\nmagicpig.roles = [gateway, gpu-worker]\nmagicpig.http.port = 0\n"))) {
            try (ClusterNode cpu = ClusterNode.start(ConfigFactory.parseString(seed + "pekko.remote.artery.canonical.port = 0\n"
                    + "magicpig.roles = [cpu-attention]\nmagicpig.shard.count = 1\nmagicpig.shard.memory-budget = 64MiB\n"))) {
                String cpuLabel = MetricsExtension.nodeLabel(cpu.system().address());
                String gatewayLabel = MetricsExtension.nodeLabel(gateway.system().address());
                assertTrue(cpu.metricsPort() > 0);
                assertEquals(gateway.httpPort(), gateway.metricsPort(), "a gateway serves /metrics on its API port");

                Answer own = get(cpu.metricsPort(), "/metrics");
                assertEquals(200, own.status(), own.body());
                PrometheusText text = new PrometheusText(own.body());
                assertEquals(64 << 20, text.value("magicpig_shard_budget_bytes", "shard", "shard-0", "node", cpuLabel));
                assertTrue(text.all("magicpig_dataplane_back_pressure_total").size() == 1);
                assertTrue(text.all("magicpig_time_to_first_token_seconds_count").isEmpty(), "no gateway, no request metrics");
                assertEquals(404, get(cpu.metricsPort(), "/v1/models").status());
                assertTrue(new PrometheusText(get(gateway.httpPort(), "/metrics").body()).all("magicpig_shard_budget_bytes").isEmpty(),
                        "the gateway's /metrics has its own series only");

                JsonNode state = null;
                for (int i = 0; i < 300; i++) {
                    state = JSON.readTree(get(gateway.httpPort(), "/dashboard/state").body());
                    if (nodes(state).size() == 2 && nodes(state).get(cpuLabel).get("shards").size() == 1
                            && nodes(state).values().stream().allMatch(n -> n.get("status").asText().equals("Up"))) break;
                    Thread.sleep(100);
                }
                Map<String, JsonNode> nodes = nodes(state);
                assertEquals(2, nodes.size(), state.toString());
                assertEquals("[\"cpu-attention\"]", nodes.get(cpuLabel).get("roles").toString());
                assertEquals("[\"gateway\",\"gpu-worker\"]", nodes.get(gatewayLabel).get("roles").toString());
                JsonNode shard = nodes.get(cpuLabel).get("shards").get(0);
                assertEquals("shard-0", shard.get("id").asText(), state.toString());
                assertEquals(64 << 20, shard.get("budgetBytes").asLong());
                assertTrue(nodes.get(cpuLabel).get("actors").toString().contains("\"AttentionShard\""), state.toString());
                assertTrue(nodes.get(gatewayLabel).get("actors").toString().contains("\"TransformerWorker\""), state.toString());
            }
        }
    }

    @Test
    void withMetricsOffTheGatewaySaysSoAndStillServes() throws Exception {
        try (ClusterNode node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.http.port = 0
                magicpig.model = "synthetic:tiny"
                magicpig.metrics.enabled = off
                """))) {
            assertEquals(-1, node.metricsPort());
            Answer m = get(node.httpPort(), "/metrics");
            assertEquals(404, m.status());
            assertTrue(m.body().contains("magicpig.metrics.enabled = false"), m.body());
            Answer d = get(node.httpPort(), "/dashboard/state");
            assertEquals(503, d.status(), d.body());
            assertTrue(d.body().contains("metrics are off"), d.body());
            for (int i = 0; i < 600 && node.gateway().workersUp() == 0; i++) Thread.sleep(50);
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"synthetic:tiny\",\"prompt\":\"off\",\"max_tokens\":4,\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
        }
    }

    static Map<String, JsonNode> nodes(JsonNode state) {
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode n : state.get("nodes")) out.put(n.get("address").asText(), n);
        return out;
    }
}
