package magicpig.ops;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.tensor.GgmlType;

/** The flags that choose and open a model, shared by every command that runs one. */
final class ModelFlags {
    static final Set<String> VALUED = Set.of("model", "tokenizer", "dtype", "weights-seed", "ctx-size");

    private ModelFlags() {}

    /** The --backend flag (auto, cuda or cpu; default auto), checked before anything is loaded. */
    static String backend(Flags f) {
        String mode = f.get("backend", "auto");
        if (!mode.equals("auto") && !mode.equals("cuda") && !mode.equals("cpu")) {
            throw new UsageException("--backend must be " + magicpig.cuda.ComputeBackends.MODES + ", got '" + mode + "'");
        }
        return mode;
    }

    static Model open(Flags f) throws IOException {
        String spec = f.require("model");
        GgmlType dtype;
        try {
            dtype = GgmlType.parse(f.get("dtype", "f32"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (f.has("dtype") && !spec.startsWith("synthetic:")) {
            throw new UsageException("--dtype applies to synthetic models only; a model file keeps its own types");
        }
        int context = f.getInt("ctx-size", 0);
        if (context < 0) throw new UsageException("--ctx-size must be positive, got " + context);
        Path tokenizer = f.has("tokenizer") ? Path.of(f.get("tokenizer", null)) : null;
        return ModelLoader.load(spec, new ModelLoader.Options(tokenizer, dtype, f.getLong("weights-seed", 42L), context));
    }
}
