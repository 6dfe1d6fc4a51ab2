package magicpig.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.tensor.WeightMatrix;

/**
 * Loads a Hugging Face Llama-family checkpoint directory: {@code config.json}, the safetensors
 * weights (sharded or not), and the paths of the tokenizer files. Matrices are zero-copy views of
 * the mapped files in their stored dtype (F32, F16 or BF16); norm vectors become f32 arrays.
 * With tie_word_embeddings the output projection is the embedding matrix (the same object), as in
 * transformers, even if the files also hold an lm_head.weight. Tensors the model does not use
 * (rotary inv_freq buffers, extra heads) are ignored, whatever their dtype. End-of-sequence ids
 * are those of config.json followed by any further ones in generation_config.json.
 *
 * <p>Every problem with the directory's contents — an unsupported architecture or rope type, a
 * missing tensor, a wrong shape, an unsupported dtype, a corrupt file — is an
 * IllegalArgumentException whose message names the directory or file and the problem; I/O
 * failures stay IOExceptions.
 */
public final class HfModelLoader {
    public static final String CONFIG = "config.json";
    public static final String GENERATION_CONFIG = "generation_config.json";
    public static final String TOKENIZER = "tokenizer.json";
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";

    private static final int MISSING_NAMES_SHOWN = 8;
    private static final ObjectMapper JSON = new ObjectMapper();

    private HfModelLoader() {}

