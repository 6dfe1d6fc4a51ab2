package magicpig.model.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class HfConfigTest {
    /** A Llama-2-7B-like config.json body with the optional keys left out. */
    private static final String BASE = """
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 3,
            "num_attention_heads": 8, "vocab_size": 100, "max_position_embeddings": 256,
            "rms_norm_eps": 1e-05""";

    private static HfConfig parse(String extra) {
        return HfConfig.parse("{" + BASE + (extra.isEmpty() ? "" : ", " + extra) + "}", "test/config.json");
    }

    @Test
    void defaults() {
        HfConfig hf = parse("");
        LlamaConfig c = hf.llama();
        assertEquals(64, c.dim());
        assertEquals(172, c.hiddenDim());
        assertEquals(3, c.layers());
        assertEquals(8, c.heads());
        assertEquals(8, c.kvHeads(), "kv heads default to heads");
        assertEquals(8, c.headDim(), "head dim defaults to hidden / heads");
        assertEquals(100, c.vocabSize());
        assertEquals(256, c.contextLength());
        assertEquals(1e-5f, c.rmsEps());
        assertEquals(10000f, c.rope().theta());
        assertTrue(c.rope().halfSplit(), "HF checkpoints rotate halves");
        assertNull(c.rope().scaling());
        assertFalse(hf.tieWordEmbeddings());
        assertEquals(-1, hf.bosId());
        assertArrayEquals(new int[0], hf.eosIds());
        assertNull(hf.torchDtype());
    }

    @Test
    void explicitValues() {
        HfConfig hf = parse("""
                "num_key_value_heads": 2, "head_dim": 16, "rope_theta": 500000.0, "tie_word_embeddings": true,
                "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "torch_dtype": "bfloat16\"""");
        assertEquals(2, hf.llama().kvHeads());
        assertEquals(16, hf.llama().headDim());
        assertEquals(500000f, hf.llama().rope().theta());
        assertTrue(hf.tieWordEmbeddings());
        assertEquals(128000, hf.bosId());
        assertArrayEquals(new int[] {128001, 128008, 128009}, hf.eosIds());
        assertEquals("bfloat16", hf.torchDtype());
        assertArrayEquals(new int[] {2}, parse("\"eos_token_id\": 2").eosIds());
    }

    @Test
    void llama3RopeScaling() {
        String scaling = """
                "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192""";
        LlamaConfig.Llama3Scaling expected = new LlamaConfig.Llama3Scaling(8f, 1f, 4f, 8192);
        assertEquals(expected, parse("\"rope_scaling\": {\"rope_type\": \"llama3\", " + scaling + "}").llama().rope().scaling());
        assertEquals(expected, parse("\"rope_scaling\": {\"type\": \"llama3\", " + scaling + "}").llama().rope().scaling());
        // transformers 5 keeps theta and scaling together in rope_parameters
        LlamaConfig.Rope rope = parse("\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0, " + scaling + "}")
                .llama().rope();
        assertEquals(500000f, rope.theta());
        assertEquals(expected, rope.scaling());
        assertNull(parse("\"rope_scaling\": {\"rope_type\": \"default\"}").llama().rope().scaling());
        assertNull(parse("\"rope_scaling\": null").llama().rope().scaling());
    }

    @Test
    void unsupportedRopeTypes() {
        expect("\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}",
                "HF config test/config.json: rope_scaling type 'yarn' is not supported (only llama3 and default are)");
        expect("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling type 'linear' is not supported");
        expect("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}", "rope_scaling lacks low_freq_factor");
    }

    @Test
    void mistralSlidingWindowBoundsTheContext() {
        String mistral = BASE.replace("LlamaForCausalLM", "MistralForCausalLM").replace("\"llama\"", "\"mistral\"");
        HfConfig hf = HfConfig.parse("{" + mistral + ", \"sliding_window\": 128}", "m");
        assertEquals(128, hf.llama().contextLength());
        assertEquals(256, HfConfig.parse("{" + mistral + ", \"sliding_window\": null}", "m").llama().contextLength());
    }

    @Test
    void unsupportedModels() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfConfig.parse(
                "{" + BASE.replace("LlamaForCausalLM", "Qwen2ForCausalLM").replace("\"llama\"", "\"qwen2\"") + "}", "q/config.json"));
        assertTrue(e.getMessage().startsWith("HF config q/config.json: model_type 'qwen2'"), e.getMessage());
        assertTrue(e.getMessage().contains("Qwen2ForCausalLM"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.parse(
                "{" + BASE.replace("LlamaForCausalLM", "GPT2LMHeadModel") + "}", "g"));
        assertTrue(e.getMessage().contains("architectures [\"GPT2LMHeadModel\"] are not supported"), e.getMessage());
        expect("\"attention_bias\": true", "attention_bias is true; biases are not supported");
        expect("\"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported");
        expect("\"quantization_config\": {\"quant_method\": \"gptq\"}", "quantization_config gptq");
    }

    @Test
    void badValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HfConfig.parse("{" + BASE.replace("\"vocab_size\": 100,", "") + "}", "x"));
        assertEquals("HF config x: lacks vocab_size", e.getMessage());
        expect("\"num_key_value_heads\": 3", "heads (8) must be a multiple of kv heads (3)");
        expect("\"head_dim\": \"big\"", "head_dim must be a positive integer, got \"big\"");
        e = assertThrows(IllegalArgumentException.class, () -> HfConfig.parse("{\"hidden_size\": ", "x"));
        assertTrue(e.getMessage().startsWith("HF config x: malformed JSON"), e.getMessage());
    }

    @Test
    void jsonRoundTrip() {
        HfConfig hf = parse("""
                "num_key_value_heads": 2, "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": [2, 3],
                "torch_dtype": "float16", "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""");
        HfConfig back = HfConfig.parse(hf.toJson(), "again");
        assertEquals(hf.llama(), back.llama());
        assertEquals(hf.tieWordEmbeddings(), back.tieWordEmbeddings());
        assertEquals(hf.bosId(), back.bosId());
        assertArrayEquals(hf.eosIds(), back.eosIds());
        assertEquals(hf.torchDtype(), back.torchDtype());
    }

    private static void expect(String extra, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(extra));
        assertTrue(e.getMessage().contains(fragment), "message: " + e.getMessage());
        assertTrue(e.getMessage().contains("test/config.json"), "names the file: " + e.getMessage());
    }
}
