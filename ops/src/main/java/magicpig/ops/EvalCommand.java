package magicpig.ops;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import magicpig.attention.AttentionSettings;
import magicpig.attention.Budget;
import magicpig.attention.DenseLayers;
import magicpig.model.Model;
import magicpig.model.ModelLoader;

/**
 * {@code magicpig eval attention}: (b) end to end on a real model — NLL per token and greedy
 * agreement with dense attention, per method — written to {@code OUT/end-to-end.md}.
 */
final class EvalCommand {
    private EvalCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length < 2 || !args[1].equals("attention")) throw new UsageException("eval needs a target: attention");
        Flags f = Flags.parse(args, 2, Set.of("out", "model", "tokenizer", "sequences", "prompt-tokens", "seed"), Set.of());
        Path outDir = Path.of(f.get("out", "eval-results"));
        String modelPath = f.get("model", Path.of("..", "shared", "models", "stories260K.bin").toString());
        int sequences = f.getInt("sequences", 4), promptTokens = f.getInt("prompt-tokens", 256);
        long seed = f.getLong("seed", 7);
        Files.createDirectories(outDir);
        try (Model model = ModelLoader.load(modelPath, ModelLoader.Options.DEFAULT)) {
            int layers = model.config().layers();
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
            err.printf("end to end on %s (%d layers, context %d): %d texts, %d prompt tokens prefilled exactly, the rest decoded per method%n",
                    model.name(), layers, model.config().contextLength(), sequences, promptTokens);
            var rows = EndToEndEval.run(model, sequences, promptTokens, seed, methods, err);
            var buf = new java.io.ByteArrayOutputStream();
            PrintStream table = new PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8);
            EndToEndEval.print(rows, model.name(), table);
            String md = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
            Files.writeString(outDir.resolve("end-to-end.md"), md);
            out.print(md);
        }
        return 0;
    }
}
