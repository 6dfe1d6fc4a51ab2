package magicpig.shard;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The memory ledger of one shard: a budget in bytes, and per (sequence, block) what was reserved
 * for it and what its heads have allocated. A block counts the larger of the two, so a placement's
 * reservation holds room until the data comes and the data may exceed it only out of free memory.
 * Everything a block holds off-heap is counted (records, norms, tables) plus its centering vectors.
 *
 * <p>Thread-safe: reservations come from the shard's actor, allocations and frees from its duty
 * cycle. Not on the query path.
 */
final class ShardMemory {
    private final String shard;
    private final long budget;
    /** sequence -> block -> {reserved, allocated} */
    private final Map<Long, Map<Integer, long[]>> entries = new HashMap<>();
    private long used;

    ShardMemory(String shard, long budget) {
        if (budget < 0) throw new IllegalArgumentException("shard " + shard + ": a memory budget cannot be negative, got " + budget);
        this.shard = shard;
        this.budget = budget;
    }

    long budget() {
        return budget;
    }

    synchronized long used() {
        return used;
    }

    synchronized long free() {
        return budget - used;
    }

    /** Bytes reserved and not yet taken by data. */
    synchronized long reservedAhead() {
        long s = 0;
        for (Map<Integer, long[]> blocks : entries.values()) for (long[] e : blocks.values()) s += Math.max(0, e[0] - e[1]);
        return s;
    }

    /**
     * Reserves {@code bytes} for a block (replacing an earlier reservation of the same block);
     * returns null, or why it does not fit.
     */
    synchronized String reserve(long sequenceId, int blockId, long bytes) {
        if (bytes < 0) return "shard " + shard + ": cannot reserve a negative size (" + bytes + " bytes)";
        long[] e = entries.computeIfAbsent(sequenceId, k -> new HashMap<>()).computeIfAbsent(blockId, k -> new long[2]);
        long delta = Math.max(bytes, e[1]) - Math.max(e[0], e[1]);
        if (delta > budget - used) {
            String reason = refusal(bytes);
            if (e[0] == 0 && e[1] == 0) forget(sequenceId, blockId);
            return reason;
        }
        e[0] = bytes;
        used += delta;
        return null;
    }

    /** Charges {@code bytes} of data to a block. @throws ShardFullException when they do not fit */
    synchronized void allocate(long sequenceId, int blockId, long bytes) {
        long[] e = entries.computeIfAbsent(sequenceId, k -> new HashMap<>()).computeIfAbsent(blockId, k -> new long[2]);
        long delta = Math.max(e[0], e[1] + bytes) - Math.max(e[0], e[1]);
        if (delta > budget - used) {
            if (e[0] == 0 && e[1] == 0) forget(sequenceId, blockId);
            throw new ShardFullException("shard " + shard + ": " + bytes(bytes) + " more for block " + blockId + " of sequence " + sequenceId
                + " (" + bytes(e[1] + bytes) + " in all) exceeds the free " + bytes(Math.max(0, budget - used)) + " of its " + bytes(budget) + " budget");
        }
        e[1] += bytes;
        used += delta;
    }

    /** Returns {@code bytes} of a block's data (its reservation stays). */
    synchronized void unallocate(long sequenceId, int blockId, long bytes) {
        Map<Integer, long[]> blocks = entries.get(sequenceId);
        long[] e = blocks == null ? null : blocks.get(blockId);
        if (e == null) return;
        long before = Math.max(e[0], e[1]);
        e[1] = Math.max(0, e[1] - bytes);
        used -= before - Math.max(e[0], e[1]);
    }

    /** Forgets a block's reservation and data; returns the bytes this freed. */
    synchronized long release(long sequenceId, int blockId) {
        Map<Integer, long[]> blocks = entries.get(sequenceId);
        if (blocks == null) return 0;
        long[] e = blocks.remove(blockId);
        if (blocks.isEmpty()) entries.remove(sequenceId);
        if (e == null) return 0;
        long freed = Math.max(e[0], e[1]);
        used -= freed;
        return freed;
    }

    /** Forgets every block of a sequence; returns the bytes this freed. */
    synchronized long releaseSequence(long sequenceId) {
        Map<Integer, long[]> blocks = entries.remove(sequenceId);
        if (blocks == null) return 0;
        long freed = 0;
        for (long[] e : blocks.values()) freed += Math.max(e[0], e[1]);
        used -= freed;
        return freed;
    }

    synchronized void releaseAll() {
        entries.clear();
        used = 0;
    }

    private void forget(long sequenceId, int blockId) {
        Map<Integer, long[]> blocks = entries.get(sequenceId);
        if (blocks == null) return;
        blocks.remove(blockId);
        if (blocks.isEmpty()) entries.remove(sequenceId);
    }

    private String refusal(long bytes) {
        return "shard " + shard + ": block of " + bytes(bytes) + " exceeds the free " + bytes(Math.max(0, budget - used))
            + " of its " + bytes(budget) + " budget";
    }

    /** 512 B, 1.5 KiB, 123 MiB, 4 GiB: whole numbers when exact, else one decimal. */
    static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double v = n;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0 || v == Math.rint(v)) return (long) v + " " + units[u];
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
