package magicpig.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import magicpig.attention.SparseAttention;

/**
 * MagicPIG metrics of a worker's sparse attention, fed by every sequence's
 * {@link SparseAttention.StepObserver}:
 * <ul>
 *   <li>{@code magicpig_sampled_fraction{layer}}: the fraction of the offloaded keys that the last
 *       sparse step of that layer attended (sampled, for MagicPIG), over all its query heads; in (0, 1);
 *   <li>{@code magicpig_attention_sampled_keys_total{layer}} and {@code magicpig_attention_offloaded_keys_total{layer}}:
 *       the same as counters (keys x query heads), so a rate over any window gives the fraction there;
 *   <li>{@code magicpig_attention_step_seconds}: a sparse layer step on the worker (the static part,
 *       the offloaded part or its round trip, the merge);
 *   <li>{@code magicpig_dataplane_round_trip_seconds}: queries sent to the shards until the last reply merged.
 * </ul>
 * A layer's series appear with its first sparse step; dense layers have none.
 *
 * <p>Written by decoding threads (counters are atomic adds; per-layer meters are registered once,
 * on a layer's first step), read by any. A step allocates nothing.
 */
public final class AttentionMetrics implements SparseAttention.StepObserver {
    private final MeterRegistry registry;
    private final int layers;
    private final AtomicLongArray attended, offloaded, lastFraction;
    private final boolean[] registered;
    private final Timer step, roundTrip;

    AttentionMetrics(MeterRegistry registry, int layers) {
        this.registry = registry;
        this.layers = layers;
        this.attended = new AtomicLongArray(layers);
        this.offloaded = new AtomicLongArray(layers);
        this.lastFraction = new AtomicLongArray(layers);
        for (int l = 0; l < layers; l++) lastFraction.set(l, Double.doubleToRawLongBits(Double.NaN));
        this.registered = new boolean[layers];
        this.step = NodeMetrics.timer("magicpig.attention.step", "A sparse layer's attention step on the worker", Buckets.FAST).register(registry);
        this.roundTrip = NodeMetrics.timer("magicpig.dataplane.round.trip",
                "Worker to attention shards and back, per sparse layer step: queries sent to the last reply merged", Buckets.FAST).register(registry);
    }

    @Override
    public void sparseStep(int layer, long attendedKeys, long offloadedKeys, long nanos) {
        if (layer < 0 || layer >= layers || offloadedKeys <= 0) return;
        if (!registered[layer]) register(layer);
        attended.addAndGet(layer, attendedKeys);
        offloaded.addAndGet(layer, offloadedKeys);
        lastFraction.setRelease(layer, Double.doubleToRawLongBits((double) attendedKeys / offloadedKeys));
        step.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void remoteRoundTrip(int layer, long nanos) {
        roundTrip.record(nanos, TimeUnit.NANOSECONDS);
    }

    private synchronized void register(int layer) {
        if (registered[layer]) return;
        String l = Integer.toString(layer);
        Gauge.builder("magicpig.sampled.fraction", this, m -> m.lastFraction(layer)).tag("layer", l)
                .description("Fraction of the offloaded keys the last sparse step of the layer attended, over its query heads")
                .register(registry);
        FunctionCounter.builder("magicpig.attention.sampled.keys", this, m -> m.attended.get(layer)).tag("layer", l)
                .description("Offloaded keys attended by sparse steps (keys x query heads)").register(registry);
        FunctionCounter.builder("magicpig.attention.offloaded.keys", this, m -> m.offloaded.get(layer)).tag("layer", l)
                .description("Offloaded keys sparse steps could have attended (keys x query heads)").register(registry);
        registered[layer] = true;
    }

    public int layers() {
        return layers;
    }

    /** The last sparse step's fraction of a layer; NaN before its first. */
    public double lastFraction(int layer) {
        return Double.longBitsToDouble(lastFraction.getAcquire(layer));
    }

    public long attendedKeys(int layer) {
        return attended.get(layer);
    }

    public long offloadedKeys(int layer) {
        return offloaded.get(layer);
    }
}
