package magicpig.gateway;

import static magicpig.gateway.GatewayTestSupport.greedy;
import static magicpig.gateway.GatewayTestSupport.quote;
import static magicpig.gateway.GatewayTestSupport.sequencesOnWorkers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import magicpig.cluster.ClusterNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Overload and cancellation on a node with room for 4 generations (1 worker x (max-batch 2 +
 * max-queued 2)): the excess is refused with 429 at once, and a client that hangs up frees its sequence.
 */
class GatewayLoadTest {
    static final String MODEL = "synthetic:tiny";
    static ClusterNode node;
    static HttpTestClient api;

    @BeforeAll
    static void start() throws Exception {
        node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.model = "synthetic:tiny"
                magicpig.http.port = 0
                magicpig.worker.max-batch = 2
                magicpig.worker.max-queued = 2
                """));
        api = new HttpTestClient(node.httpPort(), null);
        GatewayTestSupport.awaitReady(node);
        assertEquals(4, node.gateway().admissionLimit());
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) node.close();
    }

    static String streamBody(String prompt, int maxTokens) {
        return "{\"model\":\"" + MODEL + "\",\"prompt\":" + quote(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    }

    /** The streamed text, checked for shape: chunks then a usage chunk then [DONE]. */
    static String text(HttpTestClient.Stream_ s, int expectedTokens) {
        assertEquals("[DONE]", s.data().get(s.data().size() - 1), s.raw());
        List<JsonNode> chunks = s.chunks();
        StringBuilder b = new StringBuilder();
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) b.append(c.get("choices").get(0).get("text").asText());
        assertEquals(expectedTokens, chunks.get(chunks.size() - 1).get("usage").get("completion_tokens").asInt());
        return b.toString();
    }

    @Test
    void twiceTheAdmittedConcurrencyGets429sForTheExcessAndEveryAdmittedStreamCompletes() throws Exception {
        int limit = node.gateway().admissionLimit();
        List<String> prompts = new ArrayList<>();
        List<GatewayTestSupport.Expected> expected = new ArrayList<>();
        for (int i = 0; i < 2 * limit; i++) {
            prompts.add("load test prompt " + i);
            expected.add(greedy(node.model(), node.model().encode(prompts.get(i)), 24));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2 * limit);
        try {
            // Phase 1: fill every slot with a long stream, then send as many again: all of those are refused at once.
            List<Future<HttpTestClient.Stream_>> held = new ArrayList<>();
            for (int i = 0; i < limit; i++) {
                String body = streamBody("held " + i, 400);
                held.add(pool.submit(() -> api.stream("/v1/completions", body)));
            }
            for (int i = 0; i < 400 && node.gateway().inFlight() < limit; i++) Thread.sleep(10);
            assertEquals(limit, node.gateway().inFlight());
            for (int i = 0; i < limit; i++) {
                long t0 = System.nanoTime();
                HttpTestClient.Answer a = api.post("/v1/completions", streamBody(prompts.get(i), 24));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(429, a.status(), a.body());
                assertEquals("1", a.header("Retry-After"));
                assertEquals("rate_limit_error", a.json().get("error").get("type").asText());
                assertTrue(ms < 2000, "refused at once, not after waiting: " + ms + " ms");
            }
            for (int i = 0; i < limit; i++) {
                HttpTestClient.Stream_ s = held.get(i).get(120, TimeUnit.SECONDS);
                assertEquals(200, s.status());
                String got = text(s, 400);
                assertEquals(greedy(node.model(), node.model().encode("held " + i), 400).text(), got, "held stream " + i);
            }

            // Phase 2: 2 x limit clients send back to back for a while; count, check and time what was admitted.
            int clients = 2 * limit;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
            AtomicInteger ok = new AtomicInteger(), refused = new AtomicInteger();
            List<Long> ttft = Collections.synchronizedList(new ArrayList<>());
            List<String> problems = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> runs = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int c = 0; c < clients; c++) {
                int client = c;
                runs.add(pool.submit(() -> {
                    go.await();
                    for (int k = 0; System.nanoTime() < until; k++) {
                        int p = (client + k) % prompts.size();
                        HttpTestClient.Stream_ s = api.stream("/v1/completions", streamBody(prompts.get(p), 24));
                        if (s.status() == 429) {
                            refused.incrementAndGet();
                            if (!s.raw().contains("rate_limit_error")) problems.add("429 without an error body: " + s.raw());
                            Thread.sleep(50);
                            continue;
                        }
                        if (s.status() != 200) {
                            problems.add(s.status() + ": " + s.raw());
                            continue;
                        }
                        String got = text(s, expected.get(p).tokens());
                        if (!got.equals(expected.get(p).text())) problems.add("prompt " + p + " got a different text: " + got);
                        ttft.add(s.arrivals().get(0));
                        ok.incrementAndGet();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : runs) f.get(120, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(problems.isEmpty(), String.join("\n", problems));
            assertTrue(ok.get() > 0 && refused.get() > 0, "ok " + ok + ", refused " + refused);
            assertTrue(node.gateway().peakInFlight() <= limit, "peak in flight " + node.gateway().peakInFlight());
            List<Long> sorted = new ArrayList<>(ttft);
            Collections.sort(sorted);
            System.out.printf("gateway overload: %d clients against %d slots for %.1f s: %d completed (%.1f requests/s), %d refused"
                            + " with 429; time to first token p50 %.1f ms, p99 %.1f ms (24 tokens each, synthetic:tiny, 1 worker)%n",
                    clients, limit, seconds, ok.get(), ok.get() / seconds, refused.get(), sorted.get(sorted.size() / 2) / 1e6,
                    sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1)) / 1e6);
            assertEquals(0, node.gateway().inFlight());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void clientHangingUpMidStreamFreesTheSequenceWithinASecond() throws Exception {
        String seen = api.postAndHangUp("/v1/completions", streamBody("hang up on me", 6000), "\"text\"");
        long t0 = System.nanoTime();
        assertTrue(seen.contains("data: {"), seen);
        awaitNothingRunning(t0, "stream");
    }

    @Test
    void clientHangingUpOnAWholeAnswerFreesTheSequence() throws Exception {
        String body = "{\"model\":\"" + MODEL + "\",\"prompt\":\"wait for me\",\"max_tokens\":6000}";
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", api.port)) {
            byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + b.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            for (int i = 0; i < 500 && sequencesOnWorkers(node) == 0; i++) Thread.sleep(10);
            assertEquals(1, sequencesOnWorkers(node), "the generation runs");
        }
        awaitNothingRunning(System.nanoTime(), "whole answer");
    }

    private static void awaitNothingRunning(long t0, String what) throws Exception {
        while (sequencesOnWorkers(node) > 0 || node.gateway().inFlight() > 0) {
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), what + ": the sequence still runs a second after the hang-up");
            Thread.sleep(5);
        }
        System.out.printf("gateway cancellation (%s): the worker dropped the sequence %.0f ms after the client hung up%n", what,
                (System.nanoTime() - t0) / 1e6);
    }
}
