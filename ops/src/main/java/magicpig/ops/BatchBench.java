package magicpig.ops;

import com.typesafe.config.ConfigFactory;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import magicpig.cluster.ClusterNode;
import magicpig.cluster.SequenceClient;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;

/**
 * {@code magicpig bench batching}: N sequences on one transformer worker, submitted together
 * (continuous batching: one batched pass per step) against the same N run one after another.
 * Reports total decode tokens/s of both and their ratio.
 */
final class BatchBench {
    private BatchBench() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags f = Flags.parse(args, 2, Set.of("model", "dtype", "sequences", "tokens", "prompt-tokens"), Set.of());
        String model = f.get("model", "synthetic:llama-3.2-1b");
        String dtype = f.get("dtype", "q8_0");
        int n = f.getInt("sequences", 8), tokens = f.getInt("tokens", 16), promptTokens = f.getInt("prompt-tokens", 16);
        if (n < 1 || tokens < 2 || promptTokens < 1) throw new UsageException("--sequences >= 1, --tokens >= 2, --prompt-tokens >= 1");
        err.printf(Locale.ROOT, "starting an embedded node with %s (%s), max batch %d...%n", model, dtype, n);
        try (ClusterNode node = ClusterNode.start(ConfigFactory.parseMap(Map.of(
                "magicpig.model", model, "magicpig.model-dtype", dtype, "magicpig.worker.max-batch", n,
                "magicpig.worker.prefill-chunk", Math.max(promptTokens, 1), "pekko.remote.artery.canonical.port", 0,
                "pekko.loglevel", "WARNING")))) {
            SequenceClient client = node.client();
            int vocab = node.model().config().vocabSize();
            runAll(client, "warmup", 1, 4, promptTokens, vocab, false);
            err.println("sequential...");
            double sequential = runAll(client, "seq", n, tokens, promptTokens, vocab, false);
            err.println("concurrent...");
            double batched = runAll(client, "batch", n, tokens, promptTokens, vocab, true);
            out.printf(Locale.ROOT, "| sequences | tokens each | one after another tok/s | batched tok/s | ratio |%n|---|---|---|---|---|%n");
            out.printf(Locale.ROOT, "| %d | %d | %.2f | %.2f | %.2fx |%n", n, tokens, sequential, batched, batched / sequential);
        }
        return 0;
    }

    /** Total generated tokens per second of wall time (prefill included, as a user sees it). */
    private static double runAll(SequenceClient client, String tag, int n, int tokens, int promptTokens, int vocab, boolean together)
            throws Exception {
        long t0 = System.nanoTime();
        List<SequenceClient.Handle> handles = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[promptTokens];
            prompt[0] = 1;
            for (int j = 1; j < promptTokens; j++) prompt[j] = 3 + (i * 131 + j * 17) % (vocab - 3);
            var h = client.generate(new GenerationRequest(tag + "-" + i + "-" + System.nanoTime(), prompt, tokens,
                    SamplingSettings.GREEDY, Map.of()), e -> {});
            if (together) {
                handles.add(h);
            } else {
                total += completed(h);
            }
        }
        for (var h : handles) total += completed(h);
        return total / ((System.nanoTime() - t0) / 1e9);
    }

    private static int completed(SequenceClient.Handle h) throws Exception {
        SequenceEvent e = h.done().toCompletableFuture().get(30, TimeUnit.MINUTES);
        if (e instanceof SequenceEvent.Finished fin) return fin.completionTokens();
        throw new IllegalStateException("sequence " + h.sequenceId() + " failed: " + e);
    }
}
