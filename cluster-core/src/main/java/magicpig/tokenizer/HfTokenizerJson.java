package magicpig.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (and the {@code tokenizer_config.json} beside it, when
 * present) loaded as one of this package's tokenizers.
 *
 * <p>Supported: a BPE model ({@code model.type = "BPE"}) that is either
 * <ul>
 * <li>byte-level (a ByteLevel pre-tokenizer or decoder), as Llama 3 and GPT-2: a
 * {@link ByteLevelBpeTokenizer} whose pre-tokenizer is the Split pattern in front of ByteLevel
 * (Llama 3's, recognized, or any other Java can compile) or GPT-2's pattern when ByteLevel's
 * use_regex is on; {@code ignore_merges} is honoured; or</li>
 * <li>SentencePiece-style, as Llama 2: byte fallback and spaces written as '▁' (a normalizer that
 * replaces ' ' with '▁' and may prepend '▁', or a Metaspace pre-tokenizer): a
 * {@link SentencePieceTokenizer} that ranks merges by the list. A Metaspace with
 * {@code prepend_scheme = "first"} is treated like Llama 2's normalizer, which also prefixes runs
 * after special tokens.</li>
 * </ul>
 * Added tokens are matched in text before the model runs; {@code special} ones are control tokens
 * (matched only when special tokens are parsed), the others user-defined (always matched).
 * Their lstrip/rstrip/normalized flags are not applied.
 *
 * <p>BOS, EOS and whether BOS is added come from tokenizer_config.json ({@code bos_token},
 * {@code eos_token}, {@code add_bos_token}) where it says, else from the post-processor's template
 * (a special token in front of the sequence is the BOS it adds), else from well-known piece names.
 *
 * @param tokenizer    the tokenizer
 * @param addBos       whether the model's own tooling puts BOS in front of a prompt
 * @param bosToken     BOS piece, or null
 * @param eosToken     EOS piece, or null
 * @param chatTemplate the Jinja chat template from tokenizer_config.json, or null (applying it is
 *                     the prompt builder's job)
 */
public record HfTokenizerJson(Tokenizer tokenizer, boolean addBos, String bosToken, String eosToken, String chatTemplate) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> BOS_NAMES = List.of("<|begin_of_text|>", "<s>");
    private static final List<String> EOS_NAMES = List.of("<|end_of_text|>", "</s>", "<|endoftext|>");

    /** Loads tokenizer.json, and tokenizer_config.json from the same folder when it exists. */
    public static HfTokenizerJson load(Path tokenizerJson) throws IOException {
        Path configFile = tokenizerJson.toAbsolutePath().resolveSibling("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? read(configFile) : null;
        return load(tokenizerJson, config == null ? null : configFile);
    }

    /** Loads tokenizer.json with an explicit tokenizer_config.json (null: none). */
    public static HfTokenizerJson load(Path tokenizerJson, Path tokenizerConfig) throws IOException {
        JsonNode root = read(tokenizerJson);
        JsonNode config = tokenizerConfig == null ? null : read(tokenizerConfig);
        try {
            return new Reading(tokenizerJson, root, tokenizerConfig, config).result();
        } catch (IllegalArgumentException e) {
            throw new MalformedTokenizerException(tokenizerJson, e.getMessage(), e);
        }
    }

    private static JsonNode read(Path file) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new MalformedTokenizerException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null || !node.isObject()) throw new MalformedTokenizerException(file, "not a JSON object");
        return node;
    }

    /** One load in progress: the file, its parsed JSON and what has been read from it. */
    private static final class Reading {
        private final Path file;
        private final JsonNode root;
        private final Path configFile;
        private final JsonNode config;
        private final JsonNode model;
        private String[] pieces;
        private int[] types;
        private final Map<String, Integer> ids = new HashMap<>();

        Reading(Path file, JsonNode root, Path configFile, JsonNode config) {
            this.file = file;
            this.root = root;
            this.configFile = configFile;
            this.config = config;
            this.model = root.path("model");
        }

        HfTokenizerJson result() throws IOException {
            if (!model.isObject()) throw fail("has no \"model\" object");
            String type = model.path("type").asText("");
            // Older files leave out model.type; a vocab with merges is BPE.
            if (type.isEmpty() && model.has("merges")) type = "BPE";
            if (!type.equals("BPE"))
                throw fail("model type \"" + type + "\" is not supported (only BPE: Llama 2 and Llama 3 tokenizers)");
            boolean byteLevel = hasType(root.path("pre_tokenizer"), "ByteLevel") || hasType(root.path("decoder"), "ByteLevel");
            readVocabulary(byteLevel);
            List<MergePair> merges = readMerges();

            String templateBos = templateBos(root.path("post_processor"));
            String bosToken = configToken("bos_token");
            if (bosToken == null) bosToken = templateBos != null ? templateBos : firstPresent(BOS_NAMES);
            String eosToken = configToken("eos_token");
            if (eosToken == null) eosToken = firstPresent(EOS_NAMES);
            int bos = idOf(bosToken, "bos_token");
            int eos = idOf(eosToken, "eos_token");
            boolean addBos = config != null && config.has("add_bos_token") && !config.get("add_bos_token").isNull()
                    ? config.get("add_bos_token").asBoolean()
                    : templateBos != null;

            Tokenizer tokenizer = byteLevel
                    ? ByteLevelBpeTokenizer.fromVocabulary(pieces, merges, types, bos, eos, byteLevelPreTokenizer(),
                            model.path("ignore_merges").asBoolean(false))
                    : SentencePieceTokenizer.fromMerges(pieces, merges, types, bos, eos, sentencePiecePrefix());
            return new HfTokenizerJson(tokenizer, addBos && bos >= 0, bos >= 0 ? bosToken : null,
                    eos >= 0 ? eosToken : null, chatTemplate());
        }

        private void readVocabulary(boolean byteLevel) throws IOException {
            JsonNode vocab = model.path("vocab");
            if (!vocab.isObject()) throw fail("has no model.vocab object (piece to id)");
            Map<Integer, String> byId = new HashMap<>();
            Map<Integer, Integer> typeById = new HashMap<>();
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                int id = id(e.getValue(), "model.vocab[\"" + e.getKey() + "\"]");
                byId.put(id, e.getKey());
                // <0xNN> pieces are byte fallback in SentencePiece-style vocabularies only.
                boolean fallback = !byteLevel && TokenType.fallbackByte(e.getKey()) >= 0;
                typeById.put(id, fallback ? TokenType.BYTE : TokenType.NORMAL);
            }
            String unkToken = model.path("unk_token").isTextual() ? model.get("unk_token").asText() : null;
            JsonNode added = root.path("added_tokens");
            if (!added.isMissingNode() && !added.isNull() && !added.isArray()) throw fail("added_tokens is not an array");
            for (JsonNode t : added) {
                if (!t.path("content").isTextual()) throw fail("an added token has no \"content\" string: " + t);
                String content = t.get("content").asText();
                int id = id(t.path("id"), "added token \"" + content + "\"");
                byId.put(id, content);
                int type = !t.path("special").asBoolean(false) ? TokenType.USER_DEFINED
                        : content.equals(unkToken) ? TokenType.UNKNOWN : TokenType.CONTROL;
                typeById.put(id, type);
            }
            if (byId.isEmpty()) throw fail("has an empty vocabulary");
            int size = byId.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1;
            pieces = new String[size];
            types = new int[size];
            for (int i = 0; i < size; i++) {
                // Ids nobody names are unused slots.
                pieces[i] = byId.getOrDefault(i, "");
                types[i] = typeById.getOrDefault(i, TokenType.UNUSED);
                if (!pieces[i].isEmpty()) ids.putIfAbsent(pieces[i], i);
            }
        }

        private List<MergePair> readMerges() throws IOException {
            JsonNode merges = model.path("merges");
            if (!merges.isArray()) throw fail("has no model.merges array");
            List<MergePair> out = new ArrayList<>(merges.size());
            for (int i = 0; i < merges.size(); i++) {
                JsonNode m = merges.get(i);
                try {
                    if (m.isTextual()) out.add(MergePair.parse(m.asText()));
                    else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual())
                        out.add(new MergePair(m.get(0).asText(), m.get(1).asText()));
                    else throw new IllegalArgumentException("neither \"left right\" nor [\"left\", \"right\"]: " + m);
                } catch (IllegalArgumentException e) {
                    throw fail("merge " + i + ": " + e.getMessage());
                }
            }
            return out;
        }

        /** The pre-tokenizer in front of a byte-level model. */
        private PreTokenizer byteLevelPreTokenizer() throws IOException {
            JsonNode pre = root.path("pre_tokenizer");
            List<JsonNode> steps = new ArrayList<>();
            if (pre.path("type").asText("").equals("Sequence")) pre.path("pretokenizers").forEach(steps::add);
            else if (pre.isObject()) steps.add(pre);
            String pattern = null;
            boolean prefixSpace = false;
            for (JsonNode step : steps) {
                switch (step.path("type").asText("")) {
                    case "Split" -> {
                        if (pattern != null) throw fail("has more than one Split pre-tokenizer (not supported)");
                        if (!step.path("behavior").asText("").equals("Isolated") || step.path("invert").asBoolean(false))
                            throw fail("Split pre-tokenizer with behavior " + step.path("behavior") + " and invert "
                                    + step.path("invert") + " is not supported (only Isolated, not inverted)");
                        JsonNode p = step.path("pattern");
                        if (p.path("Regex").isTextual()) pattern = p.get("Regex").asText();
                        else if (p.path("String").isTextual()) pattern = java.util.regex.Pattern.quote(p.get("String").asText());
                        else throw fail("Split pre-tokenizer has no Regex or String pattern");
                    }
                    case "ByteLevel" -> {
                        prefixSpace = step.path("add_prefix_space").asBoolean(false);
                        if (step.path("use_regex").asBoolean(true)) {
                            if (pattern != null) throw fail("has both a Split pattern and ByteLevel's own regex (not supported)");
                            pattern = PreTokenizer.GPT2_PATTERN;
                        }
                    }
                    default -> throw fail("pre-tokenizer " + step.path("type") + " is not supported in front of a byte-level BPE");
                }
            }
            if (!root.path("normalizer").isNull() && !root.path("normalizer").isMissingNode())
                throw fail("byte-level BPE with a normalizer (" + root.path("normalizer").path("type") + ") is not supported");
            // No pattern at all: the whole run of text is one word.
            if (pattern == null) pattern = "(?s).+";
            if (pattern.equals(PreTokenizer.LLAMA3_PATTERN) && !prefixSpace) return PreTokenizer.LLAMA3;
            if (pattern.equals(PreTokenizer.GPT2_PATTERN) && !prefixSpace) return PreTokenizer.GPT2;
            try {
                return PreTokenizer.ofPattern(pattern, prefixSpace);
            } catch (IllegalArgumentException e) {
                throw fail(e.getMessage());
            }
        }

        /**
         * Whether a SentencePiece-style file prepends '▁': Llama 2's normalizer (Prepend '▁' and
         * Replace ' ' with '▁') or a Metaspace pre-tokenizer that prepends.
         */
        private boolean sentencePiecePrefix() throws IOException {
            boolean prepend = false, replace = false;
            JsonNode normalizer = root.path("normalizer");
            List<JsonNode> steps = new ArrayList<>();
            if (normalizer.path("type").asText("").equals("Sequence")) normalizer.path("normalizers").forEach(steps::add);
            else if (normalizer.isObject()) steps.add(normalizer);
            for (JsonNode step : steps) {
                switch (step.path("type").asText("")) {
                    case "Prepend" -> {
                        if (!step.path("prepend").asText("").equals("\u2581"))
                            throw fail("Prepend normalizer adds " + step.path("prepend") + ", only \"▁\" is supported");
                        prepend = true;
                    }
                    case "Replace" -> {
                        if (!step.path("pattern").path("String").asText("").equals(" ") || !step.path("content").asText("").equals("\u2581"))
                            throw fail("Replace normalizer " + step + " is not supported (only ' ' to '▁')");
                        replace = true;
                    }
                    default -> throw fail("normalizer " + step.path("type") + " is not supported for a SentencePiece-style BPE");
                }
            }
            JsonNode pre = root.path("pre_tokenizer");
            if (pre.isObject()) {
                if (!pre.path("type").asText("").equals("Metaspace") || !pre.path("replacement").asText("\u2581").equals("\u2581"))
                    throw fail("pre-tokenizer " + pre.path("type") + " is not supported for a SentencePiece-style BPE (only Metaspace with '▁')");
                replace = true;
                String scheme = pre.path("prepend_scheme").asText(pre.path("add_prefix_space").asBoolean(true) ? "always" : "never");
                prepend |= !scheme.equals("never");
            }
            if (!replace && !model.path("byte_fallback").asBoolean(false))
                throw fail("BPE model is neither byte-level (no ByteLevel pre-tokenizer) nor SentencePiece-style "
                        + "(no byte_fallback, no ' ' to '▁' replacement): not supported");
            return prepend;
        }

        /** The special token a TemplateProcessing post-processor puts in front of a single sequence. */
        private static String templateBos(JsonNode processor) {
            if (processor.path("type").asText("").equals("Sequence")) {
                for (JsonNode p : processor.path("processors")) {
                    String bos = templateBos(p);
                    if (bos != null) return bos;
                }
                return null;
            }
            if (!processor.path("type").asText("").equals("TemplateProcessing")) return null;
            JsonNode first = processor.path("single").path(0);
            return first.path("SpecialToken").path("id").isTextual() ? first.get("SpecialToken").get("id").asText() : null;
        }

        /** bos_token / eos_token from the config: a string, or an AddedToken object with "content". */
        private String configToken(String key) throws IOException {
            if (config == null || !config.has(key) || config.get(key).isNull()) return null;
            JsonNode v = config.get(key);
            if (v.isTextual()) return v.asText();
            if (v.path("content").isTextual()) return v.get("content").asText();
            throw new MalformedTokenizerException(configFile, key + " is neither a string nor an object with \"content\"");
        }

        /** chat_template: a string, or a list of {name, template} (the "default" one, else the first). */
        private String chatTemplate() throws IOException {
            if (config == null || !config.has("chat_template") || config.get("chat_template").isNull()) return null;
            JsonNode t = config.get("chat_template");
            if (t.isTextual()) return t.asText();
            if (t.isArray() && !t.isEmpty()) {
                for (JsonNode named : t)
                    if (named.path("name").asText("").equals("default") && named.path("template").isTextual())
                        return named.get("template").asText();
                if (t.get(0).path("template").isTextual()) return t.get(0).get("template").asText();
            }
            throw new MalformedTokenizerException(configFile, "chat_template is neither a string nor a list of {name, template}");
        }

        private int idOf(String piece, String what) throws IOException {
            if (piece == null) return -1;
            Integer id = ids.get(piece);
            if (id == null)
                throw new MalformedTokenizerException(configFile != null ? configFile : file, what + " \"" + piece + "\" is not in the vocabulary of " + file);
            return id;
        }

        private String firstPresent(List<String> names) {
            for (String n : names) if (ids.containsKey(n)) return n;
            return null;
        }

        private int id(JsonNode node, String what) throws IOException {
            if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 0)
                throw fail(what + " has no valid id: " + node);
            return node.asInt();
        }

        private static boolean hasType(JsonNode node, String type) {
            if (node.path("type").asText("").equals(type)) return true;
            for (String list : List.of("pretokenizers", "decoders", "processors"))
                for (JsonNode child : node.path(list)) if (hasType(child, type)) return true;
            return false;
        }

        private MalformedTokenizerException fail(String problem) {
            return new MalformedTokenizerException(file, problem);
        }
    }
}
