package magicpig.cuda;

import java.util.concurrent.locks.ReentrantLock;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.tensor.GgmlType;

/**
 * The transformer on a CUDA GPU, through the JCuda driver API and our own kernels
 * ({@code src/main/cuda}). Weights are uploaded once and stay resident ({@link DeviceModel}); each
 * session keeps its KV cache on the device; the host sees only the logits it asks for.
 *
 * <p>One forward pass, for n rows (tokens of one prompt chunk, or one token of each of n
 * sequences), per layer: [RMSNorm + q|k|v projection] (one launch), [RoPE + KV write],
 * [attention] (one launch, or one per split plus a merge at long context), [o projection +
 * residual], [RMSNorm + gate|up projection], [SwiGLU + down projection + residual]: six or seven
 * launches a layer, norms and element-wise steps fused into the products.
 *
 * <p>GPU work is serialized by one lock: sessions and batches may be used from any thread, each
 * by one thread at a time, as {@link ComputeBackend} asks.
 */
public final class CudaBackend implements ComputeBackend {
    /** Prompt tokens of one prefill pass. */
    static final int PREFILL_ROWS = 32;

    final Device device;
    final CudaKernels kernels;
    final DeviceModel model;
    final LlamaConfig config;
    final ReentrantLock lock = new ReentrantLock();
    /** Prefill and single-session decode share this one (under the lock). */
    final Workspace shared;
    private boolean closed;

    /** A backend on any device (the tests give an emulated one). */
    static CudaBackend on(Device device, LlamaConfig config, LlamaWeights weights, int prefillRows) {
        return new CudaBackend(device, config, weights, null, 0, false, prefillRows);
    }

    /** Synthetic weights made on any device. */
    static CudaBackend synthetic(Device device, LlamaConfig config, GgmlType type, long seed, boolean tied) {
        return new CudaBackend(device, config, null, type, seed, tied, PREFILL_ROWS);
    }

    private CudaBackend(Device device, LlamaConfig config, LlamaWeights weights, GgmlType syntheticType, long seed, boolean tied,
                        int prefillRows) {
        this.device = device;
        this.config = config;
        if (weights != null) weights.validate(config);
        if (config.headDim() > 1024) throw new UnsupportedOperationException("the CUDA backend takes heads of at most 1024 values");
        CudaKernels k = null;
        DeviceModel m = null;
        Workspace w = null;
        try {
            k = new CudaKernels(device);
            m = weights != null ? DeviceModel.upload(device, config, weights) : DeviceModel.synthetic(device, k, config, syntheticType, seed, tied);
            w = new Workspace(device, config, prefillRows, 1);
        } catch (RuntimeException | Error e) {
            if (m != null) m.close();
            device.close();
            throw e;
        }
        this.kernels = k;
        this.model = m;
        this.shared = w;
    }

    /**
     * Opens GPU {@code ordinal} and uploads the weights. Throws when there is no usable device
     * or the model has weights the kernels cannot take (see {@link CudaKernels#unsupported}).
     */
    public static CudaBackend open(int ordinal, LlamaConfig config, LlamaWeights weights) {
        return new CudaBackend(CudaDevice.open(ordinal), config, weights, null, 0, false, PREFILL_ROWS);
    }

    /**
     * A backend over random weights of a known shape ({@code SyntheticModels.shape}) made on the
     * device: for timing shapes too large to generate on the host in time. Not the same values as
     * {@code synthetic:NAME} on the host.
     */
    public static CudaBackend synthetic(int ordinal, String shape, GgmlType type, long seed) {
        LlamaConfig c = magicpig.model.SyntheticModels.shape(shape);
        return synthetic(ordinal, c, type, seed, shape.equalsIgnoreCase("llama-3.2-1b"));
    }

    /** Random weights of any shape made on the device; tied shares the embedding with the classifier. */
    public static CudaBackend synthetic(int ordinal, LlamaConfig c, GgmlType type, long seed, boolean tied) {
        return new CudaBackend(CudaDevice.open(ordinal), c, null, type, seed, tied, PREFILL_ROWS);
    }

