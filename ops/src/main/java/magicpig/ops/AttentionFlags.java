package magicpig.ops;

import java.util.Set;
import magicpig.model.Attention;
import magicpig.model.LlamaConfig;

/** The flags that choose the decode attention (dense, MagicPIG, or a baseline). */
final class AttentionFlags {
    static final Set<String> VALUED = Set.of("attention", "lsh-k", "lsh-l", "lsh-threshold", "sink", "local", "dense-layers", "budget", "lsh-seed");

    private AttentionFlags() {}

    /** The factory the flags describe; null means the engine's own dense attention. */
    static Attention.Factory factory(Flags f, LlamaConfig config) {
        String mode = f.get("attention", "dense");
        if (!mode.equals("dense")) throw new UsageException("--attention " + mode + " is not available yet");
        return null;
    }
}
