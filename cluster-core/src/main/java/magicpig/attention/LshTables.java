package magicpig.attention;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The L hash tables of one block of at most {@value #MAX_BLOCK} tokens of one (layer, kv head), in
 * CSR form (MAGICPIG.md step 4): table t maps code b to the tokens
 * {@code tokens[t][offsets[t][b] .. offsets[t][b+1])}, token indices relative to the block start
 * stored as 2-byte chars, ascending within a bucket. Memory: {@code 2 L} bytes per token plus
 * {@code 4 L (2^K + 1)} bytes of offsets per block. Off-heap, in the owner's arena.
 *
 * <p>Retrieval ({@link #collide}) walks the query's bucket in every table and counts, per token,
 * the tables it shares with the query; a token becomes a candidate the moment its count reaches
 * the threshold T (step 5). For T of 1 or 2 it marks two bitmaps instead of counting.
 */
public final class LshTables {
    /** Largest block: token indices must fit a char. */
    public static final int MAX_BLOCK = 1 << 16;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfChar CHAR = ValueLayout.JAVA_CHAR;

    private final int k;
    private final int tables;
    private final int n;
    private final int buckets;
    private final MemorySegment offsets;
    private final MemorySegment tokens;

    private LshTables(int k, int tables, int n, MemorySegment offsets, MemorySegment tokens) {
        this.k = k;
        this.tables = tables;
        this.n = n;
        this.buckets = 1 << k;
        this.offsets = offsets;
        this.tokens = tokens;
    }

    /**
     * Builds the tables by a counting sort per table. {@code codes[t * n + i]} is token i's code in
     * table t (table-major, as {@link SimHash#extract} writes with stride n).
     */
    public static LshTables build(int k, int tables, int n, char[] codes, Arena arena) {
        if (n < 1 || n > MAX_BLOCK) throw new IllegalArgumentException("block size must be in 1.." + MAX_BLOCK + ", got " + n);
        if (codes.length < (long) tables * n) throw new IllegalArgumentException("need " + tables + " x " + n + " codes");
        int buckets = 1 << k;
        MemorySegment offsets = arena.allocate((long) tables * (buckets + 1) * Integer.BYTES, 64);
        MemorySegment tokens = magicpig.tensor.HugePages.allocate(arena, (long) tables * n * Character.BYTES);
        int[] count = new int[buckets + 1];
        for (int t = 0; t < tables; t++) {
            java.util.Arrays.fill(count, 0);
            int cb = t * n;
            for (int i = 0; i < n; i++) count[codes[cb + i] + 1]++;
            for (int b = 0; b < buckets; b++) count[b + 1] += count[b];
            long ob = (long) t * (buckets + 1);
            for (int b = 0; b <= buckets; b++) offsets.setAtIndex(INT, ob + b, count[b]);
            long tb = (long) t * n;
            for (int i = 0; i < n; i++) tokens.setAtIndex(CHAR, tb + count[codes[cb + i]]++, (char) i);
        }
        return new LshTables(k, tables, n, offsets, tokens);
    }

    public int k() {
        return k;
    }

    public int tables() {
        return tables;
    }

    public int size() {
        return n;
    }

    /** Off-heap bytes: token lists plus bucket offsets. */
    public long bytes() {
        return offsets.byteSize() + tokens.byteSize();
    }

    /** Bucket offsets, L x (2^K + 1) ints: what a shard receives with the block. */
    public MemorySegment offsets() {
        return offsets;
    }

    /** Token lists, L x n chars. */
    public MemorySegment tokens() {
        return tokens;
    }

    /** Tokens of table t's bucket b, for tests and inspection. */
    public int bucketSize(int t, int b) {
        long ob = (long) t * (buckets + 1);
        return offsets.getAtIndex(INT, ob + b + 1) - offsets.getAtIndex(INT, ob + b);
    }

    /** The j-th token of table t's bucket b. */
    public int bucketToken(int t, int b, int j) {
        long ob = (long) t * (buckets + 1);
        return tokens.getAtIndex(CHAR, (long) t * n + offsets.getAtIndex(INT, ob + b) + j);
    }

    /**
     * Counts, for every token, the tables whose bucket it shares with the query codes
     * {@code qCodes[qOff .. qOff + L)}; tokens reaching {@code threshold} (at least 1) are written to
     * {@code counter.candidates()}. Returns how many there are.
     */
    public int collide(char[] qCodes, int qOff, int threshold, CollisionCounter counter) {
        int stamp = counter.nextStamp();
        int[] slots = counter.slots();
        int[] cand = counter.candidates();
        int[] ranges = counter.ranges(tables);
        int stride = buckets + 1;
        // phase 1: where the query's bucket lies in every table. The loads are independent, so
        // their cache misses overlap instead of each bucket walk waiting for its own.
        for (int t = 0; t < tables; t++) {
            long ob = (long) t * stride + qCodes[qOff + t];
            ranges[2 * t] = offsets.getAtIndex(INT, ob);
            ranges[2 * t + 1] = offsets.getAtIndex(INT, ob + 1);
        }
        // phase 2: touch the first line of every bucket, again in one pass of independent loads,
        // so the bucket walks below mostly hit the cache (measured 10-30% faster than touching a
        // bucket or two ahead inside the walk, whose long loop body keeps the misses apart)
        int touch = 0;
        for (int t = 0; t < tables; t++) {
            int from = ranges[2 * t];
            if (from < ranges[2 * t + 1]) touch += tokens.getAtIndex(CHAR, (long) t * n + from);
        }
        if (threshold <= 2) {
            VectorMath.consume(touch);
            return markTwice(threshold, ranges, counter);
        }
        // phase 3: count
        int found = 0;
        for (int t = 0; t < tables; t++) {
            long tb = (long) t * n;
            for (int j = ranges[2 * t], to = ranges[2 * t + 1]; j < to; j++) {
                int i = tokens.getAtIndex(CHAR, tb + j);
                int v = slots[i];
                v = (v & 0xFFFF0000) == stamp ? v + 1 : stamp | 1;
                slots[i] = v;
                if ((v & 0xFFFF) == threshold) cand[found++] = i;
            }
        }
        VectorMath.consume(touch);
        return found;
    }

    /**
     * Phase 3 for T of 1 or 2 (the default), with two bitmaps of the block instead of counters:
     * a token seen once sets its bit in {@code once}, seen again in {@code twice}. The bitmaps
     * (2 x 8 KiB for the largest block) stay in the first-level cache, where the counters (256 KiB)
     * did not, and the update has no branch. The query's buckets are first copied, one bulk copy
     * per table, into one heap array: the copies keep many cache misses in flight, where the
     * marking loop, walking the segment itself, had few (about 25% faster per query, alternating
     * the two in one process). The candidates come out in ascending token order (records are then
     * read in address order), and both bitmaps are zero again on return.
     */
    private int markTwice(int threshold, int[] ranges, CollisionCounter counter) {
        long[] once = counter.once(), twice = counter.twice();
        int total = 0;
        for (int t = 0; t < tables; t++) total += ranges[2 * t + 1] - ranges[2 * t];
        char[] buf = counter.gathered(total);
        for (int t = 0, at = 0; t < tables; t++) {
            int from = ranges[2 * t], len = ranges[2 * t + 1] - from;
            MemorySegment.copy(tokens, CHAR, ((long) t * n + from) * 2, buf, at, len);
            at += len;
        }
        for (int j = 0; j < total; j++) {
            int i = buf[j];
            int w = i >>> 6;
            long bit = 1L << i, seen = once[w];
            twice[w] |= seen & bit;
            once[w] = seen | bit;
        }
        long[] hits = threshold == 1 ? once : twice;
        int[] cand = counter.candidates();
        int found = 0, words = (n + 63) >>> 6;
        for (int w = 0; w < words; w++) {
            long x = hits[w];
            while (x != 0) {
                cand[found++] = (w << 6) + Long.numberOfTrailingZeros(x);
                x &= x - 1;
            }
        }
        java.util.Arrays.fill(once, 0, words, 0L);
        java.util.Arrays.fill(twice, 0, words, 0L);
        return found;
    }

}
