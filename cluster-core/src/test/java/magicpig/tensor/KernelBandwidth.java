package magicpig.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Memory bandwidth of the decode kernels (not a test): matvec over a [rows x cols] matrix of each
 * type named, against the vector sum of {@link MemoryBandwidth.Probe} over a buffer of the same size (the
 * roofline), in alternating short rounds, best of each. Run from the project root after
 * {@code ./mvnw -q -pl cluster-core test-compile}:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp cluster-core/target/classes:cluster-core/target/test-classes \
 *     magicpig.tensor.KernelBandwidth 32768 16384 F16,BF16 10      # 1 GiB of F16
 * java ... magicpig.tensor.KernelBandwidth 30720 32768 Q8_0 10         # 1 GiB of Q8_0
 * </pre>
 *
 * Arguments: rows, cols, types, seconds per type (default 6). Threads: {@code -Dmagicpig.threads=N}
 * (default: all processors). Matrices larger than the last-level cache measure memory; small ones
 * measure the kernels' arithmetic. Rates come by the wall clock and by CPU time (bytes over the
 * process's CPU seconds per thread), which other tenants of a shared machine distort less.
 *
 * <p>Measured on the 2-core Sapphire Rapids VM the project develops on (session 4, quiet), one
 * 262144 x 2048 matrix of each type (1 GiB of F16), 2 threads, by the wall clock: vector sum 28-32
 * GB/s; F16 19.8 (69%), BF16 23.5 (74%), Q8_0 14.1 (50%, in its CPU layout, by its GGUF bytes), F32
 * 29.1 (95%). A 512 x 2048 matrix (L2-resident) measures the arithmetic: F16 28-35 GB/s, Q8_0 22-26.
 * The lower the kernel's work per cache line, the closer it gets to the sum: its memory and
 * compute times add up rather than overlap.
 *
 * <p>Session 6, with the native decode kernels ({@link NativeKernels}; add
 * {@code -Dmagicpig.native=false} for the Java ones), alternating, 262144 x 2048: F16 80-83% of the
 * sum (67-68% without), Q8_0 73-75% (46-49%). From cache (1024 x 2048): F16 63 GB/s (27 without),
 * Q8_0 37 (25).
 *
 * <p>Session 7, each change alternated with the code before it, 262144 x 2048: Q8_0 in integers
 * (int16 x, vpmaddwd) 68-75% -> 76-77%, then two groups side by side per call 74-77% -> 82-83%; F16
 * with two quads side by side 77-81% -> 82-85%.
 */
public final class KernelBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 8192;
        String[] types = (args.length > 2 ? args[2] : "F16,Q8_0").split(",");
        double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 6;
        System.out.printf("threads %d, species %s, matrix %d x %d%n", Parallel.threads(), F, rows, cols);
        for (String name : types) {
            try (Arena arena = Arena.ofShared()) {
                GgmlType type = GgmlType.parse(name.trim());
                MemorySegment data = arena.allocate(type.bytes(rows, cols), 64);
                fill(type, data, rows, cols);
                WeightMatrix w = WeightMatrix.of(type, data, rows, cols);
                float[] x = new float[cols];
                float[] y = new float[rows];
                Random rnd = new Random(1);
                for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
                // The roofline: bench decode's own vector sum, over a buffer of the matrix's size.
                try (MemoryBandwidth.Probe probe = new MemoryBandwidth.Probe(w.byteSize())) {
                    // Alternate the two in short rounds, so both see the same machine; keep each one's best.
                    Runnable matvec = () -> w.matvec(x, 0, y, 0);
                    Runnable sum = () -> probe.measure(1);
                    measure(1, w.byteSize(), matvec);
                    measure(1, probe.bytes(), sum);
                    double[] bestMatvec = new double[2], bestSum = new double[2];
                    long end = System.nanoTime() + (long) (seconds * 1e9);
                    while (System.nanoTime() < end) {
                        best(bestMatvec, measure(0.1, w.byteSize(), matvec));
                        best(bestSum, measure(0.1, probe.bytes(), sum));
                    }
                    System.out.printf("%-5s %8.1f MiB  wall: matvec %6.2f GB/s, vector sum %6.2f GB/s, ratio %5.1f%%   "
                                    + "cpu-time: matvec %6.2f GB/s, vector sum %6.2f GB/s, ratio %5.1f%%%n",
                            type, w.byteSize() / 1048576.0, bestMatvec[0] / 1e9, bestSum[0] / 1e9, 100 * bestMatvec[0] / bestSum[0],
                            bestMatvec[1] / 1e9, bestSum[1] / 1e9, 100 * bestMatvec[1] / bestSum[1]);
                }
            }
        }
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private static void best(double[] best, double[] measured) {
        best[0] = Math.max(best[0], measured[0]);
        best[1] = Math.max(best[1], measured[1]);
    }

    /**
     * Runs body repeatedly for about {@code seconds}; returns bytes/s by the wall clock, and by
     * the process's CPU time spread over the threads (what the threads would do with their cores
     * to themselves: on a shared machine, time other processes took is not counted against us).
     */
    private static double[] measure(double seconds, long bytes, Runnable body) {
        long c0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime(), t;
        int n = 0;
        do {
            body.run();
            n++;
            t = System.nanoTime();
        } while (t - t0 < seconds * 1e9);
        long cpu = OS.getProcessCpuTime() - c0;
        return new double[] {(double) bytes * n / ((t - t0) / 1e9), (double) bytes * n / (cpu / 1e9 / Parallel.threads())};
    }

    /** Weights of a realistic spread (gaussian, sigma 0.02), in the type's layout. */
    private static void fill(GgmlType type, MemorySegment data, int rows, int cols) {
        Parallel.forRange(rows, 1, (start, end) -> {
            Random rnd = new Random(start);
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                // about gaussian, sigma 0.02 (a sum of three uniforms: cheap enough for GiBs of weights)
                for (int i = 0; i < cols; i++) row[i] = (rnd.nextFloat() + rnd.nextFloat() + rnd.nextFloat() - 1.5f) * 0.04f;
                Quantizer.quantizeRow(type, row, 0, cols, data, r * type.rowBytes(cols));
            }
        });
    }

    private KernelBandwidth() {}
}
