package magicpig.cuda;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import magicpig.model.LlamaConfig;
import magicpig.model.RotaryEmbedding;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.GgmlType;
import magicpig.tensor.Quantizer;
import magicpig.tensor.WeightMatrix;

/**
 * Each kernel alone against the host's own math, on random data: when the model parity of the
 * device check fails, these say which kernel. Shapes are small and awkward on purpose (a row
 * count that leaves a partial block, batches of 1 and 5 rows, attention over 1, 2 and 3 splits).
 */
final class KernelChecks {
    /** One line of the kernels table: what, largest error relative to the largest reference value, pass. */
    record Result(String kernel, double error, boolean ok) {}

    private static final double TOLERANCE = 1e-4;

    private final CudaBackend gpu;
    private final Random random = new Random(12345);
    final List<Result> results = new ArrayList<>();

    KernelChecks(CudaBackend gpu) {
        this.gpu = gpu;
    }

    boolean allOk() {
        return results.stream().allMatch(Result::ok);
    }

    void runAll() {
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0}) {
            for (int variant : new int[] {CudaKernels.NORM_SET, CudaKernels.PLAIN_ADD, CudaKernels.SILU_ADD}) {
                for (int n : new int[] {1, 5}) matvec(t, variant, n);
            }
        }
        attentionAndRope();
    }

    private float[] randoms(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (random.nextFloat() * 2 - 1) * scale;
        return v;
    }

    private void record(String what, double error) {
        results.add(new Result(what, error, error <= TOLERANCE));
    }

    /** Largest |a - b| over the largest |b|. */
    static double relError(float[] a, float[] b) {
        double max = 0, scale = 1e-30;
        for (int i = 0; i < b.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return Double.isNaN(max) ? Double.POSITIVE_INFINITY : max / scale;
    }

    private void matvec(GgmlType type, int variant, int n) {
        int rows = 44, cols = 512, inCols = variant == CudaKernels.SILU_ADD ? 2 * cols : cols;
        Device dev = gpu.device;
        try (Arena arena = Arena.ofShared()) { // the quantizer fills rows on several threads
            WeightMatrix w = Quantizer.matrix(type, randoms(rows * cols, 0.1f), rows, cols, arena);
            float[] x = randoms(n * inCols, 1f), g = randoms(cols, 1f), y0 = randoms(n * rows, 1f);
            // The reference: the transformed inputs, then the host's own dot products.
            float[] in = new float[n * cols], want = new float[n * rows];
            for (int b = 0; b < n; b++) {
                if (variant == CudaKernels.NORM_SET) {
                    FloatKernels.rmsNorm(in, b * cols, x, b * inCols, g, cols, 1e-5f);
                } else if (variant == CudaKernels.SILU_ADD) {
                    System.arraycopy(x, b * inCols, in, b * cols, cols);
                    FloatKernels.siluGate(in, b * cols, x, b * inCols + cols, cols);
                } else {
                    System.arraycopy(x, b * inCols, in, b * cols, cols);
                }
                for (int r = 0; r < rows; r++) {
                    float dot = w.dot(r, in, b * cols);
                    want[b * rows + r] = variant == CudaKernels.NORM_SET ? dot : y0[b * rows + r] + dot;
                }
            }
            float[] got = new float[n * rows];
            gpu.enter();
            try (DeviceBuffer dw = dev.allocate(w.byteSize()); DeviceBuffer dx = dev.allocate(4L * x.length);
                 DeviceBuffer dg = dev.allocate(4L * cols); DeviceBuffer dy = dev.allocate(4L * y0.length)) {
                dev.upload(dw, 0, w.data(), w.byteSize());
                dev.upload(dx, 0, x, 0, x.length);
                dev.upload(dg, 0, g, 0, cols);
                dev.upload(dy, 0, y0, 0, y0.length);
                DeviceMatrix m = new DeviceMatrix(type, dw.address, rows, cols, type.rowBytes(cols), 0);
                gpu.kernels.matvec(m, variant, dx.address, inCols, dg.address, 1e-5f, n, dy.address, rows);
                dev.download(got, 0, dy, 0, got.length);
            } finally {
                gpu.exit();
            }
            String name = new String[] {"plain", "rmsnorm", "residual", "swiglu+residual"}[variant];
            record("matvec " + type + " " + name + ", " + n + " row" + (n > 1 ? "s" : ""), relError(got, want));
        }
    }

    /**
     * RoPE and the KV write (both layouts), then attention of 3 rows attending 7, 600 and 1100
     * positions of one cache (1, 2 and 3 splits, merged), against the host.
     */
    private void attentionAndRope() {
        for (boolean halfSplit : new boolean[] {false, true}) {
            LlamaConfig c = new LlamaConfig(64, 64, 1, 4, 2, 32, 16, 2048, 1e-5f,
                    new LlamaConfig.Rope(10000f, halfSplit, new LlamaConfig.Llama3Scaling(8f, 1f, 4f, 256)));
            int cap = 1100, kvDim = c.kvDim(), qDim = c.qDim(), d = c.headDim(), qkvDim = qDim + 2 * kvDim;
            int[] pos = {6, 599, 1099};
            int n = pos.length;
            float[] keys = randoms(cap * kvDim, 1f), values = randoms(cap * kvDim, 1f), qkv = randoms(n * qkvDim, 1f);
            // Host: rotate q and k of each row, write k and v at its position, attend [0, pos].
            RotaryEmbedding rope = new RotaryEmbedding(c.rope(), d);
            float[] cos = new float[d / 2], sin = new float[d / 2];
            float[] hostKeys = keys.clone(), hostValues = values.clone(), hostQkv = qkv.clone();
            for (int b = 0; b < n; b++) {
                rope.angles(pos[b], cos, sin);
                rope.rotate(hostQkv, b * qkvDim, c.heads() + c.kvHeads(), cos, sin);
                System.arraycopy(hostQkv, b * qkvDim + qDim, hostKeys, pos[b] * kvDim, kvDim);
                System.arraycopy(hostQkv, b * qkvDim + qDim + kvDim, hostValues, pos[b] * kvDim, kvDim);
            }
            float[] want = new float[n * qDim];
            for (int b = 0; b < n; b++) {
                float[] q = java.util.Arrays.copyOfRange(hostQkv, b * qkvDim, b * qkvDim + qDim);
                float[] partials = new float[c.heads() * (d + 2)];
                new ExactOffloadedAttention(c, hostKeys, hostValues, 0, pos[b] + 1).attend(q, null, partials);
                for (int h = 0; h < c.heads(); h++) System.arraycopy(partials, h * (d + 2) + 2, want, b * qDim + h * d, d);
            }
            float[] gotQ = new float[n * qDim], gotKeys = new float[cap * kvDim], got = new float[n * qDim];
            Device dev = gpu.device;
            gpu.enter();
            try (DeviceBuffer dk = dev.allocate(4L * keys.length); DeviceBuffer dv = dev.allocate(4L * values.length);
                 DeviceBuffer dqkv = dev.allocate(4L * qkv.length); DeviceBuffer datt = dev.allocate(4L * n * qDim);
                 DeviceBuffer dfreq = dev.allocate(8L * d / 2); DeviceBuffer dseq = dev.allocate((long) Workspace.SEQ_INFO * n);
                 DeviceBuffer dpart = dev.allocate(4L * n * c.heads() * 3 * (d + 2))) {
                dev.upload(dk, 0, keys, 0, keys.length);
                dev.upload(dv, 0, values, 0, values.length);
                dev.upload(dqkv, 0, qkv, 0, qkv.length);
                dev.upload(dfreq, 0, rope.frequencies());
                java.nio.ByteBuffer meta = java.nio.ByteBuffer.allocateDirect(Workspace.SEQ_INFO * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int b = 0; b < n; b++) {
                    meta.putLong(b * 32, dk.address).putLong(b * 32 + 8, dv.address).putInt(b * 32 + 16, pos[b]).putInt(b * 32 + 20, cap)
                            .putInt(b * 32 + 24, 0).putInt(b * 32 + 28, 0);
                }
                dev.upload(dseq, 0, meta, meta.capacity());
                CudaKernels k = gpu.kernels;
                k.ropeStore(dseq.address, n, 0, dqkv.address, qkvDim, c.heads(), c.kvHeads(), d, halfSplit, dfreq.address);
                int splits = CudaKernels.splits(pos[n - 1] + 1);
                k.attention(dseq.address, n, 0, dqkv.address, qkvDim, c.heads(), c.kvHeads(), d, dpart.address, splits, datt.address, qDim);
                k.merge(dpart.address, splits, 0, 0, n, c.heads(), d, datt.address, qDim);
                for (int b = 0; b < n; b++) dev.download(gotQ, b * qDim, dqkv, 4L * b * qkvDim, qDim);
                dev.download(gotKeys, 0, dk, 0, gotKeys.length);
                dev.download(got, 0, datt, 0, got.length);
            } finally {
                gpu.exit();
            }
            float[] wantQ = new float[n * qDim];
            for (int b = 0; b < n; b++) System.arraycopy(hostQkv, b * qkvDim, wantQ, b * qDim, qDim);
            String layout = halfSplit ? "half-split" : "adjacent";
            record("rope " + layout + " (q, and k in the cache)", Math.max(relError(gotQ, wantQ), relError(gotKeys, hostKeys)));
            record("attention, 1-3 splits merged (" + layout + " rope)", relError(got, want));
        }
    }
}
