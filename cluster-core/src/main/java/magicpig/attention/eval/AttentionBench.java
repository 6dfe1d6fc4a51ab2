package magicpig.attention.eval;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import magicpig.attention.AllocationMeter;
import magicpig.attention.AttentionSettings;
import magicpig.attention.DenseAttention;
import magicpig.attention.DenseLayers;
import magicpig.attention.Flags;
import magicpig.attention.MagicPigAttention;
import magicpig.attention.SplitMix64;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.tensor.Parallel;

/**
 * {@code magicpig bench attention}: the time of one decode step of one layer, dense against
 * MagicPIG (query codes, retrieval, sampled attention and the static part), on the same threads,
 * over structured synthetic keys (even kv heads in the flat regime, odd ones in the needle regime)
 * so the sampled fraction is a realistic one. Also reports the sampled fraction, KV and LSH-table
 * bytes per token, and the heap bytes a MagicPIG step allocates (should be 0). Steps alternate
 * between the two methods; the table gives medians of wall time, and the ratio of CPU time of the
 * compute threads, which a machine shared with other work does not distort. The rows also go to a
 * CSV file, and a chart of decode steps per second (one layer's attention) and step time against
 * context, dense against MagicPIG, to a PNG.
 *
 * <pre>
 * magicpig bench attention --context 4096,16384,65536,131072 --heads 32 --kv-heads 8 --head-dim 128
 *                          [--lsh-k 10 --lsh-l 150 --lsh-threshold 2 --sink 4 --local 64]
 *                          [--steps 30 --warmup-seconds 3 --warmup-steps 1500 --alloc-steps 300 --data-seed 1]
 *                          [--csv docs/results/bench-attention.csv --png docs/results/bench-attention.png]
 * </pre>
 */
public final class AttentionBench {
    public static final String DEFAULT_CSV = "docs/results/bench-attention.csv", DEFAULT_PNG = "docs/results/bench-attention.png";

    private AttentionBench() {}

    /** One context's medians: wall ms and CPU ms per step of each method, and what MagicPIG touched and allocated. */
    record Result(int context, double denseMs, double magicPigMs, double denseCpuMs, double magicPigCpuMs, double sampled,
                  double tableBytesPerToken, double kvBytesPerToken, double allocBytesPerStep, long gcs) {
        String row() {
            return String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.1fx | %.2f | %.0f | %.1fx | %.0f | %.0f | %d |",
                    LineChart.tokens(context), denseMs, magicPigMs, denseMs / magicPigMs, 100 * sampled, tableBytesPerToken,
                    denseCpuMs / magicPigCpuMs, kvBytesPerToken, allocBytesPerStep, gcs);
        }

