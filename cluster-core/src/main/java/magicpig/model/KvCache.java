package magicpig.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Keys and values of one sequence, off-heap, for every layer. Layout per layer: position-major,
 * then kv head, then head dimension, f32: the key of (pos, kvHead) starts at float index
 * {@code pos * kvDim + kvHead * headDim}. Keys are stored after RoPE.
 */
public final class KvCache implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int capacity;
    private final int kvDim;
    private final int headDim;
    private final int kvHeads;
    /** Positions written so far (the same in every layer once a token has passed all layers). */
    private int length;

    public KvCache(LlamaConfig config, int capacity) {
        if (capacity <= 0 || capacity > config.contextLength()) {
            throw new IllegalArgumentException("KV cache capacity must be in [1, " + config.contextLength() + "], got " + capacity);
        }
        this.capacity = capacity;
        this.kvDim = config.kvDim();
        this.headDim = config.headDim();
        this.kvHeads = config.kvHeads();
        this.keys = new MemorySegment[config.layers()];
        this.values = new MemorySegment[config.layers()];
        long bytes = (long) capacity * kvDim * Float.BYTES;
        for (int l = 0; l < config.layers(); l++) {
            keys[l] = magicpig.tensor.HugePages.allocate(arena, bytes);
            values[l] = magicpig.tensor.HugePages.allocate(arena, bytes);
        }
    }

    public MemorySegment keys(int layer) {
        return keys[layer];
    }

    public MemorySegment values(int layer) {
        return values[layer];
    }

    /** Byte offset of the vector of (pos, kvHead) in {@link #keys} / {@link #values}. */
    public long offset(int pos, int kvHead) {
        return ((long) pos * kvDim + (long) kvHead * headDim) * Float.BYTES;
    }

    public void writeKey(int layer, int pos, float[] k, int kOff) {
        MemorySegment.copy(k, kOff, keys[layer], ValueLayout.JAVA_FLOAT, (long) pos * kvDim * Float.BYTES, kvDim);
    }

    public void writeValue(int layer, int pos, float[] v, int vOff) {
        MemorySegment.copy(v, vOff, values[layer], ValueLayout.JAVA_FLOAT, (long) pos * kvDim * Float.BYTES, kvDim);
    }

    public int capacity() {
        return capacity;
    }

    public int length() {
        return length;
    }

    public void setLength(int length) {
        this.length = length;
    }

    public int kvDim() {
        return kvDim;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    public int layers() {
        return keys.length;
    }

    /** Off-heap bytes held. */
    public long byteSize() {
        return 2L * keys.length * capacity * kvDim * Float.BYTES;
    }

    @Override
    public void close() {
        arena.close();
    }
}
