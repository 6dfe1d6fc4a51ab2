package magicpig.cluster;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import magicpig.attention.AttentionSettings;
import magicpig.model.LlamaConfig;
import magicpig.shard.ShardStore;
import magicpig.worker.GenerationRequest;
import magicpig.worker.remote.Placement;

/**
 * How a sequence's offloaded tokens are cut into KV blocks: the node's attention defaults
 * ({@code magicpig.attention}) under each request's own settings, the block size (its
 * {@code block-tokens}, at most 65,536 so indices fit 2 bytes) and what each block costs a shard in
 * bytes. Only MagicPIG requests whose prompt leaves tokens outside the sink and local window are
 * placed on shards; everything else runs in the worker's process.
 *
 * <p>The configuration's keys are {@code generate}'s flags ({@code lsh-seed} is {@code seed} here),
 * read by the same {@link AttentionSettings#consume}, so a node and {@code generate} given the same
 * values run the same MagicPIG: the same projections, centering, spill rule and block cut.
 */
public final class PlacementPolicy {
    /** The keys of {@code magicpig.attention} that are attention settings (besides {@code mode}). */
    static final List<String> KEYS = List.of("lsh-k", "lsh-l", "lsh-threshold", "sink", "local", "dense-layers", "budget", "seed",
            "max-static", "block-tokens");

    private final LlamaConfig config;
    private final AttentionSettings base;

    public PlacementPolicy(LlamaConfig config, AttentionSettings base) {
        this.config = config;
        this.base = base;
    }

    /** The policy of a node's configuration ({@code magicpig { attention { ... } } }). */
    public static PlacementPolicy from(Config mp, LlamaConfig config) {
        return new PlacementPolicy(config, defaults(mp));
    }

    /** The node's configured attention settings; a bad value is an error naming its key. */
    public static AttentionSettings defaults(Config mp) {
        Config a = mp.getConfig("attention");
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("attention", a.getString("mode"));
        for (String k : KEYS) if (a.hasPath(k)) flags.put(k, a.getString(k));
        try {
            return AttentionSettings.fromFlags(flags);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("magicpig.attention: " + e.getMessage(), e);
        }
    }

    /** A request's effective settings: its own flags over the node's defaults; unknown flags are an error. */
    public static AttentionSettings settings(AttentionSettings base, Map<String, String> request) {
        Map<String, String> flags = new LinkedHashMap<>(request == null ? Map.of() : request);
        AttentionSettings s = base.consume(flags);
        if (!flags.isEmpty()) throw new IllegalArgumentException("unknown attention settings " + flags.keySet());
        return s;
    }

    public AttentionSettings settings(Map<String, String> request) {
        return settings(base, request);
    }

    /** The token ranges {from, to} to place for a request (relative to its offloaded region); empty when none. */
    public List<int[]> blocks(GenerationRequest request) {
        AttentionSettings s = settings(request.attention());
        if (s.mode() != AttentionSettings.Mode.MAGICPIG) return List.of();
        int tokens = Placement.offloadedTokens(request.prompt().length, s);
        return tokens <= 0 ? List.of() : Placement.ranges(tokens, s.blockTokens());
    }

    /** Bytes a shard must hold for a block of this many tokens of a request. */
    public long blockBytes(GenerationRequest request, int tokens) {
        return ShardStore.blockBytes(config, settings(request.attention()).validate(config), tokens);
    }
}
