package magicpig.model.hf;

import static magicpig.model.hf.TinyLlamaModel.rawValues;
import static magicpig.model.hf.TinyLlamaModel.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfModelLoaderTest {
    @TempDir
    Path tmp;

    @Test
    void shardedUntiedF32() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 1);
        HfModelWriter.write(tmp, m.config(), m.weights(), HfModelWriter.Options.defaults().withShards(2).withTokens(1, 2));
        assertTrue(Files.isRegularFile(tmp.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(tmp.resolve("model.safetensors")));
        Set<String> all = new HashSet<>();
        for (String shard : new String[] {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
            try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve(shard))) {
                assertFalse(f.names().isEmpty(), shard + " holds tensors");
                assertEquals("pt", f.metadata().get("format"));
                all.addAll(f.names());
            }
        }
        assertEquals(3 + 9 * 2, all.size(), "embed, norm, lm_head and 9 per layer");

        try (HfModel hf = HfModelLoader.load(tmp)) {
            assertEquals(m.config(), hf.config());
            assertEquals(1, hf.bosId());
            assertArrayEquals(new int[] {2}, hf.eosIds());
            assertNull(hf.tokenizerJson());
            assertNull(hf.tokenizerConfig());
            assertNotSame(hf.weights().tokenEmbedding(), hf.weights().output());
            assertSameValues(m.weights(), hf.weights());
            // the kernels run over the mapped bytes: a dot with a one-hot vector picks a value
            float[] oneHot = new float[8];
            oneHot[3] = 1;
            assertEquals(values(m.weights().wq()[1])[5 * 8 + 3], hf.weights().wq()[1].dot(5, oneHot, 0));
        }
    }

    @Test
    void tiedSingleFile() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), true, 2);
        HfModelWriter.write(tmp, m.config(), m.weights(), HfModelWriter.Options.defaults());
        assertFalse(Files.exists(tmp.resolve("model.safetensors.index.json")));
        try (SafetensorsFile f = SafetensorsFile.open(tmp.resolve("model.safetensors"))) {
            assertFalse(f.contains("lm_head.weight"));
        }
        assertTrue(Files.readString(tmp.resolve("config.json")).contains("\"tie_word_embeddings\" : true"));
        try (HfModel hf = HfModelLoader.load(tmp)) {
            assertSame(hf.weights().tokenEmbedding(), hf.weights().output());
            assertSameValues(m.weights(), hf.weights());
        }
    }

    @Test
    void halfPrecisionMatricesStayInTheirDtype() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 3);
        for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.BF16}) {
            Path dir = tmp.resolve(type.name());
            HfModelWriter.write(dir, m.config(), m.weights(), HfModelWriter.Options.defaults().withDtype(type));
            try (HfModel hf = HfModelLoader.load(dir)) {
                WeightMatrix wq = hf.weights().wq()[0];
                assertEquals(type, wq.type());
                assertEquals(type, hf.weights().output().type());
                float[] source = values(m.weights().wq()[0]);
                float[] stored = rawValues(wq);
                for (int i = 0; i < source.length; i++) {
                    float expected = type == GgmlType.F16
                            ? Float.float16ToFloat(Float.floatToFloat16(source[i]))
                            : FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(source[i]));
                    assertEquals(expected, stored[i], type + " value " + i);
                }
                // norms come back as f32, rounded through the stored dtype
                float[] norm = m.weights().outputNorm();
                for (int i = 0; i < norm.length; i++) assertEquals(norm[i], hf.weights().outputNorm()[i], 1e-2f * Math.abs(norm[i]));
            }
            String json = Files.readString(dir.resolve("config.json"));
            assertTrue(json.contains(type == GgmlType.F16 ? "\"float16\"" : "\"bfloat16\""), json);
        }
    }

    @Test
    void llama2cLayoutIsPermutedToHalfSplit() throws Exception {
        LlamaConfig adjacent = TinyLlamaModel.config(false, null);
        TinyLlamaModel m = TinyLlamaModel.random(adjacent, true, 4);
        HfModelWriter.write(tmp, adjacent, m.weights(), HfModelWriter.Options.defaults());
        try (HfModel hf = HfModelLoader.load(tmp)) {
            LlamaConfig c = hf.config();
            assertTrue(c.rope().halfSplit());
            assertEquals(TinyLlamaModel.config(true, null), c);
            for (int l = 0; l < c.layers(); l++) {
                assertArrayEquals(RopeLayouts.adjacentToHalfSplit(values(m.weights().wq()[l]), c.heads(), c.headDim(), c.dim()),
                        values(hf.weights().wq()[l]));
                assertArrayEquals(RopeLayouts.adjacentToHalfSplit(values(m.weights().wk()[l]), c.kvHeads(), c.headDim(), c.dim()),
                        values(hf.weights().wk()[l]));
                assertArrayEquals(values(m.weights().wv()[l]), values(hf.weights().wv()[l]), "v is not rotated");
                assertArrayEquals(values(m.weights().wo()[l]), values(hf.weights().wo()[l]));
            }
        }
    }

    @Test
    void llama3ScalingSurvivesTheRoundTrip() throws Exception {
        LlamaConfig c = TinyLlamaModel.config(true, new LlamaConfig.Llama3Scaling(8f, 1f, 4f, 16));
        TinyLlamaModel m = TinyLlamaModel.random(c, true, 5);
        HfModelWriter.write(tmp, c, m.weights(), HfModelWriter.Options.defaults().withTokens(-1));
        try (HfModel hf = HfModelLoader.load(tmp)) {
            assertEquals(c, hf.config());
            assertEquals(-1, hf.bosId());
            assertArrayEquals(new int[0], hf.eosIds());
        }
    }

    @Test
    void everySafetensorsFileWhenThereIsNoIndex() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 6);
        HfModelWriter.write(tmp, m.config(), m.weights(), HfModelWriter.Options.defaults().withShards(3));
        Files.delete(tmp.resolve("model.safetensors.index.json"));
        try (HfModel hf = HfModelLoader.load(tmp)) {
            assertSameValues(m.weights(), hf.weights());
        }
    }

    @Test
    void tokenizerFilesAndGenerationConfig() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), true, 7);
        HfModelWriter.write(tmp, m.config(), m.weights(), HfModelWriter.Options.defaults().withTokens(-1, 2));
        Files.writeString(tmp.resolve("tokenizer.json"), "{}");
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{}");
        Files.writeString(tmp.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [2, 9]}");
        try (HfModel hf = HfModelLoader.load(tmp)) {
            assertEquals(tmp.resolve("tokenizer.json"), hf.tokenizerJson());
            assertEquals(tmp.resolve("tokenizer_config.json"), hf.tokenizerConfig());
            assertEquals(1, hf.bosId());
            assertArrayEquals(new int[] {2, 9}, hf.eosIds());
        }
    }

    @Test
    void closingUnmapsTheWeights() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), true, 8);
        HfModelWriter.write(tmp, m.config(), m.weights(), HfModelWriter.Options.defaults());
        HfModel hf = HfModelLoader.load(tmp);
        WeightMatrix wq = hf.weights().wq()[0];
        hf.close();
        assertThrows(IllegalStateException.class, () -> wq.dequantizeRow(0, new float[8], 0));
    }

    @Test
    void writerRejectsWhatItCannotWrite() {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), true, 9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HfModelWriter.Options.defaults().withDtype(GgmlType.Q8_0));
        assertTrue(e.getMessage().contains("safetensors has no dtype for Q8_0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> HfModelWriter.write(tmp, m.config(), m.weights(),
                HfModelWriter.Options.defaults().withShards(100)));
        assertEquals("100 shards for only 20 tensors", e.getMessage());
    }

    private static void assertSameValues(LlamaWeights expected, LlamaWeights actual) {
        assertArrayEquals(values(expected.tokenEmbedding()), values(actual.tokenEmbedding()), "embedding");
        assertArrayEquals(values(expected.output()), values(actual.output()), "output");
        assertArrayEquals(expected.outputNorm(), actual.outputNorm(), "output norm");
        for (int l = 0; l < expected.wq().length; l++) {
            String at = "layer " + l + " ";
            assertArrayEquals(expected.attnNorm()[l], actual.attnNorm()[l], at + "attn norm");
            assertArrayEquals(expected.ffnNorm()[l], actual.ffnNorm()[l], at + "ffn norm");
            assertArrayEquals(values(expected.wq()[l]), values(actual.wq()[l]), at + "wq");
            assertArrayEquals(values(expected.wk()[l]), values(actual.wk()[l]), at + "wk");
            assertArrayEquals(values(expected.wv()[l]), values(actual.wv()[l]), at + "wv");
            assertArrayEquals(values(expected.wo()[l]), values(actual.wo()[l]), at + "wo");
            assertArrayEquals(values(expected.gate()[l]), values(actual.gate()[l]), at + "gate");
            assertArrayEquals(values(expected.up()[l]), values(actual.up()[l]), at + "up");
            assertArrayEquals(values(expected.down()[l]), values(actual.down()[l]), at + "down");
        }
    }
}
