package magicpig.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one attention shard, labelled {@code shard="shard-0"}:
 * <ul>
 *   <li>{@code magicpig_shard_kv_blocks}, {@code magicpig_shard_kv_bytes} (held or reserved),
 *       {@code magicpig_shard_budget_bytes};
 *   <li>{@code magicpig_shard_attention_seconds}: CPU time of one sampled-attention query (every
 *       query head of one layer step of one sequence, over the blocks held here);
 *   <li>{@code magicpig_lsh_table_build_seconds}: centering, hashing and indexing one (layer, kv head) of a block.
 * </ul>
 * Timers are recorded on the shard's duty-cycle thread; gauges read the shard's store when scraped.
 */
public final class ShardMetrics {
    /** A shard outside a node: records nothing. */
    public static final ShardMetrics NONE = new ShardMetrics();

    private final String id;
    private final long budgetBytes;
    private final Timer query, build;
    private final Object store;
    private final ToDoubleFunction<Object> blocks, bytes;

    @SuppressWarnings("unchecked")
    <S> ShardMetrics(MeterRegistry r, String id, S store, long budgetBytes, ToDoubleFunction<S> blocks, ToDoubleFunction<S> bytes) {
        this.id = id;
        this.budgetBytes = budgetBytes;
        this.store = store;
        this.blocks = (ToDoubleFunction<Object>) blocks;
        this.bytes = (ToDoubleFunction<Object>) bytes;
        Gauge.builder("magicpig.shard.kv.blocks", store, blocks).tag("shard", id).description("KV blocks an attention shard holds")
                .register(r);
        Gauge.builder("magicpig.shard.kv", store, bytes).tag("shard", id).baseUnit("bytes")
                .description("Bytes an attention shard holds or has reserved for KV blocks and their LSH tables").register(r);
        Gauge.builder("magicpig.shard.budget", () -> budgetBytes).tag("shard", id).baseUnit("bytes")
                .description("An attention shard's memory budget").register(r);
        query = NodeMetrics.timer("magicpig.shard.attention", "CPU time of one sampled-attention query on a shard (all heads of a layer step)",
                Buckets.FAST).tag("shard", id).register(r);
        build = NodeMetrics.timer("magicpig.lsh.table.build", "Building the LSH tables of one (layer, kv head) of a block on a shard",
                Buckets.FAST).tag("shard", id).register(r);
    }

    private ShardMetrics() {
        this.id = "";
        this.budgetBytes = 0;
        this.query = null;
        this.build = null;
        this.store = null;
        this.blocks = s -> 0;
        this.bytes = s -> 0;
    }

    public void query(long nanos) {
        if (query != null) query.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void tableBuilt(long nanos) {
        if (build != null) build.record(nanos, TimeUnit.NANOSECONDS);
    }

    public String id() {
        return id;
    }

    public long budgetBytes() {
        return budgetBytes;
    }

    public long blocks() {
        return store == null ? 0 : (long) blocks.applyAsDouble(store);
    }

    public long bytes() {
        return store == null ? 0 : (long) bytes.applyAsDouble(store);
    }
}
