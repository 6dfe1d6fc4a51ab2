package magicpig.attention.eval;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import magicpig.attention.AttentionSettings;
import magicpig.attention.Budget;
import magicpig.attention.DenseAttention;
import magicpig.attention.DenseLayers;
import magicpig.attention.Flags;
import magicpig.attention.SparseAttention;
import magicpig.model.Attention;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;

/**
 * {@code magicpig eval attention}: how far each method's attention output is from exact attention,
 * at matched fractions of keys touched.
 *
 * <p>For each workload (a regime at a context length), every query attends through the real
 * {@link Attention} implementations over a one-layer cache: MagicPIG at a sweep of (K, L), which
 * sets the fractions (the sampled keys plus the static set, measured), then TopK, Quest and oracle
 * sampling with their budget set so they touch the same fraction (same static set, budget on the
 * offloaded keys). Reports the mean over queries of {@code |o - o_exact| / |o_exact|}. Writes a
 * markdown table to stdout and {@code DIR/attention.md} and a plot to {@code DIR/attention.png}.
 *
 * <pre>
 * magicpig eval attention [--out eval-results] [--contexts 4096,16384,65536,131072] [--seed 1]
 *                         [--workloads needle,flat] [--queries 16] [--head-dim 128]
 *                         [--sweep 6x40,8x75,10x150,12x300] [--lsh-k K --lsh-l L] [--lsh-threshold 2]
 *                         [--sink 4 --local 64]
 * </pre>
 * Giving --lsh-k or --lsh-l evaluates that one (K, L) instead of the sweep. A workload captured
 * from a real model is any {@link Workload}; {@link #evaluate} takes one.
 */
public final class AttentionEval {
    /** Methods in table order. */
    public static final List<String> METHODS = List.of("magicpig", "topk", "quest", "oracle-sampling");
    /** (K, L) points of MagicPIG: about 15%, 5%, 2% and 1% of keys on the synthetic workloads. */
    public static final String DEFAULT_SWEEP = "6x40,8x75,10x150,12x300";

    private AttentionEval() {}