    public static HfModel load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("HF model " + dir + " is not a directory");
        Path configPath = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configPath)) throw new IllegalArgumentException("HF model " + dir + " has no " + CONFIG);
        HfConfig hf = HfConfig.read(configPath);
        int bos = hf.bosId();
        Set<Integer> eos = new LinkedHashSet<>();
        for (int id : hf.eosIds()) eos.add(id);
        Path generation = dir.resolve(GENERATION_CONFIG);
        if (Files.isRegularFile(generation)) {
            JsonNode g = readJson(generation);
            int[] genBos = HfConfig.tokenIds(g, "bos_token_id", generation.toString());
            if (bos < 0 && genBos.length > 0) bos = genBos[0];
            for (int id : HfConfig.tokenIds(g, "eos_token_id", generation.toString())) eos.add(id);
        }

        SafetensorsShards shards = SafetensorsShards.open(dir);
        try {
            LlamaWeights weights = weights(dir, hf, shards);
            return new HfModel(hf.llama(), weights, existing(dir.resolve(TOKENIZER)), existing(dir.resolve(TOKENIZER_CONFIG)),
                    bos, eos.stream().mapToInt(Integer::intValue).toArray(), shards);
        } catch (Throwable t) {
            try {
                shards.close();
            } catch (RuntimeException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
    }

    private static LlamaWeights weights(Path dir, HfConfig hf, SafetensorsShards shards) {
        LlamaConfig c = hf.llama();
        boolean tied = hf.tieWordEmbeddings();
        checkPresent(dir, c, tied, shards);
        int n = c.layers();
        float[][] attnNorm = new float[n][];
        float[][] ffnNorm = new float[n][];
        WeightMatrix[] wq = new WeightMatrix[n], wk = new WeightMatrix[n], wv = new WeightMatrix[n], wo = new WeightMatrix[n];
        WeightMatrix[] gate = new WeightMatrix[n], up = new WeightMatrix[n], down = new WeightMatrix[n];
        WeightMatrix embed = matrix(dir, shards, HfTensorNames.EMBED, c.vocabSize(), c.dim());
        for (int l = 0; l < n; l++) {
            attnNorm[l] = vector(dir, shards, HfTensorNames.attnNorm(l), c.dim());
            wq[l] = matrix(dir, shards, HfTensorNames.wq(l), c.qDim(), c.dim());
            wk[l] = matrix(dir, shards, HfTensorNames.wk(l), c.kvDim(), c.dim());
            wv[l] = matrix(dir, shards, HfTensorNames.wv(l), c.kvDim(), c.dim());
            wo[l] = matrix(dir, shards, HfTensorNames.wo(l), c.dim(), c.qDim());
            ffnNorm[l] = vector(dir, shards, HfTensorNames.ffnNorm(l), c.dim());
            gate[l] = matrix(dir, shards, HfTensorNames.gate(l), c.hiddenDim(), c.dim());
            up[l] = matrix(dir, shards, HfTensorNames.up(l), c.hiddenDim(), c.dim());
            down[l] = matrix(dir, shards, HfTensorNames.down(l), c.dim(), c.hiddenDim());
        }
        float[] outputNorm = vector(dir, shards, HfTensorNames.OUTPUT_NORM, c.dim());
        WeightMatrix output = tied ? embed : matrix(dir, shards, HfTensorNames.LM_HEAD, c.vocabSize(), c.dim());
        LlamaWeights weights = new LlamaWeights(embed, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, outputNorm, output);
        try {
            weights.validate(c);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("HF model " + dir + ": " + e.getMessage(), e);
        }
        return weights;
    }

    /** Names every missing tensor at once, rather than the first. */
    private static void checkPresent(Path dir, LlamaConfig c, boolean tied, SafetensorsShards shards) {
        List<String> missing = new ArrayList<>();
        List<String> wanted = new ArrayList<>(List.of(HfTensorNames.EMBED, HfTensorNames.OUTPUT_NORM));
        if (!tied) wanted.add(HfTensorNames.LM_HEAD);
        for (int l = 0; l < c.layers(); l++) {
            wanted.addAll(List.of(HfTensorNames.attnNorm(l), HfTensorNames.wq(l), HfTensorNames.wk(l), HfTensorNames.wv(l),
                    HfTensorNames.wo(l), HfTensorNames.ffnNorm(l), HfTensorNames.gate(l), HfTensorNames.up(l),
                    HfTensorNames.down(l)));
        }
        for (String name : wanted) {
            if (!shards.contains(name)) missing.add(name);
        }
        if (missing.isEmpty()) return;
        StringBuilder msg = new StringBuilder("HF model " + dir + " lacks " + missing.size() + " tensor"
                + (missing.size() == 1 ? "" : "s") + ": ");
        msg.append(String.join(", ", missing.subList(0, Math.min(missing.size(), MISSING_NAMES_SHOWN))));
        if (missing.size() > MISSING_NAMES_SHOWN) msg.append(", and ").append(missing.size() - MISSING_NAMES_SHOWN).append(" more");
        if (missing.contains(HfTensorNames.LM_HEAD)) msg.append(" (tie_word_embeddings is false, so lm_head.weight is needed)");
        msg.append("; files read: ").append(shards.files());
        throw new IllegalArgumentException(msg.toString());
    }

    private static WeightMatrix matrix(Path dir, SafetensorsShards shards, String name, int rows, int cols) {
        SafetensorsTensor t = shards.tensor(name);
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols) {
            throw wrongShape(dir, t, "[" + rows + ", " + cols + "]");
        }
        return WeightMatrix.of(t.type(), t.data(), rows, cols);
    }

    private static float[] vector(Path dir, SafetensorsShards shards, String name, int length) {
        SafetensorsTensor t = shards.tensor(name);
        if (t.rank() != 1 || t.dim(0) != length) throw wrongShape(dir, t, "[" + length + "]");
        return FloatCodec.decode(t.type(), t.data());
    }

    private static IllegalArgumentException wrongShape(Path dir, SafetensorsTensor t, String expected) {
        return new IllegalArgumentException("HF model " + dir + ": tensor '" + t.name() + "' in " + t.file().getFileName()
                + " has shape " + Arrays.toString(t.shape()) + ", but " + CONFIG + " implies " + expected);
    }

    private static JsonNode readJson(Path file) throws IOException {
        try {
            JsonNode node = JSON.readTree(Files.readString(file));
            if (node == null || !node.isObject()) throw new IllegalArgumentException(file + " is not a JSON object");
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static Path existing(Path p) {
        return Files.isRegularFile(p) ? p : null;
    }
}
