package magicpig.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import magicpig.model.llama2c.Llama2cCheckpoint;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaForwardTest {

    /** Batched prefill (matrix-matrix, causal attention per chunk) must give the logits of token-by-token decoding. */
    @Test
    void batchedPrefillMatchesTokenByTokenDecode() throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 7)) {
            int n = Llama.PREFILL_CHUNK * 2 + 5; // crosses chunk boundaries
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = 3 + (i * 37) % 500;
            float[] batched;
            try (Llama.Session s = m.llama().newSession(n + 1, null)) {
                batched = s.prefill(tokens).clone();
            }
            float[] stepwise;
            try (Llama.Session s = m.llama().newSession(n + 1, null)) {
                stepwise = s.prefill(new int[] {tokens[0]});
                for (int i = 1; i < n; i++) stepwise = s.decode(tokens[i]);
                stepwise = stepwise.clone();
            }
            double maxErr = 0, maxAbs = 0;
            for (int i = 0; i < batched.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(batched[i] - stepwise[i]));
                maxAbs = Math.max(maxAbs, Math.abs(stepwise[i]));
            }
            assertTrue(maxErr <= 1e-4 * Math.max(1, maxAbs), "prefill and decode logits differ by " + maxErr);
        }
    }

    /** stories260K has 8 query heads over 4 kv heads: grouped-query attention must run and be deterministic. */
    @Test
    void groupedQueryCheckpointGeneratesDeterministically() throws Exception {
        Path file = SharedModels.require("stories260K.bin");
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.load(file)) {
            LlamaConfig c = ckpt.config();
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            Llama llama = new Llama(c, ckpt.weights());
            Model model = new Model("stories", "llama2c", llama, new magicpig.tokenizer.IdOnlyTokenizer(c.vocabSize(), 1, 2), true, new int[] {1}, null, null);
            int[] a = Generation.run(model, new int[] {1}, 64, SamplingSettings.GREEDY, null, t -> true).tokens();
            int[] b = Generation.run(model, new int[] {1}, 64, SamplingSettings.GREEDY, null, t -> true).tokens();
            assertArrayEquals(a, b);
            assertTrue(a.length > 10, "a story of more than 10 tokens");
        }
    }

    @Test
    void truncatedCheckpointIsAClearError(@TempDir Path dir) throws Exception {
        Path src = SharedModels.require("aidreams260K.bin");
        byte[] all = Files.readAllBytes(src);
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.load(cut));
        assertTrue(e.getMessage().contains("cut.bin") && e.getMessage().contains("truncated"), e.getMessage());
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.load(tiny));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path junk = dir.resolve("junk.bin");
        Files.write(junk, new byte[4096]);
        e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.load(junk));
        assertTrue(e.getMessage().contains("implausible header"), e.getMessage());
    }

    @Test
    void promptLongerThanTheContextIsRefused() throws Exception {
        try (Model m = ModelLoader.load("synthetic:tiny", new ModelLoader.Options(null, GgmlType.F32, 1, 64))) {
            int[] prompt = new int[64];
            java.util.Arrays.fill(prompt, 5);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Generation.run(m, prompt, 4, SamplingSettings.GREEDY, null, t -> true));
            assertTrue(e.getMessage().contains("does not fit the model's context of 64"), e.getMessage());
        }
    }

    @Test
    void generationStopsAtTheTokenLimitAndReportsLength() throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 3)) {
            Generation.Result r = Generation.run(m, new int[] {1, 50, 60}, 7, SamplingSettings.GREEDY, null, t -> true);
            assertEquals(7, r.tokens().length);
            assertEquals("length", r.finishReason());
        }
    }

    /** A batched decode step gives each sequence the logits it would get decoding alone. */
    @Test
    void batchedDecodeMatchesSingleSequenceDecode() throws Exception {
        try (Model m = SyntheticModels.create("tiny", GgmlType.F32, 11)) {
            Llama llama = m.llama();
            int n = 3, vocab = m.config().vocabSize();
            Llama.Session[] batch = new Llama.Session[n], alone = new Llama.Session[n];
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                int[] prompt = new int[5 + 7 * i]; // different lengths, so different positions
                for (int j = 0; j < prompt.length; j++) prompt[j] = 3 + (j * 13 + i) % 400;
                batch[i] = llama.newSession(64, null);
                alone[i] = llama.newSession(64, null);
                batch[i].prefill(prompt);
                alone[i].prefill(prompt);
                tokens[i] = 10 + i;
            }
            Llama.DecodeBatch db = llama.newDecodeBatch(4);
            for (int step = 0; step < 4; step++) {
                float[] rows = db.step(batch, tokens, n);
                for (int i = 0; i < n; i++) {
                    float[] single = alone[i].decode(tokens[i]);
                    for (int t = 0; t < vocab; t++) {
                        assertEquals(single[t], rows[i * vocab + t], 1e-4f * Math.max(1f, Math.abs(single[t])), "seq " + i + " token " + t);
                    }
                    tokens[i] = magicpig.tensor.FloatKernels.argmax(single, vocab);
                }
            }
            for (int i = 0; i < n; i++) {
                assertEquals(alone[i].position(), batch[i].position());
                batch[i].close();
                alone[i].close();
            }
        }
    }
}
