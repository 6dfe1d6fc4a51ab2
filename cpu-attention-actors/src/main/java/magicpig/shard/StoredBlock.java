package magicpig.shard;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import magicpig.attention.LogWeights;
import magicpig.attention.LshBlock;
import magicpig.wire.BlockParams;

/**
 * One block of one sequence on a shard: a token range of every sparse (layer, kv head), each
 * indexed as an {@link LshBlock} once its keys, values and centering vector have all arrived. Its
 * off-heap memory (records, norms, tables) lives in one arena, freed with the block.
 *
 * <p>Owned by the shard's duty-cycle thread; the query phase reads it from the compute threads
 * while that thread waits for them.
 */
final class StoredBlock implements AutoCloseable {
    final long sequenceId;
    final int blockId;
    final BlockParams params;
    final LogWeights weights;
    final Arena arena = Arena.ofShared();
    private final Head[][] heads;
    private int firstToken = -1;
    private int tokens = -1;
    private int indexedHeads;
    private long bytes;

    /** The parts of one (layer, kv head) of the block, as they arrive. */
    static final class Head {
        MemorySegment records;
        float[] center;
        boolean keys;
        boolean values;
        LshBlock index;
    }

    StoredBlock(long sequenceId, int blockId, BlockParams params, LogWeights weights) {
        this.sequenceId = sequenceId;
        this.blockId = blockId;
        this.params = params;
        this.weights = weights;
        this.heads = new Head[params.layers()][params.kvHeads()];
    }

    /** The head's parts so far, made on first use; checks the indices against the model shape. */
    Head head(int layer, int kvHead) {
        if (layer < 0 || layer >= heads.length || kvHead < 0 || kvHead >= heads[0].length) {
            throw new IllegalArgumentException("sequence " + sequenceId + " block " + blockId + ": layer " + layer + " kv head "
                + kvHead + " is outside the model's " + heads.length + " layers x " + heads[0].length + " kv heads");
        }
        Head h = heads[layer][kvHead];
        if (h == null) heads[layer][kvHead] = h = new Head();
        return h;
    }

    /** The index of a (layer, kv head), or null when it is not complete (or not sent: a dense layer). */
    LshBlock index(int layer, int kvHead) {
        if (layer < 0 || layer >= heads.length || kvHead < 0 || kvHead >= heads[0].length) return null;
        Head h = heads[layer][kvHead];
        return h == null ? null : h.index;
    }

    /** Fixes the block's token range on the first head; every head must agree. */
    void tokens(int firstToken, int tokens) {
        if (this.tokens < 0) {
            this.firstToken = firstToken;
            this.tokens = tokens;
        } else if (this.firstToken != firstToken || this.tokens != tokens) {
            throw new IllegalArgumentException("sequence " + sequenceId + " block " + blockId + " holds tokens " + this.firstToken
                + "+" + this.tokens + ", a part came for " + firstToken + "+" + tokens);
        }
    }

    int firstToken() {
        return firstToken;
    }

    int tokens() {
        return tokens;
    }

    void indexed() {
        indexedHeads++;
    }

    /** (layer, kv head)s indexed so far. */
    int indexedHeads() {
        return indexedHeads;
    }

    void addBytes(long b) {
        bytes += b;
    }

    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
