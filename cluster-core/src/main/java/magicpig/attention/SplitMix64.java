package magicpig.attention;

/**
 * Steele, Lea and Flood's SplitMix64: a tiny, fast, well-mixed 64-bit generator. It derives every
 * seed of this package from one configured master seed (so a CPU shard can rebuild a head's
 * projection from (master seed, layer, kv head) alone) and draws the Gaussian projections and the
 * oracle baseline's coin flips. Not for concurrent use; allocation free.
 */
public final class SplitMix64 {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private long state;
    private double spare;
    private boolean hasSpare;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** The SplitMix64 finaliser: a bijective mix of 64 bits. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A seed for one (layer, kv head) derived from the master seed; distinct inputs give unrelated streams. */
    public static long derive(long masterSeed, int layer, int kvHead) {
        long s = mix(masterSeed + GOLDEN);
        s = mix(s ^ mix(GOLDEN * (layer + 1L)));
        return mix(s ^ mix(GOLDEN * 3 * (kvHead + 1L)));
    }

    /** Restarts the stream from a seed. */
    public void reseed(long seed) {
        state = seed;
        hasSpare = false;
    }

    public long nextLong() {
        return mix(state += GOLDEN);
    }

    /** Uniform in [0, 1), 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Standard normal, Marsaglia's polar method (the second value of a pair is kept for the next call). */
    public double nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = Math.sqrt(-2 * Math.log(s) / s);
        spare = v * f;
        hasSpare = true;
        return u * f;
    }
}
