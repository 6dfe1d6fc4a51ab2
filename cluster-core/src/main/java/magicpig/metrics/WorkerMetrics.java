package magicpig.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * Serving metrics of a transformer worker:
 * <ul>
 *   <li>{@code magicpig_requests_running}: sequences in this iteration's batch (decoding, and the one prefilling);
 *   <li>{@code magicpig_requests_waiting}: sequences admitted that wait for a place in it;
 *   <li>{@code magicpig_request_queue_time_seconds}: from admission to the first prefill chunk;
 *   <li>{@code magicpig_prompt_tokens_total}, {@code magicpig_generation_tokens_total}: tokens prefilled and generated;
 *   <li>{@code magicpig_kv_cache_bytes}: the KV caches of the worker's sequences (the exact window and,
 *       in this design, every position of a sequence).
 * </ul>
 * Written by the worker's thread only, read by any: the gauges are volatile fields.
 */
public final class WorkerMetrics {
    private final Counter promptTokens, generationTokens;
    private final Timer queueTime;
    private volatile int running, waiting;
    private volatile long kvBytes;

    WorkerMetrics(MeterRegistry r) {
        promptTokens = Counter.builder("magicpig.prompt.tokens").description("Prompt tokens prefilled").register(r);
        generationTokens = Counter.builder("magicpig.generation.tokens").description("Tokens generated").register(r);
        queueTime = NodeMetrics.timer("magicpig.request.queue.time", "Time from a worker admitting a sequence to its first prefill chunk",
                Buckets.REQUEST).register(r);
        Gauge.builder("magicpig.requests.running", this, w -> w.running)
                .description("Sequences in the worker's current batch (decoding, and the one prefilling)").register(r);
        Gauge.builder("magicpig.requests.waiting", this, w -> w.waiting)
                .description("Sequences admitted by the worker that wait for a place in its batch").register(r);
        Gauge.builder("magicpig.kv.cache", this, w -> w.kvBytes).baseUnit("bytes")
                .description("Bytes of the KV caches of the worker's sequences").register(r);
    }

    public void queued(long nanos) {
        queueTime.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void prefilled(int tokens) {
        promptTokens.increment(tokens);
    }

    public void generated() {
        generationTokens.increment();
    }

    /** The batch now: sequences in it, and the rest of those admitted. */
    public void batch(int running, int waiting) {
        if (this.running != running) this.running = running;
        if (this.waiting != waiting) this.waiting = waiting;
    }

    public void kvBytes(long delta) {
        kvBytes += delta; // one writer
    }

    public long generatedTokens() {
        return (long) generationTokens.count();
    }

    public int running() {
        return running;
    }

    public int waiting() {
        return waiting;
    }

    public long kvBytes() {
        return kvBytes;
    }
}
