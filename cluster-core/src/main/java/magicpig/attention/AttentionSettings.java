package magicpig.attention;

import java.util.Locale;
import java.util.Map;
import magicpig.model.Attention;
import magicpig.model.LlamaConfig;

/**
 * How a sequence attends while decoding: the method and its knobs (MAGICPIG.md "reported operating
 * points"; defaults K = 10, L = 150, T = 2, sink = 4, local = 64, every 16th layer dense).
 *
 * @param mode         dense (exact), magicpig (LSH sampling), or a baseline: topk, quest, oracle-sampling
 * @param lshK         bits per LSH table, 1..16
 * @param lshL         LSH tables, >= 1
 * @param lshThreshold T: a key is sampled when it collides with the query in at least T tables, 1..L
 * @param sink         first prompt tokens always attended exactly
 * @param local        last prompt tokens always attended exactly
 * @param denseLayers  layers that stay exact under the sparse methods
 * @param budget       offloaded keys a baseline may attend
 * @param seed         master seed of the LSH projections (and of the oracle's coin flips)
 * @param maxStatic    most tokens in MagicPIG's exact static set; beyond it the oldest generated
 *                     tokens spill into the sampled set (hashed and centered like the prompt)
 * @param blockTokens  most tokens in one MagicPIG block (LSH tables and sampled partial state),
 *                     1..65,536: offloaded tokens are cut into blocks of this size from the first,
 *                     the last one shorter. It changes nothing but the order in which exact partial
 *                     states are summed (which keys are sampled does not depend on it); the cluster
 *                     places one block per shard, so the same value makes the in-process method the
 *                     same computation as the cluster's
 */
