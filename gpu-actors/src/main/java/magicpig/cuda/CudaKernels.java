package magicpig.cuda;

import magicpig.tensor.GgmlType;

/**
 * The kernels of {@code src/main/cuda}, with launches that know their grids. Shapes follow the
 * host's conventions: activations are rows of f32 (row b of a buffer at b * stride floats), the
 * batch is at most {@link #MV_BATCH} rows per weight pass and larger ones are split.
 */
final class CudaKernels {
    /** Input rows one matvec launch takes (its weight loads are shared by all of them). */
    static final int MV_BATCH = 8;
    static final int MV_WARPS = 8;
    /** Keys per attention block (split); more make more blocks, partials merged after. */
    static final int ATTN_CHUNK = 512;
    static final int ATTN_THREADS = 128;

    /** matvec input/output variants, as named in matvec.cu. */
    static final int PLAIN_SET = 0, NORM_SET = 1, PLAIN_ADD = 2, SILU_ADD = 3;
    private static final String[] VARIANTS = {"plain_set", "norm_set", "plain_add", "silu_add"};
    private static final String[] TYPES = {"f32", "f16", "bf16", "q8_0"};

    private final Kernel[][][] matvec = new Kernel[TYPES.length][VARIANTS.length][2];
    private final Kernel embed, ropeStore, attnPartial, attnMerge, lshHash, argmax, readProbe, fillUniform, fillWeights;

    CudaKernels(Device device) {
        for (int t = 0; t < TYPES.length; t++) {
            for (int v = 0; v < VARIANTS.length; v++) {
                matvec[t][v][0] = device.kernel("mv_" + TYPES[t] + "_" + VARIANTS[v] + "_1");
                matvec[t][v][1] = device.kernel("mv_" + TYPES[t] + "_" + VARIANTS[v] + "_" + MV_BATCH);
            }
        }
        embed = device.kernel("embed");
        ropeStore = device.kernel("rope_store");
        attnPartial = device.kernel("attn_partial");
        attnMerge = device.kernel("attn_merge");
        lshHash = device.kernel("lsh_hash");
        argmax = device.kernel("argmax");
        readProbe = device.kernel("read_probe");
        fillUniform = device.kernel("fill_uniform");
        fillWeights = device.kernel("fill_weights");
    }

