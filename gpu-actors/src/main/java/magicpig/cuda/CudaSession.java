package magicpig.cuda;

import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;

/**
 * One sequence on the GPU: its KV cache on the device ([layers][capacity][kvDim] f32 keys after
 * RoPE, and values), its position, and the residual row of its last prompt token between
 * prefill and {@link #finishPrefill}.
 *
 * <p><b>Attention.</b> With no attention step (dense) everything stays on the device. With a host
 * attention step (MagicPIG or a baseline, written against the host's {@link KvCache}), the
 * session also mirrors its keys and values into a host cache, and per layer the device's
 * attention output is replaced by the step's: q, k and v of the token come down, the output goes
 * up. That is correct for any {@link Attention} but moves the query across PCIe every layer; the
 * path the design aims at keeps the static window on the device and sends only q and its hash
 * codes out: see {@link SparseLayerStep}, which implements it for one layer, and the package notes.
 */
public final class CudaSession implements ComputeBackend.InferenceSession {
    private final CudaBackend backend;
    private final LlamaConfig config;
    private final int capacity;
    private final DeviceBuffer keys, values, lastResidual;
    private final Attention attention;
    private final KvCache hostCache;
    private final float[] logits;
    private final float[] q, k, v, out;
    private int position;
    private int promptLength = -1;
    private boolean closed;

    CudaSession(CudaBackend backend, int capacity, Attention attention) {
        LlamaConfig c = backend.config;
        if (capacity <= 0 || capacity > c.contextLength()) {
            throw new IllegalArgumentException("KV cache capacity must be in [1, " + c.contextLength() + "], got " + capacity);
        }
        this.backend = backend;
        this.config = c;
        this.capacity = capacity;
        this.attention = attention;
        long kvBytes = 4L * c.layers() * capacity * c.kvDim();
        backend.enter();
        DeviceBuffer kb = null, vb = null, lr = null;
        try {
            kb = backend.device.allocate(kvBytes);
            vb = backend.device.allocate(kvBytes);
            lr = backend.device.allocate(4L * c.dim());
        } catch (RuntimeException e) {
            if (kb != null) kb.close();
            if (vb != null) vb.close();
            throw e;
        } finally {
            backend.exit();
        }
        keys = kb;
        values = vb;
        lastResidual = lr;
        logits = new float[c.vocabSize()];
        if (attention != null) {
            hostCache = new KvCache(c, capacity);
            q = new float[c.qDim()];
            k = new float[c.kvDim()];
            v = new float[c.kvDim()];
            out = new float[c.qDim()];
        } else {
            hostCache = null;
            q = k = v = out = null;
        }
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    /** Sets row b of ws to this session's token at its current position (+ offset). */
    void describe(Workspace ws, int b, int offset, int token) {
        ws.seq(b, keys.address, values.address, position + offset, capacity, 0, 0);
        ws.token(b, token);
    }

    @Override
    public float[] prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
        int done = 0;
        while (done < tokens.length) done = prefillPart(tokens, done, tokens.length);
        return finishPrefill();
    }

    @Override
    public int prefillPart(int[] tokens, int from, int maxTokens) {
        if (promptLength >= 0) throw new IllegalStateException("the prompt is already prefilled");
        if (from != position) throw new IllegalStateException("prefill must continue at position " + position + ", not " + from);
        int end = Math.min(tokens.length, from + Math.max(1, maxTokens));
        checkRoom(end - from);
        for (int i = from; i < end; i++) checkToken(tokens[i]);
        backend.enter();
        try {
            Workspace ws = backend.shared;
            for (int start = from; start < end; start += ws.rows) {
                int n = Math.min(ws.rows, end - start);
                for (int b = 0; b < n; b++) describe(ws, b, b, tokens[start + b]);
                backend.prefillPass(ws, n, position + n);
                backend.device.copy(lastResidual, 0, ws.x, 4L * (n - 1) * config.dim(), 4L * config.dim());
                if (hostCache != null) mirror(position, n);
                position += n;
            }
        } finally {
            backend.exit();
        }
        return end;
    }

