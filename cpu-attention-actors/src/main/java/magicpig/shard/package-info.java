/**
 * Attention shards: the CPU side of distributed MagicPIG (issue 4, item 4). A shard owns blocks of
 * offloaded KV of many sequences, with their LSH tables, and answers sampled-attention queries with
 * partial states that the worker merges exactly.
 *
 * <h2>Shape</h2>
 * <ul>
 *   <li>{@link magicpig.shard.ShardStore}: the blocks, keyed (sequence, block), each an
 *       {@link magicpig.attention.LshBlock} per sparse (layer, kv head) in the shard's own off-heap
 *       memory, and the budget they are charged to ({@link magicpig.shard.ShardStore#blockBytes}
 *       says what a block costs).
 *   <li>{@link magicpig.shard.ShardService}: the {@link magicpig.transport.ShardHandler} behind the
 *       shard's Aeron endpoints: stores block transfers, answers queries on every core, frees.
 *   <li>{@link magicpig.shard.ShardServer}: service plus one endpoint per channel (IPC and UDP, one
 *       stream), run by one Agrona {@code AgentRunner}; usable without actors.
 *   <li>{@link magicpig.shard.AttentionShard}: the typed actor around a server (reservations,
 *       releases, statistics), registered under {@link magicpig.shard.AttentionShard#KEY}.
 *   <li>{@link magicpig.shard.AttentionShards}: what a {@code cpu-attention} node starts.
 * </ul>
 *
 * <h2>Decisions</h2>
 * <ul>
 *   <li><b>The worker sends raw keys, values and c; the shard centers, hashes and indexes.</b> Codes
 *       computed on the worker would add 2 L bytes per token to the transfer (300 at L = 150, a
 *       third of a d = 128 key and value) and GPU time to prefill; the shard has the cores, and the
 *       projection is rebuilt anywhere from the master seed
 *       ({@link magicpig.attention.SimHash#forHead}), which the block's
 *       {@link magicpig.wire.BlockParams} carry with K, L, T and the model shape. Keys and values
 *       are written straight into the block's interleaved records as they arrive and centered in
 *       place ({@link magicpig.attention.LshBlock#adopt}): no second copy.
 *   <li><b>No q·c on the wire.</b> Blocks hold centered keys, so a shard's logits are
 *       {@code q·(k - c)/sqrt(d) - ln(u + 1e-4)}; the worker shifts its static part by q·c to the
 *       same origin. |q| is recomputed here (d floats are cheaper to read than to trust).
 *   <li><b>One owner thread.</b> Transfers, queries, frees and the actor's releases all run on the
 *       shard's duty-cycle thread (releases are submitted to it), so the store needs no locks; the
 *       query phase fans out over {@link magicpig.tensor.Parallel} from that thread. Only the
 *       memory ledger, which the actor's reservations also touch, is synchronized.
 *   <li><b>Memory is charged per head when its first part arrives</b>, in full (records, norms,
 *       tables, c), against the block's reservation if placement made one, else against free
 *       memory; a head that does not fit is refused with the numbers, and nothing of it is kept.
 *       Reassembly buffers of the endpoint (pooled, as large as the largest transfer) are not
 *       counted.
 *   <li><b>Two channels, one stream.</b> Each shard subscribes on {@code aeron:ipc} and on the
 *       node's UDP endpoint with the same stream id; its {@link magicpig.transport.ShardAddress}
 *       advertises both and the media driver's directory, and a worker uses IPC exactly when it
 *       shares that driver.
 * </ul>
 */
package magicpig.shard;