        String csv() {
            return String.format(Locale.ROOT, "%d,%.4f,%.4f,%.4f,%.4f,%.2f,%.3f,%.5f,%.1f,%.0f,%.1f,%d", context, denseMs, magicPigMs,
                    1000 / denseMs, 1000 / magicPigMs, denseMs / magicPigMs, denseCpuMs / magicPigCpuMs, sampled, tableBytesPerToken,
                    kvBytesPerToken, allocBytesPerStep, gcs);
        }
    }

    static final String CSV_HEADER = "context,dense_ms,magicpig_ms,dense_steps_per_s,magicpig_steps_per_s,speedup,cpu_time_speedup,"
            + "sampled_fraction,table_bytes_per_token,kv_bytes_per_token,alloc_bytes_per_step,gcs";

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> flags;
        int[] contexts;
        int heads, kvHeads, headDim, steps, allocSteps, warmupSteps;
        double warmup;
        long seed;
        AttentionSettings settings;
        Path csv, png;
        try {
            flags = Flags.parse(args);
            contexts = Flags.takeInts(flags, "context", Flags.takeInts(flags, "contexts", new int[]{4096, 16384, 65536, 131072}));
            heads = Flags.takeInt(flags, "heads", 32);
            kvHeads = Flags.takeInt(flags, "kv-heads", 8);
            headDim = Flags.takeInt(flags, "head-dim", 128);
            steps = Flags.takeInt(flags, "steps", 30);
            allocSteps = Flags.takeInt(flags, "alloc-steps", 300);
            warmupSteps = Flags.takeInt(flags, "warmup-steps", 1500);
            String ws = flags.remove("warmup-seconds");
            warmup = ws == null ? 3 : Double.parseDouble(ws);
            seed = Flags.takeLong(flags, "data-seed", 1);
            String c = flags.remove("csv"), p = flags.remove("png");
            csv = Path.of(c == null ? DEFAULT_CSV : c);
            png = Path.of(p == null ? DEFAULT_PNG : p);
            settings = AttentionSettings.magicPig().withDenseLayers(DenseLayers.NONE).consume(flags).withMode(AttentionSettings.Mode.MAGICPIG);
            Flags.requireEmpty(flags);
            if (heads % kvHeads != 0) throw new IllegalArgumentException("--heads must be a multiple of --kv-heads");
            if (steps < 1 || warmup < 0) throw new IllegalArgumentException("--steps must be >= 1 and --warmup-seconds >= 0");
        } catch (IllegalArgumentException e) {
            err.println("bench attention: " + e.getMessage());
            return 2;
        }
        err.printf(Locale.ROOT, "bench attention: %d heads, %d kv heads, head dim %d, %s, %d threads, warmup %.0f s per method and %d magicpig steps, %d timed steps%n",
                heads, kvHeads, headDim, settings.describe(), Parallel.threads(), warmup, warmupSteps, steps);
        List<Result> rows = new ArrayList<>();
        for (int n : contexts) {
            rows.add(benchContext(n, heads, kvHeads, headDim, steps, allocSteps, warmup, warmupSteps, seed, settings, err));
        }
        String title = String.format(Locale.ROOT, "Decode step of one layer, %d query heads / %d kv heads x %d dims, K=%d L=%d T=%d, sink=%d local=%d, %d threads",
                heads, kvHeads, headDim, settings.lshK(), settings.lshL(), settings.lshThreshold(), settings.sink(), settings.local(), Parallel.threads());
        out.println();
        out.printf(Locale.ROOT, "%s%n%n", title);
        out.println("| context | dense ms | magicpig ms | speedup | sampled % | table bytes/token | cpu-time speedup | KV bytes/token | alloc bytes/step | GCs |");
        out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Result r : rows) out.println(r.row());
        try {
            write(rows, String.format(Locale.ROOT, "%d q / %d kv heads x %d, K=%d L=%d, %d threads", heads, kvHeads, headDim,
                    settings.lshK(), settings.lshL(), Parallel.threads()), csv, png);
        } catch (IOException e) {
            err.println("bench attention: cannot write " + csv + " or " + png + ": " + e.getMessage());
            return 1;
        }
        err.println("bench attention: wrote " + csv + " and " + png);
        return 0;
    }

    /** The rows as CSV, and the chart: decode steps per second of one layer's attention, and step time, against context. */
    static void write(List<Result> rows, String setup, Path csv, Path png) throws IOException {
        StringBuilder b = new StringBuilder(CSV_HEADER).append('\n');
        for (Result r : rows) b.append(r.csv()).append('\n');
        Path dir = csv.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Files.writeString(csv, b);
        List<LineChart.Point> points = new ArrayList<>();
        String rate = "decode tokens/s, one layer's attention", time = "decode step of one layer (ms)";
        for (Result r : rows) {
            points.add(new LineChart.Point(rate, "dense", r.context(), 1000 / r.denseMs()));
            points.add(new LineChart.Point(rate, "magicpig", r.context(), 1000 / r.magicPigMs()));
        }
        for (Result r : rows) {
            points.add(new LineChart.Point(time, "dense", r.context(), r.denseMs()));
            points.add(new LineChart.Point(time, "magicpig", r.context(), r.magicPigMs()));
        }
        LineChart.write(points, List.of("dense", "magicpig"), new LineChart.Axis("context (tokens, log scale)", LineChart.Scale.LOG2, LineChart::tokens),
                new LineChart.Axis("log scale", LineChart.Scale.LOG10, LineChart::plain), setup, png);
    }

    private static Result benchContext(int n, int heads, int kvHeads, int d, int steps, int allocSteps, double warmup, int warmupSteps, long seed,
                                       AttentionSettings settings, PrintStream err) {
        int group = heads / kvHeads;
        LlamaConfig config = WorkloadCache.config(heads, kvHeads, d, n);
        try (KvCache cache = new KvCache(config, n)) {
            long t0 = System.nanoTime();
            SyntheticWorkload[] w = new SyntheticWorkload[kvHeads];
            for (int kv = 0; kv < kvHeads; kv++) {
                SyntheticWorkload.Regime regime = kv % 2 == 0 ? SyntheticWorkload.Regime.FLAT : SyntheticWorkload.Regime.NEEDLE;
                w[kv] = new SyntheticWorkload(regime, n, d, group, seed * 1000 + kv);
                WorkloadCache.write(cache, kv, w[kv]);
            }
            err.printf(Locale.ROOT, "  %,d tokens: keys and values written in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
            // query sets: the workloads' queries, perturbed per set
            int sets = 8;
            float[][] q = new float[sets][heads * d];
            SplitMix64 r = new SplitMix64(seed);
            for (int s = 0; s < sets; s++) {
                for (int h = 0; h < heads; h++) {
                    w[h / group].query(h % group, q[s], h * d);
                    for (int c = 0; c < d; c++) q[s][h * d + c] += (float) (0.2 * r.nextGaussian());
                }
            }
            int pos = n - 1;
            float[] out = new float[heads * d];
            DenseAttention dense = new DenseAttention(config);
            try (MagicPigAttention mp = new MagicPigAttention(config, settings)) {
                t0 = System.nanoTime();
                mp.prefilled(cache, pos);
                double buildS = (System.nanoTime() - t0) / 1e9;
                err.printf(Locale.ROOT, "  %,d tokens: LSH tables built in %.1f s%n", n, buildS);
                // warm up: C2 must have compiled the vector kernels (until then the Vector API boxes
                // and is slow): at least `warmup` seconds per method, 5 dense steps and
                // `warmupSteps` MagicPIG steps (its kernels are many small calls per step)
                warm(() -> dense.decode(0, q[0], 0, cache, pos, out, 0), warmup, 5);
                int[] step = {0};
                warm(() -> mp.decode(0, q[step[0]++ % sets], 0, cache, pos, out, 0), warmup, warmupSteps);
                double[] denseMs = new double[steps], mpMs = new double[steps], denseCpu = new double[steps], mpCpu = new double[steps];
                long[] ids = AllocationMeter.computeThreads();
                long allocated = 0;
                long gcBefore = AllocationMeter.gcCount();
                double sampled = 0;
                int offloaded = pos - Math.min(settings.sink(), pos) - Math.min(settings.local(), pos - Math.min(settings.sink(), pos));
                int statics = pos - offloaded + 1;
                for (int i = 0; i < steps; i++) {
                    float[] qs = q[i % sets];
                    long c0 = AllocationMeter.cpuNanos(ids);
                    long a = System.nanoTime();
                    dense.decode(0, qs, 0, cache, pos, out, 0);
                    long b = System.nanoTime();
                    long c1 = AllocationMeter.cpuNanos(ids);
                    long c2 = AllocationMeter.cpuNanos(ids);
                    long c = System.nanoTime();
                    mp.decode(0, qs, 0, cache, pos, out, 0);
                    long e = System.nanoTime();
                    long c3 = AllocationMeter.cpuNanos(ids);
                    denseMs[i] = (b - a) / 1e6;
                    mpMs[i] = (e - c) / 1e6;
                    denseCpu[i] = (c1 - c0) / 1e6;
                    mpCpu[i] = (c3 - c2) / 1e6;
                    for (int h = 0; h < heads; h++) sampled += (mp.attendedKeys(h) - statics) / (double) offloaded;
                }
                // allocation, measured apart from timing: heap bytes of the compute threads over more
                // MagicPIG steps (retrieval, sampled attention, static part), and collections
                for (int i = 0; i < allocSteps; i++) {
                    long alloc0 = AllocationMeter.allocated(ids);
                    mp.decode(0, q[i % sets], 0, cache, pos, out, 0);
                    allocated += AllocationMeter.allocated(ids) - alloc0;
                }
                long gcs = AllocationMeter.gcCount() - gcBefore;
                double dMs = BenchStats.median(denseMs), mMs = BenchStats.median(mpMs), dCpu = BenchStats.median(denseCpu), mCpu = BenchStats.median(mpCpu);
                double frac = sampled / steps / heads;
                double tableBytes = mp.indexBytes() / (double) offloaded;
                double kvBytes = 2.0 * kvHeads * d * Float.BYTES;
                err.printf(Locale.ROOT, "  %,d tokens: dense %.2f ms, magicpig %.2f ms (%.1fx); cpu time dense %.2f ms, magicpig %.2f ms (%.1fx); sampled %.2f%%; %d bytes allocated in %d magicpig steps, %d GCs%n",
                        n, dMs, mMs, dMs / mMs, dCpu, mCpu, dCpu / mCpu, 100 * frac, allocated, allocSteps, gcs);
                return new Result(n, dMs, mMs, dCpu, mCpu, frac, tableBytes, kvBytes, allocated / (double) Math.max(1, allocSteps), gcs);
            }
        }
    }

    private static void warm(Runnable step, double seconds, int minSteps) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int i = 0; i < minSteps || System.nanoTime() < end; i++) step.run();
    }

}