    @Override
    public String description() {
        return device.describe();
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    /** Device bytes the resident weights take. */
    public long weightBytes() {
        return model.bytes;
    }

    /** Bytes one decode step reads from the resident weights (every matrix once). */
    public long decodeWeightBytes() {
        return model.decodeBytes();
    }

    @Override
    public CudaSession newSession(int capacity, Attention attention) {
        return new CudaSession(this, capacity, attention);
    }

    @Override
    public CudaDecodeBatch newDecodeBatch(int maxBatch) {
        return new CudaDecodeBatch(this, maxBatch);
    }

    void enter() {
        lock.lock();
        if (closed) {
            lock.unlock();
            throw new IllegalStateException("the CUDA backend is closed");
        }
        device.makeCurrent();
    }

    void exit() {
        lock.unlock();
    }

    /** Runs a release of device memory unless the backend is closed (its memory went with the context). */
    void release(Runnable free) {
        lock.lock();
        try {
            if (closed) return;
            device.makeCurrent();
            free.run();
        } finally {
            lock.unlock();
        }
    }

    /** Whether decode steps replay CUDA graphs (one launch a step) instead of launching kernel by kernel. */
    private volatile boolean graphs = Boolean.getBoolean("magicpig.cuda.graphs");

    /** Decode steps as CUDA graphs (-Dmagicpig.cuda.graphs=true) or kernel by kernel (the default). */
    public void useGraphs(boolean on) {
        graphs = on;
    }

    /**
     * One prefill pass of n rows (prompt tokens) whose SeqInfo and tokens are set in ws: the
     * residual stream is left in ws.x.
     */
    void prefillPass(Workspace ws, int n, int maxCount) {
        int splits = CudaKernels.splits(maxCount);
        long partial = splits > 1 ? ws.partial(config, splits) : 0;
        ws.uploadMeta();
        layers(ws, n, splits, partial, null);
    }

    /**
     * One decode step of n rows (a token of each of n sessions) whose SeqInfo and tokens are set
     * in ws: the blocks, then the classifier into ws.logits, and with {@code argmax} the greedy
     * tokens into ws.argmax. Without host attention rows and with graphs on, the kernels are
     * recorded once per (rows, attention splits, argmax) and replayed.
     *
     * @param maxCount the most positions any row attends (sizes the attention split)
     * @param hostRows per row, the session whose host attention replaces the device's, or null
     */
    void decodeStep(Workspace ws, int n, int maxCount, CudaSession[] hostRows, boolean argmax) {
        int splits = CudaKernels.splits(maxCount);
        long partial = splits > 1 ? ws.partial(config, splits) : 0; // allocated before any capture
        ws.uploadMeta();
        if (!graphs || hostRows != null) {
            layers(ws, n, splits, partial, hostRows);
            classifyAndPick(ws, n, argmax);
            return;
        }
        long key = ((long) n << 32) | ((long) splits << 1) | (argmax ? 1 : 0);
        Object graph = ws.graph(key);
        if (graph == null) {
            device.beginCapture();
            try {
                layers(ws, n, splits, partial, null);
                classifyAndPick(ws, n, argmax);
            } catch (RuntimeException | Error e) {
                try {
                    device.destroyGraph(device.endCapture());
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
            graph = device.endCapture();
            ws.putGraph(key, graph);
        }
        device.launchGraph(graph);
    }

    private void classifyAndPick(Workspace ws, int n, boolean argmax) {
        classify(ws, ws.x.address, n);
        if (argmax) kernels.argmax(ws.logits.address, config.vocabSize(), config.vocabSize(), n, ws.argmax.address);
    }

    /**
     * The transformer blocks for n rows of ws (SeqInfo and tokens already on the device):
     * embedding, then every layer, leaving the residual stream in ws.x. Rows whose session has a
     * host attention step get their attention output from it (see {@link CudaSession#hostAttention}).
     */
    private void layers(Workspace ws, int n, int splits, long partial, CudaSession[] hostRows) {
        LlamaConfig c = config;
        CudaKernels k = kernels;
        DeviceModel m = model;
        int dim = c.dim(), qDim = c.qDim(), hidden = c.hiddenDim(), d = c.headDim();
        int qkvDim = ws.qkvDim;
        float eps = c.rmsEps();
        k.embed(m.embedding, ws.tokens(), n, ws.x.address, dim);
        for (int l = 0; l < c.layers(); l++) {
            for (DeviceMatrix p : m.qkv[l]) k.matvec(p, CudaKernels.NORM_SET, ws.x.address, dim, m.attnNorm(l), eps, n, ws.qkv.address, qkvDim);
            k.ropeStore(ws.seqs(), n, l, ws.qkv.address, qkvDim, c.heads(), c.kvHeads(), d, c.rope().halfSplit(), m.freqs);
            k.attention(ws.seqs(), n, l, ws.qkv.address, qkvDim, c.heads(), c.kvHeads(), d, partial, splits, ws.att.address, qDim);
            if (splits > 1) k.merge(partial, splits, 0, 0, n, c.heads(), d, ws.att.address, qDim);
            if (hostRows != null) {
                for (int b = 0; b < n; b++) if (hostRows[b] != null) hostRows[b].hostAttention(ws, b, l);
            }
            for (DeviceMatrix p : m.wo[l]) k.matvec(p, CudaKernels.PLAIN_ADD, ws.att.address, qDim, 0, eps, n, ws.x.address, dim);
            for (DeviceMatrix p : m.gateUp[l]) k.matvec(p, CudaKernels.NORM_SET, ws.x.address, dim, m.ffnNorm(l), eps, n, ws.gu.address, 2 * hidden);
            for (DeviceMatrix p : m.down[l]) k.matvec(p, CudaKernels.SILU_ADD, ws.gu.address, 2 * hidden, 0, eps, n, ws.x.address, dim);
        }
    }

    /** Final RMSNorm and classifier of n residual rows at x (stride dim) into ws.logits. */
    void classify(Workspace ws, long x, int n) {
        kernels.matvec(model.output, CudaKernels.NORM_SET, x, config.dim(), model.outputNorm(), config.rmsEps(), n,
                ws.logits.address, config.vocabSize());
    }

    /** Measures the device's read bandwidth, bytes/s: the best of a few passes over {@code bytes}. */
    public double measureReadBandwidth(long bytes, int passes) {
        enter();
        try (DeviceBuffer buf = device.allocate(bytes); DeviceBuffer sink = device.allocate(16)) {
            int grid = device.multiprocessors * 8;
            kernels.fillUniform(buf.address, bytes / 4, 1, 1f, grid);
            kernels.readProbe(buf.address, bytes, sink.address, grid); // warm-up
            device.synchronize();
            double best = 0;
            for (int i = 0; i < passes; i++) {
                long t0 = System.nanoTime();
                kernels.readProbe(buf.address, bytes, sink.address, grid);
                device.synchronize();
                best = Math.max(best, bytes * 1e9 / (System.nanoTime() - t0));
            }
            return best;
        } finally {
            exit();
        }
    }

    /** Free and total device memory, bytes. */
    public long[] memoryInfo() {
        enter();
        try {
            return device.memoryInfo();
        } finally {
            exit();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            device.makeCurrent();
            shared.close();
            model.close();
            device.close();
        } finally {
            lock.unlock();
        }
    }
}
