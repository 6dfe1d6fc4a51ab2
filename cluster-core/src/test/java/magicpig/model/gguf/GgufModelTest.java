package magicpig.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import magicpig.model.Generation;
import magicpig.model.Llama;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.model.SharedModels;
import magicpig.model.SyntheticModels;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GgufModelTest {

    /** llama.cpp's conversion of aidreams260K decodes the same greedy tokens as the llama2.c file, and the known text. */
    @Test
    void sharedGgufMatchesTheLlama2cCheckpoint() throws Exception {
        Path gguf = SharedModels.require("aidreams260K.gguf");
        Path bin = SharedModels.require("aidreams260K.bin");
        Path tok = SharedModels.require("aidreams260K.tok512.bin");
        try (Model g = ModelLoader.load(gguf.toString(), ModelLoader.Options.DEFAULT);
             Model b = ModelLoader.load(bin.toString(), new ModelLoader.Options(tok, GgmlType.F32, 0, 0))) {
            assertEquals("gguf", g.format());
            int[] fromGguf = Generation.run(g, g.encode(""), 100, SamplingSettings.GREEDY, null, t -> true).tokens();
            int[] fromBin = Generation.run(b, b.encode(""), 100, SamplingSettings.GREEDY, null, t -> true).tokens();
            assertArrayEquals(fromBin, fromGguf);
            String text = g.tokenizer().decode(prepend(1, fromGguf));
            assertEquals(SharedModels.AIDREAMS_GREEDY, text);
            // prompts encode the same way from both vocabularies
            assertArrayEquals(b.encode("Echoes of vectors, a gentle hum"), g.encode("Echoes of vectors, a gentle hum"));
        }
    }

    private static int[] prepend(int first, int[] rest) {
        int[] out = new int[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    /**
     * A model written by us as GGUF in each supported type loads and computes logits close to its f32
     * original; the bound is each type's precision (cosine similarity of the logits; uniform random
     * weights through four layers are a harsh case for 4-bit types, which land near 0.95).
     */
    @ParameterizedTest
    @CsvSource({"F32, 0.999999", "F16, 0.9999", "BF16, 0.999", "Q8_0, 0.999", "Q6_K, 0.995", "Q4_0, 0.92", "Q4_K, 0.92"})
    void everyTypeLoadsAndMatchesItsF32Original(GgmlType type, double minCosine, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny-" + type + ".gguf");
        try (Model original = SyntheticModels.create("tiny", GgmlType.F32, 5)) {
            GgufModelWriter.write(original, type, file);
            try (Model loaded = ModelLoader.load(file.toString(), ModelLoader.Options.DEFAULT)) {
                assertEquals(type, loaded.llama().weights().wq()[0].type(), "stays quantized in memory");
                int[] prompt = {1, 40, 41, 42, 43, 300, 301};
                float[] a = logits(original, prompt), b = logits(loaded, prompt);
                double dot = 0, na = 0, nb = 0;
                for (int i = 0; i < a.length; i++) {
                    dot += (double) a[i] * b[i];
                    na += (double) a[i] * a[i];
                    nb += (double) b[i] * b[i];
                }
                double cos = dot / Math.sqrt(na * nb);
                assertTrue(cos >= minCosine, type + ": cosine " + cos + " < " + minCosine);
            }
        }
    }

    private static float[] logits(Model m, int[] prompt) {
        try (Llama.Session s = m.llama().newSession(prompt.length + 1, null)) {
            return s.prefill(prompt).clone();
        }
    }

    @Test
    void truncatedAndUnsupportedFilesAreClearErrors(@TempDir Path dir) throws Exception {
        Path src = SharedModels.require("aidreams260K.gguf");
        byte[] all = Files.readAllBytes(src);
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 1000));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelLoader.load(cut.toString(), ModelLoader.Options.DEFAULT));
        assertTrue(e.getMessage().contains("cut.gguf"), e.getMessage());
        Path head = dir.resolve("head.gguf");
        Files.write(head, java.util.Arrays.copyOf(all, 100));
        e = assertThrows(IllegalArgumentException.class, () -> ModelLoader.load(head.toString(), ModelLoader.Options.DEFAULT));
        assertTrue(e.getMessage().contains("head.gguf"), e.getMessage());
    }
}
