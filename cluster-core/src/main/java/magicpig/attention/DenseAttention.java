package magicpig.attention;

import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import magicpig.model.Attention;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.tensor.Parallel;

/**
 * Exact softmax attention over positions [0, pos]: the engine's default and the reference every
 * sparse method is measured against.
 *
 * <p>Grouped-query attention: query head h reads kv head {@code h / groupSize}; scale
 * 1/sqrt(headDim). The cache is position-major (all kv heads of a position side by side), so the
 * kernel walks positions in memory order and, at each position, serves every query head: the
 * cache streams through once, page after page, instead of once per kv head at a one-page stride.
 * Positions are split into chunks run with {@link Parallel#forEach}; each chunk keeps one
 * {@link PartialState} per query head (online softmax over tiles of {@value #TILE} positions: exp
 * of logits minus the running max, never overflowing), and the chunks merge exactly
 * (flash-decoding), so the split costs no accuracy. Nothing is allocated per call.
 */
public final class DenseAttention implements Attention {
    static final int TILE = 64;
    /** Fewest positions worth a chunk of their own. */
    private static final int MIN_CHUNK = 256;

    private final int heads;
    private final int kvHeads;
    private final int group;
    private final int headDim;
    private final float scale;
    private final int maxChunks;
    private final PartialState[][] states;
    private final float[][] tiles;
    private final Body body = new Body();

    public DenseAttention(LlamaConfig config) {
        this.heads = config.heads();
        this.kvHeads = config.kvHeads();
        this.group = config.groupSize();
        this.headDim = config.headDim();
        this.scale = (float) (1 / Math.sqrt(headDim));
        this.maxChunks = 2 * Parallel.threads();
        this.states = new PartialState[maxChunks][heads];
        this.tiles = new float[maxChunks][heads * TILE];
        for (PartialState[] row : states) for (int h = 0; h < heads; h++) row[h] = new PartialState(headDim);
    }

