package magicpig.attention;

import java.lang.foreign.MemorySegment;
import magicpig.model.KvCache;

/**
 * Where the keys and values of one kv head live: the key of token {@code pos} at byte offset
 * {@code keyBase + pos * stride} of {@code keys}, its value at {@code valueBase + pos * stride} of
 * {@code values}. The same view covers the engine's position-major {@link KvCache} (stride = kvDim
 * floats) and a block's own interleaved records (keys and values in one segment, stride = 2
 * headDim floats), so the kernels do not care which they read.
 */
public record HeadSlice(MemorySegment keys, MemorySegment values, long keyBase, long valueBase, long stride) {

    /** Keys and values of one layer and kv head of the engine's cache. */
    public static HeadSlice of(KvCache cache, int layer, int kvHead) {
        long base = cache.offset(0, kvHead);
        return new HeadSlice(cache.keys(layer), cache.values(layer), base, base, (long) cache.kvDim() * Float.BYTES);
    }

    /** Records of {@code [key | value]}, headDim floats each, back to back in one segment. */
    public static HeadSlice interleaved(MemorySegment records, int headDim) {
        return new HeadSlice(records, records, 0, (long) headDim * Float.BYTES, 2L * headDim * Float.BYTES);
    }

    public long keyOffset(int pos) {
        return keyBase + pos * stride;
    }

    public long valueOffset(int pos) {
        return valueBase + pos * stride;
    }
}
