package magicpig.gateway;

import com.typesafe.config.Config;
import java.util.Locale;
import java.util.function.Consumer;
import magicpig.chat.BuiltinChatTemplate;
import magicpig.chat.ChatTemplate;
import magicpig.model.LlamaConfig;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.model.SyntheticModels;
import magicpig.tensor.GgmlType;
import magicpig.tokenizer.SyntheticTokenizer;
import magicpig.tokenizer.Tokenizer;

/**
 * What the gateway knows of the model it serves: its name, tokenizer, BOS policy, context and chat
 * template. The gateway turns text into token ids and back itself, so a gateway-only node needs these
 * too. It reads them from the same {@code magicpig.model} spec the workers load: a model file is
 * memory-mapped, so opening it costs address space, not memory or time; a synthetic model is only
 * described (its shape and vocabulary), since making its weights would cost both.
 *
 * @param config    the model's shape (for placing KV blocks)
 * @param resources what this node opened only for the gateway (closed with it), or null
 */
public record ServedModel(String name, Tokenizer tokenizer, boolean addBos, int contextLength, ChatTemplate chatTemplate,
                          LlamaConfig config, AutoCloseable resources) implements AutoCloseable {

    /** The model a worker on this node already loaded. */
    public static ServedModel of(Model model, String servedName, Consumer<String> warnings) {
        return new ServedModel(servedName.isBlank() ? model.name() : servedName, model.tokenizer(), model.addBos(),
                model.config().contextLength(), ChatTemplate.forModel(model.chatTemplate(), model.tokenizer(), model.stopIds(), warnings),
                model.config(), null);
    }

    /** For a node without a worker: the tokenizer and metadata of the {@code magicpig.model} spec. */
    public static ServedModel load(Config mp, String servedName, Consumer<String> warnings) throws Exception {
        String spec = mp.getString("model");
        if (spec.isBlank()) spec = "synthetic:tiny"; // the demo model workers serve when none is given
        int ctxCap = mp.getInt("ctx-size");
        if (spec.startsWith("synthetic:")) {
            // As SyntheticModels.create describes them, without making the weights.
            String shape = spec.substring("synthetic:".length()).toLowerCase(Locale.ROOT);
            LlamaConfig c = SyntheticModels.shape(shape);
            int ctx = ctxCap > 0 ? Math.min(ctxCap, c.contextLength()) : c.contextLength();
            Tokenizer tok = new SyntheticTokenizer(c.vocabSize());
            String name = servedName.isBlank() ? "synthetic:" + shape : servedName;
            return new ServedModel(name, tok, true, ctx, BuiltinChatTemplate.forVocabulary(tok, new int[0]), c.withContextLength(ctx), null);
        }
        Model m = ModelLoader.load(spec, new ModelLoader.Options(null, GgmlType.parse(mp.getString("model-dtype")),
                mp.getLong("model-seed"), ctxCap));
        ServedModel s = of(m, servedName, warnings);
        return new ServedModel(s.name, s.tokenizer, s.addBos, s.contextLength, s.chatTemplate, s.config, m);
    }

    /** The token text a template writes for BOS ("" when the vocabulary has none). */
    String bosText() {
        return BuiltinChatTemplate.bosToken(tokenizer);
    }

    @Override
    public void close() throws Exception {
        if (resources != null) resources.close();
    }
}
