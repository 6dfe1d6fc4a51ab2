package magicpig.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import magicpig.model.gguf.GgufModel;
import magicpig.model.hf.HfModel;
import magicpig.model.hf.HfModelLoader;
import magicpig.model.llama2c.Llama2cCheckpoint;
import magicpig.tensor.GgmlType;
import magicpig.tokenizer.HfTokenizerJson;
import magicpig.tokenizer.IdOnlyTokenizer;
import magicpig.tokenizer.SentencePieceTokenizer;
import magicpig.tokenizer.Tokenizer;

/**
 * Opens a model by what the user typed: a llama2.c {@code .bin}, a {@code .gguf} file, a Hugging
 * Face directory, or {@code synthetic:NAME}.
 */
public final class ModelLoader {

    /**
     * @param tokenizer     a separate tokenizer file (llama2.c checkpoints), or null
     * @param dtype         storage type of synthetic weights
     * @param seed          seed of synthetic weights
     * @param contextLength when > 0, caps the context length the model is served with
     */
    public record Options(Path tokenizer, GgmlType dtype, long seed, int contextLength) {
        public static final Options DEFAULT = new Options(null, GgmlType.F32, 42L, 0);
    }

    private ModelLoader() {}

    public static Model load(String spec, Options options) throws IOException {
        if (spec.startsWith("synthetic:")) {
            return capped(SyntheticModels.create(spec.substring("synthetic:".length()), options.dtype(), options.seed()), options);
        }
        Path path = Path.of(spec);
        if (!Files.exists(path)) throw new NoSuchFileException(spec);
        if (Files.isDirectory(path)) return capped(loadHuggingFace(path, options.tokenizer()), options);
        if (isGguf(path)) return capped(GgufModel.load(path), options);
        return capped(loadLlama2c(path, options.tokenizer()), options);
    }

    private static Model loadLlama2c(Path path, Path tokenizerPath) throws IOException {
        Llama2cCheckpoint ckpt = Llama2cCheckpoint.load(path);
        try {
            LlamaConfig config = ckpt.config();
            Tokenizer tokenizer = tokenizerPath == null
                    ? new IdOnlyTokenizer(config.vocabSize(), 1, 2)
                    : SentencePieceTokenizer.fromLlama2cFile(tokenizerPath, config.vocabSize());
            return new Model(path.getFileName().toString(), "llama2c", new Llama(config, ckpt.weights()), tokenizer, true, new int[] {1}, null, ckpt);
        } catch (IOException | RuntimeException e) {
            closeAfterFailure(ckpt, e);
            throw e;
        }
    }

    private static Model loadHuggingFace(Path dir, Path tokenizerPath) throws IOException {
        HfModel hf = HfModelLoader.load(dir);
        try {
            LlamaConfig config = hf.config();
            Path json = tokenizerPath != null ? tokenizerPath : hf.tokenizerJson();
            Tokenizer tokenizer;
            boolean addBos = true;
            String template = null;
            if (json == null) {
                tokenizer = new IdOnlyTokenizer(config.vocabSize(), hf.bosId(), hf.eosIds().length > 0 ? hf.eosIds()[0] : -1);
            } else {
                HfTokenizerJson t = HfTokenizerJson.load(json, hf.tokenizerConfig());
                tokenizer = t.tokenizer();
                addBos = t.addBos();
                template = t.chatTemplate();
            }
            if (tokenizer.vocabSize() > config.vocabSize()) {
                throw new ModelFormatException(json, "the tokenizer has " + tokenizer.vocabSize() + " tokens but the model only "
                        + config.vocabSize());
            }
            return new Model(dir.getFileName().toString(), "safetensors", new Llama(config, hf.weights()), tokenizer, addBos,
                    hf.eosIds(), template, hf);
        } catch (IOException | RuntimeException e) {
            closeAfterFailure(hf, e);
            throw e;
        }
    }

    /** Releases what a failed load opened; the failure stays the error the user sees. */
    static void closeAfterFailure(AutoCloseable resource, Throwable failure) {
        try {
            resource.close();
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }

    static boolean isGguf(Path path) throws IOException {
        if (path.getFileName().toString().toLowerCase().endsWith(".gguf")) return true;
        try (var in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        }
    }

    private static Model capped(Model m, Options options) {
        int ctx = options.contextLength();
        if (ctx <= 0 || ctx == m.config().contextLength()) return m;
        if (ctx > m.config().contextLength()) {
            IllegalArgumentException e = new IllegalArgumentException("context of " + ctx + " tokens is longer than " + m.name()
                    + " supports (" + m.config().contextLength() + ")");
            closeAfterFailure(m, e);
            throw e;
        }
        LlamaConfig c = m.config().withContextLength(ctx);
        return m.withLlama(new Llama(c, m.llama().weights()));
    }
}
