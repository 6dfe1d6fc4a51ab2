package magicpig.cuda;

import jcuda.Pointer;

/**
 * One kernel, with reusable argument slots: {@code begin().ptr(a).i(n).launch(...)}. The driver
 * copies the arguments when the launch is queued, so the slots are free again as soon as
 * {@link #launch} returns. Not thread-safe: a backend launches under its lock.
 */
final class Kernel {
    static final int MAX_ARGS = 16;
    static final byte LONG = 0, INT = 1, FLOAT = 2;

    final String name;
    /** The device's handle of the function (JCuda's CUfunction). */
    final Object handle;
    private final Device device;
    /** Kind (LONG, INT, FLOAT) and value (float bits, int or long) of each argument set. */
    final byte[] kinds = new byte[MAX_ARGS];
    final long[] values = new long[MAX_ARGS];
    // For JCuda: one holder per slot and kind, made once.
    private final long[][] longs = new long[MAX_ARGS][1];
    private final int[][] ints = new int[MAX_ARGS][1];
    private final float[][] floats = new float[MAX_ARGS][1];
    private final Pointer[] longPtrs = new Pointer[MAX_ARGS], intPtrs = new Pointer[MAX_ARGS], floatPtrs = new Pointer[MAX_ARGS];
    private final Pointer[] slots = new Pointer[MAX_ARGS];
    int count;

    Kernel(Device device, String name, Object handle) {
        this.device = device;
        this.name = name;
        this.handle = handle;
    }

    Kernel begin() {
        count = 0;
        return this;
    }

    /** A device address (any pointer argument; 0 for null) or a 64-bit integer. */
    Kernel ptr(long v) {
        kinds[count] = LONG;
        values[count++] = v;
        return this;
    }

    Kernel i(int v) {
        kinds[count] = INT;
        values[count++] = v;
        return this;
    }

    Kernel f(float v) {
        kinds[count] = FLOAT;
        values[count++] = Float.floatToRawIntBits(v);
        return this;
    }

    /** Queues the kernel on the device's stream with the arguments set since {@link #begin}. */
    void launch(int gridX, int gridY, int block, int sharedBytes) {
        device.launch(this, gridX, gridY, block, sharedBytes);
    }

    /** The arguments as JCuda's kernelParams: a pointer to each value. */
    Pointer jcudaParams() {
        for (int a = 0; a < count; a++) {
            switch (kinds[a]) {
                case LONG -> {
                    if (longPtrs[a] == null) longPtrs[a] = Pointer.to(longs[a]);
                    longs[a][0] = values[a];
                    slots[a] = longPtrs[a];
                }
                case INT -> {
                    if (intPtrs[a] == null) intPtrs[a] = Pointer.to(ints[a]);
                    ints[a][0] = (int) values[a];
                    slots[a] = intPtrs[a];
                }
                default -> {
                    if (floatPtrs[a] == null) floatPtrs[a] = Pointer.to(floats[a]);
                    floats[a][0] = Float.intBitsToFloat((int) values[a]);
                    slots[a] = floatPtrs[a];
                }
            }
        }
        return Pointer.to(java.util.Arrays.copyOf(slots, count));
    }

    @Override
    public String toString() {
        return name;
    }
}
