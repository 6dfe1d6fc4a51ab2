package magicpig.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;

/**
 * Writes a model as a Hugging Face checkpoint directory: {@code config.json} and the weights as
 * {@code model.safetensors} or as shards with a {@code model.safetensors.index.json}. The source
 * matrices are read through {@link WeightMatrix#dequantizeRow} (so any type with kernels works,
 * F32 always) and stored as F32, F16 or BF16.
 *
 * <p>A model in the adjacent-pair RoPE layout (llama2.c, GGUF: {@code rope().halfSplit()} false)
 * has the rows of wq and wk permuted with {@link RopeLayouts} on the way out, as the transformers
 * conversion script does, so the written checkpoint computes the same function under HF's
 * half-split rotation. A tied model (output the same object as the embedding) is written with
 * tie_word_embeddings and no lm_head.weight. Tokenizer files are not written.
 */
public final class HfModelWriter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * @param dtype  storage type of every tensor: F32, F16 or BF16
     * @param shards number of safetensors files; 1 writes model.safetensors and no index
     * @param bosId  bos_token_id for config.json, or -1
     * @param eosIds eos_token_id(s) for config.json
     */
    public record Options(GgmlType dtype, int shards, int bosId, int[] eosIds) {
        public Options {
            SafetensorsDtype.of(dtype);
            if (shards < 1) throw new IllegalArgumentException("shards must be at least 1, got " + shards);
            eosIds = eosIds.clone();
        }

        @Override
        public int[] eosIds() {
            return eosIds.clone();
        }

        /** F32, one file, bos 1, eos 2 (the llama2.c / SentencePiece convention). */
        public static Options defaults() {
            return new Options(GgmlType.F32, 1, 1, new int[] {2});
        }

        public Options withDtype(GgmlType t) {
            return new Options(t, shards, bosId, eosIds);
        }

        public Options withShards(int n) {
            return new Options(dtype, n, bosId, eosIds);
        }

        public Options withTokens(int bos, int... eos) {
            return new Options(dtype, shards, bos, eos);
        }
    }

    private record Planned(String name, long[] shape, long bytes, SafetensorsWriter.Content content) {}

    private HfModelWriter() {}

    /** Writes the directory (created if needed); files already there with the same names are replaced. */
    public static void write(Path dir, LlamaConfig config, LlamaWeights weights, Options options) throws IOException {
        weights.validate(config);
        LlamaConfig hfShape = config.rope().halfSplit() ? config : new LlamaConfig(config.dim(), config.hiddenDim(),
                config.layers(), config.heads(), config.kvHeads(), config.headDim(), config.vocabSize(),
                config.contextLength(), config.rmsEps(),
                new LlamaConfig.Rope(config.rope().theta(), true, config.rope().scaling()));
        boolean permute = !config.rope().halfSplit();
        boolean tied = weights.output() == weights.tokenEmbedding();
        GgmlType type = options.dtype();

        List<Planned> plan = new ArrayList<>();
        plan.add(matrix(HfTensorNames.EMBED, weights.tokenEmbedding(), type, 0));
        for (int l = 0; l < config.layers(); l++) {
            plan.add(vector(HfTensorNames.attnNorm(l), weights.attnNorm()[l], type));
            plan.add(matrix(HfTensorNames.wq(l), weights.wq()[l], type, permute ? config.headDim() : 0));
            plan.add(matrix(HfTensorNames.wk(l), weights.wk()[l], type, permute ? config.headDim() : 0));
            plan.add(matrix(HfTensorNames.wv(l), weights.wv()[l], type, 0));
            plan.add(matrix(HfTensorNames.wo(l), weights.wo()[l], type, 0));
            plan.add(vector(HfTensorNames.ffnNorm(l), weights.ffnNorm()[l], type));
            plan.add(matrix(HfTensorNames.gate(l), weights.gate()[l], type, 0));
            plan.add(matrix(HfTensorNames.up(l), weights.up()[l], type, 0));
            plan.add(matrix(HfTensorNames.down(l), weights.down()[l], type, 0));
        }
        plan.add(vector(HfTensorNames.OUTPUT_NORM, weights.outputNorm(), type));
        if (!tied) plan.add(matrix(HfTensorNames.LM_HEAD, weights.output(), type, 0));
        if (options.shards() > plan.size()) {
            throw new IllegalArgumentException(options.shards() + " shards for only " + plan.size() + " tensors");
        }

        Files.createDirectories(dir);
        HfConfig hf = new HfConfig(hfShape, tied, options.bosId(), options.eosIds(), torchDtype(type));
        Files.writeString(dir.resolve(HfModelLoader.CONFIG), hf.toJson());
        if (options.shards() == 1) {
            SafetensorsWriter w = newFile();
            for (Planned p : plan) w.add(p.name, type, p.shape, p.content);
            w.write(dir.resolve(SafetensorsShards.SINGLE));
            return;
        }
        writeSharded(dir, plan, type, options.shards());
    }

    /**
     * Splits the tensors, in order, into n files of roughly equal bytes, none empty, and writes
     * them with an index in the form transformers writes.
     */
    private static void writeSharded(Path dir, List<Planned> plan, GgmlType type, int n) throws IOException {
        long total = 0;
        for (Planned p : plan) total += p.bytes;
        double target = (double) total / n;
        List<List<Planned>> groups = new ArrayList<>();
        groups.add(new ArrayList<>());
        long inCurrent = 0;
        for (int i = 0; i < plan.size(); i++) {
            int tensorsLeft = plan.size() - i;
            int shardsLeft = n - groups.size();
            boolean currentHasTensors = !groups.getLast().isEmpty();
            if (currentHasTensors && shardsLeft > 0 && (inCurrent >= target || tensorsLeft == shardsLeft)) {
                groups.add(new ArrayList<>());
                inCurrent = 0;
            }
            groups.getLast().add(plan.get(i));
            inCurrent += plan.get(i).bytes;
        }
        Map<String, String> weightMap = new TreeMap<>();
        for (int s = 0; s < n; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, n);
            SafetensorsWriter w = newFile();
            for (Planned p : groups.get(s)) {
                w.add(p.name, type, p.shape, p.content);
                weightMap.put(p.name, file);
            }
            w.write(dir.resolve(file));
        }
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        Files.writeString(dir.resolve(SafetensorsShards.INDEX), JSON.writeValueAsString(index));
    }

    private static SafetensorsWriter newFile() {
        return new SafetensorsWriter().metadata("format", "pt");
    }

    /** A matrix, its rows read through dequantizeRow; ropeHeadDim > 0 permutes rows to half-split. */
    private static Planned matrix(String name, WeightMatrix m, GgmlType type, int ropeHeadDim) {
        int rows = m.rows();
        int cols = m.cols();
        long rowBytes = (long) cols * FloatCodec.width(type);
        SafetensorsWriter.Content content = dst -> {
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                int src = ropeHeadDim > 0 ? RopeLayouts.adjacentSourceRow(r, ropeHeadDim) : r;
                m.dequantizeRow(src, row, 0);
                FloatCodec.encode(type, row, 0, cols, dst, r * rowBytes);
            }
        };
        return new Planned(name, new long[] {rows, cols}, rows * rowBytes, content);
    }

    private static Planned vector(String name, float[] v, GgmlType type) {
        float[] copy = v.clone();
        return new Planned(name, new long[] {copy.length}, (long) copy.length * FloatCodec.width(type),
                dst -> FloatCodec.encode(type, copy, 0, copy.length, dst, 0));
    }

    private static String torchDtype(GgmlType type) {
        return switch (type) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException(type.toString());
        };
    }
}
