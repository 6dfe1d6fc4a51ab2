package magicpig.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import magicpig.model.LlamaConfig;

/**
 * What a Hugging Face {@code config.json} of a Llama-family model says: the shape (as a
 * {@link LlamaConfig} with the half-split RoPE layout HF checkpoints use), whether the output
 * projection is tied to the embedding, the special token ids, and the checkpoint's nominal dtype.
 *
 * <p>Accepted: architectures LlamaForCausalLM / MistralForCausalLM (model_type llama / mistral),
 * SiLU, no attention or MLP biases, no quantization, rope_scaling absent, "default" or "llama3".
 * A Mistral sliding window shorter than max_position_embeddings becomes the context length, where
 * full attention and sliding-window attention agree. Both the classic keys (rope_theta,
 * rope_scaling, torch_dtype) and the newer rope_parameters / dtype are read.
 *
 * @param llama             the model shape
 * @param tieWordEmbeddings true when lm_head shares the embedding matrix
 * @param bosId             beginning-of-sequence id, or -1
 * @param eosIds            end-of-sequence ids (possibly empty)
 * @param torchDtype        "float32", "float16", "bfloat16", ... or null when not stated
 */
public record HfConfig(LlamaConfig llama, boolean tieWordEmbeddings, int bosId, int[] eosIds, String torchDtype) {

    public static final List<String> ARCHITECTURES = List.of("LlamaForCausalLM", "MistralForCausalLM");
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public HfConfig {
        if (!llama.rope().halfSplit()) {
            throw new IllegalArgumentException("HF checkpoints use the half-split RoPE layout; permute wq and wk with "
                    + "RopeLayouts and set halfSplit first");
        }
        eosIds = eosIds.clone();
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** Reads a config.json; any problem is an IllegalArgumentException naming the file. */
    public static HfConfig read(Path configJson) throws IOException {
        return parse(Files.readString(configJson), configJson.toString());
    }

    /** Parses config.json text; source names it in messages. */
    public static HfConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw bad(source, "malformed JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw bad(source, "not a JSON object");
        return parse(root, source);
    }

    private static HfConfig parse(JsonNode root, String source) {
        checkArchitecture(root, source);
        if (root.path("attention_bias").asBoolean(false)) throw bad(source, "attention_bias is true; biases are not supported");
        if (root.path("mlp_bias").asBoolean(false)) throw bad(source, "mlp_bias is true; biases are not supported");
        String act = text(root, "hidden_act");
        if (act != null && !act.equals("silu")) throw bad(source, "hidden_act '" + act + "' is not supported (only silu is)");
        JsonNode quant = root.get("quantization_config");
        if (quant != null && !quant.isNull()) {
            throw bad(source, "quantized checkpoints (quantization_config " + quant.path("quant_method").asText("?")
                    + ") are not supported; use an F32, F16 or BF16 checkpoint");
        }

        int dim = positiveInt(root, "hidden_size", null, source);
        int hidden = positiveInt(root, "intermediate_size", null, source);
        int layers = positiveInt(root, "num_hidden_layers", null, source);
        int heads = positiveInt(root, "num_attention_heads", null, source);
        int kvHeads = positiveInt(root, "num_key_value_heads", heads, source);
        Integer headDimDefault = dim % heads == 0 ? dim / heads : null;
        int headDim = positiveInt(root, "head_dim", headDimDefault, source);
        int vocab = positiveInt(root, "vocab_size", null, source);
        int context = positiveInt(root, "max_position_embeddings", null, source);
        JsonNode window = root.get("sliding_window");
        if (window != null && !window.isNull()) {
            int w = positiveInt(root, "sliding_window", null, source);
            context = Math.min(context, w);
        }
        float eps = (float) number(root, "rms_norm_eps", 1e-6, source);

        JsonNode ropeParameters = root.get("rope_parameters");
        if (ropeParameters != null && !ropeParameters.isNull() && !ropeParameters.isObject()) {
            throw bad(source, "rope_parameters must be an object");
        }
        double theta = ropeParameters != null && ropeParameters.has("rope_theta")
                ? number(ropeParameters, "rope_theta", 10000.0, source)
                : number(root, "rope_theta", 10000.0, source);
        JsonNode scalingNode = root.get("rope_scaling");
        if (scalingNode == null || scalingNode.isNull()) scalingNode = ropeParameters;
        LlamaConfig.Llama3Scaling scaling = scaling(scalingNode, source);

        LlamaConfig config;
        try {
            config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, headDim, vocab, context, eps,
                    new LlamaConfig.Rope((float) theta, true, scaling));
        } catch (IllegalArgumentException e) {
            throw bad(source, e.getMessage());
        }
        boolean tied = root.path("tie_word_embeddings").asBoolean(false);
        int[] bosIds = tokenIds(root, "bos_token_id", source);
        int bos = bosIds.length > 0 ? bosIds[0] : -1;
        int[] eos = tokenIds(root, "eos_token_id", source);
        String dtype = text(root, "torch_dtype");
        if (dtype == null) dtype = text(root, "dtype");
        return new HfConfig(config, tied, bos, eos, dtype);
    }

