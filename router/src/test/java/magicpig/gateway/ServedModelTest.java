package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;

/** A gateway-only node describes a synthetic model exactly as the workers that load it do. */
class ServedModelTest {

    @Test
    void gatewayOnlyDescriptionMatchesTheLoadedModel() throws Exception {
        List<String> warnings = new ArrayList<>();
        var mp = ConfigFactory.parseString("model = \"synthetic:TINY\", model-dtype = f32, model-seed = 42, ctx-size = 1000");
        try (ServedModel described = ServedModel.load(mp, "", warnings::add);
             Model loaded = ModelLoader.load("synthetic:TINY", new ModelLoader.Options(null, GgmlType.F32, 42, 1000))) {
            ServedModel fromWorker = ServedModel.of(loaded, "", warnings::add);
            assertEquals(fromWorker.name(), described.name());
            assertEquals(fromWorker.addBos(), described.addBos());
            assertEquals(1000, described.contextLength());
            assertEquals(fromWorker.contextLength(), described.contextLength());
            assertEquals(fromWorker.tokenizer().vocabSize(), described.tokenizer().vocabSize());
            assertEquals(fromWorker.chatTemplate().name(), described.chatTemplate().name());
            String text = "héllo";
            assertEquals(java.util.Arrays.toString(loaded.encode(text)),
                    java.util.Arrays.toString(described.tokenizer().encode(text, described.addBos())));
        }
        assertEquals(List.of(), warnings);
        try (ServedModel named = ServedModel.load(ConfigFactory.parseString("model = \"\", ctx-size = 0"), "my-model", w -> {})) {
            assertEquals("my-model", named.name());
            assertEquals(8192, named.contextLength());
        }
    }
}
