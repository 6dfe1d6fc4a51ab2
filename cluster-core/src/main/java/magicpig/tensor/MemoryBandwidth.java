package magicpig.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures this machine's read bandwidth from main memory the way decode uses it: all compute
 * threads streaming through an off-heap buffer much larger than the caches, with the same Vector API
 * loads as the kernels. The best of several passes is reported.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private MemoryBandwidth() {}

    /**
     * A buffer of about {@code bytes} (several times the last-level cache, to measure memory) kept
     * for repeated measurements, so that a benchmark can measure the bandwidth right next to each
     * stretch of its own work: on a shared host the bandwidth left to us drifts within seconds, and
     * a ratio of two figures taken minutes apart would measure the neighbours.
     */
    public static final class Probe implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment seg;
        private final long floats;
        private final float[] sink;

        public Probe(long bytes) {
            floats = Math.max(1 << 16, bytes / 4 / (1 << 16) * (1 << 16));
            seg = arena.allocate(floats * 4, 64);
            seg.fill((byte) 1);
            sink = new float[(int) (floats >> 16)];
        }

        /** The buffer's size: {@code bytes} rounded down to whole 256 KiB chunks, at least one. */
        public long bytes() {
            return floats * 4;
        }

        /** The best of {@code passes} timed passes over the buffer, in bytes per second. */
        public double measure(int passes) {
            MemorySegment seg = this.seg;
            float[] sink = this.sink;
            double best = 0;
            for (int p = 0; p < passes; p++) {
                long t0 = System.nanoTime();
                Parallel.forRange(sink.length, 1, (start, end) -> {
                    for (int c = start; c < end; c++) sink[c] = sum(seg, (long) c << 18, 1 << 16);
                });
                long dt = System.nanoTime() - t0;
                best = Math.max(best, floats * 4.0 / (dt * 1e-9));
            }
            float total = 0;
            for (float s : sink) total += s;
            if (total == 42f) System.out.print(""); // keeps the sums alive
            return best;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static float sum(MemorySegment seg, long byteOff, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int step = F.length() * 4;
        for (int i = 0; i < n; i += step) {
            long o = byteOff + 4L * i;
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, o + 4L * F.length(), ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, o + 8L * F.length(), ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, o + 12L * F.length(), ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
