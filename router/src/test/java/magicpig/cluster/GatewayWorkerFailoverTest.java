package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import magicpig.model.Generation;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.sampling.SamplingSettings;
import magicpig.tokenizer.Utf8Stream;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;

/**
 * A gateway in this JVM, two transformer workers in two others. The worker running a stream is
 * killed in the middle of it; the gateway resubmits prompt + tokens so far to the other worker, and
 * the client receives one complete, well-formed completion: the same text an uninterrupted greedy
 * run gives, without a lost or duplicated token.
 */
class GatewayWorkerFailoverTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void killingTheWorkerMidStreamContinuesOnTheOtherWorker() throws Exception {
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]";
        int[] workerPorts = {NodeProcess.freePort(), NodeProcess.freePort()};
        int maxTokens = 1500;
        // Fast failure detection on the gateway (the cluster leader, which downs the lost worker).
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "\n"
                + "pekko.remote.artery.canonical.port = " + seedPort + "\nmagicpig.roles = [gateway]\nmagicpig.http.port = 0\n"
                + "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 2s\n"
                + "pekko.cluster.split-brain-resolver.stable-after = 2s"));
             Model local = ModelLoader.load("synthetic:tiny", ModelLoader.Options.DEFAULT)) {
            // both worker JVMs boot at once (a JVM that outlives a failed test ends when this one closes its input)
            var first = startWorker(seed, workerPorts[0]);
            var second = startWorker(seed, workerPorts[1]);
            try (NodeProcess w0 = first.join(); NodeProcess w1 = second.join()) {
                run(gateway, local, new NodeProcess[] {w0, w1}, workerPorts, maxTokens);
            }
        }
    }

    private static void run(ClusterNode gateway, Model local, NodeProcess[] workers, int[] workerPorts, int maxTokens) throws Exception {
        for (int i = 0; i < 1200 && gateway.gateway().workersUp() < 2; i++) Thread.sleep(50);
        assertEquals(2, gateway.gateway().workersUp(), "both workers registered");

        String prompt = "keep going when a worker dies";
        int[] ids = local.encode(prompt);
        String expected = text(local, Generation.run(local, ids, maxTokens, SamplingSettings.GREEDY, null, t -> true).tokens(),
                ids[ids.length - 1]);

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort() + "/v1/completions"))
                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"synthetic:tiny\",\"prompt\":" + JSON.writeValueAsString(prompt)
                        + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}"))
                .build();
        HttpResponse<java.io.InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, resp.statusCode());
        List<JsonNode> chunks = new ArrayList<>();
        boolean done = false;
        String killed = null;
        long killedAt = 0, longestGap = 0, lastArrival = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith("data: ")) continue;
                if (line.equals("data: [DONE]")) {
                    done = true;
                    continue;
                }
                assertTrue(!done, "nothing after [DONE]");
                JsonNode chunk = JSON.readTree(line.substring(6));
                assertTrue(!chunk.has("error"), "the stream failed: " + line);
                chunks.add(chunk);
                long now = System.nanoTime();
                if (killed != null) longestGap = Math.max(longestGap, now - Math.max(lastArrival, killedAt));
                lastArrival = now;
                if (killed == null && chunks.size() == 3) {
                    // Which worker runs it? Ask the sequence entity, then kill that JVM.
                    String id = chunk.get("id").asText();
                    SequenceEntity.State state = AskPattern.<SequenceEntity.Command, SequenceEntity.State>ask(
                            ClusterSharding.get(gateway.system()).entityRefFor(SequenceEntity.TYPE_KEY, id),
                            SequenceEntity.GetState::new, Duration.ofSeconds(5), gateway.system().scheduler())
                            .toCompletableFuture().get();
                    killed = state.worker();
                    int victim = killed.endsWith(":" + workerPorts[0]) ? 0 : 1;
                    assertTrue(killed.endsWith(":" + workerPorts[victim]), killed);
                    assertTrue(state.tokens() < maxTokens / 2, "killed early enough: " + state.tokens() + " tokens in");
                    workers[victim].kill();
                    killedAt = System.nanoTime();
                }
            }
        }
        assertNotNull(killed, "the stream ran long enough to kill its worker");
        assertTrue(done, "ends with [DONE]");
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            text.append(c.get("choices").get(0).get("text").asText());
            if (!c.get("choices").get(0).get("finish_reason").isNull()) finish = c.get("choices").get(0).get("finish_reason").asText();
        }
        JsonNode usage = chunks.get(chunks.size() - 1).get("usage");
        assertEquals("length", finish);
        assertEquals(maxTokens, usage.get("completion_tokens").asInt());
        assertEquals(ids.length, usage.get("prompt_tokens").asInt(), "usage counts the client's prompt, not the resubmitted one");
        assertEquals(expected, text.toString(), "the same text as an uninterrupted greedy run");
        // the gateway's metrics count the restart and the tokens it prefilled again
        var metrics = new magicpig.cluster.metrics.PrometheusText(http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.httpPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertEquals(1, metrics.value("magicpig_preemptions_total", "cause", "worker_lost"));
        assertTrue(metrics.value("magicpig_recomputed_tokens_total") >= ids.length + 3, metrics.all("magicpig_recomputed_tokens_total").toString());
        assertEquals(1, metrics.value("magicpig_requests_finished_total", "outcome", "length"));
        System.err.printf("worker %s killed mid-stream; the stream paused %.1f s at most, then went on on the other worker%n",
                killed, longestGap / 1e9);
    }

    private static java.util.concurrent.CompletableFuture<NodeProcess> startWorker(String seed, int port) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return NodeProcess.start(seed, "pekko.remote.artery.canonical.port = " + port, "magicpig.roles = [gpu-worker]",
                        "magicpig.model = \"synthetic:tiny\"");
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
    }

    /** Tokens to text as the gateway streams it (whole characters; the first piece after BOS without its space). */
    static String text(Model m, int[] tokens, int previous) {
        Utf8Stream utf8 = new Utf8Stream();
        StringBuilder b = new StringBuilder();
        boolean afterBos = previous == m.tokenizer().bosId();
        for (int t : tokens) {
            byte[] bytes = m.tokenizer().tokenBytes(t);
            if (afterBos && bytes.length > 0) {
                if (bytes[0] == ' ') bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
                afterBos = false;
            }
            b.append(utf8.push(bytes));
        }
        return b.append(utf8.flush()).toString();
    }
}
