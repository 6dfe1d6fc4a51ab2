package magicpig.shard;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import magicpig.attention.AttentionSettings;
import magicpig.attention.HeadSlice;
import magicpig.attention.LogWeights;
import magicpig.attention.LshBlock;
import magicpig.attention.LshTables;
import magicpig.attention.SimHash;
import magicpig.metrics.ShardMetrics;
import magicpig.model.LlamaConfig;
import magicpig.transport.ReceivedBlock;
import magicpig.wire.AttentionQuery;
import magicpig.wire.BlockParams;
import magicpig.wire.PayloadKind;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The blocks a shard holds, of many sequences: keyed (sequence, block), each with an
 * {@link LshBlock} per sparse (layer, kv head) over the shard's own off-heap memory, and the
 * ledger that keeps them within the shard's budget.
 *
 * <p><b>How a block arrives</b> (chunked transfers, reassembled by the endpoint): first its
 * {@link BlockParams} (model shape, K, L, T and the master seed), then per (layer, kv head) its raw
 * keys and its values, which are written straight into interleaved {@code [k | v]} records, and its
 * centering vector c. When a head has all three, its keys are centered in place, hashed with the
 * projection rebuilt from the seed, and its tables built ({@link LshBlock#adopt}). A head is
 * charged to the ledger, in full, when its first part arrives; a head that does not fit is refused
 * with the reason, and nothing of it is kept.
 *
 * <p><b>Threads.</b> Blocks are added, read and freed on the shard's duty-cycle thread only (the
 * query phase reads them from the compute pool while that thread waits). Reservations and the
 * counts behind {@link #usedBytes()}, {@link #blocks()} and {@link #sequences()} may be used from
 * any thread.
 */
public final class ShardStore implements AutoCloseable {
    private static final ValueLayout.OfFloat WIRE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    private static final int MAX_CACHED = 4096;

    private final String name;
    private final ShardMemory memory;
    private final Long2ObjectHashMap<Sequence> sequences = new Long2ObjectHashMap<>();
    private final Map<HashKey, SimHash> hashes = new HashMap<>();
    private volatile int blockCount;
    private volatile int sequenceCount;
    private ShardMetrics metrics = ShardMetrics.NONE;

    /** The blocks of one sequence on this shard, by id, and their ids in arrival order. */
    static final class Sequence {
        final Int2ObjectHashMap<StoredBlock> blocks = new Int2ObjectHashMap<>();
        final IntArrayList ids = new IntArrayList();
    }

    private record HashKey(long seed, int layer, int kvHead, int headDim, int k, int l) {}

    public ShardStore(String name, long budgetBytes) {
        this.name = name;
        this.memory = new ShardMemory(name, budgetBytes);
    }

    /**
     * Off-heap bytes one (layer, kv head) of a block of {@code tokens} tokens takes on a shard:
     * records {@code [k | v]} (8 headDim per token), key norms (4), tables (2 L per token, plus
     * {@code 4 L (2^K + 1)} of bucket offsets), and its centering vector (4 headDim).
     */
    public static long headBytes(int tokens, int headDim, int k, int l) {
        return LshBlock.recordBytes(tokens, headDim) + 4L * tokens + 2L * l * tokens + 4L * l * ((1L << k) + 1) + 4L * headDim;
    }

    /** Bytes a block of {@code tokens} tokens of every sparse (layer, kv head) takes on a shard: what to reserve for it. */
    public static long blockBytes(LlamaConfig config, AttentionSettings settings, int tokens) {
        int sparse = 0;
        for (int l = 0; l < config.layers(); l++) if (!settings.denseLayers().contains(l)) sparse++;
        return (long) sparse * config.kvHeads() * headBytes(tokens, config.headDim(), settings.lshK(), settings.lshL());
    }

    public String name() {
        return name;
    }

    /** Where to record table builds; set before the shard runs. */
    void metrics(ShardMetrics m) {
        this.metrics = m;
    }

    public long budgetBytes() {
        return memory.budget();
    }

    /** Bytes held or reserved. */
    public long usedBytes() {
        return memory.used();
    }

    public long freeBytes() {
        return memory.free();
    }

    /** Bytes reserved for data that has not come yet. */
    public long reservedAheadBytes() {
        return memory.reservedAhead();
    }

    /** Blocks held (complete or arriving). */
    public int blocks() {
        return blockCount;
    }

    /** Sequences with at least one block here. */
    public int sequences() {
        return sequenceCount;
    }

    /** Reserves room for a block before its data comes; returns null, or why it does not fit. Any thread. */
    public String reserve(long sequenceId, int blockId, long bytes) {
        return memory.reserve(sequenceId, blockId, bytes);
    }

    /** The blocks of a sequence, or null. */
    Sequence sequence(long sequenceId) {
        return sequences.get(sequenceId);
    }

    /**
     * Takes one reassembled part of a block (see the class comment).
     *
     * @throws ShardFullException       when a new head does not fit the budget
     * @throws IllegalArgumentException when the part does not fit the block it names
     */
    public void receive(ReceivedBlock part, DirectBuffer payload, int offset, int length) {
        long seq = part.sequenceId();
        int blockId = part.blockId();
        switch (part.kind()) {
            case BLOCK_PARAMS -> {
                BlockParams params = BlockParams.read(payload, offset, length);
                Sequence s = sequences.get(seq);
                if (s == null) {
                    sequences.put(seq, s = new Sequence());
                    sequenceCount = sequences.size();
                }
                StoredBlock old = s.blocks.get(blockId);
                if (old != null) {
                    // the block is sent again (a retry, or a rebuild): start over, keeping its reservation
                    s.blocks.remove(blockId);
                    s.ids.removeInt(blockId);
                    memory.unallocate(seq, blockId, old.bytes());
                    old.close();
                    blockCount--;
                }
                s.blocks.put(blockId, new StoredBlock(seq, blockId, params, weights(params)));
                s.ids.addInt(blockId);
                blockCount++;
            }
            case KEYS, VALUES, CENTERING_MEAN -> receiveHeadPart(part, payload, offset, length);
            default -> throw new IllegalArgumentException("shard " + name + " does not take " + part.kind() + " payloads ("
                + part + ")");
        }
    }

    private void receiveHeadPart(ReceivedBlock part, DirectBuffer payload, int offset, int length) {
        StoredBlock b = block(part.sequenceId(), part.blockId());
        if (b == null) {
            throw new IllegalArgumentException("shard " + name + ": " + part + " came before the block's parameters");
        }
        BlockParams p = b.params;
        int d = p.headDim(), n = part.tokenCount();
        if (n < 1 || n > LshTables.MAX_BLOCK) {
            throw new IllegalArgumentException("shard " + name + ": " + part + ": a block holds 1.." + LshTables.MAX_BLOCK + " tokens");
        }
        StoredBlock.Head h = b.head(part.layer(), part.kvHead());
        if (h.index != null) throw new IllegalArgumentException("shard " + name + ": " + part + ": that head is indexed already");
        b.tokens(part.firstToken(), n);
        boolean first = h.records == null && h.center == null;
        if (first) {
            long bytes = headBytes(n, d, p.k(), p.l());
            memory.allocate(b.sequenceId, b.blockId, bytes);
            b.addBytes(bytes);
        }
        switch (part.kind()) {
            case KEYS, VALUES -> {
                expectLength(part, length, (long) n * d * Float.BYTES);
                if (h.records == null) h.records = b.arena.allocate(LshBlock.recordBytes(n, d), 64);
                boolean keys = part.kind() == PayloadKind.KEYS;
                HeadSlice r = HeadSlice.interleaved(h.records, d);
                MemorySegment src = segmentOf(payload, offset, length);
                for (int i = 0; i < n; i++) {
                    MemorySegment.copy(src, WIRE_FLOAT, (long) i * d * Float.BYTES, h.records, FLOAT,
                        keys ? r.keyOffset(i) : r.valueOffset(i), d);
                }
                if (keys) h.keys = true;
                else h.values = true;
            }
            case CENTERING_MEAN -> {
                expectLength(part, length, (long) d * Float.BYTES);
                float[] c = new float[d];
                MemorySegment.copy(segmentOf(payload, offset, length), WIRE_FLOAT, 0, c, 0, d);
                h.center = c;
            }
            default -> throw new IllegalStateException();
        }
        if (h.keys && h.values && h.center != null) {
            long t0 = System.nanoTime();
            SimHash hash = hash(p, part.layer(), part.kvHead());
            h.index = LshBlock.adopt(h.records, d, b.firstToken(), n, h.center, hash, b.arena);
            metrics.tableBuilt(System.nanoTime() - t0);
            b.indexed();
        }
    }

    private void expectLength(ReceivedBlock part, int length, long expected) {
        if (length != expected) {
            throw new IllegalArgumentException("shard " + name + ": " + part + " has " + length + " bytes, expected " + expected);
        }
    }

    /** A block, or null. */
    StoredBlock block(long sequenceId, int blockId) {
        Sequence s = sequences.get(sequenceId);
        return s == null ? null : s.blocks.get(blockId);
    }

    /**
     * Frees a block, or every block of the sequence ({@link AttentionQuery#ALL_BLOCKS}), with their
     * reservations; returns the bytes freed.
     */
    public long free(long sequenceId, int blockId) {
        Sequence s = sequences.get(sequenceId);
        if (blockId == AttentionQuery.ALL_BLOCKS) {
            if (s != null) {
                for (StoredBlock b : s.blocks.values()) b.close();
                blockCount -= s.blocks.size();
                sequences.remove(sequenceId);
                sequenceCount = sequences.size();
            }
            return memory.releaseSequence(sequenceId);
        }
        if (s != null) {
            StoredBlock b = s.blocks.remove(blockId);
            if (b != null) {
                s.ids.removeInt(blockId);
                b.close();
                blockCount--;
            }
            if (s.blocks.isEmpty()) {
                sequences.remove(sequenceId);
                sequenceCount = sequences.size();
            }
        }
        return memory.release(sequenceId, blockId);
    }

    /** Frees everything. */
    @Override
    public void close() {
        for (Sequence s : sequences.values()) for (StoredBlock b : s.blocks.values()) b.close();
        sequences.clear();
        blockCount = 0;
        sequenceCount = 0;
        memory.releaseAll();
    }

    private SimHash hash(BlockParams p, int layer, int kvHead) {
        if (hashes.size() > MAX_CACHED) hashes.clear();
        return hashes.computeIfAbsent(new HashKey(p.seed(), layer, kvHead, p.headDim(), p.k(), p.l()),
            key -> SimHash.forHead(key.seed(), key.layer(), key.kvHead(), key.headDim(), key.k(), key.l()));
    }

    private static LogWeights weights(BlockParams p) {
        return LogWeights.of(p.k(), p.l(), p.threshold());
    }

    /** The bytes of a reassembled payload as a segment, without copying. */
    static MemorySegment segmentOf(DirectBuffer buffer, int offset, int length) {
        byte[] array = buffer.byteArray();
        if (array != null) return MemorySegment.ofArray(array).asSlice(buffer.wrapAdjustment() + offset, length);
        ByteBuffer bb = buffer.byteBuffer();
        if (bb != null) return MemorySegment.ofBuffer(bb.duplicate().clear()).asSlice(buffer.wrapAdjustment() + offset, length);
        return MemorySegment.ofAddress(buffer.addressOffset() + offset).reinterpret(length);
    }
}
