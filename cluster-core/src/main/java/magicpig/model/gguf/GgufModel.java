package magicpig.model.gguf;

import java.io.IOException;
import java.nio.file.Path;
import magicpig.gguf.GgufFile;
import magicpig.gguf.GgufMetadata;
import magicpig.model.Llama;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.model.Model;
import magicpig.model.ModelFormatException;
import magicpig.tensor.WeightMatrix;
import magicpig.tokenizer.ByteLevelBpeTokenizer;
import magicpig.tokenizer.SentencePieceTokenizer;
import magicpig.tokenizer.Tokenizer;

/**
 * A Llama-architecture GGUF file as a {@link Model}: shape from the {@code llama.*} metadata,
 * weights mapped in their stored types (quantized ones stay quantized), the tokenizer from
 * {@code tokenizer.ggml.*}. GGUF's llama architecture rotates adjacent pairs (llama.cpp's converter
 * permutes q/k for it), so RoPE uses that layout.
 */
public final class GgufModel {
    private GgufModel() {}

    public static Model load(Path path) throws IOException {
        GgufFile file = GgufFile.open(path);
        try {
            GgufMetadata md = file.metadata();
            String arch = md.getString("general.architecture", "");
            if (!arch.equals("llama")) {
                throw new ModelFormatException(path, "architecture '" + arch + "' is not supported (only 'llama')");
            }
            Tokenizer tokenizer = tokenizer(path, md);
            LlamaConfig config = config(path, file, md, tokenizer.vocabSize());
            LlamaWeights weights = weights(file, config);
            weights.validate(config);
            int eos = md.getInt("tokenizer.ggml.eos_token_id", -1);
            int eot = md.getInt("tokenizer.ggml.eot_token_id", -1);
            int[] stops = eot >= 0 && eot != eos ? new int[] {eos, eot} : eos >= 0 ? new int[] {eos} : new int[0];
            String name = md.getString("general.name", path.getFileName().toString());
            return new Model(name, "gguf", new Llama(config, weights), tokenizer, md.getBoolean("tokenizer.ggml.add_bos_token", true),
                    stops, md.getString("tokenizer.chat_template", null), file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    static LlamaConfig config(Path path, GgufFile file, GgufMetadata md, int vocab) {
        try {
            int dim = md.getInt("llama.embedding_length");
            int heads = md.getInt("llama.attention.head_count");
            int headDim = md.getInt("llama.attention.key_length", md.getInt("llama.rope.dimension_count", dim / heads));
            float[] factors = file.hasTensor("rope_freqs.weight") ? file.vector("rope_freqs.weight") : null;
            return new LlamaConfig(dim, md.getInt("llama.feed_forward_length"), md.getInt("llama.block_count"), heads,
                    md.getInt("llama.attention.head_count_kv", heads), headDim, md.getInt("llama.vocab_size", vocab),
                    md.getInt("llama.context_length", 2048), md.getFloat("llama.attention.layer_norm_rms_epsilon", 1e-5f),
                    new LlamaConfig.Rope(md.getFloat("llama.rope.freq_base", 10000f), false, null, factors));
        } catch (RuntimeException e) {
            throw new ModelFormatException(path, "bad llama metadata: " + e.getMessage());
        }
    }

    static LlamaWeights weights(GgufFile f, LlamaConfig c) {
        int n = c.layers();
        float[][] attnNorm = new float[n][], ffnNorm = new float[n][];
        WeightMatrix[] wq = new WeightMatrix[n], wk = new WeightMatrix[n], wv = new WeightMatrix[n], wo = new WeightMatrix[n];
        WeightMatrix[] gate = new WeightMatrix[n], down = new WeightMatrix[n], up = new WeightMatrix[n];
        for (int l = 0; l < n; l++) {
            String b = "blk." + l + ".";
            attnNorm[l] = f.vector(b + "attn_norm.weight");
            wq[l] = f.matrix(b + "attn_q.weight");
            wk[l] = f.matrix(b + "attn_k.weight");
            wv[l] = f.matrix(b + "attn_v.weight");
            wo[l] = f.matrix(b + "attn_output.weight");
            ffnNorm[l] = f.vector(b + "ffn_norm.weight");
            gate[l] = f.matrix(b + "ffn_gate.weight");
            down[l] = f.matrix(b + "ffn_down.weight");
            up[l] = f.matrix(b + "ffn_up.weight");
        }
        WeightMatrix embedding = f.matrix("token_embd.weight");
        WeightMatrix output = f.hasTensor("output.weight") ? f.matrix("output.weight") : embedding;
        return new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, f.vector("output_norm.weight"), output);
    }

    static Tokenizer tokenizer(Path path, GgufMetadata md) {
        String model = md.getString("tokenizer.ggml.model", "");
        if (!md.containsKey("tokenizer.ggml.tokens")) throw new ModelFormatException(path, "no tokenizer in the metadata (tokenizer.ggml.tokens)");
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        int[] types = md.containsKey("tokenizer.ggml.token_type") ? md.getIntArray("tokenizer.ggml.token_type") : null;
        int bos = md.getInt("tokenizer.ggml.bos_token_id", -1);
        int eos = md.getInt("tokenizer.ggml.eos_token_id", -1);
        return switch (model) {
            case "llama" -> SentencePieceTokenizer.fromVocabulary(tokens, md.getFloatArray("tokenizer.ggml.scores"), types, bos, eos,
                    md.getBoolean("tokenizer.ggml.add_space_prefix", true));
            case "gpt2" -> ByteLevelBpeTokenizer.fromVocabulary(tokens, md.getStringArray("tokenizer.ggml.merges"), types, bos, eos,
                    md.getString("tokenizer.ggml.pre", null));
            default -> throw new ModelFormatException(path, "tokenizer model '" + model + "' is not supported (expected llama or gpt2)");
        };
    }
}
