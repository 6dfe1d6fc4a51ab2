package magicpig.cuda;

import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.JCudaDriver;

/**
 * One kernel of a loaded module, with reusable argument slots: {@code begin().ptr(a).i(n).launch(...)}.
 * The driver copies the arguments when the launch is queued, so the slots are free again as soon as
 * {@link #launch} returns. Not thread-safe: a backend launches under its lock.
 */
final class Kernel {
    private static final int MAX_ARGS = 16;

    final String name;
    private final CUfunction function;
    private final long[][] longs = new long[MAX_ARGS][1];
    private final int[][] ints = new int[MAX_ARGS][1];
    private final float[][] floats = new float[MAX_ARGS][1];
    private final Pointer[] longPtrs = new Pointer[MAX_ARGS], intPtrs = new Pointer[MAX_ARGS], floatPtrs = new Pointer[MAX_ARGS];
    private final Pointer[] slots = new Pointer[MAX_ARGS];
    private int count;

    Kernel(String name, CUfunction function) {
        this.name = name;
        this.function = function;
        for (int i = 0; i < MAX_ARGS; i++) {
            longPtrs[i] = Pointer.to(longs[i]);
            intPtrs[i] = Pointer.to(ints[i]);
            floatPtrs[i] = Pointer.to(floats[i]);
        }
    }

    CUfunction function() {
        return function;
    }

    Kernel begin() {
        count = 0;
        return this;
    }

    /** A device address (any pointer argument; 0 for null) or a 64-bit integer. */
    Kernel ptr(long address) {
        longs[count][0] = address;
        slots[count] = longPtrs[count];
        count++;
        return this;
    }

    Kernel i(int v) {
        ints[count][0] = v;
        slots[count] = intPtrs[count];
        count++;
        return this;
    }

    Kernel f(float v) {
        floats[count][0] = v;
        slots[count] = floatPtrs[count];
        count++;
        return this;
    }

    /** Queues the kernel on the context's default stream with the arguments set since {@link #begin}. */
    void launch(int gridX, int gridY, int block, int sharedBytes) {
        Pointer[] args = java.util.Arrays.copyOf(slots, count);
        JCudaDriver.cuLaunchKernel(function, gridX, gridY, 1, block, 1, 1, sharedBytes, null, Pointer.to(args), null);
    }

    @Override
    public String toString() {
        return name;
    }
}