    private static void checkArchitecture(JsonNode root, String source) {
        JsonNode archs = root.get("architectures");
        String modelType = text(root, "model_type");
        if (modelType != null && !MODEL_TYPES.contains(modelType)) {
            throw bad(source, "model_type '" + modelType + "' (architectures " + archs + ") is not supported; expected one of "
                    + MODEL_TYPES + " with " + ARCHITECTURES);
        }
        if (archs != null && !archs.isNull()) {
            boolean known = false;
            for (JsonNode a : archs) known |= ARCHITECTURES.contains(a.asText());
            if (!known) throw bad(source, "architectures " + archs + " are not supported; expected one of " + ARCHITECTURES);
        } else if (modelType == null) {
            throw bad(source, "names neither architectures nor model_type; expected one of " + ARCHITECTURES);
        }
    }

    private static LlamaConfig.Llama3Scaling scaling(JsonNode node, String source) {
        if (node == null || node.isNull()) return null;
        if (!node.isObject()) throw bad(source, "rope_scaling must be an object or null");
        String type = text(node, "rope_type");
        if (type == null) type = text(node, "type");
        if (type == null || type.equals("default")) return null;
        if (!type.equals("llama3")) {
            throw bad(source, "rope_scaling type '" + type + "' is not supported (only llama3 and default are)");
        }
        return new LlamaConfig.Llama3Scaling(
                (float) requiredNumber(node, "factor", source),
                (float) requiredNumber(node, "low_freq_factor", source),
                (float) requiredNumber(node, "high_freq_factor", source),
                positiveInt(node, "original_max_position_embeddings", null, source));
    }

    private static int positiveInt(JsonNode node, String key, Integer fallback, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            if (fallback == null) throw bad(source, "lacks " + key);
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
            throw bad(source, key + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static double number(JsonNode node, String key, double fallback, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw bad(source, key + " must be a number, got " + v);
        return v.doubleValue();
    }

    private static double requiredNumber(JsonNode node, String key, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) throw bad(source, "rope_scaling lacks " + key);
        return number(node, key, 0, source);
    }

    private static String text(JsonNode node, String key) {
        JsonNode v = node.get(key);
        return v == null || !v.isTextual() ? null : v.textValue();
    }

    /** An id, a list of ids, or nothing. */
    static int[] tokenIds(JsonNode node, String key, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return new int[0];
        if (v.isArray()) {
            int[] ids = new int[v.size()];
            for (int i = 0; i < ids.length; i++) ids[i] = tokenId(v.get(i), key, source);
            return ids;
        }
        return new int[] {tokenId(v, key, source)};
    }

    private static int tokenId(JsonNode v, String key, String source) {
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw bad(source, key + " must be a token id or a list of them, got " + v);
        }
        return v.intValue();
    }

    private static IllegalArgumentException bad(String source, String problem) {
        return new IllegalArgumentException("HF config " + source + ": " + problem);
    }

    /** This config as config.json text, in the keys transformers writes for LlamaForCausalLM. */
    public String toJson() {
        LlamaConfig c = llama;
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("LlamaForCausalLM");
        root.put("model_type", "llama");
        root.put("hidden_act", "silu");
        root.put("hidden_size", c.dim());
        root.put("intermediate_size", c.hiddenDim());
        root.put("num_hidden_layers", c.layers());
        root.put("num_attention_heads", c.heads());
        root.put("num_key_value_heads", c.kvHeads());
        root.put("head_dim", c.headDim());
        root.put("vocab_size", c.vocabSize());
        root.put("max_position_embeddings", c.contextLength());
        root.put("rms_norm_eps", c.rmsEps());
        root.put("rope_theta", c.rope().theta());
        LlamaConfig.Llama3Scaling s = c.rope().scaling();
        if (s == null) {
            root.putNull("rope_scaling");
        } else {
            ObjectNode node = root.putObject("rope_scaling");
            node.put("rope_type", "llama3");
            node.put("factor", s.factor());
            node.put("low_freq_factor", s.lowFreqFactor());
            node.put("high_freq_factor", s.highFreqFactor());
            node.put("original_max_position_embeddings", s.originalContextLength());
        }
        root.put("attention_bias", false);
        root.put("mlp_bias", false);
        root.put("tie_word_embeddings", tieWordEmbeddings);
        if (bosId >= 0) root.put("bos_token_id", bosId);
        else root.putNull("bos_token_id");
        if (eosIds.length == 1) {
            root.put("eos_token_id", eosIds[0]);
        } else if (eosIds.length == 0) {
            root.putNull("eos_token_id");
        } else {
            ArrayNode list = root.putArray("eos_token_id");
            for (int id : eosIds) list.add(id);
        }
        if (torchDtype != null) root.put("torch_dtype", torchDtype);
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
