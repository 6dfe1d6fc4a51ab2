package magicpig.attention.eval;

import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;

/** Puts workloads into an engine KV cache, so every method runs through its real {@link magicpig.model.Attention} code. */
public final class WorkloadCache {
    private WorkloadCache() {}

    /** A one-layer model shape for these heads. */
    public static LlamaConfig config(int heads, int kvHeads, int headDim, int context) {
        return new LlamaConfig(heads * headDim, 4, 1, heads, kvHeads, headDim, 8, context, 1e-5f,
                new LlamaConfig.Rope(10000f, false, null));
    }

    /** Writes the workload's keys and values as kv head {@code kvHead} of layer 0, positions [0, size). */
    public static void write(KvCache cache, int kvHead, Workload w) {
        int d = w.headDim();
        int kvDim = cache.kvDim();
        float[] k = new float[kvDim], v = new float[kvDim];
        var keys = cache.keys(0);
        var values = cache.values(0);
        for (int i = 0; i < w.size(); i++) {
            w.key(i, k, 0);
            w.value(i, v, 0);
            java.lang.foreign.MemorySegment.copy(k, 0, keys, java.lang.foreign.ValueLayout.JAVA_FLOAT, cache.offset(i, kvHead), d);
            java.lang.foreign.MemorySegment.copy(v, 0, values, java.lang.foreign.ValueLayout.JAVA_FLOAT, cache.offset(i, kvHead), d);
        }
        cache.setLength(Math.max(cache.length(), w.size()));
    }
}