    @Override
    public float[] finishPrefill() {
        if (promptLength >= 0) throw new IllegalStateException("the prompt is already prefilled");
        if (position == 0) throw new IllegalStateException("nothing was prefilled");
        backend.enter();
        try {
            backend.classify(backend.shared, lastResidual.address, 1);
            backend.device.download(logits, 0, backend.shared.logits, 0, logits.length);
        } finally {
            backend.exit();
        }
        promptLength = position;
        if (attention != null) {
            hostCache.setLength(position);
            attention.prefilled(hostCache, promptLength);
        }
        return logits;
    }

    @Override
    public float[] decode(int token) {
        beginDecodeStep(token);
        backend.enter();
        try {
            Workspace ws = backend.shared;
            describe(ws, 0, 0, token);
            backend.decodeStep(ws, 1, position + 1, attention == null ? null : new CudaSession[] {this}, false);
            backend.device.download(logits, 0, ws.logits, 0, logits.length);
        } finally {
            backend.exit();
        }
        endDecodeStep();
        return logits;
    }

    /**
     * Greedy decode: one step, with the argmax taken on the device, so only the chosen token
     * comes back (no vocabulary of logits over PCIe). Returns the next token.
     */
    public int decodeGreedy(int token) {
        beginDecodeStep(token);
        int[] next = new int[1];
        backend.enter();
        try {
            Workspace ws = backend.shared;
            describe(ws, 0, 0, token);
            backend.decodeStep(ws, 1, position + 1, attention == null ? null : new CudaSession[] {this}, true);
            backend.device.download(next, 0, ws.argmax, 0, 1);
        } finally {
            backend.exit();
        }
        endDecodeStep();
        return next[0];
    }

    void beginDecodeStep(int token) {
        if (closed) throw new IllegalStateException("the session is closed");
        if (promptLength < 0) throw new IllegalStateException("prefill the prompt before decoding");
        checkRoom(1);
        checkToken(token);
    }

    void endDecodeStep() {
        position++;
        if (hostCache != null) hostCache.setLength(position);
    }

    boolean hasHostAttention() {
        return attention != null;
    }

    /**
     * Replaces row b's attention output of layer l with the host attention step's: the seam
     * between the device-resident cache and attention that runs on the host. Called under the
     * backend's lock, after the row's key and value are in the device cache.
     */
    void hostAttention(Workspace ws, int b, int layer) {
        Device dev = backend.device;
        int pos = position;
        long at = 4L * ((long) layer * capacity + pos) * config.kvDim();
        dev.download(q, 0, ws.qkv, 4L * b * ws.qkvDim, config.qDim());
        dev.download(k, 0, keys, at, config.kvDim());
        dev.download(v, 0, values, at, config.kvDim());
        hostCache.writeKey(layer, pos, k, 0);
        hostCache.writeValue(layer, pos, v, 0);
        attention.decode(layer, q, 0, hostCache, pos, out, 0);
        dev.upload(ws.att, 4L * b * config.qDim(), out, 0, config.qDim());
    }

    /** Copies the keys and values of positions [from, from + n) of every layer into the host cache. */
    private void mirror(int from, int n) {
        int kvDim = config.kvDim();
        float[] kb = new float[n * kvDim], vb = new float[n * kvDim];
        for (int l = 0; l < config.layers(); l++) {
            long at = 4L * ((long) l * capacity + from) * kvDim;
            backend.device.download(kb, 0, keys, at, n * kvDim);
            backend.device.download(vb, 0, values, at, n * kvDim);
            for (int t = 0; t < n; t++) {
                hostCache.writeKey(l, from + t, kb, t * kvDim);
                hostCache.writeValue(l, from + t, vb, t * kvDim);
            }
        }
    }

    long keysAddress() {
        return keys.address;
    }

    long valuesAddress() {
        return values.address;
    }

    CudaBackend backend() {
        return backend;
    }

    private void checkRoom(int n) {
        if (position + n > capacity) {
            throw new IllegalStateException("sequence full: " + position + " + " + n + " tokens exceed its capacity of " + capacity);
        }
    }

    private void checkToken(int token) {
        if (token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (attention != null) attention.close();
        if (hostCache != null) hostCache.close();
        backend.release(() -> {
            keys.close();
            values.close();
            lastResidual.close();
        });
    }
}
