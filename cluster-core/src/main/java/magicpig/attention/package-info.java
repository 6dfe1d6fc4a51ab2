/**
 * Decode-time attention: exact ({@link magicpig.attention.DenseAttention}), MagicPIG LSH sampling
 * ({@link magicpig.attention.MagicPigAttention}) and the baselines it is measured against
 * ({@link magicpig.attention.TopKAttention}, {@link magicpig.attention.QuestAttention},
 * {@link magicpig.attention.OracleSamplingAttention}), chosen per sequence through
 * {@link magicpig.attention.AttentionSettings#factory()}.
 *
 * <h2>How a MagicPIG step is computed</h2>
 * <ol>
 *   <li>Static set (sinks, local window, generated tokens): exact, logits {@code (q·k - q·c)/sqrt(d)}
 *       read from the engine's cache.</li>
 *   <li>Offloaded set: {@link magicpig.attention.LshBlock}s of at most 65,536 tokens per (layer, kv
 *       head), each owning {@code [k - c | v]} records, key norms and L CSR tables
 *       ({@link magicpig.attention.LshTables}). The query side computes the L codes of each query
 *       head once ({@link magicpig.attention.SimHash}, four heads of a group per pass) and every
 *       block answers with a {@link magicpig.attention.PartialState} of its sampled keys, logits
 *       {@code q·(k - c)/sqrt(d) - ln(u + 1e-4)} ({@link magicpig.attention.LogWeights},
 *       {@link magicpig.attention.InclusionProbability}).</li>
 *   <li>Merge: exact, associative, any order, so blocks can live on other hosts.</li>
 * </ol>
 *
 * <h2>Decisions and why</h2>
 * <ul>
 *   <li><b>One logit origin.</b> Sampled keys are stored centered; the static part subtracts q·c
 *       from raw-key logits. Both are logits of centered keys, so the partial states of a head
 *       merge without any correction.</li>
 *   <li><b>Blocks own a copy of their keys and values</b> as {@code [k - c | v]} records. That is
 *       the shard layout of the cluster (a block is self-contained), and a sampled token becomes one
 *       contiguous 2 x headDim read: measured about 30% faster than gathering the key and the value
 *       from the position-major cache. The cost in a single process is a second copy of the
 *       offloaded KV (the engine's cache still holds it).</li>
 *   <li><b>Dense attention walks positions, not heads.</b> The cache is position-major; reading a
 *       kv head at a one-page stride defeats the prefetchers, so each parallel chunk of positions
 *       serves all heads and the chunks merge as partial states (flash-decoding).</li>
 *   <li><b>Static window: spill.</b> Beyond {@code maxStatic} tokens, the oldest half of the
 *       generated window becomes a new block, hashed and centered with the same projection and c.
 *       Spills are amortised, and the exact part of a step stays bounded. The cluster's worker
 *       spills by the same rule ({@link magicpig.attention.SparseAttention#spillEnd}) into blocks it
 *       samples itself, so both paths sample the same keys.</li>
 *   <li><b>Blocks are cut at {@code blockTokens}</b> from the first offloaded token, the cut the
 *       cluster places on shards. Which keys are sampled does not depend on it (a key's collisions
 *       are its own); only the order in which partial states are summed does.</li>
 *   <li><b>Allocation-free steps</b>: bodies of {@link magicpig.tensor.Parallel} loops are reused
 *       objects, per-thread scratch comes from a pool, and the vector kernels are written so C2
 *       keeps vectors in registers (the log-weight kernel is one branch-free method: split into
 *       helpers it allocated ~100 KB per step). {@code MagicPigAttentionTest} measures 0 bytes over
 *       1000 steps; the bench reports bytes/step.</li>
 *   <li><b>Baselines read every offloaded key</b> (TopK and the oracle need every logit; Quest reads
 *       page bounds). Their "keys touched" counts the keys whose values enter the output, as for
 *       MagicPIG; they are accuracy references, not speed references.</li>
 * </ul>
 */
package magicpig.attention;
