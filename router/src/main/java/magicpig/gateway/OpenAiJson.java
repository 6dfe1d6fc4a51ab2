package magicpig.gateway;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** OpenAI's response and chunk shapes for completions and chat completions. */
final class OpenAiJson {
    private OpenAiJson() {}

    static ObjectNode usage(int promptTokens, int completionTokens) {
        ObjectNode u = Json.object();
        u.put("prompt_tokens", promptTokens);
        u.put("completion_tokens", completionTokens);
        u.put("total_tokens", promptTokens + completionTokens);
        return u;
    }

    private static ObjectNode head(String id, boolean chat, boolean chunk, long created, String model) {
        ObjectNode o = Json.object();
        o.put("id", id);
        o.put("object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        o.put("created", created);
        o.put("model", model);
        o.put("system_fingerprint", "magicpig");
        return o;
    }

    /** The whole answer of a non-streaming request. */
    static ObjectNode completion(String id, boolean chat, long created, String model, String text, String finish, ObjectNode usage) {
        ObjectNode o = head(id, chat, false, created, model);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", 0);
        if (chat) {
            ObjectNode m = c.putObject("message");
            m.put("role", "assistant");
            m.put("content", text);
        } else {
            c.put("text", text);
        }
        c.putNull("logprobs");
        c.put("finish_reason", finish);
        o.set("usage", usage);
        return o;
    }

    /**
     * One streamed chunk with one choice: text (may be null for none) and finish (null until the last).
     * For chat the first chunk carries the assistant role.
     */
    static ObjectNode chunk(String id, boolean chat, long created, String model, String text, boolean role, String finish,
                            boolean usageField) {
        ObjectNode o = head(id, chat, true, created, model);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", 0);
        if (chat) {
            ObjectNode d = c.putObject("delta");
            if (role) d.put("role", "assistant");
            if (text != null) d.put("content", text);
        } else {
            c.put("text", text == null ? "" : text);
        }
        c.putNull("logprobs");
        c.put("finish_reason", finish);
        if (usageField) o.putNull("usage");
        return o;
    }

    /** The chunk after the last one when stream_options.include_usage is set: no choices, the usage. */
    static ObjectNode usageChunk(String id, boolean chat, long created, String model, ObjectNode usage) {
        ObjectNode o = head(id, chat, true, created, model);
        o.putArray("choices");
        o.set("usage", usage);
        return o;
    }

    static ObjectNode models(String name, long created) {
        ObjectNode o = Json.object();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        data.add(model(name, created));
        return o;
    }

    static ObjectNode model(String name, long created) {
        ObjectNode m = Json.object();
        m.put("id", name);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "magicpig");
        return m;
    }
}
