package magicpig.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import magicpig.chat.ChatMessage;
import magicpig.chat.ChatTemplateException;
import magicpig.sampling.SamplingSettings;

/**
 * A validated /v1/completions or /v1/chat/completions body: the prompt as token ids and everything
 * the generation needs. Every problem is a 400 naming the parameter (404 for an unknown model).
 *
 * @param attention the {@code magicpig} extension in flag form (attention, lsh-k, lsh-l); empty = the cluster's default
 */
record CompletionRequest(boolean chat, int[] prompt, int maxTokens, SamplingSettings sampling, List<String> stop,
                         boolean stream, boolean includeUsage, Map<String, String> attention) {

    static final Set<String> ATTENTION_MODES = Set.of("dense", "magicpig", "topk", "quest", "oracle-sampling");
    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    /** OpenAI's default for the legacy completions endpoint. */
    static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

    static CompletionRequest parse(JsonNode body, boolean chat, ServedModel model) {
        if (body == null || !body.isObject()) throw ApiError.badRequest("the request body must be a JSON object", null);
        Params p = new Params(body);
        String name = p.string("model", true);
        if (!name.equals(model.name())) {
            throw ApiError.notFound("The model '" + name + "' does not exist (this server serves '" + model.name() + "')", "model",
                    "model_not_found");
        }
        int n = (int) p.integer("n", 1, 1, Integer.MAX_VALUE);
        if (n != 1) throw ApiError.badRequest("only n = 1 is supported", "n");
        if (p.integer("best_of", 1, 1, Integer.MAX_VALUE) != 1) throw ApiError.badRequest("only best_of = 1 is supported", "best_of");
        if (p.bool("echo", false)) throw ApiError.badRequest("echo is not supported", "echo");
        JsonNode logprobs = body.get("logprobs");
        if (logprobs != null && !logprobs.isNull()
                && (logprobs.isBoolean() ? logprobs.asBoolean() : !logprobs.isIntegralNumber() || logprobs.asLong() != 0)) {
            throw ApiError.badRequest("logprobs are not supported", "logprobs");
        }
        if (!p.absent("tools") && body.get("tools").size() > 0) throw ApiError.badRequest("tools are not supported", "tools");
        if (!p.absent("suffix") && !body.get("suffix").asText().isEmpty()) throw ApiError.badRequest("suffix is not supported", "suffix");

        int[] prompt = chat ? chatPrompt(body, model) : completionPrompt(body, model);
        if (prompt.length == 0) throw ApiError.badRequest("the prompt is empty", chat ? "messages" : "prompt");
        int ctx = model.contextLength();
        if (prompt.length >= ctx) {
            throw ApiError.badRequest("This model's maximum context length is " + ctx + " tokens, but the prompt has " + prompt.length
                    + " tokens (at least one must be left to generate).", chat ? "messages" : "prompt", "context_length_exceeded");
        }
        String maxName = chat && !p.absent("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int room = ctx - prompt.length;
        long max = p.integer(maxName, -1, 1, Long.MAX_VALUE);
        if (max < 0) {
            max = chat ? room : Math.min(COMPLETIONS_DEFAULT_MAX_TOKENS, room);
        } else if (max > room) {
            throw ApiError.badRequest("This model's maximum context length is " + ctx + " tokens. However, you requested "
                    + (prompt.length + max) + " tokens (" + prompt.length + " in the prompt, " + max + " in the completion). "
                    + "Please reduce the prompt or the completion length.", maxName, "context_length_exceeded");
        }

        double temperature = p.number("temperature", 1.0, 0, 2);
        double topP = p.number("top_p", 1.0, 0, 1);
        long topK = p.integer("top_k", 0, -1, Integer.MAX_VALUE);
        double minP = p.number("min_p", 0.0, 0, 1);
        long seed = p.absent("seed") ? ThreadLocalRandom.current().nextLong() : p.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (topP == 0) temperature = 0; // keeping only the most likely token is greedy decoding
        SamplingSettings sampling = new SamplingSettings((float) temperature, (int) Math.max(0, topK), topP == 0 ? 1f : (float) topP,
                (float) minP, seed);

        List<String> stop = stops(body.get("stop"));
        boolean stream = p.bool("stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!stream) throw ApiError.badRequest("stream_options is only allowed when stream is true", "stream_options");
            if (!so.isObject()) throw ApiError.badRequest("stream_options must be an object", "stream_options");
            includeUsage = new Params(so).bool("include_usage", false);
        }
        return new CompletionRequest(chat, prompt, (int) max, sampling, stop, stream, includeUsage, attention(body.get("magicpig")));
    }

    private static int[] completionPrompt(JsonNode body, ServedModel model) {
        JsonNode prompt = body.get("prompt");
        if (prompt == null || prompt.isNull()) throw ApiError.badRequest("you must provide a prompt", "prompt");
        if (prompt.isTextual()) return model.tokenizer().encode(prompt.asText(), model.addBos());
        if (prompt.isArray()) {
            if (prompt.isEmpty()) throw ApiError.badRequest("the prompt is empty", "prompt");
            if (prompt.get(0).isIntegralNumber()) return tokenIds(prompt, model);
            if (prompt.size() > 1) throw ApiError.badRequest("only one prompt per request is supported", "prompt");
            JsonNode only = prompt.get(0);
            if (only.isTextual()) return model.tokenizer().encode(only.asText(), model.addBos());
            if (only.isArray()) return tokenIds(only, model);
        }
        throw ApiError.badRequest("prompt must be a string, a list of token ids, or a list with one of those", "prompt");
    }

    private static int[] tokenIds(JsonNode ids, ServedModel model) {
        int[] out = new int[ids.size()];
        int vocab = model.tokenizer().vocabSize();
        for (int k = 0; k < out.length; k++) {
            JsonNode t = ids.get(k);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                throw ApiError.badRequest("prompt token " + k + " is not a token id of this model (0.." + (vocab - 1) + ")", "prompt");
            }
            out[k] = t.asInt();
        }
        return out;
    }

    private static int[] chatPrompt(JsonNode body, ServedModel model) {
        JsonNode msgs = body.get("messages");
        if (msgs == null || msgs.isNull()) throw ApiError.badRequest("you must provide messages", "messages");
        if (!msgs.isArray() || msgs.isEmpty()) throw ApiError.badRequest("messages must be a non-empty array", "messages");
        List<ChatMessage> messages = new ArrayList<>();
        for (int k = 0; k < msgs.size(); k++) {
            JsonNode m = msgs.get(k);
            String where = "messages[" + k + "]";
            if (!m.isObject()) throw ApiError.badRequest(where + " must be an object", where);
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw ApiError.badRequest(where + ".role must be one of " + new java.util.TreeSet<>(ROLES), where + ".role");
            }
            String r = role.asText().equals("developer") ? "system" : role.asText();
            messages.add(new ChatMessage(r, content(m.get("content"), where + ".content")));
        }
        String text;
        try {
            text = model.chatTemplate().render(messages, true);
        } catch (ChatTemplateException e) {
            throw ApiError.badRequest(e.getMessage(), "messages");
        }
        String bos = model.bosText();
        boolean addBos = model.addBos() && !(bos.length() > 0 && text.startsWith(bos));
        return model.tokenizer().encode(text, addBos, true);
    }

    /** A string, or an array of text parts joined with newlines. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) throw ApiError.badRequest(where + " is missing", where);
        if (c.isTextual()) return c.asText();
        if (c.isArray()) {
            List<String> parts = new ArrayList<>();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.badRequest(where + ": only text content parts are supported", where);
                }
                parts.add(part.get("text").asText());
            }
            return String.join("\n", parts);
        }
        throw ApiError.badRequest(where + " must be a string or an array of text parts", where);
    }

    private static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) throw ApiError.badRequest("stop must be a string or an array of strings", "stop");
                out.add(s.asText());
            }
        } else {
            throw ApiError.badRequest("stop must be a string or an array of strings", "stop");
        }
        if (out.size() > 16) throw ApiError.badRequest("at most 16 stop strings are supported", "stop");
        for (String s : out) if (s.isEmpty()) throw ApiError.badRequest("stop strings must not be empty", "stop");
        return List.copyOf(out);
    }

    /** The magicpig extension: {"attention": mode, "lsh_k": K, "lsh_l": L}, all optional. */
    private static Map<String, String> attention(JsonNode ext) {
        if (ext == null || ext.isNull()) return Map.of();
        if (!ext.isObject()) throw ApiError.badRequest("magicpig must be an object", "magicpig");
        Params p = new Params(ext, "magicpig.");
        for (var it = ext.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("attention", "lsh_k", "lsh_l").contains(f)) {
                throw ApiError.badRequest("unknown magicpig setting '" + f + "' (expected attention, lsh_k, lsh_l)", "magicpig." + f);
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (!p.absent("attention")) {
            String mode = p.string("attention", true);
            if (!ATTENTION_MODES.contains(mode)) {
                throw ApiError.badRequest("magicpig.attention must be one of " + new java.util.TreeSet<>(ATTENTION_MODES), "magicpig.attention");
            }
            out.put("attention", mode);
        }
        if (!p.absent("lsh_k")) out.put("lsh-k", Long.toString(p.integer("lsh_k", 0, 1, 16)));
        if (!p.absent("lsh_l")) out.put("lsh-l", Long.toString(p.integer("lsh_l", 0, 1, 4096)));
        return Map.copyOf(out);
    }

    /** Typed, range-checked reads of optional fields; null counts as absent, as OpenAI's clients send it. */
    private record Params(JsonNode node, String prefix) {
        Params(JsonNode node) {
            this(node, "");
        }

        boolean absent(String f) {
            JsonNode v = node.get(f);
            return v == null || v.isNull();
        }

        String string(String f, boolean required) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) {
                if (required) throw ApiError.badRequest("you must provide " + prefix + f, prefix + f);
                return null;
            }
            if (!v.isTextual()) throw ApiError.badRequest(prefix + f + " must be a string, got " + kind(v), prefix + f);
            return v.asText();
        }

        long integer(String f, long dflt, long min, long max) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) return dflt;
            boolean integral = v.isIntegralNumber() || (v.isFloatingPointNumber() && v.asDouble() == Math.rint(v.asDouble()));
            if (!v.isNumber() || !integral) throw ApiError.badRequest(prefix + f + " must be an integer, got " + kind(v), prefix + f);
            if (!v.canConvertToLong()) throw ApiError.badRequest(prefix + f + " is too large: " + v, prefix + f);
            if (v.asLong() < min || v.asLong() > max) {
                throw ApiError.badRequest(prefix + f + " must be " + range(min, max) + ", got " + v, prefix + f);
            }
            return v.asLong();
        }

        double number(String f, double dflt, double min, double max) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) return dflt;
            if (!v.isNumber()) throw ApiError.badRequest(prefix + f + " must be a number, got " + kind(v), prefix + f);
            double d = v.asDouble();
            if (!(d >= min && d <= max)) throw ApiError.badRequest(prefix + f + " must be between " + min + " and " + max + ", got " + v, prefix + f);
            return d;
        }

        boolean bool(String f, boolean dflt) {
            JsonNode v = node.get(f);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw ApiError.badRequest(prefix + f + " must be a boolean, got " + kind(v), prefix + f);
            return v.asBoolean();
        }

        private static String range(long min, long max) {
            if (max == Integer.MAX_VALUE || max == Long.MAX_VALUE) return "at least " + min;
            return "between " + min + " and " + max;
        }

        private static String kind(JsonNode v) {
            return switch (v.getNodeType()) {
                case STRING -> "a string";
                case NUMBER -> "a number";
                case BOOLEAN -> "a boolean";
                case ARRAY -> "an array";
                case OBJECT -> "an object";
                default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
            };
        }
    }
}
