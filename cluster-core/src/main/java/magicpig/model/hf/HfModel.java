package magicpig.model.hf;

import java.nio.file.Path;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;

/**
 * A Hugging Face checkpoint loaded for the engine. The weight matrices are views of the mapped
 * safetensors files: they stay readable until {@link #close} (which closes {@code resources}).
 *
 * @param config          the model shape (half-split RoPE)
 * @param weights         matrices in the checkpoint's own dtype (F32, F16 or BF16), norms as f32
 * @param tokenizerJson   tokenizer.json, or null when the directory has none
 * @param tokenizerConfig tokenizer_config.json, or null when the directory has none
 * @param bosId           beginning-of-sequence id, or -1
 * @param eosIds          end-of-sequence ids from config.json and generation_config.json
 * @param resources       unmaps the weight files
 */
public record HfModel(LlamaConfig config, LlamaWeights weights, Path tokenizerJson, Path tokenizerConfig, int bosId,
                      int[] eosIds, AutoCloseable resources) implements AutoCloseable {

    public HfModel {
        eosIds = eosIds.clone();
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    @Override
    public void close() throws Exception {
        resources.close();
    }
}
