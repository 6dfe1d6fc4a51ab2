package magicpig.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The pool's contract: every item exactly once, failures surface, nesting and concurrency stay correct. */
class ParallelTest {

    /** Runs forRange and checks that the ranges it hands out cover [0, n) exactly once. */
    private static void assertCovers(int n, int minChunk) {
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.forRange(n, minChunk, (start, end) -> {
            assertTrue(0 <= start && start < end && end <= n, "range [" + start + ", " + end + ") of " + n);
            for (int i = start; i < end; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "item " + i + " of " + n + " (min chunk " + minChunk + ")");
    }

    @Test
    void forRangeCoversEveryItemOnce() {
        for (int n : new int[] {1, 2, 3, 7, 64, 1000, 32064, 100_003}) {
            for (int min : new int[] {1, 4, 64, 5000}) assertCovers(n, min);
        }
        Parallel.forRange(0, 1, (s, e) -> {
            throw new AssertionError("nothing to run");
        });
    }

    @Test
    void forRangeRebalancesAroundASlowThread() {
        // One thread stalls in its first range; the others must take over the rest, still once each.
        int n = 4096;
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        AtomicInteger stalls = new AtomicInteger();
        ConcurrentHashMap<Thread, Integer> ranges = new ConcurrentHashMap<>();
        Parallel.forRange(n, 8, (start, end) -> {
            ranges.merge(Thread.currentThread(), 1, Integer::sum);
            if (stalls.getAndIncrement() == 0) sleep(200);
            for (int i = start; i < end; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "item " + i);
        // Shares are taken in steps, not whole: more ranges than threads.
        assertTrue(ranges.values().stream().mapToInt(Integer::intValue).sum() > Parallel.threads(), "ranges " + ranges);
    }

    @Test
    void forEachRunsEveryIndexOnce() {
        for (int n : new int[] {1, 2, 5, 33, 1000}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forEach(n, hits::incrementAndGet);
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n);
        }
    }

    @Test
    void aFailureReachesTheCallerAndThePoolGoesOn() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.forRange(10_000, 1, (s, e) -> {
            if (s <= 5000 && 5000 < e) throw boom;
        }));
        assertSame(boom, thrown);
        assertThrows(IllegalStateException.class, () -> Parallel.forEach(100, i -> {
            if (i == 42) throw boom;
        }));
        assertCovers(10_000, 1);
    }

    @Test
    void nestedAndConcurrentCallsComplete() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            // nested: the inner call runs on the thread that makes it
            AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
            Parallel.forEach(64, i -> Parallel.forRange(64, 1, (s, e) -> {
                for (int j = s; j < e; j++) hits.incrementAndGet(64 * i + j);
            }));
            for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i));
            // concurrent: two threads hammer the pool with short calls (the hand-over and the join
            // protocol); a lost wake-up or a stale worker would hang or miscount here
            Thread[] threads = new Thread[2];
            Throwable[] failures = new Throwable[threads.length];
            for (int t = 0; t < threads.length; t++) {
                int id = t;
                threads[t] = new Thread(() -> {
                    try {
                        for (int k = 0; k < 5_000; k++) assertCovers(1 + (k * 37 + id) % 300, 1 + k % 5);
                    } catch (Throwable e) {
                        failures[id] = e;
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) t.join();
            for (Throwable f : failures) if (f != null) throw new AssertionError(f);
        });
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
