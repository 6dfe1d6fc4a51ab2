package magicpig.model.hf;

/** The tensor names transformers gives a LlamaForCausalLM checkpoint. */
public final class HfTensorNames {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String OUTPUT_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private HfTensorNames() {}

    public static String attnNorm(int layer) {
        return layer(layer, "input_layernorm.weight");
    }

    public static String wq(int layer) {
        return layer(layer, "self_attn.q_proj.weight");
    }

    public static String wk(int layer) {
        return layer(layer, "self_attn.k_proj.weight");
    }

    public static String wv(int layer) {
        return layer(layer, "self_attn.v_proj.weight");
    }

    public static String wo(int layer) {
        return layer(layer, "self_attn.o_proj.weight");
    }

    public static String ffnNorm(int layer) {
        return layer(layer, "post_attention_layernorm.weight");
    }

    public static String gate(int layer) {
        return layer(layer, "mlp.gate_proj.weight");
    }

    public static String up(int layer) {
        return layer(layer, "mlp.up_proj.weight");
    }

    public static String down(int layer) {
        return layer(layer, "mlp.down_proj.weight");
    }

    private static String layer(int layer, String suffix) {
        return "model.layers." + layer + "." + suffix;
    }
}
