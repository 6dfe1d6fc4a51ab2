package magicpig.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import magicpig.model.Attention;
import magicpig.model.ExactAttention;
import magicpig.model.KvCache;
import magicpig.model.Llama;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.model.Model;
import magicpig.model.SyntheticModels;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA backend with its real kernels, run by the CPU emulator (see {@link EmulatedDevice}),
 * against the CPU backend. The emulator runs every CUDA thread as a fiber, so the models here are
 * synthetic:tiny cut to one or two layers. On a GPU, DeviceCheck then only has to confirm this on
 * hardware (and time it).
 */
class EmulatedKernelsTest {
    /** Tighter than DeviceCheck's GPU tolerance: the emulator computes in the same f32 as the CPU, in another order. */
    private static final double MAX_ABS = 1e-3, MAX_REL_L2 = 1e-4;
    /** Prompt rows per prefill pass: 8 here (32 on a GPU), so a short prompt takes several passes. */
    private static final int PREFILL_ROWS = 8;

    @BeforeAll
    static void needsTheEmulator() {
        String why = EmulatedDevice.unavailable();
        assumeTrue(why == null, () -> why);
    }

    @AfterAll
    static void profile() {
        if (EmulatedDevice.PROFILE != null) {
            EmulatedDevice.PROFILE.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue()))
                    .forEach(e -> System.err.printf("%-22s %8.1f ms%n", e.getKey(), e.getValue() / 1e6));
        }
    }

    /** synthetic:tiny with only its first {@code layers} layers (a valid model for both backends). */
    static Llama cut(Model m, int layers) {
        LlamaConfig c = m.config();
        LlamaWeights w = m.llama().weights();
        LlamaConfig cc = new LlamaConfig(c.dim(), c.hiddenDim(), layers, c.heads(), c.kvHeads(), c.headDim(), c.vocabSize(),
                c.contextLength(), c.rmsEps(), c.rope());
        return new Llama(cc, new LlamaWeights(w.tokenEmbedding(), Arrays.copyOf(w.attnNorm(), layers), Arrays.copyOf(w.wq(), layers),
                Arrays.copyOf(w.wk(), layers), Arrays.copyOf(w.wv(), layers), Arrays.copyOf(w.wo(), layers), Arrays.copyOf(w.ffnNorm(), layers),
                Arrays.copyOf(w.gate(), layers), Arrays.copyOf(w.down(), layers), Arrays.copyOf(w.up(), layers), w.outputNorm(), w.output()));
    }

    /** Three prefill passes (8 + 8 + 3 rows), then decode (the 1-row products) and the device argmax; two layers. */
    @Test
    void f32PrefillAndDecodeMatchTheCpu() throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 42)) {
            parity(cut(m, 2), 19, 2);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "Q8_0"})
    void everyWeightTypeMatchesTheCpu(GgmlType type) throws Exception {
        try (Model m = SyntheticModels.create("tiny", type, 7)) {
            parity(cut(m, 1), 9, 2);
        }
    }

    private static void parity(Llama cpu, int promptLength, int steps) {
        try (CudaBackend gpu = CudaBackend.on(EmulatedDevice.open(), cpu.config(), cpu.weights(), PREFILL_ROWS)) {
            int[] prompt = DeviceCheck.promptOf(promptLength, cpu.config());
            try (Llama.Session a = cpu.newSession(prompt.length + steps + 1, null);
                 CudaSession b = gpu.newSession(prompt.length + steps + 1, null)) {
                float[] la = a.prefill(prompt), lb = b.prefill(prompt).clone();
                for (int s = 0; ; s++) {
                    assertClose(la, lb, "step " + s);
                    int token = FloatKernels.argmax(la, la.length);
                    assertEquals(token, FloatKernels.argmax(lb, lb.length), "greedy token of step " + s);
                    if (s == steps) break;
                    la = a.decode(token);
                    if (s == steps - 1) {
                        assertEquals(FloatKernels.argmax(la, la.length), b.decodeGreedy(token), "the device's argmax");
                        break;
                    }
                    lb = b.decode(token).clone();
                }
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double[] d = DeviceCheck.diff(expected, actual);
        assertTrue(d[0] <= MAX_ABS && d[1] <= MAX_REL_L2, what + ": max abs " + d[0] + ", rel L2 " + d[1]);
    }

    /** Three sequences at different positions stepped in one batch give each its own CPU logits. */
    @Test
    void batchedDecodeMatchesSessionsAlone() throws Exception {
        batchedDecode(false);
    }

    /** The same with decode steps recorded once as graphs and replayed (each step's positions come from device memory). */
    @Test
    void graphReplayedDecodeMatchesTheCpu() throws Exception {
        batchedDecode(true);
    }

    private static void batchedDecode(boolean graphs) throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 42)) {
            Llama cpu = cut(m, 1);
            int n = 3, vocab = cpu.config().vocabSize();
            EmulatedDevice device = EmulatedDevice.open();
            try (CudaBackend gpu = CudaBackend.on(device, cpu.config(), cpu.weights(), PREFILL_ROWS);
                 CudaDecodeBatch batch = gpu.newDecodeBatch(4)) {
                gpu.useGraphs(graphs);
                Llama.Session[] a = new Llama.Session[n];
                CudaSession[] b = new CudaSession[n];
                int[] tokens = new int[n];
                for (int i = 0; i < n; i++) {
                    int[] prompt = DeviceCheck.promptOf(2 + 5 * i, cpu.config());
                    a[i] = cpu.newSession(prompt.length + 4, null);
                    b[i] = gpu.newSession(prompt.length + 4, null);
                    tokens[i] = FloatKernels.argmax(a[i].prefill(prompt), vocab);
                    b[i].prefill(prompt);
                }
                for (int s = 0; s < 3; s++) {
                    float[] lb = batch.step(b, tokens, n);
                    for (int i = 0; i < n; i++) {
                        float[] la = a[i].decode(tokens[i]);
                        assertClose(la, Arrays.copyOfRange(lb, i * vocab, (i + 1) * vocab), "sequence " + i + " step " + s);
                        tokens[i] = FloatKernels.argmax(la, vocab);
                    }
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(a[i].position(), b[i].position());
                    a[i].close();
                    b[i].close();
                }
                if (graphs) {
                    assertEquals(1, device.captures, "one graph for the three steps");
                    assertEquals(3, device.replays);
                }
            }
        }
    }

    /**
     * A session with a host attention step (the interim path for MagicPIG and the baselines): its
     * cache is mirrored to the host and the step's output replaces the device's, here with exact
     * attention as the step, so the logits must be the dense ones, alone and in a batch with a
     * dense session.
     */
    @Test
    void hostAttentionStepSeesTheCacheAndReplacesTheOutput() throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 42)) {
            Llama cpu = cut(m, 1);
            LlamaConfig c = cpu.config();
            int vocab = c.vocabSize();
            int[] calls = new int[1];
            Attention exact = new Attention() {
                @Override
                public void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff) {
                    calls[0]++;
                    float[] scores = new float[pos + 1];
                    for (int h = 0; h < c.heads(); h++) {
                        ExactAttention.attendHead(q, qOff + h * c.headDim(), cache, layer, h / c.groupSize(), pos + 1, out,
                                outOff + h * c.headDim(), scores);
                    }
                }
            };
            int[] prompt = DeviceCheck.promptOf(11, c);
            try (CudaBackend gpu = CudaBackend.on(EmulatedDevice.open(), c, cpu.weights(), PREFILL_ROWS);
                 Llama.Session a = cpu.newSession(16, null);
                 CudaSession hosted = gpu.newSession(16, exact);
                 CudaSession dense = gpu.newSession(16, null);
                 CudaDecodeBatch batch = gpu.newDecodeBatch(2)) {
                int token = FloatKernels.argmax(a.prefill(prompt), vocab);
                hosted.prefill(prompt);
                dense.prefill(prompt);
                float[] la = a.decode(token);
                assertClose(la, hosted.decode(token).clone(), "host attention, alone");
                assertEquals(c.layers(), calls[0], "one host call per layer");
                assertClose(la, dense.decode(token).clone(), "dense, alone");
                float[] lb = batch.step(new CudaSession[] {dense, hosted}, new int[] {token, token}, 2);
                assertClose(Arrays.copyOfRange(lb, 0, vocab), Arrays.copyOfRange(lb, vocab, 2 * vocab), "dense and hosted rows of a batch");
                la = a.decode(token);
                assertClose(la, Arrays.copyOfRange(lb, vocab, 2 * vocab), "host attention in a batch");
                assertEquals(2 * c.layers(), calls[0]);
            }
        }
    }

    /**
     * The MagicPIG seam: attention over the static window (device) merged with partial states of
     * the offloaded tokens (host) equals exact attention over everything; the exact attention
     * split in three and merged equals the CPU's; the query codes equal SimHash computed here.
     */
    @Test
    void sparseStepWindowPlusOffloadedIsExactAttention() {
        LlamaConfig c = new LlamaConfig(256, 256, 1, 4, 2, 32, 256, 4096, 1e-5f, new LlamaConfig.Rope(10000f, false, null));
        int length = 1100, promptLength = 1095, pos = length - 1, sink = 4, local = 64, K = 10, L = 6;
        try (CudaBackend gpu = CudaBackend.synthetic(EmulatedDevice.open(), c, GgmlType.F32, 3, false);
             SparseLayerStep step = new SparseLayerStep(gpu, length, K, L)) {
            step.fillRandom(length, 11);
            float[] keys = step.download(true, length), values = step.download(false, length);
            var host = new ExactOffloadedAttention(c, keys, values, sink, promptLength - local);
            step.step(promptLength, pos, sink, local, host);
            float[] merged = step.output().clone();
            float[] exact = step.exact(pos); // 1100 keys: three splits and a merge
            float[] q = step.query();
            float[] cpu = new float[c.qDim()];
            float[] all = new float[c.heads() * (c.headDim() + 2)];
            new ExactOffloadedAttention(c, keys, values, 0, length).attend(q, null, all);
            for (int h = 0; h < c.heads(); h++) System.arraycopy(all, h * (c.headDim() + 2) + 2, cpu, h * c.headDim(), c.headDim());
            assertClose(cpu, exact, "split exact attention against the CPU");
            assertClose(exact, merged, "window + offloaded against exact attention");
            assertEquals(0.0, DeviceCheck.codeBitErrors(c, q, step.projection(), step.codes(), K, L), 1e-9, "code bits");
        }
    }

    /** fill_weights writes Q8_0 blocks the host reads back as the values it meant, and the model decodes. */
    @Test
    void deviceMadeQ8WeightsHaveTheHostLayout() {
        LlamaConfig c = new LlamaConfig(256, 256, 1, 4, 2, 64, 64, 64, 1e-5f, new LlamaConfig.Rope(10000f, true, null));
        try (CudaBackend gpu = CudaBackend.synthetic(EmulatedDevice.open(), c, GgmlType.Q8_0, 5, false)) {
            DeviceMatrix e = gpu.model.embedding;
            WeightMatrix host = WeightMatrix.of(GgmlType.Q8_0, MemorySegment.ofAddress(e.address()).reinterpret(e.byteSize()), e.rows(), e.cols());
            float scale = (float) Math.sqrt(3.0 / c.dim());
            long seed = 5L * 0x9E3779B97F4A7C15L + 1; // DeviceModel.generate's seed of the first tensor
            float[] row = new float[c.dim()];
            for (int r = 0; r < e.rows(); r += 9) {
                host.dequantizeRow(r, row, 0);
                for (int i = 0; i < c.dim(); i++) {
                    float want = hashedUniform(seed, (long) r * c.dim() + i) * scale;
                    assertEquals(want, row[i], scale / 127 + 1e-6, "row " + r + " value " + i);
                }
            }
            try (CudaSession s = gpu.newSession(8, null)) {
                float[] logits = s.prefill(new int[] {1, 2, 3});
                for (float v : logits) assertTrue(Float.isFinite(v), "finite logits");
            }
            assertTrue(gpu.measureReadBandwidth(1 << 20, 1) > 0, "the bandwidth probe runs");
        }
    }

    /** probe.cu's hashed_uniform. */
    static float hashedUniform(long seed, long i) {
        long z = seed + i * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 40) * 0x1.0p-24f * 2f - 1f;
    }
}
