package magicpig.cuda;

import magicpig.model.LlamaConfig;

/**
 * One sparse layer's decode attention split the way MagicPIG splits it between the GPU and the
 * CPU hosts: the seam between {@link CudaBackend} and the offloaded attention.
 *
 * <ol>
 *   <li>device: exact attention of every query head over the <em>static window</em> G (the first
 *       {@code sink} tokens, the last {@code local} prompt tokens and every generated token),
 *       kept as partial states (m, l, o) per split ({@code attn_partial} with SeqInfo ranges
 *       r0len = sink, r1start = promptLength - local);
 *   <li>device: the SimHash codes of the query heads ({@code lsh_hash}, a d x (K*L) projection
 *       per kv head, u16 codes, LSB first);
 *   <li>down: q and its codes, heads * (4d + 2L) bytes: the only data that leaves the GPU;
 *   <li>host: an {@link OffloadedAttention} (the CPU shards, over Aeron, in the cluster) returns a
 *       partial state per head over the offloaded tokens [sink, promptLength - local);
 *   <li>up: those partial states, heads * (d + 2) floats;
 *   <li>device: the exact merge of the window's splits with the offloaded parts
 *       ({@code attn_merge}), giving the attention output that the o projection reads.
 * </ol>
 *
 * Here it runs over one layer's cache held in its own buffers (the device check fills them with
 * random keys and values at 32K-128K tokens); a {@link CudaSession} with a MagicPIG attention
 * would run steps 1-6 per sparse layer inside {@link CudaBackend#layers} in place of the dense
 * attention launch, with the session's cache and the per-(layer, kv head) projections uploaded at
 * prefill.
 */
public final class SparseLayerStep implements AutoCloseable {

    /** The host side of the seam (MagicPIG's sampled attention over the offloaded tokens). */
    @FunctionalInterface
    public interface OffloadedAttention {
        /**
         * @param q        heads * d query values (after RoPE)
         * @param codes    heads * L codes (u16 in a short)
         * @param partials receives heads * (d + 2) values: (m, l, o[d]) per head; l = 0 when no key was attended
         */
        void attend(float[] q, short[] codes, float[] partials);
    }

    /** Milliseconds of each part of one step. */
    public record Timing(double deviceWindowMs, double downMs, double hostMs, double upMergeMs, double totalMs) {}

    private final CudaBackend backend;
    private final LlamaConfig c;
    private final int capacity, K, L;
    private final DeviceBuffer keys, values, q, proj, codes, partial, ext, out, meta;
    private final java.nio.ByteBuffer hostMeta = java.nio.ByteBuffer.allocateDirect(Workspace.SEQ_INFO).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    private final float[] hostQ, hostExt, hostOut;
    private final short[] hostCodes;

    public SparseLayerStep(CudaBackend backend, int capacity, int K, int L) {
        if (K < 1 || K > 16) throw new IllegalArgumentException("K must be in [1, 16] for u16 codes, got " + K);
        this.backend = backend;
        this.c = backend.config;
        this.capacity = capacity;
        this.K = K;
        this.L = L;
        int d = c.headDim(), heads = c.heads();
        int maxSplits = CudaKernels.splits(capacity);
        backend.enter();
        Device dev = backend.device;
        try {
            keys = dev.allocate(4L * capacity * c.kvDim());
            values = dev.allocate(4L * capacity * c.kvDim());
            q = dev.allocate(4L * c.qDim());
            proj = dev.allocate(4L * c.kvHeads() * d * K * L);
            codes = dev.allocate(2L * heads * L);
            partial = dev.allocate(4L * heads * maxSplits * (d + 2));
            ext = dev.allocate(4L * heads * (d + 2));
            out = dev.allocate(4L * c.qDim());
            meta = dev.allocate(Workspace.SEQ_INFO);
        } finally {
            backend.exit();
        }
        hostQ = new float[c.qDim()];
        hostExt = new float[heads * (d + 2)];
        hostOut = new float[c.qDim()];
        hostCodes = new short[heads * L];
    }

    /** Fills the first {@code length} positions' keys and values, the projection and the query with uniform random values. */
    public void fillRandom(int length, long seed) {
        backend.enter();
        try {
            int grid = backend.device.multiprocessors * 8;
            CudaKernels k = backend.kernels;
            k.fillUniform(keys.address, (long) length * c.kvDim(), seed, 1f, grid);
            k.fillUniform(values.address, (long) length * c.kvDim(), seed + 1, 1f, grid);
            k.fillUniform(proj.address, proj.bytes / 4, seed + 2, 1f, grid);
            k.fillUniform(q.address, c.qDim(), seed + 3, 1f, grid);
            backend.device.synchronize();
        } finally {
            backend.exit();
        }
    }

