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
 * ({@code magicpig.attention}) under each request's own settings, the block size
 * ({@code magicpig.attention.block-tokens}, at most 65,536 so indices fit 2 bytes) and what each
 * block costs a shard in bytes. Only MagicPIG requests whose prompt leaves tokens outside the sink
 * and local window are placed on shards; everything else runs in the worker's process.
 */
public final class PlacementPolicy {
    private final LlamaConfig config;
    private final AttentionSettings base;
    private final int blockTokens;

    public PlacementPolicy(LlamaConfig config, AttentionSettings base, int blockTokens) {
        this.config = config;
        this.base = base;
        this.blockTokens = blockTokens;
        Placement.ranges(1, blockTokens); // validates the block size now, not at the first request
    }

    /** The policy of a node's configuration ({@code magicpig { attention { ... } } }). */
    public static PlacementPolicy from(Config mp, LlamaConfig config) {
        return new PlacementPolicy(config, defaults(mp), mp.getInt("attention.block-tokens"));
    }

    /** The node's configured attention settings. */
    public static AttentionSettings defaults(Config mp) {
        Config a = mp.getConfig("attention");
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("attention", a.getString("mode"));
        for (String k : List.of("lsh-k", "lsh-l", "lsh-threshold", "sink", "local", "dense-layers", "budget", "seed")) {
            flags.put(k, a.getString(k));
        }
        return AttentionSettings.fromFlags(flags);
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
        return tokens <= 0 ? List.of() : Placement.ranges(tokens, blockTokens);
    }

    /** Bytes a shard must hold for a block of this many tokens of a request. */
    public long blockBytes(GenerationRequest request, int tokens) {
        return ShardStore.blockBytes(config, settings(request.attention()).validate(config), tokens);
    }
}
