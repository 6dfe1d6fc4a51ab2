package magicpig.attention;

import java.lang.management.ManagementFactory;

/**
 * Heap bytes allocated, and CPU time used, by the threads that run attention (the caller and the
 * {@code Parallel} pool), through {@code com.sun.management.ThreadMXBean}: the evidence that a
 * decode step allocates nothing, and a cost measure that survives a busy machine.
 */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean BEAN = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private AllocationMeter() {}

    /** Ids of the calling thread and the compute pool's workers. */
    public static long[] computeThreads() {
        magicpig.tensor.Parallel.forEach(1, i -> {}); // make sure the pool exists
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(Thread.currentThread()),
                        Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("magicpig-compute-")))
                .mapToLong(Thread::threadId).toArray();
    }

    /** Bytes allocated so far by these threads (sum; allocation-free itself). */
    public static long allocated(long[] ids) {
        long sum = 0;
        for (long id : ids) {
            long b = BEAN.getThreadAllocatedBytes(id);
            if (b > 0) sum += b;
        }
        return sum;
    }

    /** CPU nanoseconds used so far by these threads (sum): a measure of work that other processes' load does not inflate. */
    public static long cpuNanos(long[] ids) {
        long sum = 0;
        for (long id : ids) {
            long t = BEAN.getThreadCpuTime(id);
            if (t > 0) sum += t;
        }
        return sum;
    }

    /** Garbage collections so far, all collectors. */
    public static long gcCount() {
        long n = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) n += Math.max(0, gc.getCollectionCount());
        return n;
    }
}
