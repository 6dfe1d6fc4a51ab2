package magicpig.cuda;

import magicpig.model.ComputeBackend;

/**
 * Continuous-batching decode on the GPU: one step for up to maxBatch sessions in one forward pass
 * (every weight read once per {@value CudaKernels#MV_BATCH} rows), each row attending its own
 * session's device cache. Has its own activations, so it does not contend with prefill for them.
 */
public final class CudaDecodeBatch implements ComputeBackend.BatchDecoder, AutoCloseable {
    private final CudaBackend backend;
    private final int maxBatch;
    private final Workspace ws;
    private final float[] logits;
    private final CudaSession[] hostRows;

    CudaDecodeBatch(CudaBackend backend, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("batch size must be >= 1");
        this.backend = backend;
        this.maxBatch = maxBatch;
        backend.enter();
        try {
            this.ws = new Workspace(backend.device, backend.config, maxBatch, maxBatch);
        } finally {
            backend.exit();
        }
        this.logits = new float[maxBatch * backend.config.vocabSize()];
        this.hostRows = new CudaSession[maxBatch];
    }

    @Override
    public int maxBatch() {
        return maxBatch;
    }

    @Override
    public float[] step(ComputeBackend.InferenceSession[] sessions, int[] tokens, int n) {
        if (n < 1 || n > maxBatch) throw new IllegalArgumentException("batch of " + n + " sessions, expected 1.." + maxBatch);
        int maxCount = 0;
        boolean anyHost = false;
        for (int b = 0; b < n; b++) {
            if (!(sessions[b] instanceof CudaSession s) || s.backend() != backend) {
                throw new IllegalArgumentException("session " + b + " of the batch does not belong to this CUDA backend");
            }
            s.beginDecodeStep(tokens[b]);
            maxCount = Math.max(maxCount, s.position() + 1);
            hostRows[b] = s.hasHostAttention() ? s : null;
            anyHost |= hostRows[b] != null;
        }
        int vocab = backend.config.vocabSize();
        backend.enter();
        try {
            for (int b = 0; b < n; b++) ((CudaSession) sessions[b]).describe(ws, b, 0, tokens[b]);
            backend.decodeStep(ws, n, maxCount, anyHost ? hostRows : null, false);
            backend.device.download(logits, 0, ws.logits, 0, n * vocab);
        } finally {
            backend.exit();
        }
        for (int b = 0; b < n; b++) ((CudaSession) sessions[b]).endDecodeStep();
        java.util.Arrays.fill(hostRows, null);
        return logits;
    }

    @Override
    public void close() {
        backend.release(ws::close);
    }
}