    /** One row: a method on a workload at one operating point. */
    public record Row(String workload, String method, String point, double touched, double error) {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Path dir;
        int[] contexts;
        int queries, headDim;
        List<SyntheticWorkload.Regime> regimes = new ArrayList<>();
        int[][] sweep;
        AttentionSettings settings;
        try {
            Map<String, String> flags = Flags.parse(args);
            dir = Path.of(flags.getOrDefault("out", "eval-results"));
            flags.remove("out");
            contexts = Flags.takeInts(flags, "contexts", Flags.takeInts(flags, "context", new int[]{4096, 16384, 65536, 131072}));
            queries = Flags.takeInt(flags, "queries", 16);
            headDim = Flags.takeInt(flags, "head-dim", 128);
            String w = flags.remove("workloads");
            for (String s : (w == null ? "needle,flat" : w).split(",")) {
                try {
                    regimes.add(SyntheticWorkload.Regime.valueOf(s.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--workloads: expected needle and/or flat, got '" + s + "'");
                }
            }
            boolean explicit = flags.containsKey("lsh-k") || flags.containsKey("lsh-l");
            String sw = flags.remove("sweep");
            settings = AttentionSettings.magicPig().withSeed(1).withDenseLayers(DenseLayers.NONE).consume(flags);
            if (explicit) {
                sweep = new int[][]{{settings.lshK(), settings.lshL()}};
            } else {
                sweep = parseSweep(sw == null ? DEFAULT_SWEEP : sw);
            }
            Flags.requireEmpty(flags);
            for (int[] kl : sweep) settings.withLsh(kl[0], kl[1], Math.min(settings.lshThreshold(), kl[1])); // validates
            if (queries < 1) throw new IllegalArgumentException("--queries must be at least 1");
            for (int n : contexts) if (n < 1024) throw new IllegalArgumentException("--contexts: each context must be at least 1024 tokens, got " + n);
        } catch (IllegalArgumentException e) {
            err.println("eval attention: " + e.getMessage());
            return 2;
        }
        List<Row> rows = new ArrayList<>();
        for (SyntheticWorkload.Regime regime : regimes) {
            for (int n : contexts) {
                SyntheticWorkload w = new SyntheticWorkload(regime, n, headDim, queries, settings.seed());
                long t0 = System.nanoTime();
                List<Row> r = evaluate(w, settings, sweep);
                err.printf(Locale.ROOT, "  %s: %d rows in %.1f s%n", w.name(), r.size(), (System.nanoTime() - t0) / 1e9);
                rows.addAll(r);
            }
        }
        try {
            out.print(write(rows, settings, dir, "attention"));
            err.println("eval attention: wrote " + dir.resolve("attention.md") + " and " + dir.resolve("attention.png"));
        } catch (IOException e) {
            err.println("eval attention: cannot write results to " + dir + ": " + e.getMessage());
            return 1;
        }
        return 0;
    }

    static int[][] parseSweep(String s) {
        String[] parts = s.split(",");
        int[][] r = new int[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            String[] kl = parts[i].trim().toLowerCase(Locale.ROOT).split("x");
            try {
                r[i] = new int[]{Integer.parseInt(kl[0].trim()), Integer.parseInt(kl[1].trim())};
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--sweep: expected KxL pairs like 8x75,10x150, got '" + s + "'");
            }
        }
        return r;
    }

    /**
     * Evaluates every method on one workload: MagicPIG at each (K, L) of the sweep, and each
     * baseline at the fraction of keys each MagicPIG point touched.
     */
    public static List<Row> evaluate(Workload w, AttentionSettings base, int[][] sweep) {
        int n = w.size(), d = w.headDim(), queries = w.queries();
        LlamaConfig config = WorkloadCache.config(queries, 1, d, n);
        List<Row> rows = new ArrayList<>();
        try (KvCache cache = new KvCache(config, n)) {
            WorkloadCache.write(cache, 0, w);
            float[] q = new float[queries * d];
            for (int j = 0; j < queries; j++) w.query(j, q, j * d);
            int pos = n - 1;
            float[] exact = new float[queries * d];
            new DenseAttention(config).decode(0, q, 0, cache, pos, exact, 0);
            AttentionSettings s = base.withDenseLayers(DenseLayers.NONE);
            for (int[] kl : sweep) {
                AttentionSettings mp = s.withMode(AttentionSettings.Mode.MAGICPIG).withLsh(kl[0], kl[1], Math.min(s.lshThreshold(), kl[1]));
                double[] m = measure(mp, config, cache, q, exact, pos);
                String point = "K=" + kl[0] + " L=" + kl[1];
                rows.add(new Row(w.name(), "magicpig", point, m[0], m[1]));
                int statics = Math.min(n, s.sink() + s.local() + 1);
                int offloaded = Math.max(1, pos - Math.min(s.sink(), pos) - Math.min(s.local(), pos - Math.min(s.sink(), pos)));
                int budget = (int) Math.max(1, Math.min(offloaded, Math.round(m[0] * n) - statics));
                for (AttentionSettings.Mode mode : new AttentionSettings.Mode[]{AttentionSettings.Mode.TOPK, AttentionSettings.Mode.QUEST, AttentionSettings.Mode.ORACLE_SAMPLING}) {
                    double[] b = measure(s.withMode(mode).withBudget(Budget.count(budget)), config, cache, q, exact, pos);
                    rows.add(new Row(w.name(), mode.flag(), "at " + point, b[0], b[1]));
                }
            }
        }
        return rows;
    }

    /** Mean fraction of keys touched and mean relative error over the query heads of one decode step. */
    private static double[] measure(AttentionSettings s, LlamaConfig config, KvCache cache, float[] q, float[] exact, int pos) {
        int heads = config.heads(), d = config.headDim();
        float[] out = new float[heads * d];
        try (Attention a = s.factory().create(config)) {
            a.prefilled(cache, pos);
            a.decode(0, q, 0, cache, pos, out, 0);
            SparseAttention<?> sa = (SparseAttention<?>) a;
            double touched = 0, error = 0;
            for (int h = 0; h < heads; h++) {
                touched += sa.attendedKeys(h) / (double) (pos + 1);
                double num = 0, den = 0;
                for (int i = 0; i < d; i++) {
                    double diff = out[h * d + i] - exact[h * d + i];
                    num += diff * diff;
                    den += exact[h * d + i] * (double) exact[h * d + i];
                }
                error += Math.sqrt(num / den);
            }
            return new double[]{touched / heads, error / heads};
        }
    }

    /** Writes DIR/NAME.md (the table, also returned) and DIR/NAME.png (the plot) for rows. */
    public static String write(List<Row> rows, AttentionSettings settings, Path dir, String name) throws IOException {
        String table = table(rows, settings);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(name + ".md"), table);
        List<LineChart.Point> pts = rows.stream().map(r -> new LineChart.Point(r.workload(), r.method(), 100 * r.touched(), r.error())).toList();
        LineChart.write(pts, METHODS, new LineChart.Axis("keys touched (% of context, log scale)", LineChart.Scale.LOG10, v -> LineChart.plain(v) + "%"),
                new LineChart.Axis("relative L2 error", LineChart.Scale.LINEAR, LineChart::plain), dir.resolve(name + ".png"));
        return table;
    }

    static String table(List<Row> rows, AttentionSettings s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Attention output error vs exact (mean over query heads), T=%d, sink=%d, local=%d, LSH seed %d%n%n",
                s.lshThreshold(), s.sink(), s.local(), s.seed()));
        b.append("| workload | method | keys touched % | relative error |\n");
        b.append("|---|---|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %s (%s) | %.2f | %.4f |%n", r.workload(), r.method(), r.point(), 100 * r.touched(), r.error()));
        }
        return b.toString();
    }
}