public record AttentionSettings(Mode mode, int lshK, int lshL, int lshThreshold, int sink, int local,
                                DenseLayers denseLayers, Budget budget, long seed, int maxStatic, int blockTokens) {

    /** Largest L: collision counts are 16-bit. */
    public static final int MAX_TABLES = 0xFFFF;

    public enum Mode {
        DENSE("dense"), MAGICPIG("magicpig"), TOPK("topk"), QUEST("quest"), ORACLE_SAMPLING("oracle-sampling");

        private final String flag;

        Mode(String flag) {
            this.flag = flag;
        }

        public String flag() {
            return flag;
        }

        public static Mode parse(String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            for (Mode m : values()) if (m.flag.equals(t) || m.name().toLowerCase(Locale.ROOT).equals(t)) return m;
            throw new IllegalArgumentException("--attention: expected one of dense, magicpig, topk, quest, oracle-sampling; got '" + s + "'");
        }
    }

    public AttentionSettings {
        if (mode == null) throw new IllegalArgumentException("--attention: a mode is required");
        if (lshK < 1 || lshK > SimHash.MAX_K) {
            throw new IllegalArgumentException("--lsh-k: K (bits per table) must be in 1..16 so a code fits 2 bytes, got " + lshK);
        }
        if (lshL < 1 || lshL > MAX_TABLES) throw new IllegalArgumentException("--lsh-l: L (tables) must be in 1.." + MAX_TABLES + ", got " + lshL);
        if (lshThreshold < 1 || lshThreshold > lshL) {
            throw new IllegalArgumentException("--lsh-threshold: T must be in 1..L (L = " + lshL + "), got " + lshThreshold);
        }
        if (sink < 0) throw new IllegalArgumentException("--sink: cannot be negative, got " + sink);
        if (local < 0) throw new IllegalArgumentException("--local: cannot be negative, got " + local);
        if (denseLayers == null) throw new IllegalArgumentException("--dense-layers: required");
        if (budget == null) throw new IllegalArgumentException("--budget: required");
        if ((long) maxStatic < (long) sink + local + 2) {
            throw new IllegalArgumentException("--max-static: must leave room for at least 2 generated tokens beyond sink + local (" + (sink + local) + "), got " + maxStatic);
        }
        if (blockTokens < 1 || blockTokens > LshTables.MAX_BLOCK) {
            throw new IllegalArgumentException("--block-tokens: a block holds 1.." + LshTables.MAX_BLOCK + " tokens (indices are 16-bit), got " + blockTokens);
        }
    }

    /** The default master seed of the LSH projections; the cluster's configuration uses the same one. */
    public static final long DEFAULT_SEED = 0x5EEDL;

    /** The defaults, with dense attention (the engine's default mode). */
    public static AttentionSettings defaults() {
        return new AttentionSettings(Mode.DENSE, 10, 150, 2, 4, 64, DenseLayers.every(16), Budget.fraction(0.02), DEFAULT_SEED, 4096,
                LshTables.MAX_BLOCK);
    }

    /** The defaults with MagicPIG sampling. */
    public static AttentionSettings magicPig() {
        return defaults().withMode(Mode.MAGICPIG);
    }

    public AttentionSettings withMode(Mode m) {
        return new AttentionSettings(m, lshK, lshL, lshThreshold, sink, local, denseLayers, budget, seed, maxStatic, blockTokens);
    }

    public AttentionSettings withLsh(int k, int l, int t) {
        return new AttentionSettings(mode, k, l, t, sink, local, denseLayers, budget, seed, maxStatic, blockTokens);
    }

    public AttentionSettings withStatic(int sink, int local) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, denseLayers, budget, seed, Math.max(maxStatic, sink + local + 2), blockTokens);
    }

    public AttentionSettings withDenseLayers(DenseLayers d) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, d, budget, seed, maxStatic, blockTokens);
    }

    public AttentionSettings withBudget(Budget b) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, denseLayers, b, seed, maxStatic, blockTokens);
    }

    public AttentionSettings withSeed(long s) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, denseLayers, budget, s, maxStatic, blockTokens);
    }

    public AttentionSettings withMaxStatic(int m) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, denseLayers, budget, seed, m, blockTokens);
    }

    public AttentionSettings withBlockTokens(int n) {
        return new AttentionSettings(mode, lshK, lshL, lshThreshold, sink, local, denseLayers, budget, seed, maxStatic, n);
    }

    /** Checks the settings against a model: dense layers must exist. Returns this. */
    public AttentionSettings validate(LlamaConfig config) {
        denseLayers.validate(config.layers());
        return this;
    }

    /**
     * Reads the attention flags ({@code attention, lsh-k, lsh-l, lsh-threshold, sink, local,
     * dense-layers, budget, seed, max-static, block-tokens}; names without the leading dashes) from a flag map,
     * removing those it used; absent flags keep this instance's values.
     */
    public AttentionSettings consume(Map<String, String> flags) {
        String m = flags.remove("attention");
        String d = flags.remove("dense-layers");
        String b = flags.remove("budget");
        int k = Flags.takeInt(flags, "lsh-k", lshK);
        int l = Flags.takeInt(flags, "lsh-l", lshL);
        int t = Flags.takeInt(flags, "lsh-threshold", lshThreshold);
        int s = Flags.takeInt(flags, "sink", sink);
        int lo = Flags.takeInt(flags, "local", local);
        long seed = Flags.takeLong(flags, "seed", this.seed);
        int ms = Flags.takeInt(flags, "max-static", Math.max(maxStatic, s + lo + 2));
        int bt = Flags.takeInt(flags, "block-tokens", blockTokens);
        return new AttentionSettings(m == null ? mode : Mode.parse(m), k, l, t, s, lo,
                d == null ? denseLayers : DenseLayers.parse(d), b == null ? budget : Budget.parse(b), seed, ms, bt);
    }

    /** {@link #defaults()} updated from the flags (consumed from the map). */
    public static AttentionSettings fromFlags(Map<String, String> flags) {
        return defaults().consume(flags);
    }

    /** The per-sequence attention this mode makes. */
    public Attention.Factory factory() {
        AttentionSettings s = this;
        return switch (mode) {
            case DENSE -> DenseAttention::new;
            case MAGICPIG -> config -> new MagicPigAttention(config, s.validate(config));
            case TOPK -> config -> new TopKAttention(config, s.validate(config));
            case QUEST -> config -> new QuestAttention(config, s.validate(config));
            case ORACLE_SAMPLING -> config -> new OracleSamplingAttention(config, s.validate(config));
        };
    }

    /** One line for logs and result tables. */
    public String describe() {
        return switch (mode) {
            case DENSE -> "dense";
            case MAGICPIG -> "magicpig K=" + lshK + " L=" + lshL + " T=" + lshThreshold + " sink=" + sink + " local=" + local + " dense-layers=" + denseLayers
                    + (blockTokens == LshTables.MAX_BLOCK ? "" : " block-tokens=" + blockTokens);
            default -> mode.flag + " budget=" + budget + " sink=" + sink + " local=" + local + " dense-layers=" + denseLayers;
        };
    }
}
