package magicpig.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SimHash of one (layer, kv head): a Gaussian projection W of shape dim x (K*L), fixed by a seed.
 * Table t uses columns t*K .. t*K+K-1, and bit j of its code is {@code [x · W[:, t*K+j] > 0]},
 * packed least-significant-bit first with integer shifts (MAGICPIG.md step 3). K is at most 16, so
 * a code fits a {@code char}.
 *
 * <p>W's column c, dimension i, is Gaussian number {@code c * dim + i} of a {@link SplitMix64}
 * stream seeded with {@link SplitMix64#derive}(master seed, layer, kv head): any host can rebuild
 * it, and the first tables do not change when L grows. W is stored dimension-major with the
 * columns padded to a whole number of vectors, so one pass over the input computes a whole
 * vector of projections with broadcast FMAs, and their signs come out of a vector compare as a
 * bit mask: no horizontal sums.
 */
public final class SimHash {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final int MAX_K = 16;

    private final int dim;
    private final int k;
    private final int tables;
    private final int stride;
    private final int words;
    private final float[] w;

    public SimHash(int dim, int k, int tables, long seed) {
        if (k < 1 || k > MAX_K) throw new IllegalArgumentException("LSH K must be in 1.." + MAX_K + ", got " + k);
        if (tables < 1) throw new IllegalArgumentException("LSH L must be at least 1, got " + tables);
        if (dim < 1) throw new IllegalArgumentException("dim must be positive, got " + dim);
        this.dim = dim;
        this.k = k;
        this.tables = tables;
        int cols = k * tables;
        int lanes = F.length();
        if (64 % lanes != 0) throw new IllegalStateException("vector width " + lanes + " does not divide 64");
        int group = 4 * lanes; // hash1 works on four vectors of columns at a time
        this.stride = (cols + group - 1) / group * group;
        this.words = (stride + 63) >>> 6;
        this.w = new float[dim * stride];
        SplitMix64 rng = new SplitMix64(seed);
        for (int c = 0; c < cols; c++) {
            for (int i = 0; i < dim; i++) w[i * stride + c] = (float) rng.nextGaussian();
        }
    }

    /** The projection of one (layer, kv head) under a master seed. */
    public static SimHash forHead(long masterSeed, int layer, int kvHead, int dim, int k, int tables) {
        return new SimHash(dim, k, tables, SplitMix64.derive(masterSeed, layer, kvHead));
    }

    public int dim() {
        return dim;
    }

    public int k() {
        return k;
    }

    public int tables() {
        return tables;
    }

    /** Longs of scratch one hashed vector needs in {@link #hash1} / {@link #hash4}. */
    public int bitWords() {
        return words;
    }

    /** W[i][c], for tests. */
    float weight(int i, int c) {
        return w[i * stride + c];
    }

    /** Writes the L codes of x to codes[codesOff + t * codesStride]; bits is scratch of {@link #bitWords()} longs. */
    public void codes(float[] x, int xOff, long[] bits, char[] codes, int codesOff, int codesStride) {
        hash1(x, xOff, bits, 0);
        extract(bits, 0, codes, codesOff, codesStride);
    }

    /**
     * The sign bits of x's K*L projections into bits[bitsOff ..], bit c = column c. Four vectors of
     * columns at a time, so four independent FMA chains hide the FMA latency.
     */
    public void hash1(float[] x, int xOff, long[] bits, int bitsOff) {
        int lanes = F.length();
        for (int i = 0; i < words; i++) bits[bitsOff + i] = 0;
        for (int c = 0; c < stride; c += 4 * lanes) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0, row = c; i < dim; i++, row += stride) {
                FloatVector xi = FloatVector.broadcast(F, x[xOff + i]);
                a0 = FloatVector.fromArray(F, w, row).fma(xi, a0);
                a1 = FloatVector.fromArray(F, w, row + lanes).fma(xi, a1);
                a2 = FloatVector.fromArray(F, w, row + 2 * lanes).fma(xi, a2);
                a3 = FloatVector.fromArray(F, w, row + 3 * lanes).fma(xi, a3);
            }
            setBits(bits, bitsOff, c, a0);
            setBits(bits, bitsOff, c + lanes, a1);
            setBits(bits, bitsOff, c + 2 * lanes, a2);
            setBits(bits, bitsOff, c + 3 * lanes, a3);
        }
    }

    private static void setBits(long[] bits, int bitsOff, int c, FloatVector acc) {
        bits[bitsOff + (c >>> 6)] |= acc.compare(VectorOperators.GT, 0f).toLong() << (c & 63);
    }

    /**
     * Sign bits of four vectors at once (x holds them back to back, dim floats each, from xOff);
     * vector j's bits go to bits[bitsOff + j * bitWords() ..]. Each loaded vector of W is used four
     * times, which is what makes hashing a long prompt cheap.
     */
    public void hash4(float[] x, int xOff, long[] bits, int bitsOff) {
        int lanes = F.length();
        for (int i = 0; i < 4 * words; i++) bits[bitsOff + i] = 0;
        int x0 = xOff, x1 = xOff + dim, x2 = xOff + 2 * dim, x3 = xOff + 3 * dim;
        for (int c = 0; c < stride; c += 2 * lanes) {
            // four vectors x two column vectors: eight independent FMA chains
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int i = 0, row = c; i < dim; i++, row += stride) {
                FloatVector wa = FloatVector.fromArray(F, w, row);
                FloatVector wb = FloatVector.fromArray(F, w, row + lanes);
                FloatVector v0 = FloatVector.broadcast(F, x[x0 + i]);
                FloatVector v1 = FloatVector.broadcast(F, x[x1 + i]);
                FloatVector v2 = FloatVector.broadcast(F, x[x2 + i]);
                FloatVector v3 = FloatVector.broadcast(F, x[x3 + i]);
                a0 = wa.fma(v0, a0);
                a1 = wa.fma(v1, a1);
                a2 = wa.fma(v2, a2);
                a3 = wa.fma(v3, a3);
                b0 = wb.fma(v0, b0);
                b1 = wb.fma(v1, b1);
                b2 = wb.fma(v2, b2);
                b3 = wb.fma(v3, b3);
            }
            setBits(bits, bitsOff, c, a0);
            setBits(bits, bitsOff + words, c, a1);
            setBits(bits, bitsOff + 2 * words, c, a2);
            setBits(bits, bitsOff + 3 * words, c, a3);
            setBits(bits, bitsOff, c + lanes, b0);
            setBits(bits, bitsOff + words, c + lanes, b1);
            setBits(bits, bitsOff + 2 * words, c + lanes, b2);
            setBits(bits, bitsOff + 3 * words, c + lanes, b3);
        }
    }

    /** Packs the L codes out of sign bits (from bitsOff): code t = bits t*K .. t*K+K-1, LSB first. */
    public void extract(long[] bits, int bitsOff, char[] codes, int codesOff, int codesStride) {
        int mask = (1 << k) - 1;
        for (int t = 0; t < tables; t++) {
            int b = t * k;
            int word = bitsOff + (b >>> 6);
            int shift = b & 63;
            long v = bits[word] >>> shift;
            if (shift + k > 64) v |= bits[word + 1] << (64 - shift);
            codes[codesOff + t * codesStride] = (char) ((int) v & mask);
        }
    }
}
