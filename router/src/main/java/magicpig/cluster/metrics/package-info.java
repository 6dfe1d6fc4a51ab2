/**
 * Actor-level metrics and the dashboard's data feed: what needs Pekko. The node's meters themselves
 * are in {@link magicpig.metrics}; {@link magicpig.cluster.metrics.MetricsExtension} holds them per
 * actor system.
 *
 * <h2>Actor-level metrics: a behavior interceptor and a counting mailbox, not Kamon</h2>
 * Pekko gives no per-actor figures by itself. Two ways were open: Kamon's Pekko instrumentation,
 * or our own interceptor and mailbox. We chose our own (Kamon was not tried here), because:
 * <ul>
 *   <li>Kamon instruments by rewriting Pekko's classes at load time with its Kanela agent: every
 *       launch (the launcher, surefire, forked test JVMs, the jlink-ed device check) would need a
 *       {@code -javaagent}, and the agent must keep up with both Java 25's class files and Pekko's
 *       internals; a failure there shows at start-up of every process, not in a test;
 *   <li>it would bring Kamon's own registry and reporters beside Micrometer's, and its actor
 *       filters would have to be set so that sequence entities (one per request) are grouped;
 *   <li>what we need is small: a {@link org.apache.pekko.actor.typed.BehaviorInterceptor}
 *       ({@link magicpig.cluster.metrics.MeteredBehavior}) that times each message into a histogram
 *       whose count is the messages processed, and a mailbox ({@link magicpig.cluster.metrics.CountingMailbox},
 *       Pekko's unbounded queue plus an atomic count, configured in {@code magicpig-defaults.conf})
 *       whose depth is one read. Both are plain typed-Pekko API.
 * </ul>
 * The cost per message is two {@code System.nanoTime} calls, one histogram record and two atomic
 * adds in the mailbox (a few hundred nanoseconds on the development machine, no allocation);
 * {@code ./magicpig bench metrics} measures what all metrics cost decode throughput. Series are per
 * actor type, and per instance where their number is bounded (the worker, each shard); sequence
 * entities and their subscribers are counted per type ({@code instance="all"}).
 *
 * <h2>The dashboard's data</h2>
 * Every node's {@link magicpig.cluster.metrics.MetricsReporter} reads its meters once per
 * {@code magicpig.metrics.report-interval} into a small {@link magicpig.cluster.metrics.NodeSnapshot}
 * and sends it to the {@link magicpig.cluster.metrics.DashboardAggregator} of every gateway node
 * (found through the receptionist; Jackson CBOR like every cluster message). The aggregator joins
 * the latest snapshots with the cluster's membership into a
 * {@link magicpig.cluster.metrics.DashboardState}, which the gateway serves as
 * {@code GET /dashboard/state} and {@code GET /dashboard/events} (docs/dashboard.md).
 *
 * <h2>Where /metrics is served</h2>
 * Per node, not merged: a gateway answers {@code GET /metrics} on its API port, a node without a
 * gateway on {@code magicpig.metrics.port} ({@link magicpig.cluster.metrics.MetricsServer}). A
 * Prometheus server scrapes each node, which keeps each node's series its own and lets Prometheus
 * tell a dead node from a quiet one; the dashboard is the merged view.
 */
package magicpig.cluster.metrics;
