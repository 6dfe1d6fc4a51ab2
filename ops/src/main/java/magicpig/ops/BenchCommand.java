package magicpig.ops;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import magicpig.attention.AttentionSettings;
import magicpig.attention.eval.BenchStats;
import magicpig.attention.eval.LineChart;
import magicpig.cuda.ComputeBackends;
import magicpig.cuda.CudaBackend;
import magicpig.model.ComputeBackend;
import magicpig.model.LlamaConfig;
import magicpig.model.Model;
import magicpig.sampling.Sampler;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.MemoryBandwidth;
import magicpig.tensor.Parallel;

/** {@code magicpig bench decode|attention}. */
final class BenchCommand {
    private static final Set<String> DECODE_VALUED = new HashSet<>(ModelFlags.VALUED);

    static {
        DECODE_VALUED.addAll(Set.of("context", "tokens", "bandwidth-mib", "backend", "csv", "png"));
        DECODE_VALUED.addAll(AttentionFlags.VALUED);
    }

    private BenchCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length < 2) throw new UsageException("bench needs a target: decode or attention");
        return switch (args[1]) {
            case "decode" -> decode(args, out, err);
            case "attention" -> attention(args, out, err);
            case "batching" -> BatchBench.run(args, out, err);
            case "metrics" -> MetricsBench.run(args, out, err);
            case "dataplane" -> dataplane(args, out, err);
            default -> throw new UsageException("unknown bench '" + args[1] + "' (expected decode, attention, batching, dataplane or metrics)");
        };
    }

    /**
     * The echo round trips over IPC and UDP ({@link magicpig.transport.DataPlaneBench}, which takes
     * every flag but these), then the data plane's share of a model's decode step
     * ({@link DataPlaneShareBench}: {@code --model --dtype --context --steps --shards --block-tokens},
     * and the echo's {@code --channel --lsh-k --lsh-l}); {@code --steps 0} skips the second part.
     */
    private static int dataplane(String[] args, PrintStream out, PrintStream err) throws Exception {
        java.util.List<String> echo = new java.util.ArrayList<>();
        java.util.Map<String, String> share = new java.util.HashMap<>();
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            String name = a.startsWith("--") ? a.substring(2) : "";
            int eq = name.indexOf('=');
            String value = eq >= 0 ? name.substring(eq + 1) : null;
            if (eq >= 0) name = name.substring(0, eq);
            if (DataPlaneShareBench.VALUED.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) throw new UsageException("--" + name + " needs a value");
                    value = args[++i];
                }
                share.put(name, value);
            } else {
                echo.add(a);
            }
        }
        int code = magicpig.transport.DataPlaneBench.run(echo.toArray(String[]::new), out, err);
        if (code != 0 || echo.contains("--server-only") || echo.contains("--help") || echo.stream().anyMatch(a -> a.startsWith("--connect"))) {
            return code;
        }
        Flags f = Flags.parse(args, 2, new HashSet<>(java.util.List.of("model", "dtype", "context", "steps", "shards", "block-tokens",
                "channel", "lsh-k", "lsh-l", "iterations", "warmup", "window", "heads", "head-dim", "idle", "mtu", "ipc-mtu", "socket-buffer",
                "aeron-dir")), Set.of());
        int steps = f.getInt("steps", 64);
        if (steps == 0) return 0;
        String channel = f.get("channel", "both");
        var o = new DataPlaneShareBench.Options(f.get("model", "synthetic:tiny"), f.get("dtype", "f32"), f.getInt("context", 1024), steps,
                32, f.getInt("shards", 2), f.getInt("block-tokens", 256), f.getInt("lsh-k", 10), f.getInt("lsh-l", 150),
                !channel.equals("udp"), !channel.equals("ipc"));
        return DataPlaneShareBench.run(o, out, err);
    }

    private static int attention(String[] args, PrintStream out, PrintStream err) {
        return magicpig.attention.eval.AttentionBench.run(java.util.Arrays.copyOfRange(args, 2, args.length), out, err);
    }

    static final String DECODE_CSV = "docs/results/bench-decode.csv", DECODE_PNG = "docs/results/bench-decode.png";
    /** Tokens decoded between two bandwidth measurements in bench decode. */
    static final int DECODE_STRETCH = 8;
    /** The most tokens and time bench decode spends warming up the JIT before it measures. */
    static final int WARM_UP_TOKENS = 64;
    static final long WARM_UP_NANOS = 3_000_000_000L;

    /** A session of {@code capacity} tokens with the given attention (the backend's dense one for dense). */
    private static ComputeBackend.InferenceSession session(ComputeBackend backend, AttentionSettings attention, LlamaConfig c, int capacity) {
        return backend.newSession(capacity, attention.mode() == AttentionSettings.Mode.DENSE ? null : attention.factory().create(c));
    }

    /**
     * Prefill and decode speed at several context depths, for each attention of {@code --attention}
     * (a list, default dense; the LSH flags apply to magicpig), against this machine's measured memory
     * bandwidth: dense decode reads every weight once per token, plus the KV cache so far. On the
     * CPU the bandwidth is measured between stretches of decode and each stretch is set against
     * the measurements beside it; the roofline column is the median of those fractions. The rows
     * also go to {@code --csv}, and decode tokens/s against context, one line per attention, to
     * {@code --png}.
     */
    private static int decode(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags f = Flags.parse(args, 2, DECODE_VALUED, Set.of());
        int[] depths = f.getIntList("context", new int[] {0, 512});
        List<String> attentions = List.of(f.get("attention", "dense").split(","));
        Path csv = Path.of(f.get("csv", DECODE_CSV)), png = Path.of(f.get("png", DECODE_PNG));
        int tokens = f.getInt("tokens", 16);
        if (tokens < 1) throw new UsageException("--tokens must be >= 1");
        for (int d : depths) if (d < 0) throw new UsageException("--context depths must be >= 0");
        int maxDepth = Arrays.stream(depths).max().orElse(0);
        String backendMode = ModelFlags.backend(f);
        err.printf(Locale.ROOT, "loading %s...%n", f.require("model"));
        long t0 = System.nanoTime();
        long bandwidthBytes = (long) f.getInt("bandwidth-mib", 1024) << 20;
        try (Model model = ModelFlags.open(f); ComputeBackend backend = ComputeBackends.select(backendMode, model);
             // On the CPU the bandwidth is measured again around every stretch of decode (see below).
             MemoryBandwidth.Probe probe = backend instanceof CudaBackend ? null : new MemoryBandwidth.Probe(bandwidthBytes)) {
            double bandwidth;
            if (backend instanceof CudaBackend gpu) {
                err.printf(Locale.ROOT, "measuring %s read bandwidth...%n", gpu.description());
                bandwidth = gpu.measureReadBandwidth(Math.max(bandwidthBytes, 1L << 30), 5);
            } else {
                err.printf(Locale.ROOT, "measuring memory bandwidth (%d threads)...%n", Parallel.threads());
                bandwidth = probe.measure(5);
            }
            List<Double> bandwidths = new ArrayList<>(List.of(bandwidth));
            err.printf(Locale.ROOT, "read bandwidth: %.1f GB/s%n", bandwidth / 1e9);
            var c = model.config();
            if (maxDepth + tokens + 5 > c.contextLength()) {
                throw new UsageException("context " + maxDepth + " + " + tokens + " tokens exceeds the model's context of " + c.contextLength());
            }
            long weightBytes = model.llama().weights().decodeBytes();
            err.printf(Locale.ROOT, "loaded in %.1f s: %d layers, dim %d, %.2f GB of weights read per token%n",
                    (System.nanoTime() - t0) / 1e9, c.layers(), c.dim(), weightBytes / 1e9);
            List<AttentionSettings> settings = new ArrayList<>();
            for (String a : attentions) settings.add(AttentionFlags.settings(f, c, a.strip()));
            // Warm-up, once per attention, in a session of its own: the JIT compiles the decode path
            // in its first seconds, and on a 2-core machine its compiler threads take cores from
            // decode (Q8_0 1B: 12 tok/s over the first 3 s, 15-16 after). A server runs warm; so do
            // the timed stretches. Bounded by time, so a large model is not held up: WARM_UP_NANOS
            // or WARM_UP_TOKENS, whichever comes first.
            for (AttentionSettings attention : settings) {
                int capacity = Math.min(c.contextLength(), WARM_UP_TOKENS + 2);
                try (ComputeBackend.InferenceSession s = session(backend, attention, c, capacity)) {
                    err.printf(Locale.ROOT, "warming up (%s)...%n", attention.mode().flag());
                    s.prefill(new int[] {3});
                    long w0 = System.nanoTime();
                    for (int i = 1; i < capacity - 1 && System.nanoTime() - w0 < WARM_UP_NANOS; i++) s.decode(3 + i);
                }
            }
            StringBuilder table = new StringBuilder("| attention | context | prefill tok/s | decode tok/s | GB/s | roofline % |\n|---|---|---|---|---|---|\n");
            StringBuilder rows = new StringBuilder("attention,context,prefill_tok_s,decode_tok_s,gb_s,roofline_pct\n");
            List<LineChart.Point> points = new ArrayList<>();
            Sampler sampler = new Sampler(SamplingSettings.GREEDY, c.vocabSize());
            for (int depth : depths) for (AttentionSettings attention : settings) {
                String name = attention.mode().flag();
                boolean dense = attention.mode() == AttentionSettings.Mode.DENSE;
                int[] prompt = new int[Math.max(1, depth)];
                for (int i = 0; i < prompt.length; i++) prompt[i] = 3 + (i * 7919) % (c.vocabSize() - 3);
                try (ComputeBackend.InferenceSession s = session(backend, attention, c, prompt.length + tokens + 5)) {
                    err.printf(Locale.ROOT, "context %d, %s: prefill...%n", depth, name);
                    long p0 = System.nanoTime();
                    float[] logits = s.prefill(prompt);
                    double prefillRate = prompt.length * 1e9 / (System.nanoTime() - p0);
                    int token = sampler.sample(logits);
                    for (int w = 0; w < 4; w++) { // warm-up steps (JIT), not timed
                        logits = s.decode(token);
                        token = sampler.sample(logits);
                    }
                    // bytes read per token: every weight, plus the whole KV cache for dense attention (a
                    // sparse one reads a sample of it, so no roofline is claimed for it)
                    long kvBytes = 2L * c.layers() * c.kvDim() * 4 * (prompt.length + tokens / 2 + 1);
                    // Decode in stretches of DECODE_STRETCH tokens with a bandwidth measurement between
                    // them: each stretch's rate is set against the mean of the measurements on either
                    // side, and the roofline fraction is the median over stretches. A shared host's
                    // bandwidth drifts within seconds, so one measurement before all of decode made
                    // the fraction swing by a factor of two from run to run.
                    List<Double> fractions = new ArrayList<>();
                    double before = probe != null ? probe.measure(2) : bandwidth;
                    if (probe != null) bandwidths.add(before);
                    long decodeNanos = 0;
                    for (int done = 0; done < tokens; ) {
                        int n = Math.min(DECODE_STRETCH, tokens - done);
                        long d0 = System.nanoTime();
                        for (int i = 0; i < n; i++) {
                            logits = s.decode(token);
                            token = sampler.sample(logits);
                        }
                        long dt = System.nanoTime() - d0;
                        decodeNanos += dt;
                        done += n;
                        err.printf(Locale.ROOT, "  decoded %d/%d%n", done, tokens);
                        double after = probe != null ? probe.measure(2) : bandwidth;
                        if (probe != null) bandwidths.add(after);
                        fractions.add((weightBytes + kvBytes) * n / (dt / 1e9) / ((before + after) / 2));
                        before = after;
                    }
                    double decodeRate = tokens / (decodeNanos / 1e9);
                    double gbs = (weightBytes + kvBytes) * decodeRate / 1e9;
                    double fraction = BenchStats.median(fractions);
                    String prefill = depth == 0 ? "-" : String.format(Locale.ROOT, "%.1f", prefillRate);
                    table.append(String.format(Locale.ROOT, "| %s | %d | %s | %.2f | %s | %s |%n", name, depth, prefill, decodeRate,
                            dense ? String.format(Locale.ROOT, "%.1f", gbs) : "-",
                            dense ? String.format(Locale.ROOT, "%.0f%%", 100 * fraction) : "-"));
                    rows.append(String.format(Locale.ROOT, "%s,%d,%s,%.4f,%s,%s%n", name, depth, depth == 0 ? "" : String.format(Locale.ROOT, "%.3f", prefillRate),
                            decodeRate, dense ? String.format(Locale.ROOT, "%.3f", gbs) : "", dense ? String.format(Locale.ROOT, "%.2f", 100 * fraction) : ""));
                    points.add(new LineChart.Point("decode tokens/s, " + model.name() + " (" + model.llama().weights().wq()[0].type() + ")",
                            name, depth, decodeRate));
                }
            }
            out.printf(Locale.ROOT, "model %s (%s) on %s, measured bandwidth %.1f GB/s (median of %d measurements)%n%n", model.name(),
                    model.llama().weights().wq()[0].type(), backend.description(), BenchStats.median(bandwidths) / 1e9, bandwidths.size());
            out.print(table);
            Path dir = csv.toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
            Files.writeString(csv, rows);
            List<String> names = settings.stream().map(a -> a.mode().flag()).distinct().toList();
            LineChart.write(points, names, new LineChart.Axis("context (tokens)", LineChart.Scale.LINEAR, LineChart::tokens),
                    new LineChart.Axis("decode tokens/s", LineChart.Scale.LINEAR, LineChart::plain),
                    tokens + " tokens decoded per point, " + backend.description(), png);
            err.println("bench decode: wrote " + csv + " and " + png);
        }
        return 0;
    }
}