    /** The kernels' code for a storage type, or -1 when there is no kernel for it. */
    static int typeCode(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case Q8_0 -> 3;
            default -> -1;
        };
    }

    /** Why the kernels cannot take a matrix of this type and width, or null when they can. */
    static String unsupported(GgmlType t, int cols) {
        return switch (t) {
            case F32 -> cols % 4 == 0 ? null : "f32 rows must hold a multiple of 4 values";
            case F16, BF16 -> cols % 8 == 0 ? null : t + " rows must hold a multiple of 8 values";
            case Q8_0 -> cols % 256 == 0 ? null : "q8_0 rows must hold a multiple of 256 values";
            default -> "no CUDA kernel for " + t + " weights (f32, f16, bf16 and q8_0 have one)";
        };
    }

    /**
     * y[b * yStride + m.outOffset + r] (= or +=) row r of m . input(x row b), for b < n.
     *
     * @param variant PLAIN_SET, NORM_SET (input RMSNorm-ed with weights g), PLAIN_ADD (residual),
     *                SILU_ADD (input silu(x[..cols]) * x[cols..2 cols], residual)
     */
    void matvec(DeviceMatrix m, int variant, long x, int xStride, long g, float eps, int n, long y, int yStride) {
        int grid = (m.rows() + MV_WARPS - 1) / MV_WARPS;
        for (int b0 = 0; b0 < n; b0 += MV_BATCH) {
            int nb = Math.min(MV_BATCH, n - b0);
            Kernel k = matvec[m.typeCode()][variant][nb == 1 ? 0 : 1];
            k.begin().ptr(m.address()).ptr(m.rowBytes()).i(m.rows()).i(m.cols())
                    .ptr(x + 4L * b0 * xStride).i(xStride).ptr(g).f(eps).i(nb)
                    .ptr(y + 4L * ((long) b0 * yStride + m.outOffset())).i(yStride)
                    .launch(grid, 1, MV_WARPS * 32, 0);
        }
    }

    /** x[b] = row tokens[b] of the embedding, b < n. */
    void embed(DeviceMatrix e, long tokens, int n, long x, int xStride) {
        embed.begin().i(e.typeCode()).ptr(e.address()).ptr(e.rowBytes()).i(e.cols()).ptr(tokens).ptr(x).i(xStride)
                .launch(n, 1, 256, 0);
    }

    void ropeStore(long seqs, int n, int layer, long qkv, int qkvStride, int heads, int kvHeads, int headDim, boolean halfSplit, long freqs) {
        ropeStore.begin().ptr(seqs).i(layer).ptr(qkv).i(qkvStride).i(heads).i(kvHeads).i(headDim).i(halfSplit ? 1 : 0).ptr(freqs)
                .launch(n, 1, 128, 0);
    }

    /** Splits needed for rows attending at most maxCount positions. */
    static int splits(int maxCount) {
        return Math.max(1, (maxCount + ATTN_CHUNK - 1) / ATTN_CHUNK);
    }

    /**
     * Attention of n rows; with one split it writes the output to out directly (partial unused),
     * else the partial states of every split to partial (rows * heads * splits * (d + 2) floats).
     */
    void attention(long seqs, int n, int layer, long q, int qStride, int heads, int kvHeads, int d, long partial, int splits,
                   long out, int outStride) {
        int shared = 4 * (d + ATTN_CHUNK + Math.max(ATTN_THREADS, d));
        attnPartial.begin().ptr(seqs).i(layer).ptr(q).i(qStride).i(heads).i(kvHeads).i(d).i(ATTN_CHUNK).ptr(partial).i(splits)
                .ptr(splits == 1 ? out : 0).i(outStride)
                .launch(n * heads, splits, ATTN_THREADS, shared);
    }

    /** Attention of n rows as partial states in every case, one split or many (the MagicPIG window, merged later). */
    void attentionPartialOnly(long seqs, int n, int layer, long q, int qStride, int heads, int kvHeads, int d, long partial, int splits) {
        int shared = 4 * (d + ATTN_CHUNK + Math.max(ATTN_THREADS, d));
        attnPartial.begin().ptr(seqs).i(layer).ptr(q).i(qStride).i(heads).i(kvHeads).i(d).i(ATTN_CHUNK).ptr(partial).i(splits)
                .ptr(0).i(0)
                .launch(n * heads, splits, ATTN_THREADS, shared);
    }

    /** Merges splits partial states per (row, head), plus extCount external ones (ext = 0: none), into out. */
    void merge(long partial, int splits, long ext, int extCount, int n, int heads, int d, long out, int outStride) {
        attnMerge.begin().ptr(partial).i(splits).ptr(ext).i(extCount).i(heads).i(d).ptr(out).i(outStride)
                .launch(n * heads, 1, Math.min(128, Math.max(32, d)), 0);
    }

    /** SimHash codes of every query head of n rows: codes[(b * heads + h) * L + t] (u16). */
    void lshHash(long q, int qStride, int n, int heads, int kvHeads, int d, long proj, int K, int L, long codes) {
        lshHash.begin().ptr(q).i(qStride).i(heads).i(kvHeads).i(d).ptr(proj).i(K).i(L).ptr(codes)
                .launch(n * heads, (L + 127) / 128, 128, 4 * d);
    }

    void argmax(long x, int vocab, int stride, int n, long out) {
        argmax.begin().ptr(x).i(vocab).i(stride).ptr(out).launch(n, 1, 1024, 0);
    }

    void readProbe(long src, long bytes, long sink, int grid) {
        readProbe.begin().ptr(src).ptr(bytes / 16).ptr(sink).launch(grid, 1, 256, 0);
    }

    void fillUniform(long dst, long n, long seed, float scale, int grid) {
        fillUniform.begin().ptr(dst).ptr(n).ptr(seed).f(scale).launch(grid, 1, 256, 0);
    }

    void fillWeights(int type, long dst, long rows, int cols, long seed, float scale, int grid) {
        fillWeights.begin().i(type).ptr(dst).ptr(rows).i(cols).ptr(seed).f(scale).launch(grid, 1, 128, 0);
    }
}
