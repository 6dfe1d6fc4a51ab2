package magicpig.ops;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import magicpig.attention.AttentionSettings;
import magicpig.model.Attention;
import magicpig.model.LlamaConfig;

/** The flags that choose the decode attention (dense, MagicPIG, or a baseline) and its settings. */
final class AttentionFlags {
    static final Set<String> VALUED = Set.of("attention", "lsh-k", "lsh-l", "lsh-threshold", "sink", "local", "dense-layers",
            "budget", "lsh-seed", "max-static", "block-tokens");

    private AttentionFlags() {}

    /** The settings the flags describe, checked against the model. */
    static AttentionSettings settings(Flags f, LlamaConfig config) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String name : VALUED) {
            if (f.has(name)) map.put(name.equals("lsh-seed") ? "seed" : name, f.get(name, null));
        }
        try {
            return AttentionSettings.fromFlags(map).validate(config);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The factory the flags describe; null means the engine's own dense attention. */
    static Attention.Factory factory(Flags f, LlamaConfig config) {
        AttentionSettings s = settings(f, config);
        return s.mode() == AttentionSettings.Mode.DENSE ? null : s.factory();
    }
}
