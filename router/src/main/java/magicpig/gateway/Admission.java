package magicpig.gateway;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * Bounds the generations in flight for the model. The bound is the configured one, or else what the
 * workers up can hold: each runs max-batch sequences and queues max-queued more, so beyond workers x
 * (max-batch + max-queued) a request would only wait (or be refused by a worker). Past the bound the
 * gateway refuses at once (429 with Retry-After) instead of letting latency grow.
 */
final class Admission {
    private final int configured;
    private final int perWorker;
    private final IntSupplier workers;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger peak = new AtomicInteger();

    Admission(int configured, int perWorker, IntSupplier workers) {
        this.configured = configured;
        this.perWorker = perWorker;
        this.workers = workers;
    }

    int limit() {
        return configured > 0 ? configured : Math.max(1, workers.getAsInt()) * perWorker;
    }

    /** Takes a slot, or returns false when all are taken. */
    boolean tryAcquire() {
        int limit = limit();
        while (true) {
            int n = inFlight.get();
            if (n >= limit) return false;
            if (inFlight.compareAndSet(n, n + 1)) {
                peak.accumulateAndGet(n + 1, Math::max);
                return true;
            }
        }
    }

    void release() {
        inFlight.decrementAndGet();
    }

    int inFlight() {
        return inFlight.get();
    }

    /** The most generations that were ever in flight at once (for tests and the dashboard). */
    int peak() {
        return peak.get();
    }
}
