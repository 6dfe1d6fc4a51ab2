package magicpig.ops;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import magicpig.attention.AttentionSettings;
import magicpig.attention.SparseAttention;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.model.Model;
import magicpig.sampling.Sampler;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.FloatKernels;

/**
 * Part (b) of {@code eval attention}: end to end on a real model. The model writes its own test
 * text (sampled at temperature 1, dense); each method then reads it back with teacher forcing: the
 * first {@code promptTokens} are prefilled exactly (they become the offloaded set), and every later
 * token is decoded with the method's attention. Reported: negative log-likelihood per token, and
 * how often the method's argmax agrees with dense attention's at the same step.
 */
final class EndToEndEval {
    private EndToEndEval() {}

    record Row(String method, double touchedPercent, double nll, double agreementPercent) {}

    static List<Row> run(Model model, int sequences, int promptTokens, long seed, List<AttentionSettings> methods, PrintStream err) {
        LlamaConfig c = model.config();
        int length = c.contextLength();
        if (promptTokens < 2 || promptTokens >= length - 1) {
            throw new IllegalArgumentException("prompt tokens must be in [2, " + (length - 1) + "), got " + promptTokens);
        }
        int[][] texts = new int[sequences][];
        for (int s = 0; s < sequences; s++) texts[s] = sampleText(model, length, seed + s);
        // dense reference: its NLL and its argmax at every step
        int steps = length - promptTokens;
        int[][] denseArgmax = new int[sequences][steps];
        List<Row> rows = new ArrayList<>();
        rows.add(evaluate(model, texts, promptTokens, null, "dense", denseArgmax, true, err));
        for (AttentionSettings m : methods) {
            rows.add(evaluate(model, texts, promptTokens, m, m.describe(), denseArgmax, false, err));
        }
        return rows;
    }

    /** A text of the model's own, BOS first, sampled with dense attention; end-of-text tokens do not stop it. */
    static int[] sampleText(Model model, int length, long seed) {
        int[] text = new int[length];
        text[0] = model.tokenizer().bosId() >= 0 ? model.tokenizer().bosId() : 1;
        Sampler sampler = new Sampler(new SamplingSettings(1f, 0, 1f, 0f, seed), model.config().vocabSize());
        try (ComputeBackend.InferenceSession s = model.llama().newSession(length, null)) {
            float[] logits = s.prefill(new int[] {text[0]});
            for (int i = 1; i < length; i++) {
                text[i] = sampler.sample(logits);
                if (i < length - 1) logits = s.decode(text[i]);
            }
        }
        return text;
    }

    private static Row evaluate(Model model, int[][] texts, int promptTokens, AttentionSettings method, String name,
                                int[][] denseArgmax, boolean reference, PrintStream err) {
        LlamaConfig c = model.config();
        int vocab = c.vocabSize();
        double nll = 0;
        long agree = 0, count = 0;
        Touched touched = new Touched();
        for (int s = 0; s < texts.length; s++) {
            int[] text = texts[s];
            Attention attention = method == null ? null : touched.wrap(method.factory().create(c));
            try (ComputeBackend.InferenceSession session = model.llama().newSession(text.length, attention)) {
                float[] logits = session.prefill(java.util.Arrays.copyOf(text, promptTokens));
                for (int t = promptTokens; t < text.length; t++) {
                    nll += negativeLogLikelihood(logits, vocab, text[t]);
                    int argmax = FloatKernels.argmax(logits, vocab);
                    int step = t - promptTokens;
                    if (reference) denseArgmax[s][step] = argmax;
                    else if (argmax == denseArgmax[s][step]) agree++;
                    count++;
                    if (t < text.length - 1) logits = session.decode(text[t]);
                }
            }
        }
        err.printf(Locale.ROOT, "  %s: done%n", name);
        double touchedPercent = reference ? 100 : touched.percent();
        return new Row(name, touchedPercent, nll / count, reference ? 100 : 100.0 * agree / count);
    }

    static double negativeLogLikelihood(float[] logits, int vocab, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[i] - max);
        return Math.log(sum) - (logits[target] - max);
    }

    /** Counts keys attended against keys in the context, over the decode calls of sparse layers. */
    private static final class Touched {
        long attended, context;

        Attention wrap(Attention inner) {
            if (!(inner instanceof SparseAttention<?> sparse)) return inner;
            return new Attention() {
                @Override
                public void prefilled(KvCache cache, int promptLength) {
                    sparse.prefilled(cache, promptLength);
                }

                @Override
                public void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff) {
                    sparse.decode(layer, q, qOff, cache, pos, out, outOff);
                    if (sparse.lastStepDense()) return;
                    int heads = q.length / cache.headDim();
                    for (int h = 0; h < heads; h++) attended += sparse.attendedKeys(h);
                    context += (long) heads * sparse.contextKeys();
                }

                @Override
                public void close() {
                    sparse.close();
                }
            };
        }

        double percent() {
            return context == 0 ? 100 : 100.0 * attended / context;
        }
    }

    static void print(List<Row> rows, String modelName, PrintStream out) {
        double dense = rows.get(0).nll();
        out.printf("| model | method | keys touched %% | NLL / token | vs dense | greedy agreement %% |%n|---|---|---|---|---|---|%n");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "| %s | %s | %.1f | %.4f | %+.4f | %.1f |%n", modelName, r.method(), r.touchedPercent(), r.nll(),
                    r.nll() - dense, r.agreementPercent());
        }
    }
}
