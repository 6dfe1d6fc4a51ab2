/**
 * The worker's side of distributed MagicPIG (issue 4, item 3): the exact static window stays on the
 * worker, the offloaded middle of the prompt lives on attention shards, and each decode step sends
 * query codes out and merges partial states back.
 *
 * <ul>
 *   <li>{@link magicpig.worker.remote.Placement}: which shard holds which token range of a
 *       sequence's offloaded region; made by placement (after the shards' {@code Reserve}), carried in
 *       messages.
 *   <li>{@link magicpig.worker.remote.RemoteMagicPigAttention}: the per-sequence
 *       {@link magicpig.model.Attention} over a placement and the worker's
 *       {@link magicpig.transport.WorkerEndpoint};
 *       {@link magicpig.worker.remote.RemoteMagicPigAttention#factory} makes the
 *       {@link magicpig.model.Attention.Factory} a worker admits a sequence with.
 * </ul>
 *
 * <p><b>Finding a shard.</b> A shard's {@link magicpig.transport.ShardAddress} names its IPC and UDP
 * channels, its stream and its node's media-driver directory. The worker connects over IPC when its
 * endpoint's client uses that same directory (same host and driver), over UDP otherwise, and reuses
 * a connected link for every sequence on that shard. Replies come back on the worker endpoint's
 * response channel: a worker that also talks to other hosts must listen on UDP.
 *
 * <p><b>Parity with the in-process method.</b> Given the same {@link magicpig.attention.AttentionSettings}
 * the worker samples the same keys as {@link magicpig.attention.MagicPigAttention}: the projections
 * come from the same seed, c is the mean of the same offloaded keys, and generated tokens past
 * {@code maxStatic} spill by the same rule (into blocks sampled on the worker). Only the order of the
 * exact merge differs; {@code MultiJvmParityTest} checks tokens and logits across JVMs.
 *
 * <p><b>Recovery.</b> The worker's KV cache keeps every position of the sequence on its host, so a
 * lost shard's blocks are rebuilt by sending them again to another shard
 * ({@link magicpig.worker.remote.RemoteMagicPigAttention#replaceShard}) and retrying the step that
 * failed; nothing is recomputed. The engine's step leaves no state behind when attention throws, so
 * the retry is exact.
 */
package magicpig.worker.remote;
