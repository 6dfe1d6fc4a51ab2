package magicpig.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import magicpig.model.hf.HfModel;
import magicpig.model.hf.HfModelLoader;
import magicpig.model.hf.HfModelWriter;
import magicpig.model.llama2c.Llama2cCheckpoint;
import magicpig.sampling.SamplingSettings;
import magicpig.tokenizer.IdOnlyTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One model, several file formats: the greedy tokens must be the same from each. */
class FormatParityTest {

    static int[] greedy(LlamaConfig c, LlamaWeights w, int n) {
        Model m = new Model("m", "test", new Llama(c, w), new IdOnlyTokenizer(c.vocabSize(), 1, 2), true, new int[] {1}, null, null);
        return Generation.run(m, new int[] {1}, n, SamplingSettings.GREEDY, null, t -> true).tokens();
    }

    /** A llama2.c checkpoint written as a Hugging Face directory (half-split RoPE, permuted wq/wk) decodes the same. */
    @Test
    void huggingFaceCopyOfAidreamsGivesTheSameTokens(@TempDir Path dir) throws Exception {
        Path bin = SharedModels.require("aidreams260K.bin");
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.load(bin)) {
            int[] expected = greedy(ckpt.config(), ckpt.weights(), 100);
            assertEquals(100, expected.length);
            HfModelWriter.write(dir, ckpt.config(), ckpt.weights(), HfModelWriter.Options.defaults().withShards(2));
            try (HfModel hf = HfModelLoader.load(dir)) {
                assertEquals(true, hf.config().rope().halfSplit());
                assertArrayEquals(expected, greedy(hf.config(), hf.weights(), 100));
            }
        }
    }
}
