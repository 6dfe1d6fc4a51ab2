package magicpig.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serving metrics of requests, as their owner ({@code SequenceEntity}, on gateway nodes) sees them:
 * the latencies a user feels and what became of each request. Names follow what people already
 * graph for LLM servers: time to first token, inter-token latency, end-to-end latency.
 *
 * <ul>
 *   <li>{@code magicpig_time_to_first_token_seconds}: from the request reaching its owner to its first token;
 *   <li>{@code magicpig_inter_token_latency_seconds}: between two tokens of a request;
 *   <li>{@code magicpig_e2e_request_latency_seconds}: from the request to its last event, for requests that finished;
 *   <li>{@code magicpig_requests_finished_total{outcome=stop|length|failed|cancelled}};
 *   <li>{@code magicpig_requests_pending}: requests placing their KV blocks or looking for a worker;
 *   <li>{@code magicpig_preemptions_total{cause=worker_lost|shard_lost}}: attempts restarted after a
 *       loss, and {@code magicpig_recomputed_tokens_total}: the prompt + generated tokens they prefilled again.
 * </ul>
 * Thread-safe; recording allocates nothing.
 */
public final class RequestMetrics {
    private final Timer ttft, itl, e2e;
    private final Counter stop, length, failed, cancelled, workerLost, shardLost, recomputed;
    private final AtomicInteger pending = new AtomicInteger();

    RequestMetrics(MeterRegistry r) {
        ttft = NodeMetrics.timer("magicpig.time.to.first.token", "Time from a request reaching the cluster to its first token",
                Buckets.REQUEST).register(r);
        itl = NodeMetrics.timer("magicpig.inter.token.latency", "Time between two consecutive tokens of a request", Buckets.TOKEN).register(r);
        e2e = NodeMetrics.timer("magicpig.e2e.request.latency", "Time from a request reaching the cluster to its end, for finished requests",
                Buckets.REQUEST).register(r);
        String help = "Requests that ended, by outcome: stop (end of text or stop string), length (token limit), failed, cancelled";
        stop = Counter.builder("magicpig.requests.finished").tag("outcome", "stop").description(help).register(r);
        length = Counter.builder("magicpig.requests.finished").tag("outcome", "length").description(help).register(r);
        failed = Counter.builder("magicpig.requests.finished").tag("outcome", "failed").description(help).register(r);
        cancelled = Counter.builder("magicpig.requests.finished").tag("outcome", "cancelled").description(help).register(r);
        String pre = "Attempts of a request restarted on other resources (prompt + tokens so far recomputed), by cause";
        workerLost = Counter.builder("magicpig.preemptions").tag("cause", "worker_lost").description(pre).register(r);
        shardLost = Counter.builder("magicpig.preemptions").tag("cause", "shard_lost").description(pre).register(r);
        recomputed = Counter.builder("magicpig.recomputed.tokens").description("Tokens prefilled again by restarted attempts").register(r);
        Gauge.builder("magicpig.requests.pending", pending, AtomicInteger::get)
                .description("Requests placing their KV blocks or looking for a worker").register(r);
    }

    public void firstToken(long nanos) {
        ttft.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void interToken(long nanos) {
        itl.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** A request ended; reason is the worker's finish reason ("stop", "length") or "failed" / "cancelled". */
    public void ended(String reason, long nanosSinceStart) {
        switch (reason) {
            case "stop" -> stop.increment();
            case "length" -> length.increment();
            case "cancelled" -> cancelled.increment();
            default -> failed.increment();
        }
        if (reason.equals("stop") || reason.equals("length")) e2e.record(nanosSinceStart, TimeUnit.NANOSECONDS);
    }

    /** An attempt restarted after a lost worker (else a lost shard or data-plane failure), recomputing this many tokens. */
    public void preempted(boolean workerLost, int recomputedTokens) {
        (workerLost ? this.workerLost : shardLost).increment();
        recomputed.increment(recomputedTokens);
    }

    /** A request entered (+1) or left (-1) the pending state. */
    public void pending(int delta) {
        pending.addAndGet(delta);
    }

    public Timer timeToFirstToken() {
        return ttft;
    }

    public Timer interTokenLatency() {
        return itl;
    }

    public int pending() {
        return pending.get();
    }

    /** Requests that finished normally (stop or length). */
    public long completed() {
        return (long) (stop.count() + length.count());
    }

    public long failedOrCancelled() {
        return (long) (failed.count() + cancelled.count());
    }
}
