package magicpig.cluster.metrics;

import java.util.List;

/**
 * What one node tells the dashboards about itself, about once a second (Jackson CBOR over Pekko,
 * like every cluster message): a few hundred bytes.
 *
 * @param address         host:port of the node's cluster address
 * @param actors          its metered actors, rates and quantiles over its window
 * @param kvBytes         KV memory on the node: its worker's caches and its shards' blocks
 * @param generatedTokens tokens its worker generated since start; tokensPerSec over the window
 * @param running         sequences in its worker's batch; waiting: admitted there, not yet in it
 * @param pending         requests its gateway holds that are still placing blocks or looking for a worker
 * @param completed       requests its gateway saw finish normally
 * @param sampledKeys     per layer, offloaded keys attended since the previous report (x query heads)
 * @param offloadedKeys   per layer, offloaded keys that could have been (x query heads)
 * @param lastFraction    per layer, the fraction of the last sparse step, or null if none yet
 * @param ttft            time-to-first-token events of the window per bucket of {@link magicpig.metrics.Buckets#REQUEST}
 * @param itl             inter-token latencies of the window per bucket of {@link magicpig.metrics.Buckets#TOKEN}
 */
public record NodeSnapshot(String address, long time, List<DashboardState.ActorView> actors, List<DashboardState.ShardView> shards,
                           long kvBytes, long generatedTokens, double tokensPerSec, int running, int waiting, int pending, long completed,
                           long[] sampledKeys, long[] offloadedKeys, List<Double> lastFraction, long[] ttft, long[] itl)
        implements DashboardAggregator.Command {}
