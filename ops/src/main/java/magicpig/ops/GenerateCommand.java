package magicpig.ops;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import magicpig.cuda.ComputeBackends;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.Generation;
import magicpig.model.Model;
import magicpig.sampling.SamplingSettings;
import magicpig.tokenizer.Tokenizer;
import magicpig.tokenizer.Utf8Stream;

/**
 * {@code magicpig generate}: one prompt, one continuation. Standard output carries the generated
 * text only (or the token ids with --ids), flushed token by token; statistics go to standard error.
 */
final class GenerateCommand {
    private static final Set<String> VALUED = new HashSet<>(ModelFlags.VALUED);
    private static final Set<String> BOOLEANS = Set.of("ids", "quiet");

    static {
        VALUED.addAll(Set.of("prompt", "prompt-ids", "max-tokens", "temperature", "top-p", "top-k", "min-p", "seed"));
        VALUED.addAll(AttentionFlags.VALUED);
        VALUED.add("backend");
    }

    private GenerateCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags f = Flags.parse(args, 1, VALUED, BOOLEANS);
        if (!f.positional().isEmpty()) throw new UsageException("unexpected argument '" + f.positional().get(0) + "'");
        SamplingSettings sampling;
        try {
            sampling = new SamplingSettings(f.getFloat("temperature", 1.0f), f.getInt("top-k", 0), f.getFloat("top-p", 1.0f),
                    f.getFloat("min-p", 0f), f.getLong("seed", System.nanoTime()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int maxTokens = f.getInt("max-tokens", 256);
        if (maxTokens < 0) throw new UsageException("--max-tokens must be >= 0, got " + maxTokens);
        if (f.has("prompt") && f.has("prompt-ids")) throw new UsageException("give --prompt or --prompt-ids, not both");
        boolean ids = f.has("ids");
        String backendMode = ModelFlags.backend(f);
        try (Model model = ModelFlags.open(f); ComputeBackend backend = ComputeBackends.select(backendMode, model)) {
            Attention.Factory attention = AttentionFlags.factory(f, model.config());
            Tokenizer tok = model.tokenizer();
            int[] prompt = f.has("prompt-ids") ? promptIds(f.get("prompt-ids", ""), model) : model.encode(f.get("prompt", ""));
            Generation.checkPromptFits(model, prompt.length);
            Printer printer = new Printer(out, tok, ids, prompt[prompt.length - 1]);
            // --max-tokens counts decode steps after the prompt, as llama2.c's -n does (-n 100 = BOS + 99
            // steps); the first token comes from the prompt's own forward pass, so up to N + 1 are printed.
            Generation.Result r = Generation.run(backend, model, prompt, maxTokens + 1, sampling, attention, printer);
            printer.finish();
            if (!f.has("quiet")) {
                err.printf(Locale.ROOT, "prompt tokens: %d, generated: %d (%s), prefill: %.1f tok/s, decode: %.2f tok/s%n",
                        r.promptTokens(), r.tokens().length, r.finishReason(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond());
            }
        }
        return 0;
    }

    private static int[] promptIds(String list, Model model) {
        String[] parts = list.trim().split("[,\\s]+");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new UsageException("--prompt-ids needs token ids separated by commas, got '" + list + "'");
            }
            if (out[i] < 0 || out[i] >= model.config().vocabSize()) {
                throw new UsageException("--prompt-ids: token id " + out[i] + " is outside the vocabulary [0, " + model.config().vocabSize() + ")");
            }
        }
        return out;
    }

    /** Streams tokens to standard output as they come. */
    private static final class Printer implements Generation.TokenSink {
        private final PrintStream out;
        private final Tokenizer tok;
        private final boolean ids;
        private final Utf8Stream utf8 = new Utf8Stream();
        private int previous;
        private boolean first = true;

        Printer(PrintStream out, Tokenizer tok, boolean ids, int lastPromptToken) {
            this.out = out;
            this.tok = tok;
            this.ids = ids;
            this.previous = lastPromptToken;
        }

        @Override
        public boolean accept(int token) {
            if (ids) {
                out.print(first ? Integer.toString(token) : " " + token);
            } else {
                byte[] bytes = tok.tokenBytes(token);
                // As llama2.c's run.c and llama.cpp do: the first piece after BOS loses its leading space.
                if (previous == tok.bosId() && bytes.length > 0 && bytes[0] == ' ') bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
                out.print(utf8.push(bytes));
            }
            out.flush();
            first = false;
            previous = token;
            return true;
        }

        void finish() {
            if (!ids) out.print(utf8.flush());
            out.println();
            out.flush();
        }
    }
}
