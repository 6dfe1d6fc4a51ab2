package magicpig.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The one place the engine goes parallel: a fixed set of worker threads that split a range of
 * independent work items (a block of rows, a head) between them and the calling thread.
 *
 * <p>Nothing is allocated per call when the body is a reused object, so hot loops can keep a body
 * in a field. A call made while the pool is busy (from a worker, from the calling thread inside its
 * own body, or from another thread at the same time) runs on the calling thread alone, which keeps
 * nested and concurrent use correct. (The pool's lock is reentrant, so the caller's own nested call
 * is checked for by name: taking the lock again would restart the pool under the outer call.)
 * Threads: {@code -Dmagicpig.threads=N}, default all available processors.
 *
 * <p>Balance. On a shared or virtual machine a thread is now and then held up for hundreds of
 * microseconds (measured on the 2-core development VM: ~2 % of a decode step's products waited
 * longer than 0.26 ms on the other thread, and those waits summed to ~5 % of decode time, with even
 * halves of each matrix). So {@link #forRange} gives each thread a contiguous share, which it takes
 * in shrinking steps from the front (contiguous, so the kernels' prefetching streams on), and a
 * thread whose share is done steals half of what is left of the largest other share, from its back.
 * The calling thread waits only for workers that joined the call: one that wakes after the work is
 * all taken does nothing and holds nobody up.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("magicpig.threads", Runtime.getRuntime().availableProcessors()));
    /**
     * How long an idle thread busy-waits before parking: longer than most gaps between the kernels of
     * one token, so a decode step hands work over without a wake-up (tens of microseconds here), and
     * short, so that idle threads leave the cores to other processes (several JVMs share a host in
     * the multi-node tests). A worker that parked anyway only joins late; the others steal its share.
     * 50 and 500 us decode Q8_0 1B alike (77/77 and 78/77 %, alternating). {@code -Dmagicpig.spinMicros=N}.
     */
    private static final long SPIN_NANOS = Math.max(0, Long.getLong("magicpig.spinMicros", 50)) * 1000;
    private static final Pool POOL = new Pool(THREADS);

    private Parallel() {}

    /** Threads that work on one call, the caller included. */
    public static int threads() {
        return THREADS;
    }

    /** Calls body(i) for every i in [0, n), in parallel; returns when all are done. */
    public static void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || THREADS == 1 || POOL.lock.isHeldByCurrentThread() || !POOL.lock.tryLock()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        try {
            POOL.items.set(n, body);
            POOL.run(POOL.items);
        } finally {
            POOL.items.set(0, null);
            POOL.lock.unlock();
        }
    }

    /**
     * Runs body(start, end) over disjoint ranges that together cover [0, n), in parallel: each thread
     * starts on about an even share (ranges at least {@code minChunk} long where n allows) and the
     * shares are rebalanced by stealing; returns when all are done. The body must accept any split.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int min = Math.max(1, minChunk);
        int shares = Math.max(1, Math.min(THREADS, n / min));
        if (shares == 1 || POOL.lock.isHeldByCurrentThread() || !POOL.lock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            POOL.ranges.set(n, shares, min, body);
            POOL.run(POOL.ranges);
        } finally {
            POOL.ranges.set(0, 0, 1, null);
            POOL.lock.unlock();
        }
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    /** What the threads of one call share out between them. */
    private abstract static class Work {
        /** Takes and runs items until none are left; called once per joining thread. */
        abstract void drain();

        /** Makes every remaining item taken (after a failure), so all threads stop soon. */
        abstract void cancel();
    }

    /** forEach: items handed out one at a time from a counter. */
    private static final class Items extends Work {
        final AtomicInteger next = new AtomicInteger();
        int n;
        IntConsumer body;

        void set(int n, IntConsumer body) {
            this.n = n;
            this.body = body;
            next.set(0);
        }

        @Override
        void drain() {
            for (int i; (i = next.getAndIncrement()) < n; ) body.accept(i);
        }

        @Override
        void cancel() {
            next.set(n);
        }
    }

    /**
     * forRange: one slot per thread holding a range [lo, hi) packed in a long. A thread claims the
     * front of its own slot a step at a time; when its slot is empty it moves the back half of the
     * fullest slot into its own (one CAS on the victim) and goes on. Steps are an eighth of what is
     * left in the slot, at least minChunk, so they shrink towards the end, where balance matters.
     */
    private static final class Ranges extends Work {
        final AtomicLongArray slots = new AtomicLongArray(THREADS);
        final AtomicInteger nextSlot = new AtomicInteger();
        int min;
        RangeBody body;

        void set(int n, int shares, int min, RangeBody body) {
            this.min = min;
            this.body = body;
            for (int i = 0; i < THREADS; i++) {
                int lo = i < shares ? (int) ((long) n * i / shares) : 0;
                int hi = i < shares ? (int) ((long) n * (i + 1) / shares) : 0;
                slots.set(i, pack(lo, hi));
            }
            nextSlot.set(0);
        }

        @Override
        void drain() {
            int own = nextSlot.getAndIncrement(); // each joining thread once per call, so < THREADS
            while (true) {
                runSlot(own);
                if (!steal(own)) return;
            }
        }

        private void runSlot(int own) {
            while (true) {
                long v = slots.get(own);
                int lo = lo(v), hi = hi(v);
                if (lo >= hi) return;
                int step = Math.min(hi - lo, Math.max(min, (hi - lo) >>> 3));
                if (slots.compareAndSet(own, v, pack(lo + step, hi))) body.run(lo, lo + step);
            }
        }

        /** Moves the back half of the fullest other slot into own (which is empty); false when all are empty. */
        private boolean steal(int own) {
            while (true) {
                int victim = -1;
                int most = 0;
                long seen = 0;
                for (int i = 0; i < THREADS; i++) {
                    long v = slots.get(i);
                    if (hi(v) - lo(v) > most) {
                        most = hi(v) - lo(v);
                        victim = i;
                        seen = v;
                    }
                }
                if (victim < 0) return false;
                int lo = lo(seen), hi = hi(seen);
                // Half of what is left, but never a piece smaller than min unless that is all there is.
                int keep = most >= 2 * min ? most / 2 : 0;
                if (slots.compareAndSet(victim, seen, pack(lo, lo + keep))) {
                    slots.set(own, pack(lo + keep, hi));
                    return true;
                }
            }
        }

        @Override
        void cancel() {
            for (int i = 0; i < THREADS; i++) slots.set(i, 0L);
        }

        private static long pack(int lo, int hi) {
            return ((long) lo << 32) | (hi & 0xFFFF_FFFFL);
        }

        private static int lo(long v) {
            return (int) (v >>> 32);
        }

        private static int hi(long v) {
            return (int) v;
        }
    }

    private static final class Pool {
        final ReentrantLock lock = new ReentrantLock();
        final Items items = new Items();
        final Ranges ranges = new Ranges();
        final Thread[] workers;
        /** Workers that joined the open call and have not finished it. */
        final AtomicInteger active = new AtomicInteger();
        /** Bumped for every call; workers wait for it to change. */
        volatile int generation;
        /** The generation workers may still join, or -1 once the caller has found no work left. */
        volatile int open = -1;
        volatile Work work;
        volatile Throwable failure;
        volatile Thread caller;

        Pool(int threads) {
            workers = new Thread[threads - 1];
            for (int i = 0; i < workers.length; i++) {
                Thread t = new Thread(this::work, "magicpig-compute-" + i);
                t.setDaemon(true);
                workers[i] = t;
                t.start();
            }
        }

        void run(Work w) {
            this.work = w;
            this.failure = null;
            this.caller = Thread.currentThread();
            int g = generation + 1;
            if (g == -1) g = 0; // -1 means closed
            open = g;
            generation = g;
            for (Thread t : workers) LockSupport.unpark(t);
            drain(w);
            // No work is left to take. Close the call, then wait for the workers that joined it: a
            // worker checks open after counting itself in, so none can join unseen.
            open = -1;
            long spinUntil = 0;
            for (int spins = 0; active.get() > 0; spins++) {
                if ((spins & 63) != 0) Thread.onSpinWait();
                else if (spinUntil == 0) spinUntil = System.nanoTime() + SPIN_NANOS;
                else if (System.nanoTime() - spinUntil < 0) Thread.onSpinWait();
                else LockSupport.parkNanos(this, 50_000);
            }
            this.work = null;
            Throwable f = failure;
            if (f != null) {
                if (f instanceof RuntimeException r) throw r;
                if (f instanceof Error e) throw e;
                throw new IllegalStateException(f);
            }
        }

        void drain(Work w) {
            try {
                w.drain();
            } catch (Throwable t) {
                failure = t;
                w.cancel();
            }
        }

        void work() {
            int seen = 0;
            while (true) {
                long spinUntil = 0;
                for (int spins = 0; generation == seen; spins++) {
                    if ((spins & 63) != 0) Thread.onSpinWait();
                    else if (spinUntil == 0) spinUntil = System.nanoTime() + SPIN_NANOS;
                    else if (System.nanoTime() - spinUntil < 0) Thread.onSpinWait();
                    else LockSupport.park(this);
                }
                seen = generation;
                if (open != seen) continue; // the caller already took all the work
                active.incrementAndGet();
                if (open == seen) {
                    Work w = work;
                    if (w != null) drain(w);
                }
                if (active.decrementAndGet() == 0) LockSupport.unpark(caller);
            }
        }
    }
}
