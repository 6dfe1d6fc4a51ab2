package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import magicpig.cluster.ClusterNode;
import magicpig.cluster.metrics.MetricsExtension;
import magicpig.cluster.metrics.PrometheusText;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 6's acceptance on an embedded node running MagicPIG on two attention shards: after one
 * completion through the gateway, GET /metrics has the serving, MagicPIG and actor-level series
 * with values that moved, and the dashboard's state and event stream follow the agreed schema.
 */
class GatewayMetricsTest {
    static final String SETTINGS = """
            pekko.remote.artery.canonical.port = 0
            magicpig.http.port = 0
            magicpig.model = "synthetic:tiny"
            magicpig.shard.count = 2
            magicpig.attention { mode = magicpig, lsh-k = 6, lsh-l = 40, dense-layers = "0", block-tokens = 200 }
            magicpig.metrics.report-interval = 200ms
            """;
    static ClusterNode node;
    static HttpTestClient api;
    static String label;
    static PrometheusText before;
    static JsonNode completion;

    @BeforeAll
    static void start() throws Exception {
        node = ClusterNode.start(ConfigFactory.parseString(SETTINGS));
        api = new HttpTestClient(node.httpPort(), null);
        GatewayTestSupport.awaitReady(node);
        label = MetricsExtension.nodeLabel(node.system().address());
        before = scrape();
        // one completion whose prompt offloads 632 tokens (700 - sink 4 - local 64) in 4 blocks over the 2 shards
        StringBuilder ids = new StringBuilder("1");
        for (int i = 1; i < 700; i++) ids.append(',').append(3 + (i * 7919) % 500);
        HttpTestClient.Answer a = api.post("/v1/completions", "{\"model\":\"synthetic:tiny\",\"prompt\":[" + ids
                + "],\"max_tokens\":8,\"temperature\":0}");
        assertEquals(200, a.status(), a.body());
        completion = a.json();
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) node.close();
    }

    static PrometheusText scrape() throws Exception {
        HttpTestClient.Answer m = api.get("/metrics");
        assertEquals(200, m.status(), m.body());
        assertTrue(m.header("Content-Type").startsWith("text/plain"), m.header("Content-Type"));
        return new PrometheusText(m.body());
    }

    @Test
    void metricsHaveTheServingMagicPigAndActorSeriesAndTheyMoved() throws Exception {
        PrometheusText after = scrape();
        int generated = completion.get("usage").get("completion_tokens").asInt();
        assertTrue(generated > 0);
        for (PrometheusText.Sample s : after.samples()) assertEquals(label, s.labels().get("node"), "every series carries the node: " + s);

        // serving
        assertEquals(generated, after.value("magicpig_generation_tokens_total") - before.valueOr0("magicpig_generation_tokens_total"),
                "the token counter grew by the completion's tokens");
        assertTrue(after.value("magicpig_prompt_tokens_total") >= 700);
        assertEquals(1, after.value("magicpig_time_to_first_token_seconds_count") - before.valueOr0("magicpig_time_to_first_token_seconds_count"));
        assertEquals(generated - 1, after.value("magicpig_inter_token_latency_seconds_count")
                - before.valueOr0("magicpig_inter_token_latency_seconds_count"));
        assertTrue(after.value("magicpig_e2e_request_latency_seconds_count") >= 1);
        assertTrue(after.value("magicpig_request_queue_time_seconds_count") >= 1);
        assertTrue(after.value("magicpig_requests_finished_total", "outcome", "length") >= 1);
        assertEquals(0, after.value("magicpig_requests_running"));
        assertEquals(0, after.value("magicpig_requests_waiting"));
        assertEquals(0, after.value("magicpig_requests_pending"));
        assertEquals(0, after.value("magicpig_preemptions_total", "cause", "worker_lost"));
        assertTrue(after.all("magicpig_recomputed_tokens_total").size() == 1);
        assertTrue(after.all("magicpig_kv_cache_bytes").size() == 1);
        assertTrue(after.value("magicpig_e2e_request_latency_seconds_bucket", "le", "+Inf") >= 1, "histograms have buckets");

        // MagicPIG: layer 0 is dense, the others sampled
        assertTrue(after.all("magicpig_sampled_fraction", "layer", "0").isEmpty(), "a dense layer has no sampled fraction");
        for (int l = 1; l < node.model().config().layers(); l++) {
            String layer = Integer.toString(l);
            double fraction = after.value("magicpig_sampled_fraction", "layer", layer);
            assertTrue(fraction > 0 && fraction < 1, "layer " + l + ": sampled fraction " + fraction + " lies in (0, 1)");
            double sampled = after.value("magicpig_attention_sampled_keys_total", "layer", layer);
            double offloaded = after.value("magicpig_attention_offloaded_keys_total", "layer", layer);
            assertTrue(sampled > 0 && sampled < offloaded, sampled + " of " + offloaded);
        }
        assertTrue(after.value("magicpig_attention_step_seconds_count") > 0);
        assertTrue(after.value("magicpig_dataplane_round_trip_seconds_count") > 0);
        assertTrue(after.value("magicpig_dataplane_sent_bytes_total") > 632 * 4 * 8, "the blocks went over the data plane");
        assertTrue(after.value("magicpig_dataplane_received_bytes_total") > 0);
        assertTrue(after.all("magicpig_dataplane_back_pressure_total").size() == 1);
        double queries = 0;
        for (String shard : List.of("shard-0", "shard-1")) {
            queries += after.value("magicpig_shard_attention_seconds_count", "shard", shard);
            assertTrue(after.value("magicpig_lsh_table_build_seconds_count", "shard", shard) > 0, shard + " built tables");
            assertEquals(2L << 30, after.value("magicpig_shard_budget_bytes", "shard", shard), "4 GiB over two shards");
            assertTrue(after.all("magicpig_shard_kv_bytes", "shard", shard).size() == 1);
            assertTrue(after.all("magicpig_shard_kv_blocks", "shard", shard).size() == 1);
            assertTrue(after.value("magicpig_actor_processing_seconds_count", "type", "AttentionShard", "instance", shard) > 0,
                    "the shard actor handled the reservations");
        }
        assertTrue(queries > 0, "the shards answered queries");
        assertTrue(after.all("magicpig_kv_usage_ratio").size() == 1);

        // actors
        assertTrue(after.value("magicpig_actor_processing_seconds_count", "type", "TransformerWorker", "instance", "worker") > generated,
                "the worker handled the admission and an iteration per token");
        assertTrue(after.value("magicpig_actor_messages_total", "type", "SequenceEntity", "instance", "all") > generated);
        assertTrue(after.value("magicpig_actor_processing_seconds_count", "type", "SequenceSubscriber", "instance", "all") > generated);
        assertTrue(after.value("magicpig_actor_processing_seconds_count", "type", "SequenceEntity", "instance", "all")
                > before.valueOr0("magicpig_actor_processing_seconds_count", "type", "SequenceEntity", "instance", "all"));
        assertEquals(0, after.value("magicpig_actor_mailbox_depth", "type", "SequenceEntity", "instance", "all"));
        assertTrue(after.all("magicpig_actor_mailbox_depth", "type", "TransformerWorker", "instance", "worker").size() == 1);
    }

    @Test
    void dashboardStateAndEventsFollowTheSchema() throws Exception {
        JsonNode state = null;
        for (int i = 0; i < 100; i++) { // reports come every 200 ms
            state = api.get("/dashboard/state").json();
            if (state.get("tokens").get("generated").asLong() > 0 && state.get("sequences").get("completed").asLong() > 0
                    && state.get("nodes").get(0).get("actors").size() > 0) break;
            Thread.sleep(100);
        }
        checkSchema(state);
        assertTrue(state.get("tokens").get("generated").asLong() >= completion.get("usage").get("completion_tokens").asInt());
        assertTrue(state.get("sequences").get("completed").asLong() >= 1);
        JsonNode n = state.get("nodes").get(0);
        assertEquals(label, n.get("address").asText());
        assertEquals(Set.of("gateway", "gpu-worker", "cpu-attention"), strings(n.get("roles")));
        assertEquals("Up", n.get("status").asText());
        Set<String> types = new java.util.HashSet<>();
        for (JsonNode a : n.get("actors")) types.add(a.get("type").asText());
        assertTrue(types.containsAll(Set.of("TransformerWorker", "AttentionShard", "SequenceEntity")), types.toString());
        assertEquals(Set.of("shard-0", "shard-1"), ids(n.get("shards")));
        JsonNode fractions = state.get("sampledFraction");
        assertEquals(node.model().config().layers(), fractions.size(), "one entry per layer");
        assertTrue(fractions.get(0).isNull(), "layer 0 is dense");
        for (int l = 1; l < fractions.size(); l++) {
            assertTrue(fractions.get(l).asDouble() > 0 && fractions.get(l).asDouble() < 1, fractions.toString());
        }
        System.err.println("dashboard state: " + state);

        // the event stream: its first event is the same object
        HttpResponse<InputStream> events = api.http.send(api.request("/dashboard/events").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, events.statusCode());
        assertTrue(events.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        String first = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(events.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("data: ")) {
                    first = line.substring(6);
                    break;
                }
            }
        }
        assertNotNull(first, "an event came");
        checkSchema(HttpTestClient.JSON.readTree(first));
    }

    /** The fields docs/dashboard.md promises, with their types. */
    static void checkSchema(JsonNode s) {
        assertTrue(s.get("time").isIntegralNumber() && Math.abs(s.get("time").asLong() - System.currentTimeMillis()) < 60_000, s.toString());
        assertTrue(s.get("nodes").isArray() && s.get("nodes").size() >= 1, s.toString());
        for (JsonNode n : s.get("nodes")) {
            assertTrue(n.get("address").isTextual() && n.get("address").asText().matches(".+:\\d+"), n.toString());
            assertTrue(n.get("roles").isArray() && n.get("status").isTextual() && n.get("kvBytes").isIntegralNumber(), n.toString());
            for (JsonNode a : n.get("actors")) {
                assertTrue(a.get("type").isTextual() && a.get("instance").isTextual(), a.toString());
                assertTrue(a.get("messagesPerSec").isNumber() && a.get("processed").isIntegralNumber() && a.get("mailbox").isIntegralNumber(),
                        a.toString());
                for (String q : List.of("p50Ms", "p99Ms")) assertTrue(a.get(q).isNumber() || a.get(q).isNull(), a.toString());
            }
            for (JsonNode sh : n.get("shards")) {
                assertTrue(sh.get("id").isTextual() && sh.get("blocks").isIntegralNumber() && sh.get("bytes").isIntegralNumber()
                        && sh.get("budgetBytes").isIntegralNumber(), sh.toString());
            }
        }
        for (String f : List.of("running", "waiting", "completed")) assertTrue(s.get("sequences").get(f).isIntegralNumber(), s.toString());
        assertTrue(s.get("tokens").get("generated").isIntegralNumber() && s.get("tokens").get("perSec").isNumber(), s.toString());
        assertTrue(s.get("sampledFraction").isArray(), s.toString());
        for (JsonNode f : s.get("sampledFraction")) assertTrue(f.isNull() || (f.asDouble() > 0 && f.asDouble() < 1), s.toString());
        for (String q : List.of("ttftMs", "itlMs")) {
            for (String p : List.of("p50", "p99")) {
                JsonNode v = s.get(q).get(p);
                assertTrue(v.isNull() || (v.isNumber() && v.asDouble() >= 0), q + "." + p + " = " + v);
            }
        }
    }

    static Set<String> strings(JsonNode array) {
        Set<String> out = new java.util.HashSet<>();
        for (JsonNode r : array) out.add(r.asText());
        return out;
    }

    static Set<String> ids(JsonNode shards) {
        List<String> out = new ArrayList<>();
        for (JsonNode s : shards) out.add(s.get("id").asText());
        assertFalse(out.isEmpty());
        return Set.copyOf(out);
    }
}
