/**
 * The metrics of a node, without actors: a Micrometer registry published in Prometheus' text
 * format ({@link magicpig.metrics.NodeMetrics}) and the groups of meters the engine, the worker,
 * the shards and the data plane record into. The actor-level metrics and the dashboard's data
 * feed, which need Pekko, are in {@code magicpig.cluster.metrics} (router).
 *
 * <h2>Names</h2>
 * Prometheus conventions: a {@code magicpig_} prefix, base units in the name (seconds, bytes),
 * {@code _total} on counters, {@code _ratio} on fractions of a whole; every series carries
 * {@code node="host:port"}, the node's cluster address. Serving metrics use the names people already
 * graph for LLM servers:
 * <ul>
 *   <li>{@link magicpig.metrics.RequestMetrics} (gateway nodes, where the sequences live): time to
 *       first token, inter-token latency, end-to-end latency, requests finished by outcome, requests
 *       pending, preemptions and recomputed tokens;
 *   <li>{@link magicpig.metrics.WorkerMetrics}: requests running and waiting, queue time, prompt and
 *       generation tokens, KV cache bytes;
 *   <li>{@link magicpig.metrics.AttentionMetrics} (MagicPIG): the fraction of offloaded keys sampled
 *       per layer, the sparse step time, the data-plane round trip;
 *   <li>{@link magicpig.metrics.ShardMetrics}: KV blocks, bytes and budget per shard, CPU attention
 *       time per query, LSH table build time; node-wide {@code magicpig_kv_usage_ratio};
 *   <li>the data plane's transport counters ({@link magicpig.metrics.NodeMetrics#bindDataPlane}):
 *       bytes and messages each way, Aeron back-pressure and admin-action events, failed offers,
 *       timeouts.
 * </ul>
 *
 * <h2>Decisions</h2>
 * <ul>
 *   <li><b>Histograms with explicit buckets</b> ({@link magicpig.metrics.Buckets}, six per decade)
 *       rather than client-side percentiles: they aggregate across nodes and over any window in
 *       PromQL, and the dashboard reads its p50/p99 from the same buckets
 *       ({@link magicpig.metrics.LatencyWindow}), so both agree.
 *   <li><b>Hot paths only record.</b> A recording is a Micrometer timer or counter update (measured
 *       here at 15-130 ns, no allocation); what is already counted elsewhere (the transport's
 *       counters, a shard's store) is read when scraped, through function meters, at no cost to the
 *       code that counts it.
 *   <li><b>Off means no-op</b>: with {@code magicpig.metrics.enabled = false} the registry denies
 *       every meter and the groups hold Micrometer's no-op meters.
 * </ul>
 */
package magicpig.metrics;
