package magicpig.attention;

import java.util.Arrays;

/**
 * Per-query scratch of retrieval over the tokens of one block. For T above 2, collision counts
 * without clearing between queries: each slot holds {@code epoch << 16 | count}, and a slot whose
 * epoch is not the current one counts as zero. A new query bumps the epoch; the array is cleared
 * only when the 16-bit epoch wraps, once every 65,535 queries. Tokens that reach the threshold
 * are appended to {@link #candidates()} at the moment they reach it, so no second pass over the
 * block is needed. For T of 1 or 2, two bitmaps (seen once, seen twice) that retrieval leaves
 * zeroed; candidates then come in ascending token order.
 *
 * <p>Scratch of one thread; sized for the largest block ({@value LshTables#MAX_BLOCK} tokens).
 */
public final class CollisionCounter {
    private final int[] slots;
    private final int[] candidates;
    /** Bitmaps of tokens seen once and twice (T <= 2), zero between queries. */
    private final long[] once;
    private final long[] twice;
    private int epoch;
    private int[] ranges = new int[2 * 256];

    public CollisionCounter(int capacity) {
        if (capacity < 1 || capacity > LshTables.MAX_BLOCK) {
            throw new IllegalArgumentException("counter capacity must be in 1.." + LshTables.MAX_BLOCK + ", got " + capacity);
        }
        this.slots = new int[capacity];
        this.candidates = new int[capacity];
        this.once = new long[(capacity + 63) >>> 6];
        this.twice = new long[(capacity + 63) >>> 6];
    }

    public int capacity() {
        return slots.length;
    }

    /** Starts a new query: returns the stamp (epoch in the high 16 bits) that marks its counts. */
    int nextStamp() {
        if (++epoch > 0xFFFF) {
            Arrays.fill(slots, 0);
            epoch = 1;
        }
        return epoch << 16;
    }

    /** Scratch for the query's bucket bounds, two ints per table (grows once if L is large). */
    int[] ranges(int tables) {
        if (ranges.length < 2 * tables) ranges = new int[2 * tables];
        return ranges;
    }

    private char[] gathered = new char[0];

    /** Room for {@code total} bucket tokens of one query; grows, rarely, with them. */
    char[] gathered(int total) {
        if (gathered.length < total) gathered = new char[2 * total]; // headroom: grows again only for a query twice as wide
        return gathered;
    }

    long[] once() {
        return once;
    }

    long[] twice() {
        return twice;
    }

    int[] slots() {
        return slots;
    }

    /** Token indices (relative to the block) retrieved by the last query. */
    public int[] candidates() {
        return candidates;
    }
}
