package magicpig.worker.remote;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import magicpig.attention.AttentionSettings;
import magicpig.attention.LshTables;
import magicpig.transport.ShardAddress;

/**
 * Where the offloaded tokens of one sequence live: its blocks, each a token range of the offloaded
 * region and the shard that holds it. Made by whoever places blocks (the sequence's owner, after
 * {@code AttentionShard.Reserve}), carried to the worker in its messages (a plain record, serialized
 * with them), and read by {@link RemoteMagicPigAttention}.
 *
 * <p>Token ranges are relative to the offloaded region, which is the prompt minus its first
 * {@code sink} and last {@code local} tokens ({@link #offloadedTokens}); the blocks must cover it
 * exactly, in order. A block holds at most {@value LshTables#MAX_BLOCK} tokens.
 *
 * @param sequenceId the sequence's id on the data plane ({@link #wireId} of its cluster id)
 * @param blocks     ascending, contiguous from 0
 */
public record Placement(long sequenceId, List<Block> blocks) {

    /**
     * @param blockId unique within the sequence
     * @param from    first offloaded token, relative to the offloaded region
     * @param to      end (exclusive)
     * @param shard   where it is held
     */
    public record Block(int blockId, int from, int to, ShardAddress shard) {
        public Block {
            if (blockId < 0) throw new IllegalArgumentException("block ids are >= 0, got " + blockId);
            if (from < 0 || to <= from || to - from > LshTables.MAX_BLOCK) {
                throw new IllegalArgumentException("block " + blockId + ": tokens [" + from + ", " + to + ") must be 1.." + LshTables.MAX_BLOCK + " tokens from >= 0");
            }
            if (shard == null) throw new IllegalArgumentException("block " + blockId + " has no shard");
        }

        public int tokens() {
            return to - from;
        }
    }

    public Placement {
        blocks = List.copyOf(blocks);
        Set<Integer> ids = new HashSet<>();
        int next = 0;
        for (Block b : blocks) {
            if (!ids.add(b.blockId())) throw new IllegalArgumentException("block id " + b.blockId() + " is placed twice");
            if (b.from() != next) {
                throw new IllegalArgumentException("blocks must cover the offloaded tokens in order: block " + b.blockId() + " starts at " + b.from() + ", expected " + next);
            }
            next = b.to();
        }
    }

    /** Offloaded tokens the blocks cover. */
    public int tokens() {
        return blocks.isEmpty() ? 0 : blocks.getLast().to();
    }

    /** The same placement with one block moved to another shard (after the old one was lost). */
    public Placement withShard(int blockId, ShardAddress shard) {
        List<Block> moved = new ArrayList<>(blocks.size());
        boolean found = false;
        for (Block b : blocks) {
            if (b.blockId() == blockId) {
                moved.add(new Block(blockId, b.from(), b.to(), shard));
                found = true;
            } else {
                moved.add(b);
            }
        }
        if (!found) throw new IllegalArgumentException("sequence " + sequenceId + " has no block " + blockId);
        return new Placement(sequenceId, moved);
    }

    /** Tokens a prompt offloads under these settings: the prompt minus its sink and local window (MAGICPIG.md step 1). */
    public static int offloadedTokens(int promptLength, AttentionSettings settings) {
        int sinkEnd = Math.min(settings.sink(), promptLength);
        int localStart = Math.max(sinkEnd, promptLength - settings.local());
        return localStart - sinkEnd;
    }

    /** Cuts {@code tokens} offloaded tokens into ranges of {@code blockTokens} (the last shorter): {from, to} each. */
    public static List<int[]> ranges(int tokens, int blockTokens) {
        if (blockTokens < 1 || blockTokens > LshTables.MAX_BLOCK) {
            throw new IllegalArgumentException("block tokens must be in 1.." + LshTables.MAX_BLOCK + ", got " + blockTokens);
        }
        List<int[]> r = new ArrayList<>();
        for (int from = 0; from < tokens; from += blockTokens) r.add(new int[] {from, Math.min(tokens, from + blockTokens)});
        return r;
    }

    /** A cluster sequence id (a string) as the data plane's 64-bit id: FNV-1a of its UTF-8 bytes, then mixed. */
    public static long wireId(String sequenceId) {
        long h = 0xcbf29ce484222325L;
        for (byte b : sequenceId.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }
}
