package magicpig.gateway;

import static magicpig.gateway.GatewayTestSupport.greedy;
import static magicpig.gateway.GatewayTestSupport.quote;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import magicpig.cluster.ClusterNode;
import magicpig.model.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The endpoints, parameters, streaming format and errors of the OpenAI API, on an embedded node. */
class GatewayApiTest {
    static final String MODEL = "synthetic:tiny";
    static ClusterNode node;
    static HttpTestClient api;

    @BeforeAll
    static void start() throws Exception {
        node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.model = "synthetic:tiny"
                magicpig.http.port = 0
                magicpig.http.api-keys = ["test-key"]
                magicpig.http.max-body = 64KiB
                """));
        api = new HttpTestClient(node.httpPort(), "test-key");
        GatewayTestSupport.awaitReady(node);
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) node.close();
    }

    static Model model() {
        return node.model();
    }

    /** The dashboard page is served without a key, beside the API (DashboardPageTest covers its files). */
    @Test
    void dashboardPageIsServed() throws Exception {
        HttpTestClient anonymous = new HttpTestClient(api.port, null);
        HttpTestClient.Answer page = anonymous.get("/dashboard");
        assertEquals(200, page.status(), page.body());
        assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
        assertTrue(page.body().contains("/dashboard/dashboard.js?v="), page.body());
        assertEquals(404, anonymous.get("/dashboard/nothing-here.js").status());
    }

    @Test
    void healthReadyAndModels() throws Exception {
        HttpTestClient anonymous = new HttpTestClient(api.port, null);
        assertEquals("ok", anonymous.get("/health").json().get("status").asText());
        HttpTestClient.Answer ready = anonymous.get("/ready");
        assertEquals(200, ready.status(), ready.body());
        assertEquals(1, ready.json().get("workers").asInt());
        assertEquals(8 + 64, ready.json().get("admission_limit").asInt(), "1 worker x (max-batch 8 + max-queued 64)");

        JsonNode models = api.get("/v1/models").json();
        assertEquals("list", models.get("object").asText());
        assertEquals(MODEL, models.get("data").get(0).get("id").asText());
        assertEquals(MODEL, api.get("/v1/models/" + MODEL).json().get("id").asText());
        assertEquals(404, api.get("/v1/models/gpt-4").status());
        assertEquals(401, anonymous.get("/v1/models").status());
    }

    @Test
    void completionMatchesInProcessGreedyGeneration() throws Exception {
        String prompt = "The gateway says";
        int[] ids = model().encode(prompt);
        var expected = greedy(model(), ids, 24);
        JsonNode r = api.post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":" + quote(prompt)
                + ",\"max_tokens\":24,\"temperature\":0}").json();
        assertEquals("text_completion", r.get("object").asText());
        assertTrue(r.get("id").asText().startsWith("cmpl-"));
        JsonNode choice = r.get("choices").get(0);
        assertEquals(expected.text(), choice.get("text").asText());
        assertEquals(expected.finishReason(), choice.get("finish_reason").asText());
        assertEquals(ids.length, r.get("usage").get("prompt_tokens").asInt());
        assertEquals(expected.tokens(), r.get("usage").get("completion_tokens").asInt());
        assertEquals(ids.length + expected.tokens(), r.get("usage").get("total_tokens").asInt());

        // the same prompt as token ids gives the same answer
        StringBuilder idList = new StringBuilder();
        for (int id : ids) idList.append(idList.isEmpty() ? "" : ",").append(id);
        JsonNode byIds = api.post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":[" + idList
                + "],\"max_tokens\":24,\"temperature\":0}").json();
        assertEquals(expected.text(), byIds.get("choices").get(0).get("text").asText());
    }

    @Test
    void chatUsesTheTemplateAndAnswersAsTheAssistant() throws Exception {
        String body = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"}],\"max_completion_tokens\":10,\"temperature\":0}";
        JsonNode r = api.post("/v1/chat/completions", body).json();
        assertEquals("chat.completion", r.get("object").asText());
        // the synthetic vocabulary has no chat tokens: the built-in Llama 2 format
        String prompt = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]";
        int[] ids = model().tokenizer().encode(prompt, false, true);
        var expected = greedy(model(), ids, 10);
        assertEquals(ids.length, r.get("usage").get("prompt_tokens").asInt());
        JsonNode m = r.get("choices").get(0).get("message");
        assertEquals("assistant", m.get("role").asText());
        assertEquals(expected.text(), m.get("content").asText());
        assertEquals(expected.finishReason(), r.get("choices").get(0).get("finish_reason").asText());
    }

    @Test
    void streamedCompletionIsTheSameTextInChunksEndingWithDone() throws Exception {
        String prompt = "Stream me";
        var expected = greedy(model(), model().encode(prompt), 30);
        var s = api.stream("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":" + quote(prompt)
                + ",\"max_tokens\":30,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, s.status(), s.raw());
        assertEquals("[DONE]", s.data().get(s.data().size() - 1));
        List<JsonNode> chunks = s.chunks();
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            assertEquals("text_completion", c.get("object").asText());
            assertTrue(c.get("usage").isNull(), "usage is null until the last chunk");
            JsonNode choice = c.get("choices").get(0);
            text.append(choice.get("text").asText());
            if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asText();
        }
        assertEquals(expected.text(), text.toString());
        assertEquals(expected.finishReason(), finish);
        assertTrue(chunks.size() > 5, "one chunk per token, not one at the end: " + chunks.size());
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(expected.tokens(), usage.get("usage").get("completion_tokens").asInt());
        assertTrue(s.raw().contains("\n\n") || s.raw().contains("data: [DONE]\n"), "events are blank-line separated");
    }

    @Test
    void streamedChatStartsWithTheRoleAndEndsWithTheReason() throws Exception {
        var s = api.stream("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"text\",\"text\":\"Hi\"}]}],\"max_tokens\":12,\"temperature\":0,\"stream\":true}");
        assertEquals(200, s.status(), s.raw());
        List<JsonNode> chunks = s.chunks();
        assertEquals("assistant", chunks.get(0).get("choices").get(0).get("delta").get("role").asText());
        JsonNode last = chunks.get(chunks.size() - 1).get("choices").get(0);
        assertFalse(last.get("finish_reason").isNull());
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.get("object").asText());
            assertFalse(c.has("usage"), "no usage field without stream_options.include_usage");
        }
        int[] ids = model().tokenizer().encode("<s>[INST] Hi [/INST]", false, true);
        var expected = greedy(model(), ids, 12);
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) text.append(c.get("choices").get(0).get("delta").path("content").asText(""));
        assertEquals(expected.text(), text.toString());
        assertEquals("[DONE]", s.data().get(s.data().size() - 1));
    }

    @Test
    void stopStringCutsTheTextAndEndsTheSequence() throws Exception {
        String prompt = "Where to stop";
        var full = greedy(model(), model().encode(prompt), 40);
        String stop = full.text().substring(12, 15);
        String expected = full.text().substring(0, full.text().indexOf(stop));
        for (boolean stream : new boolean[] {false, true}) {
            String body = "{\"model\":\"" + MODEL + "\",\"prompt\":" + quote(prompt) + ",\"max_tokens\":40,\"temperature\":0,"
                    + "\"stop\":[\"never-there\"," + quote(stop) + "],\"stream\":" + stream + "}";
            String text, finish;
            if (stream) {
                var s = api.stream("/v1/completions", body);
                StringBuilder b = new StringBuilder();
                String f = null;
                for (JsonNode c : s.chunks()) {
                    b.append(c.get("choices").get(0).get("text").asText());
                    if (!c.get("choices").get(0).get("finish_reason").isNull()) f = c.get("choices").get(0).get("finish_reason").asText();
                }
                text = b.toString();
                finish = f;
            } else {
                JsonNode c = api.post("/v1/completions", body).json().get("choices").get(0);
                text = c.get("text").asText();
                finish = c.get("finish_reason").asText();
            }
            assertEquals(expected, text, "stream=" + stream);
            assertEquals("stop", finish);
        }
        for (int i = 0; i < 100 && GatewayTestSupport.sequencesOnWorkers(node) > 0; i++) Thread.sleep(10);
        assertEquals(0, GatewayTestSupport.sequencesOnWorkers(node), "a stopped sequence no longer runs");
    }

    @Test
    void magicpigExtensionReachesTheWorker() throws Exception {
        // dense is what this cluster runs; the extension's settings travel with the request
        JsonNode ok = api.post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"max_tokens\":3,\"temperature\":0,"
                + "\"magicpig\":{\"attention\":\"dense\",\"lsh_k\":8,\"lsh_l\":64}}").json();
        assertEquals(3, ok.get("usage").get("completion_tokens").asInt(), ok.toString());
        // a mode the workers cannot run yet fails with their reason, not a stack trace
        HttpTestClient.Answer quest = api.post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"max_tokens\":3,"
                + "\"magicpig\":{\"attention\":\"quest\"}}");
        assertTrue(quest.status() == 200 || quest.json().get("error").get("message").asText().contains("quest"), quest.body());
    }

    record Bad(String name, int status, String path, byte[] body, String param) {
        Bad(String name, int status, String body, String param) {
            this(name, status, "/v1/completions", body.getBytes(StandardCharsets.UTF_8), param);
        }
    }

    @Test
    void badInputGetsTheDocumentedStatusAndErrorAndTheServerKeepsServing() throws Exception {
        String m = "\"model\":\"" + MODEL + "\"";
        byte[] invalidUtf8 = ("{" + m + ",\"prompt\":\"bad \u0000\"}").getBytes(StandardCharsets.UTF_8);
        invalidUtf8[invalidUtf8.length - 3] = (byte) 0xC3; // a lead byte followed by '"': not UTF-8
        byte[] oversized = ("{" + m + ",\"prompt\":\"" + "x".repeat(70 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8);
        String longPrompt = "y".repeat(9000); // 9000 byte tokens > the 8192 context
        List<Bad> cases = List.of(
                new Bad("malformed JSON", 400, "{" + m + ",\"prompt\":", null),
                new Bad("not an object", 400, "[1,2]", null),
                new Bad("trailing garbage", 400, "{" + m + ",\"prompt\":\"x\"} extra", null),
                new Bad("empty body", 400, "", null),
                new Bad("max_tokens as a string", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":\"10\"}", "max_tokens"),
                new Bad("max_tokens fractional", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":2.5}", "max_tokens"),
                new Bad("negative max_tokens", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":-5}", "max_tokens"),
                new Bad("zero max_tokens", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":0}", "max_tokens"),
                new Bad("max_tokens past the context", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":100000}", "max_tokens"),
                new Bad("huge max_tokens", 400, "{" + m + ",\"prompt\":\"x\",\"max_tokens\":100000000000000000000000}", "max_tokens"),
                new Bad("temperature as a string", 400, "{" + m + ",\"prompt\":\"x\",\"temperature\":\"hot\"}", "temperature"),
                new Bad("temperature out of range", 400, "{" + m + ",\"prompt\":\"x\",\"temperature\":7}", "temperature"),
                new Bad("top_p out of range", 400, "{" + m + ",\"prompt\":\"x\",\"top_p\":1.5}", "top_p"),
                new Bad("stream not a boolean", 400, "{" + m + ",\"prompt\":\"x\",\"stream\":\"yes\"}", "stream"),
                new Bad("stop of numbers", 400, "{" + m + ",\"prompt\":\"x\",\"stop\":[1]}", "stop"),
                new Bad("n = 2", 400, "{" + m + ",\"prompt\":\"x\",\"n\":2}", "n"),
                new Bad("stream_options without stream", 400, "{" + m + ",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}",
                        "stream_options"),
                new Bad("lsh_k out of range", 400, "{" + m + ",\"prompt\":\"x\",\"magicpig\":{\"lsh_k\":17}}", "magicpig.lsh_k"),
                new Bad("lsh_l zero", 400, "{" + m + ",\"prompt\":\"x\",\"magicpig\":{\"lsh_l\":0}}", "magicpig.lsh_l"),
                new Bad("unknown attention", 400, "{" + m + ",\"prompt\":\"x\",\"magicpig\":{\"attention\":\"magic\"}}", "magicpig.attention"),
                new Bad("missing prompt", 400, "{" + m + "}", "prompt"),
                new Bad("missing model", 400, "{\"prompt\":\"x\"}", "model"),
                new Bad("prompt over the context", 400, "{" + m + ",\"prompt\":\"" + longPrompt + "\"}", "prompt"),
                new Bad("bad token id", 400, "{" + m + ",\"prompt\":[1, 99999]}", "prompt"),
                new Bad("unknown model", 404, "{\"model\":\"gpt-4\",\"prompt\":\"x\"}", "model"),
                new Bad("oversized body", 413, "/v1/completions", oversized, null),
                new Bad("invalid UTF-8", 400, "/v1/completions", invalidUtf8, null),
                new Bad("messages not an array", 400, "/v1/chat/completions", ("{" + m + ",\"messages\":\"hi\"}").getBytes(), "messages"),
                new Bad("unknown role", 400, "/v1/chat/completions",
                        ("{" + m + ",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}").getBytes(), "messages[0].role"),
                new Bad("roles that do not alternate", 400, "/v1/chat/completions", ("{" + m + ",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}").getBytes(), "messages"),
                new Bad("unknown path", 404, "/v1/engines", "{}".getBytes(), null));
        List<String> failures = new ArrayList<>();
        for (Bad c : cases) {
            HttpTestClient.Answer a = api.postBytes(c.path(), c.body());
            JsonNode e = a.json().get("error");
            if (a.status() != c.status() || e == null || !e.get("message").isTextual() || !e.has("type") || !e.has("code")
                    || (c.param() != null && !c.param().equals(e.get("param").asText()))
                    || a.body().contains("Exception") || a.body().contains("\tat ")) {
                failures.add(c.name() + ": " + a.status() + " " + a.body());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));

        HttpTestClient noKey = new HttpTestClient(api.port, null), wrongKey = new HttpTestClient(api.port, "nope");
        String valid = "{" + m + ",\"prompt\":\"x\",\"max_tokens\":2}";
        for (HttpTestClient c : List.of(noKey, wrongKey)) {
            HttpTestClient.Answer a = c.post("/v1/completions", valid);
            assertEquals(401, a.status(), a.body());
            assertEquals("invalid_api_key", a.json().get("error").get("code").asText());
        }
        assertEquals(405, api.get("/v1/completions").status());
        HttpTestClient.Answer after = api.post("/v1/completions", valid);
        assertEquals(200, after.status(), "still serving: " + after.body());
        assertEquals(0, node.gateway().inFlight(), "every refused request gave its admission back");
        assertNotNull(after.json().get("choices"));
    }
}
