package magicpig.model.hf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each broken checkpoint fails to load with one message naming the directory or file and the problem. */
class HfModelLoaderErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @BeforeEach
    void writeGoodModel() throws Exception {
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 21);
        HfModelWriter.write(dir, m.config(), m.weights(), HfModelWriter.Options.defaults());
    }

    @Test
    void missingTensor() throws Exception {
        rewrite(dir.resolve("model.safetensors"), "model.layers.1.mlp.up_proj.weight", null);
        expect(dir.toString(), "lacks 1 tensor: model.layers.1.mlp.up_proj.weight");
    }

    @Test
    void missingLmHeadWhenUntied() throws Exception {
        rewrite(dir.resolve("model.safetensors"), "lm_head.weight", null);
        rewrite(dir.resolve("model.safetensors"), "model.norm.weight", null);
        expect(dir.toString(), "lacks 2 tensors: model.norm.weight, lm_head.weight (tie_word_embeddings is false");
    }

    @Test
    void wrongShape() throws Exception {
        editConfig(c -> c.put("intermediate_size", 16));
        expect(dir.toString(), "tensor 'model.layers.0.mlp.gate_proj.weight' in model.safetensors has shape [12, 8], "
                + "but config.json implies [16, 8]");
    }

    @Test
    void unsupportedDtype() throws Exception {
        rewrite(dir.resolve("model.safetensors"), "model.layers.0.self_attn.k_proj.weight", "I8");
        expect(dir.resolve("model.safetensors").toString(),
                "tensor 'model.layers.0.self_attn.k_proj.weight' has dtype I8, which is not supported (only F32, F16 and BF16 are)");
    }

    @Test
    void unsupportedArchitecture() throws Exception {
        editConfig(c -> {
            c.putArray("architectures").add("Gemma2ForCausalLM");
            c.put("model_type", "gemma2");
        });
        expect(dir.resolve("config.json").toString(), "model_type 'gemma2' (architectures [\"Gemma2ForCausalLM\"]) is not supported");
    }

    @Test
    void unsupportedRopeType() throws Exception {
        editConfig(c -> c.putObject("rope_scaling").put("rope_type", "dynamic").put("factor", 2.0));
        expect(dir.resolve("config.json").toString(), "rope_scaling type 'dynamic' is not supported");
    }

    @Test
    void badConfigJson() throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8,");
        expect(dir.resolve("config.json").toString(), "malformed JSON");
    }

    @Test
    void truncatedShard() throws Exception {
        Path sharded = dir.resolve("sharded");
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 22);
        HfModelWriter.write(sharded, m.config(), m.weights(), HfModelWriter.Options.defaults().withShards(2));
        Path shard = sharded.resolve("model-00002-of-00002.safetensors");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(bytes, bytes.length - 100));
        expect(sharded, shard.toString(), "(truncated file?)");
    }

    @Test
    void indexNamingAMissingShard() throws Exception {
        Path sharded = dir.resolve("sharded");
        TinyLlamaModel m = TinyLlamaModel.random(TinyLlamaModel.config(true, null), false, 23);
        HfModelWriter.write(sharded, m.config(), m.weights(), HfModelWriter.Options.defaults().withShards(2));
        Files.delete(sharded.resolve("model-00002-of-00002.safetensors"));
        expect(sharded, "model.safetensors.index.json", "to model-00002-of-00002.safetensors, which does not exist in " + sharded);
    }

    @Test
    void noConfigOrNoWeights() throws Exception {
        Files.delete(dir.resolve("model.safetensors"));
        expect(dir.toString(), "no safetensors weights in " + dir);
        Files.delete(dir.resolve("config.json"));
        expect(dir.toString(), "has no config.json");
        expect(dir.resolve("nowhere"), dir.resolve("nowhere").toString(), "is not a directory");
    }

    private void expect(String names, String fragment) {
        expect(dir, names, fragment);
    }

    private static void expect(Path model, String names, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfModelLoader.load(model).close());
        assertTrue(e.getMessage().contains(fragment), "message: " + e.getMessage());
        assertTrue(e.getMessage().contains(names), "names " + names + ": " + e.getMessage());
    }

    private void editConfig(Consumer<ObjectNode> edit) throws Exception {
        Path file = dir.resolve("config.json");
        ObjectNode config = (ObjectNode) JSON.readTree(Files.readString(file));
        edit.accept(config);
        Files.writeString(file, JSON.writeValueAsString(config));
    }

    /** Rewrites a safetensors file without one tensor (newDtype null) or with it re-labelled as newDtype. */
    private static void rewrite(Path file, String tensor, String newDtype) throws Exception {
        record Copy(String name, String dtype, long[] shape, byte[] bytes) {}
        List<Copy> copies = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                SafetensorsEntry e = f.entry(name);
                byte[] bytes = f.tensor(name).data().toArray(ValueLayout.JAVA_BYTE);
                if (!name.equals(tensor)) {
                    copies.add(new Copy(name, e.dtype(), e.shape(), bytes));
                } else if (newDtype != null) {
                    long n = e.elements();
                    long bytesNeeded = SafetensorsDtype.parse(newDtype).bytes(n);
                    copies.add(new Copy(name, newDtype, e.shape(), Arrays.copyOf(bytes, (int) bytesNeeded)));
                }
            }
        }
        SafetensorsWriter w = new SafetensorsWriter();
        for (Copy c : copies) w.add(c.name(), c.dtype(), c.shape(), c.bytes());
        w.write(file);
    }
}
