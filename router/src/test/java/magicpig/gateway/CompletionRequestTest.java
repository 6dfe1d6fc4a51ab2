package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import magicpig.chat.BuiltinChatTemplate;
import magicpig.tokenizer.SyntheticTokenizer;
import org.junit.jupiter.api.Test;

/** Request bodies to generation settings: defaults, conversions, the magicpig extension. */
class CompletionRequestTest {
    static final SyntheticTokenizer TOK = new SyntheticTokenizer(512);
    static final ServedModel MODEL = new ServedModel("m", TOK, true, 64, BuiltinChatTemplate.forVocabulary(TOK, new int[0]), null, null);

    static JsonNode json(String s) throws Exception {
        return HttpTestClient.JSON.readTree(s);
    }

    @Test
    void parametersBecomeTheGenerationSettings() throws Exception {
        CompletionRequest r = CompletionRequest.parse(json("""
                {"model": "m", "prompt": "ab", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
                 "seed": 11, "stop": "zz", "stream": true, "stream_options": {"include_usage": true},
                 "magicpig": {"attention": "magicpig", "lsh_k": 8, "lsh_l": 64}}"""), false, MODEL);
        assertArrayEquals(new int[] {1, 3 + 'a', 3 + 'b'}, r.prompt());
        assertEquals(7, r.maxTokens());
        assertEquals(0.5f, r.sampling().temperature());
        assertEquals(0.9f, r.sampling().topP());
        assertEquals(40, r.sampling().topK());
        assertEquals(0.05f, r.sampling().minP());
        assertEquals(11, r.sampling().seed());
        assertEquals(List.of("zz"), r.stop());
        assertTrue(r.stream() && r.includeUsage());
        assertEquals(Map.of("attention", "magicpig", "lsh-k", "8", "lsh-l", "64"), r.attention());
    }

    @Test
    void defaultsFollowOpenAi() throws Exception {
        CompletionRequest c = CompletionRequest.parse(json("{\"model\": \"m\", \"prompt\": \"ab\", \"top_p\": 0}"), false, MODEL);
        assertEquals(16, c.maxTokens(), "legacy completions default to 16 tokens");
        assertTrue(c.sampling().greedy(), "top_p 0 keeps only the most likely token");
        assertEquals(Map.of(), c.attention());
        CompletionRequest chat = CompletionRequest.parse(json("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}"),
                true, MODEL);
        assertEquals(64 - chat.prompt().length, chat.maxTokens(), "chat defaults to the rest of the context");
        assertEquals(1f, chat.sampling().temperature());
    }

    @Test
    void problemsNameTheirParameter() throws Exception {
        ApiError e = assertThrows(ApiError.class, () -> CompletionRequest.parse(json(
                "{\"model\": \"m\", \"prompt\": \"ab\", \"max_tokens\": 63}"), false, MODEL));
        assertEquals("max_tokens", e.param);
        assertEquals("context_length_exceeded", e.code);
        assertTrue(e.getMessage().contains("maximum context length is 64"), e.getMessage());
        e = assertThrows(ApiError.class, () -> CompletionRequest.parse(json(
                "{\"model\": \"m\", \"prompt\": \"ab\", \"magicpig\": {\"lsh_k\": 0}}"), false, MODEL));
        assertEquals("magicpig.lsh_k", e.param);
    }
}
