package magicpig.attention;

import java.lang.foreign.MemorySegment;
import magicpig.model.KvCache;

/**
 * Where the keys and values of one kv head live: byte offset {@code base + pos * stride} of
 * {@code keys} / {@code values} holds the vector of token {@code pos}. The same view covers the
 * engine's position-major {@link KvCache} (stride = kvDim floats) and a shard's per-head block
 * (stride = headDim floats), so the kernels do not care which they read.
 */
public record HeadSlice(MemorySegment keys, MemorySegment values, long base, long stride) {

    /** Keys and values of one layer and kv head of the engine's cache. */
    public static HeadSlice of(KvCache cache, int layer, int kvHead) {
        return new HeadSlice(cache.keys(layer), cache.values(layer), cache.offset(0, kvHead), (long) cache.kvDim() * Float.BYTES);
    }

    public long offset(int pos) {
        return base + pos * stride;
    }
}
