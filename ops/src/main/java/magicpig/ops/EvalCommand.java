package magicpig.ops;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import magicpig.attention.AttentionSettings;
import magicpig.attention.Budget;
import magicpig.attention.DenseLayers;
import magicpig.attention.eval.AttentionEval;
import magicpig.attention.eval.Workload;
import magicpig.model.Model;
import magicpig.model.ModelLoader;

/**
 * {@code magicpig eval attention}: (a) attention-output error against exact attention at matched
 * fractions of keys touched, on synthetic long-context workloads ({@link AttentionEval}) and on
 * keys and queries captured from the shared real models at their full context; (b) end to end on
 * a real model: NLL per token and greedy agreement with dense attention. Everything lands in
 * {@code --out} (default eval-results): attention.md/.png, model-attention.md/.png, end-to-end.md.
 */
final class EvalCommand {
    /** Flags of the real-model parts; every other flag goes to the synthetic part. */
    private static final List<String> OWN = List.of("models", "sequences", "prompt-tokens", "text-seed", "skip-synthetic");

    private EvalCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length < 2 || !args[1].equals("attention")) throw new UsageException("eval needs a target: attention");
        List<String> synthetic = new ArrayList<>();
        java.util.Map<String, String> own = new java.util.HashMap<>();
        for (int i = 2; i < args.length; i++) {
            String name = args[i].startsWith("--") ? args[i].substring(2) : "";
            if (OWN.contains(name)) {
                if (name.equals("skip-synthetic")) own.put(name, "true");
                else if (i + 1 < args.length) own.put(name, args[++i]);
                else throw new UsageException("--" + name + " needs a value");
            } else {
                synthetic.add(args[i]);
            }
        }
        Path outDir = Path.of(valueOf(synthetic, "--out", "eval-results"));
        if (!own.containsKey("skip-synthetic")) {
            err.println("(a) synthetic workloads...");
            int status = AttentionEval.run(synthetic.toArray(String[]::new), out, err);
            if (status != 0) return status;
        }
        String shared = Path.of("..", "shared", "models").toString();
        String models = own.getOrDefault("models", shared + "/aidreams260K.bin," + shared + "/stories260K.bin");
        List<AttentionEval.Row> rows = new ArrayList<>();
        AttentionSettings base = AttentionSettings.magicPig().withSeed(1).withDenseLayers(DenseLayers.NONE);
        long textSeed = Long.parseLong(own.getOrDefault("text-seed", "7"));
        Model endToEnd = null;
        List<Model> opened = new ArrayList<>();
        try {
            for (String m : models.split(",")) {
                if (!Files.isRegularFile(Path.of(m))) {
                    err.println("eval attention: skipping the real model " + m + " (not found)");
                    continue;
                }
                Model model = ModelLoader.load(m, ModelLoader.Options.DEFAULT);
                opened.add(model);
                err.printf("(a) keys and queries captured from %s at its full context of %d...%n", model.name(), model.config().contextLength());
                List<AttentionEval.Row> perHead = new ArrayList<>();
                for (Workload w : ModelWorkloads.capture(model, textSeed)) {
                    perHead.addAll(AttentionEval.evaluate(w, base, new int[][] {{3, 8}, {4, 16}, {5, 32}, {6, 64}}));
                }
                rows.addAll(meanOverHeads(perHead, model.name().replaceFirst("\\.bin$", "") + "-" + model.config().contextLength()));
                if (model.name().startsWith("stories260K")) endToEnd = model;
            }
            if (!rows.isEmpty()) {
                out.println();
                out.print(AttentionEval.write(rows, base, outDir, "model-attention"));
            }
            if (endToEnd != null) {
                err.println("(b) end to end on " + endToEnd.name() + "...");
                String md = endToEnd(endToEnd, own, textSeed, err);
                Files.createDirectories(outDir);
                Files.writeString(outDir.resolve("end-to-end.md"), md);
                out.println();
                out.print(md);
            }
        } finally {
            for (Model m : opened) m.close();
        }
        return 0;
    }

    private static String endToEnd(Model model, java.util.Map<String, String> own, long seed, PrintStream err) {
        int sequences = Integer.parseInt(own.getOrDefault("sequences", "4"));
        int promptTokens = Integer.parseInt(own.getOrDefault("prompt-tokens", "256"));
        AttentionSettings base = AttentionSettings.defaults().withStatic(4, 64).withDenseLayers(DenseLayers.parse("0"));
        List<AttentionSettings> methods = new ArrayList<>();
        for (int[] kl : new int[][] {{4, 16}, {5, 32}, {6, 64}, {7, 128}}) {
            methods.add(base.withMode(AttentionSettings.Mode.MAGICPIG).withLsh(kl[0], kl[1], 2));
        }
        for (double b : new double[] {0.05, 0.1, 0.2}) {
            for (AttentionSettings.Mode m : List.of(AttentionSettings.Mode.TOPK, AttentionSettings.Mode.QUEST, AttentionSettings.Mode.ORACLE_SAMPLING)) {
                methods.add(base.withMode(m).withBudget(Budget.fraction(b)));
            }
        }
        var rows = EndToEndEval.run(model, sequences, promptTokens, seed, methods, err);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream table = new PrintStream(buf, true, StandardCharsets.UTF_8);
        table.printf("End to end on %s: %d texts of its own, %d prompt tokens prefilled exactly, the rest decoded per method%n%n",
                model.name(), sequences, promptTokens);
        EndToEndEval.print(rows, model.name(), table);
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** One row per (method, operating point): the mean over every (layer, kv head) workload of a model. */
    private static List<AttentionEval.Row> meanOverHeads(List<AttentionEval.Row> rows, String workload) {
        java.util.Map<String, double[]> sums = new java.util.LinkedHashMap<>();
        java.util.Map<String, AttentionEval.Row> first = new java.util.LinkedHashMap<>();
        for (AttentionEval.Row r : rows) {
            String key = r.method() + "|" + r.point();
            double[] acc = sums.computeIfAbsent(key, k -> new double[3]);
            acc[0] += r.touched();
            acc[1] += r.error();
            acc[2]++;
            first.putIfAbsent(key, r);
        }
        List<AttentionEval.Row> out = new ArrayList<>();
        for (var e : sums.entrySet()) {
            AttentionEval.Row r = first.get(e.getKey());
            double[] a = e.getValue();
            out.add(new AttentionEval.Row(workload, r.method(), r.point(), a[0] / a[2], a[1] / a[2]));
        }
        return out;
    }

    private static String valueOf(List<String> args, String flag, String def) {
        for (int i = 0; i < args.size() - 1; i++) if (args.get(i).equals(flag)) return args.get(i + 1);
        for (String a : args) if (a.startsWith(flag + "=")) return a.substring(flag.length() + 1);
        return def;
    }
}
