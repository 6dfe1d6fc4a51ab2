/**
 * The transformer on an NVIDIA GPU: {@link magicpig.cuda.CudaBackend} behind
 * {@link magicpig.model.ComputeBackend}, through JCuda's driver API and our own kernels
 * ({@code src/main/cuda}, committed as PTX), chosen by {@link magicpig.cuda.ComputeBackends}.
 *
 * <h2>What lives where</h2>
 * Weights are uploaded once in their file layout and stay on the device. Each session's KV cache
 * ([layers][capacity][kvDim] f32, keys after RoPE) is on the device. Per step the host uploads one
 * small block (the rows' {@code SeqInfo} and tokens) and reads back the logits (or, greedy, one
 * token id through the device argmax).
 *
 * <h2>The MagicPIG seam</h2>
 * The design keeps the exact static window on the GPU and sends only the query and its hash codes
 * to the CPU hosts that hold the offloaded tokens; their partial states (m, l, o) come back and
 * merge exactly with the window's on the device. The pieces are here:
 * <ul>
 *   <li>{@code attn_partial} attends any rows over position ranges (SeqInfo: {@code r0len} sink
 *       positions, then {@code [r1start, pos]}: the static window) and leaves partial states;
 *   <li>{@code lsh_hash} makes the query's codes (projection per (layer, kv head), sign, LSB-first
 *       u16 per table);
 *   <li>{@code attn_merge} merges the window's partial states with external ones uploaded from
 *       the host;
 *   <li>{@link magicpig.cuda.SparseLayerStep} runs those for one layer with an
 *       {@link magicpig.cuda.SparseLayerStep.OffloadedAttention} as the host side (the Aeron
 *       client of the attention shards, in the cluster), and the device check times it.
 * </ul>
 * What is not wired yet: a {@link magicpig.cuda.CudaSession} created with a MagicPIG
 * {@link magicpig.model.Attention} does not use that path; it mirrors its cache to the host and
 * hands q to the host attention step every layer (correct for any attention, PCIe-bound). Wiring
 * it means: at prefill, upload the per-(layer, kv head) projections and compute the centering
 * means on the device; in {@code CudaBackend.layers}, for sparse layers, launch the window
 * attention and the hashing instead of dense attention, exchange q + codes for partial states,
 * merge, and go on with the o projection.
 */
package magicpig.cuda;
