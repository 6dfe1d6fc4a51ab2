package magicpig.cuda;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import magicpig.model.ComputeBackend;
import magicpig.model.Llama;
import magicpig.model.LlamaConfig;
import magicpig.model.Model;
import magicpig.model.SyntheticModels;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.GgmlType;
import magicpig.tensor.Parallel;

/**
 * The GPU checks of the CUDA backend, in one run (gpu-actors/device-check/run.sh on a machine with
 * a GPU): parity against the CPU, decode throughput against the device's bandwidth roofline, and
 * one MagicPIG sparse layer's step at long context. Prints a markdown table and, last,
 * {@code DEVICE CHECK PASSED} or {@code DEVICE CHECK FAILED: reasons}.
 *
 * <p>Flags: {@code --quick} (no 8B shape), {@code --steps N} (timed decode steps, default 32).
 */
public final class DeviceCheck {
    /** Parity tolerance on logits: max |cuda - cpu| and relative L2 error. */
    static final double MAX_ABS = 1e-2, MAX_REL_L2 = 1e-3;
    /** Parity of a sparse step (window + offloaded merge) against exact attention. */
    static final double MERGE_MAX_ABS = 1e-4;
    /** Decode of the 1B shape must reach this fraction of the read-bandwidth roofline. */
    static final double ROOFLINE_1B = 0.5;

    private final PrintStream out;
    private final List<String> failures = new ArrayList<>();
    private final StringBuilder parity = new StringBuilder("| model | dtype | case | steps | max abs diff | rel L2 | greedy tokens |\n|---|---|---|---|---|---|---|\n");
    private final StringBuilder kernels = new StringBuilder("| kernel | max error / max value | ok |\n|---|---|---|\n");
    private final StringBuilder speed = new StringBuilder("| model | dtype | launches | GB read/token | decode tok/s | GB/s | roofline % | prefill tok/s |\n|---|---|---|---|---|---|---|---|\n");
    private final StringBuilder sparse = new StringBuilder("| context | window keys | device window + codes ms | down ms | host ms | up + merge ms | total ms | merge vs exact max abs | code bits differing |\n|---|---|---|---|---|---|---|---|---|\n");
    double bandwidth;
    /** Prompt of the throughput runs, and the prompt-length step between the sessions of the batch check (smaller in tests). */
    int throughputPrompt = 64, batchPromptStep = 37;
    private String device = "?";