    /**
     * One decode step's attention at position {@code pos} (its key and value already in the cache) of
     * a sequence with a prompt of promptLength tokens: window on the device, offloaded part from
     * {@code host}, merged on the device. The output (heads * d) is in {@link #output} afterwards.
     */
    public Timing step(int promptLength, int pos, int sink, int local, OffloadedAttention host) {
        int d = c.headDim(), heads = c.heads();
        int r1start = Math.max(sink, promptLength - local);
        int count = sink + (pos + 1 - r1start);
        int splits = CudaKernels.splits(count);
        CudaKernels k = backend.kernels;
        Device dev = backend.device;
        backend.enter();
        try {
            long t0 = System.nanoTime();
            hostMeta.putLong(0, keys.address).putLong(8, values.address).putInt(16, pos).putInt(20, capacity)
                    .putInt(24, sink).putInt(28, r1start);
            dev.upload(meta, 0, hostMeta, Workspace.SEQ_INFO);
            k.attentionPartialOnly(meta.address, 1, 0, q.address, c.qDim(), heads, c.kvHeads(), d, partial.address, splits);
            k.lshHash(q.address, c.qDim(), 1, heads, c.kvHeads(), d, proj.address, K, L, codes.address);
            dev.synchronize();
            long t1 = System.nanoTime();
            dev.download(hostQ, 0, q, 0, c.qDim());
            dev.download(hostCodes, 0, codes, 0, heads * L);
            long t2 = System.nanoTime();
            host.attend(hostQ, hostCodes, hostExt);
            long t3 = System.nanoTime();
            dev.upload(ext, 0, hostExt, 0, hostExt.length);
            k.merge(partial.address, splits, ext.address, 1, 1, heads, d, out.address, c.qDim());
            dev.download(hostOut, 0, out, 0, c.qDim());
            long t4 = System.nanoTime();
            return new Timing((t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6, (t4 - t0) / 1e6);
        } finally {
            backend.exit();
        }
    }

    /** The attention output of the last step, heads * d. */
    public float[] output() {
        return hostOut;
    }

    /** Exact attention of the query over every position [0, pos] on the device (for checking the split). */
    public float[] exact(int pos) {
        int d = c.headDim(), heads = c.heads();
        int splits = CudaKernels.splits(pos + 1);
        float[] result = new float[c.qDim()];
        backend.enter();
        try {
            hostMeta.putLong(0, keys.address).putLong(8, values.address).putInt(16, pos).putInt(20, capacity).putInt(24, 0).putInt(28, 0);
            backend.device.upload(meta, 0, hostMeta, Workspace.SEQ_INFO);
            backend.kernels.attention(meta.address, 1, 0, q.address, c.qDim(), heads, c.kvHeads(), d, partial.address, splits, out.address, c.qDim());
            if (splits > 1) backend.kernels.merge(partial.address, splits, 0, 0, 1, heads, d, out.address, c.qDim());
            backend.device.download(result, 0, out, 0, c.qDim());
        } finally {
            backend.exit();
        }
        return result;
    }

    /** Copies keys (or values) of positions [0, n) to the host: n * kvDim floats. */
    public float[] download(boolean keysNotValues, int n) {
        float[] r = new float[n * c.kvDim()];
        backend.enter();
        try {
            backend.device.download(r, 0, keysNotValues ? keys : values, 0, r.length);
        } finally {
            backend.exit();
        }
        return r;
    }

    /** The projection, kvHeads * d * K * L floats ([kv head][d][K * L]). */
    public float[] projection() {
        float[] r = new float[(int) (proj.bytes / 4)];
        backend.enter();
        try {
            backend.device.download(r, 0, proj, 0, r.length);
        } finally {
            backend.exit();
        }
        return r;
    }

    /** The query (heads * d) and its codes of the last step. */
    public float[] query() {
        return hostQ.clone();
    }

    public short[] codes() {
        return hostCodes.clone();
    }

    @Override
    public void close() {
        backend.release(() -> {
            for (DeviceBuffer b : new DeviceBuffer[] {keys, values, q, proj, codes, partial, ext, out, meta}) b.close();
        });
    }
}
