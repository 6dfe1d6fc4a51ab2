package magicpig.tensor;

import java.util.concurrent.atomic.AtomicInteger;
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
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("magicpig.threads", Runtime.getRuntime().availableProcessors()));
    private static final Pool POOL = new Pool(THREADS);
    /** Busy-wait this many pauses (~100-200 us) before parking: the gaps between kernels of one token are shorter. */
    private static final int SPINS = 2_000;

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
            POOL.run(n, body);
        } finally {
            POOL.lock.unlock();
        }
    }

    /** Splits [0, n) into about one chunk per thread (at least {@code minChunk} long) and runs body(start, end) on each. */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.max(1, Math.min(THREADS, n / Math.max(1, minChunk)));
        if (chunks == 1 || POOL.lock.isHeldByCurrentThread() || !POOL.lock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            POOL.ranges.set(n, chunks, body);
            POOL.run(chunks, POOL.ranges);
        } finally {
            POOL.ranges.set(0, 1, null);
            POOL.lock.unlock();
        }
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private static final class Chunks implements IntConsumer {
        int n, chunks;
        RangeBody body;

        void set(int n, int chunks, RangeBody body) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
        }

        @Override
        public void accept(int c) {
            int start = (int) ((long) n * c / chunks);
            int end = (int) ((long) n * (c + 1) / chunks);
            if (end > start) body.run(start, end);
        }
    }

    private static final class Pool {
        final ReentrantLock lock = new ReentrantLock();
        final Chunks ranges = new Chunks();
        final Thread[] workers;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger running = new AtomicInteger();
        volatile int generation;
        volatile IntConsumer body;
        volatile int n;
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

        void run(int n, IntConsumer body) {
            this.n = n;
            this.body = body;
            this.failure = null;
            this.caller = Thread.currentThread();
            next.set(0);
            running.set(workers.length);
            generation++;
            for (Thread w : workers) LockSupport.unpark(w);
            drain(n, body);
            int spins = 0;
            while (running.get() > 0) {
                if (++spins < SPINS) Thread.onSpinWait();
                else LockSupport.parkNanos(this, 50_000);
            }
            this.body = null;
            Throwable f = failure;
            if (f != null) {
                if (f instanceof RuntimeException r) throw r;
                if (f instanceof Error e) throw e;
                throw new IllegalStateException(f);
            }
        }

        void drain(int n, IntConsumer body) {
            try {
                for (int i; (i = next.getAndIncrement()) < n; ) body.accept(i);
            } catch (Throwable t) {
                failure = t;
                next.set(n);
            }
        }

        void work() {
            int seen = 0;
            while (true) {
                int spins = 0;
                while (generation == seen) {
                    if (++spins < SPINS) Thread.onSpinWait();
                    else LockSupport.park(this);
                }
                seen = generation;
                IntConsumer b = body;
                if (b != null) drain(n, b);
                if (running.decrementAndGet() == 0) LockSupport.unpark(caller);
            }
        }
    }
}