    @Override
    public void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff) {
        int n = pos + 1;
        int chunks = Math.max(1, Math.min(maxChunks, n / MIN_CHUNK));
        body.set(q, qOff, cache.keys(layer), cache.values(layer), cache.kvDim(), n, chunks);
        Parallel.forEach(chunks, body);
        body.keys = body.values = null;
        body.q = null;
        for (int h = 0; h < heads; h++) {
            PartialState s = states[0][h];
            for (int c = 1; c < chunks; c++) s.merge(states[c][h]);
            s.writeOutput(out, outOff + h * headDim);
        }
    }

    /** One {@link HeadSlice} per (layer, kv head) of a cache. */
    static HeadSlice[][] slices(KvCache cache) {
        HeadSlice[][] s = new HeadSlice[cache.layers()][cache.kvHeads()];
        for (int l = 0; l < s.length; l++) for (int kv = 0; kv < s[l].length; kv++) s[l][kv] = HeadSlice.of(cache, l, kv);
        return s;
    }

    /**
     * Exact attention of every query head over positions [from, to) of a position-major layer
     * (kv head kv of position p at float {@code p * kvDim + kv * headDim}), merged into out[h].
     */
    private void attendAll(float[] q, int qOff, MemorySegment keys, MemorySegment values, int kvDim, int from, int to,
                           float[] tile, PartialState[] out) {
        long rowBytes = (long) kvDim * Float.BYTES;
        for (int start = from; start < to; start += TILE) {
            int end = Math.min(to, start + TILE), len = end - start;
            // logits of the tile, four positions at a time (the keys of all kv heads of a position are
            // adjacent, so this walks memory in order), four independent dot products per call
            int p = start;
            for (; p + 4 <= end; p += 4) {
                long row = p * rowBytes;
                for (int h = 0; h < heads; h++) {
                    long off = row + (long) (h / group) * headDim * Float.BYTES;
                    VectorMath.dot4(q, qOff + h * headDim, keys, off, off + rowBytes, off + 2 * rowBytes, off + 3 * rowBytes, headDim, tile, h * TILE + p - start);
                }
            }
            for (; p < end; p++) {
                long row = p * rowBytes;
                for (int h = 0; h < heads; h++) {
                    long off = row + (long) (h / group) * headDim * Float.BYTES;
                    tile[h * TILE + p - start] = VectorMath.dot(q, qOff + h * headDim, keys, off, headDim);
                }
            }
            VectorMath.scale(tile, 0, scale, heads * TILE);
            // per head: new running max, rescale what came before, weights in place
            for (int h = 0; h < heads; h++) {
                PartialState s = out[h];
                int t0 = h * TILE;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) max = Math.max(max, tile[t0 + j]);
                float m = s.isEmpty() ? max : Math.max(s.m(), max);
                double l = 0;
                if (!s.isEmpty()) {
                    float f = (float) Math.exp(s.m() - m);
                    if (f != 1f) VectorMath.scale(s.acc(), 0, f, headDim);
                    l = s.l() * (double) f;
                }
                l += VectorMath.expShifted(tile, t0, len, m);
                s.set(m, (float) l, s.nnz() + len);
            }
            // values, again in memory order, four positions per call
            p = start;
            for (; p + 4 <= end; p += 4) {
                long row = p * rowBytes;
                for (int h = 0; h < heads; h++) {
                    long off = row + (long) (h / group) * headDim * Float.BYTES;
                    int t = h * TILE + p - start;
                    VectorMath.axpy4(tile[t], tile[t + 1], tile[t + 2], tile[t + 3], values, off, off + rowBytes, off + 2 * rowBytes,
                            off + 3 * rowBytes, out[h].acc(), 0, headDim);
                }
            }
            for (; p < end; p++) {
                long row = p * rowBytes;
                for (int h = 0; h < heads; h++) {
                    long off = row + (long) (h / group) * headDim * Float.BYTES;
                    VectorMath.axpy(tile[h * TILE + p - start], values, off, out[h].acc(), 0, headDim);
                }
            }
        }
    }

    /**
     * Exact attention of query heads {@code [firstHead, firstHead + count)} (all of one kv head) over
     * positions [from, to), merged into {@code out[0..count)}: logits {@code (q·k - shift[g]) * scale}.
     * The sparse methods' static part.
     */
    static void attendGroup(float[] q, int qOff, int firstHead, int count, float[] shift, HeadSlice kv, int headDim,
                            float scale, int from, int to, float[] tile, PartialState[] out) {
        int t = tile.length;
        for (int start = from; start < to; start += t) {
            int end = Math.min(to, start + t);
            for (int g = 0; g < count; g++) {
                int qo = qOff + (firstHead + g) * headDim;
                float sh = shift == null ? 0f : shift[g];
                int p = start;
                for (; p + 4 <= end; p += 4) {
                    VectorMath.dot4(q, qo, kv.keys(), kv.keyOffset(p), kv.keyOffset(p + 1), kv.keyOffset(p + 2), kv.keyOffset(p + 3), headDim, tile, p - start);
                }
                for (; p < end; p++) tile[p - start] = VectorMath.dot(q, qo, kv.keys(), kv.keyOffset(p), headDim);
                for (int j = 0; j < end - start; j++) tile[j] = (tile[j] - sh) * scale;
                PartialSoftmax.accumulate(tile, end - start, null, start, kv, headDim, out[g]);
            }
        }
    }

    private final class Body implements IntConsumer {
        int qOff, kvDim, n, chunks;
        float[] q;
        MemorySegment keys, values;

        void set(float[] q, int qOff, MemorySegment keys, MemorySegment values, int kvDim, int n, int chunks) {
            this.q = q;
            this.qOff = qOff;
            this.keys = keys;
            this.values = values;
            this.kvDim = kvDim;
            this.n = n;
            this.chunks = chunks;
        }

        @Override
        public void accept(int c) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            PartialState[] s = states[c];
            for (PartialState st : s) st.reset();
            attendAll(q, qOff, keys, values, kvDim, from, to, tiles[c], s);
        }
    }
}