    DeviceCheck(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        boolean quick = Arrays.asList(args).contains("--quick");
        if (Arrays.asList(args).contains("--host-self-test")) {
            hostSelfTest();
            return;
        }
        int steps = 32;
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("--steps")) steps = Integer.parseInt(args[i + 1]);
        DeviceCheck check = new DeviceCheck(System.out);
        int status;
        try {
            status = check.run(quick, steps);
        } catch (Throwable t) {
            t.printStackTrace();
            check.failures.add("crashed: " + CudaProbe.reason(t));
            check.report();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    private int run(boolean quick, int steps) {
        long start = System.nanoTime();
        CudaProbe probe = CudaProbe.get();
        if (!probe.available()) {
            failures.add("no CUDA device: " + probe.reason());
            report();
            return 1;
        }
        log("CPU threads: %d", Parallel.threads());
        section("tiny f32 parity", () -> {
            try (Model tiny = SyntheticModels.create("tiny", GgmlType.F32, 42);
                 CudaBackend gpu = CudaBackend.open(0, tiny.config(), tiny.llama().weights())) {
                device = gpu.description();
                log("device: %s", device);
                checkKernels(gpu);
                bandwidth = gpu.measureReadBandwidth(2L << 30, 10);
                log("read bandwidth: %.0f GB/s", bandwidth / 1e9);
                checkParity("synthetic:tiny", "prompt 600 (split attention)", tiny.llama(), gpu, promptOf(600, tiny.config()), 8);
                checkBatchParity("synthetic:tiny", tiny.llama(), gpu, 3, 6);
            }
        });
        for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0}) {
            section("tiny " + t + " parity", () -> {
                try (Model tiny = SyntheticModels.create("tiny", t, 42);
                     CudaBackend gpu = CudaBackend.open(0, tiny.config(), tiny.llama().weights())) {
                    checkParity("synthetic:tiny", "prompt 40", tiny.llama(), gpu, promptOf(40, tiny.config()), 8);
                }
            });
        }
        log("generating synthetic:llama-3.2-1b f16 on the host (%.0f s so far)", (System.nanoTime() - start) / 1e9);
        section("llama-3.2-1b f16", () -> {
            try (Model m = SyntheticModels.create("llama-3.2-1b", GgmlType.F16, 42);
                 CudaBackend gpu = CudaBackend.open(0, m.config(), m.llama().weights())) {
                checkParity("synthetic:llama-3.2-1b", "prompt 40", m.llama(), gpu, promptOf(40, m.config()), 8);
                throughput("synthetic:llama-3.2-1b", GgmlType.F16, gpu, steps, true);
                batchThroughput("synthetic:llama-3.2-1b", GgmlType.F16, gpu, 8, steps / 2);
            }
        });
        List<String[]> shapes = new ArrayList<>();
        shapes.add(new String[] {"llama-3.2-1b", "Q8_0"});
        if (!quick) {
            shapes.add(new String[] {"llama-3.1-8b", "F16"});
            shapes.add(new String[] {"llama-3.1-8b", "Q8_0"});
        }
        for (String[] s : shapes) {
            GgmlType t = GgmlType.valueOf(s[1]);
            section(s[0] + " " + t + " decode", () -> {
                try (CudaBackend gpu = CudaBackend.synthetic(0, s[0], t, 42)) {
                    throughput("synthetic:" + s[0] + " (weights made on the GPU)", t, gpu, steps, false);
                }
            });
        }
        for (int ctx : new int[] {32 * 1024, 128 * 1024}) section("sparse layer " + ctx / 1024 + "K", () -> sparseLayer(ctx));
        log("done in %.0f s", (System.nanoTime() - start) / 1e9);
        return report();
    }

    private interface Section {
        void run() throws Exception;
    }

    /** Runs one part of the check; a failure is recorded and the next part still runs. */
    private void section(String name, Section body) {
        try {
            body.run();
        } catch (Throwable t) {
            t.printStackTrace();
            failures.add(name + " crashed: " + CudaProbe.reason(t));
        }
    }

    /**
     * The host halves of the check, without a GPU: what build.sh runs with the jlink-ed runtime and
     * the slim jar, so that a class or module missing from them shows here and not in the GPU's
     * minutes.
     */
    static void hostSelfTest() {
        for (GgmlType t : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0}) {
            try (Model m = SyntheticModels.create("tiny", t, 42); Llama.Session s = m.llama().newSession(16, null)) {
                float[] l = s.prefill(promptOf(5, m.config()));
                s.decode(FloatKernels.argmax(l, l.length));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        LlamaConfig c = SyntheticModels.shape("llama-3.1-8b");
        int n = 300;
        float[] keys = new float[n * c.kvDim()], values = new float[n * c.kvDim()], q = new float[c.qDim()];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = r.nextFloat() - 0.5f;
            values[i] = r.nextFloat() - 0.5f;
        }
        float[] partials = new float[c.heads() * (c.headDim() + 2)];
        new ExactOffloadedAttention(c, keys, values, 4, n - 64).attend(q, null, partials);
        codeBitErrors(c, q, new float[c.kvHeads() * c.headDim() * 10 * 4], new short[c.heads() * 4], 10, 4);
        CudaProbe probe = CudaProbe.get();
        System.out.println("host self-test passed (CUDA probe: " + (probe.available() ? probe.devices() + " device(s)" : probe.reason()) + ")");
    }

    /** Every kernel alone against the host (see {@link KernelChecks}): says which one breaks the parity, if any does. */
    void checkKernels(CudaBackend gpu) {
        KernelChecks k = new KernelChecks(gpu);
        k.runAll();
        List<String> bad = new ArrayList<>();
        for (KernelChecks.Result r : k.results) {
            kernels.append(String.format(Locale.ROOT, "| %s | %.1e | %s |%n", r.kernel(), r.error(), r.ok() ? "yes" : "NO"));
            if (!r.ok()) bad.add(r.kernel());
        }
        log("kernels: %d checked, %d wrong", k.results.size(), bad.size());
        if (!bad.isEmpty()) failures.add("kernels wrong: " + String.join(", ", bad));
    }

    static int[] promptOf(int n, LlamaConfig c) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = 3 + (int) ((i * 7919L + 17) % (c.vocabSize() - 3));
        return p;
    }

    /**
     * Prefill then {@code steps} decode steps on both backends, fed the CPU's greedy tokens (so one
     * flip does not derail the rest), comparing the logits of every step.
     */
    void checkParity(String name, String what, Llama cpu, CudaBackend gpu, int[] prompt, int steps) {
        int cap = prompt.length + steps + 1;
        double maxAbs = 0, maxRel = 0;
        int same = 0, nearTies = 0;
        try (Llama.Session a = cpu.newSession(cap, null); CudaSession b = gpu.newSession(cap, null)) {
            float[] la = a.prefill(prompt), lb = b.prefill(prompt);
            for (int s = 0; s <= steps; s++) {
                double[] d = diff(la, lb);
                maxAbs = Math.max(maxAbs, d[0]);
                maxRel = Math.max(maxRel, d[1]);
                int ta = FloatKernels.argmax(la, la.length), tb = FloatKernels.argmax(lb, lb.length);
                if (ta == tb) same++;
                else if (margin(la, ta) < 2 * d[0]) nearTies++;
                if (s == steps) break;
                la = a.decode(ta);
                lb = b.decode(ta);
            }
        }
        int total = steps + 1;
        boolean ok = maxAbs <= MAX_ABS && maxRel <= MAX_REL_L2 && same + nearTies == total;
        parity.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.2e | %.2e | %d/%d%s |%n", name, cpu.weights().wq()[0].type(),
                what, steps, maxAbs, maxRel, same, total, nearTies > 0 ? " (" + nearTies + " near-ties)" : ""));
        log("parity %s %s %s: max abs %.2e, rel L2 %.2e, tokens %d/%d", name, cpu.weights().wq()[0].type(), what, maxAbs, maxRel, same, total);
        if (!ok) failures.add("parity " + name + " " + cpu.weights().wq()[0].type() + " " + what);
    }

    /** Batched decode of n sessions (different prompt lengths) against CPU sessions one by one. */
    void checkBatchParity(String name, Llama cpu, CudaBackend gpu, int n, int steps) {
        Llama.Session[] a = new Llama.Session[n];
        CudaSession[] b = new CudaSession[n];
        int[] tokens = new int[n];
        double maxAbs = 0, maxRel = 0;
        int same = 0, total = 0;
        int vocab = cpu.config().vocabSize();
        try (CudaDecodeBatch batch = gpu.newDecodeBatch(n)) {
            for (int i = 0; i < n; i++) {
                int[] prompt = promptOf(5 + batchPromptStep * i, cpu.config());
                a[i] = cpu.newSession(prompt.length + steps + 1, null);
                b[i] = gpu.newSession(prompt.length + steps + 1, null);
                float[] la = a[i].prefill(prompt);
                b[i].prefill(prompt);
                tokens[i] = FloatKernels.argmax(la, vocab);
            }
            for (int s = 0; s < steps; s++) {
                float[] lb = batch.step(b, tokens, n);
                for (int i = 0; i < n; i++) {
                    float[] la = a[i].decode(tokens[i]);
                    float[] row = Arrays.copyOfRange(lb, i * vocab, (i + 1) * vocab);
                    double[] d = diff(la, row);
                    maxAbs = Math.max(maxAbs, d[0]);
                    maxRel = Math.max(maxRel, d[1]);
                    int ta = FloatKernels.argmax(la, vocab);
                    if (ta == FloatKernels.argmax(row, vocab)) same++;
                    total++;
                    tokens[i] = ta;
                }
            }
        } finally {
            for (int i = 0; i < n; i++) {
                if (a[i] != null) a[i].close();
                if (b[i] != null) b[i].close();
            }
        }
        boolean ok = maxAbs <= MAX_ABS && maxRel <= MAX_REL_L2 && same == total;
        parity.append(String.format(Locale.ROOT, "| %s | %s | batched decode, %d sessions | %d | %.2e | %.2e | %d/%d |%n", name,
                cpu.weights().wq()[0].type(), n, steps, maxAbs, maxRel, same, total));
        log("batch parity %s: max abs %.2e, rel L2 %.2e, tokens %d/%d", name, maxAbs, maxRel, same, total);
        if (!ok) failures.add("batched decode parity " + name);
    }

    /** max |a - b| and ||a - b|| / ||b||. */
    static double[] diff(float[] a, float[] b) {
        double max = 0, num = 0, den = 0;
        for (int i = 0; i < b.length; i++) {
            double d = (double) a[i] - b[i];
            if (Double.isNaN(d)) return new double[] {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
            max = Math.max(max, Math.abs(d));
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return new double[] {max, Math.sqrt(num / Math.max(den, 1e-30))};
    }

    /** How far the best logit is above the second best. */
    static double margin(float[] x, int best) {
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) if (i != best && x[i] > second) second = x[i];
        return x[best] - second;
    }

    /**
     * Greedy decode speed (argmax on the device) after a prompt of {@link #throughputPrompt} tokens, against the roofline,
     * launching kernel by kernel and replaying a CUDA graph per step: both must give the same
     * tokens; the better of the two counts for the 1B gate.
     */
    void throughput(String name, GgmlType type, CudaBackend gpu, int steps, boolean is1bGate) {
        if (bandwidth == 0) {
            device = gpu.description();
            bandwidth = gpu.measureReadBandwidth(2L << 30, 10);
        }
        LlamaConfig c = gpu.config();
        double best = 0;
        int[] reference = null;
        for (boolean graphs : new boolean[] {false, true}) {
            gpu.useGraphs(graphs);
            int[] prompt = promptOf(throughputPrompt, c);
            int[] tokens = new int[steps];
            double prefillRate, rate;
            try (CudaSession s = gpu.newSession(prompt.length + steps + 8, null)) {
                long p0 = System.nanoTime();
                float[] logits = s.prefill(prompt);
                prefillRate = prompt.length * 1e9 / (System.nanoTime() - p0);
                int token = FloatKernels.argmax(logits, logits.length);
                for (int i = 0; i < 4; i++) token = s.decodeGreedy(token); // warm-up (and the graph's capture)
                long t0 = System.nanoTime();
                for (int i = 0; i < steps; i++) tokens[i] = token = s.decodeGreedy(token);
                rate = steps * 1e9 / (System.nanoTime() - t0);
            } finally {
                gpu.useGraphs(false);
            }
            int avgKeys = prompt.length + 4 + steps / 2;
            long bytes = gpu.decodeWeightBytes() + 2L * c.layers() * c.kvDim() * 4 * avgKeys;
            double gbs = bytes * rate / 1e9;
            double fraction = bytes * rate / bandwidth;
            best = Math.max(best, fraction);
            String mode = graphs ? "CUDA graph" : "kernel by kernel";
            speed.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %.1f | %.0f | %.0f%% | %.0f |%n", name, type, mode, bytes / 1e9, rate,
                    gbs, 100 * fraction, prefillRate));
            log("decode %s %s (%s): %.1f tok/s, %.0f GB/s, %.0f%% of the roofline", name, type, mode, rate, gbs, 100 * fraction);
            if (reference == null) {
                reference = tokens;
            } else if (!Arrays.equals(reference, tokens)) {
                failures.add(name + " " + type + ": CUDA graph replay gave other tokens than launching kernel by kernel");
            }
        }
        if (is1bGate && best < ROOFLINE_1B) {
            failures.add(String.format(Locale.ROOT, "1B %s decode at %.0f%% of the bandwidth roofline (needs %.0f%%)", type, 100 * best, 100 * ROOFLINE_1B));
        }
    }

    /** Aggregate decode speed of n sessions stepped together. */
    void batchThroughput(String name, GgmlType type, CudaBackend gpu, int n, int steps) {
        LlamaConfig c = gpu.config();
        CudaSession[] ss = new CudaSession[n];
        int[] tokens = new int[n];
        double rate;
        try (CudaDecodeBatch batch = gpu.newDecodeBatch(n)) {
            for (int i = 0; i < n; i++) {
                ss[i] = gpu.newSession(64 + steps + 8, null);
                float[] l = ss[i].prefill(promptOf(32 + i, c));
                tokens[i] = FloatKernels.argmax(l, l.length);
            }
            batch.step(ss, tokens, n); // warm-up
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) batch.step(ss, tokens, n);
            rate = (double) n * steps * 1e9 / (System.nanoTime() - t0);
        } finally {
            for (CudaSession s : ss) if (s != null) s.close();
        }
        speed.append(String.format(Locale.ROOT, "| %s, batch of %d | %s | kernel by kernel | %.2f | %.1f (all sequences) | - | - | - |%n", name, n,
                type, gpu.decodeWeightBytes() / 1e9, rate));
        log("batched decode %s x%d: %.1f tok/s", name, n, rate);
    }

    /**
     * One MagicPIG sparse layer of the 8B shape at {@code ctx} tokens: window (sink 4, local 64, 8
     * generated) and query codes (K = 10, L = 150) on the GPU; offloaded part on this machine's CPU
     * cores; merged on the GPU. The CPU side here is EXACT attention over the offloaded tokens (an
     * upper bound on what the sampled attention costs), and it also checks the merge: window +
     * offloaded must equal exact attention over everything.
     */
    private void sparseLayer(int ctx) {
        // HOOK(magicpig.attention): when the CPU sampled attention (LSH tables, retrieval, the
        // estimator) is merged, time it here in place of ExactOffloadedAttention, fed the codes this step sends.
        LlamaConfig c = SyntheticModels.shape("llama-3.1-8b");
        int sink = 4, local = 64, generated = 8, K = 10, L = 150;
        int promptLength = ctx, pos = ctx + generated - 1;
        // The backend only lends its device and kernels: one layer of the shape and a small vocabulary.
        LlamaConfig oneLayer = new LlamaConfig(c.dim(), c.hiddenDim(), 1, c.heads(), c.kvHeads(), c.headDim(), 256, c.contextLength(),
                c.rmsEps(), c.rope());
        try (CudaBackend gpu = CudaBackend.synthetic(0, oneLayer, GgmlType.Q8_0, 1, false)) {
            try (SparseLayerStep step = new SparseLayerStep(gpu, pos + 1, K, L)) {
                step.fillRandom(pos + 1, 7);
                float[] keys = step.download(true, pos + 1), values = step.download(false, pos + 1);
                ExactOffloadedAttention host = new ExactOffloadedAttention(c, keys, values, sink, promptLength - local);
                SparseLayerStep.Timing best = null;
                for (int i = 0; i < 5; i++) {
                    SparseLayerStep.Timing t = step.step(promptLength, pos, sink, local, host);
                    if (best == null || t.totalMs() < best.totalMs()) best = t;
                }
                float[] merged = step.output().clone();
                float[] exact = step.exact(pos);
                double maxAbs = diff(merged, exact)[0];
                double bitErr = codeBitErrors(c, step.query(), step.projection(), step.codes(), K, L);
                int window = sink + (pos + 1 - (promptLength - local));
                sparse.append(String.format(Locale.ROOT, "| %dK | %d | %.3f | %.3f | %.2f | %.3f | %.2f | %.1e | %.4f%% |%n", ctx / 1024, window,
                        best.deviceWindowMs(), best.downMs(), best.hostMs(), best.upMergeMs(), best.totalMs(), maxAbs, 100 * bitErr));
                log("sparse layer %dK: total %.2f ms (host %.2f ms), merge vs exact %.1e, code bits differing %.4f%%", ctx / 1024,
                        best.totalMs(), best.hostMs(), maxAbs, 100 * bitErr);
                if (!(maxAbs <= MERGE_MAX_ABS)) failures.add("sparse layer " + ctx / 1024 + "K: window + offloaded differs from exact attention by " + maxAbs);
                if (!(bitErr <= 1e-3)) failures.add("sparse layer " + ctx / 1024 + "K: query codes differ from the host's in " + 100 * bitErr + "% of bits");
            }
        }
    }

    /** Fraction of code bits where the device's codes differ from SimHash computed here in double. */
    static double codeBitErrors(LlamaConfig c, float[] q, float[] proj, short[] codes, int K, int L) {
        int d = c.headDim(), KL = K * L, group = c.groupSize();
        long wrong = 0, total = 0;
        for (int h = 0; h < c.heads(); h++) {
            int base = (h / group) * d * KL;
            for (int t = 0; t < L; t++) {
                for (int j = 0; j < K; j++) {
                    double s = 0;
                    for (int i = 0; i < d; i++) s += (double) q[h * d + i] * proj[base + i * KL + t * K + j];
                    int bit = s > 0 ? 1 : 0;
                    if (((codes[h * L + t] >> j) & 1) != bit) wrong++;
                    total++;
                }
            }
        }
        return (double) wrong / total;
    }

    int report() {
        out.println();
        out.println("## CUDA device check");
        out.println();
        out.println("device: " + device + String.format(Locale.ROOT, ", measured read bandwidth %.0f GB/s; host: %d CPU threads",
                bandwidth / 1e9, Parallel.threads()));
        out.println();
        out.println("### Kernels against the host's math (random data; tolerance 1e-4 of the largest value)");
        out.println();
        out.print(kernels);
        out.println();
        out.println("### Parity against the CPU backend (tolerance: max abs " + MAX_ABS + ", rel L2 " + MAX_REL_L2 + ")");
        out.println();
        out.print(parity);
        out.println();
        out.println("### Decode (greedy, argmax on the device; roofline = bytes read per token x tok/s / measured read bandwidth)");
        out.println();
        out.print(speed);
        out.println();
        out.println("### One sparse layer (llama-3.1-8b shape, K=10, L=150, sink 4, local 64, 8 generated; host side: exact attention over the offloaded tokens on the CPU)");
        out.println();
        out.print(sparse);
        out.println();
        if (failures.isEmpty()) {
            out.println("DEVICE CHECK PASSED");
            return 0;
        }
        out.println("DEVICE CHECK FAILED: " + String.join("; ", failures));
        return 1;
    }

    private void log(String format, Object... args) {
        System.err.println("[device-check] " + String.format(Locale.ROOT, format, args));
    }
}
