package magicpig.attention;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Supplier;
import magicpig.tensor.Parallel;

/**
 * Per-thread scratch for the bodies of a {@link Parallel} loop: one object per thread that can
 * run a body at once, handed out by a compare-and-set on a flag (no allocation, no lock). An
 * attention instance is used by one thread at a time, so at most {@link Parallel#threads()}
 * bodies run together and a free slot always exists.
 */
final class ScratchPool<T> {
    private final Object[] items;
    private final AtomicIntegerArray busy;

    ScratchPool(Supplier<T> factory) {
        int n = Parallel.threads() + 1;
        items = new Object[n];
        for (int i = 0; i < n; i++) items[i] = factory.get();
        busy = new AtomicIntegerArray(n);
    }

    /** Claims a free slot; returns its index (pass it to {@link #release}). */
    int acquire() {
        while (true) {
            for (int i = 0; i < items.length; i++) {
                if (busy.get(i) == 0 && busy.compareAndSet(i, 0, 1)) return i;
            }
            Thread.onSpinWait();
        }
    }

    @SuppressWarnings("unchecked")
    T get(int slot) {
        return (T) items[slot];
    }

    void release(int slot) {
        busy.set(slot, 0);
    }
}
