package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenizer.json files written by the tests themselves, in the shapes Llama 2 and Llama 3 ship. */
class HfTokenizerJsonTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** A Llama 2 style file: byte fallback, '▁' normalizer, <s> added by the template. */
    private static final String LLAMA2_STYLE = """
            {
              "version": "1.0",
              "added_tokens": [
                {"id": 0, "content": "<unk>", "special": true},
                {"id": 1, "content": "<s>", "special": true},
                {"id": 2, "content": "</s>", "special": true}
              ],
              "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
              ]},
              "pre_tokenizer": null,
              "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
              "decoder": {"type": "Sequence", "decoders": []},
              "model": {
                "type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
                "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0xC3>": 4, "<0xA9>": 5,
                          "▁": 6, "h": 7, "i": 8, "t": 9, "e": 10, "▁h": 11, "hi": 12, "▁hi": 13, "th": 14, "▁the": 15, "he": 16},
                "merges": ["▁ h", "h i", "▁h i", "h e", "t h", "▁ the", "▁t he"]
              }
            }
            """;

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    @Test
    void llama2StyleFile() throws IOException {
        HfTokenizerJson loaded = HfTokenizerJson.load(write("tokenizer.json", LLAMA2_STYLE));
        SentencePieceTokenizer t = assertInstanceOf(SentencePieceTokenizer.class, loaded.tokenizer());
        assertTrue(loaded.addBos()); // from the template's leading <s>
        assertEquals("<s>", loaded.bosToken());
        assertEquals("</s>", loaded.eosToken());
        assertNull(loaded.chatTemplate());
        assertEquals(1, t.bosId());
        assertTrue(t.isEndOfText(2));
        assertEquals(TokenType.UNKNOWN, t.tokenType(0));
        assertEquals(TokenType.BYTE, t.tokenType(3));
        // "▁hi": "▁ h" (rank 0) first, then "▁h i" (rank 2) beats nothing else: one token.
        assertArrayEquals(new int[]{1, 13}, t.encode("hi", true));
        // "▁hi▁hi" and a newline by byte fallback.
        assertArrayEquals(new int[]{13, 13, 3}, t.encode("hi hi\n", false));
        // "▁he": "▁ h" (rank 0) is listed before "h e" (rank 3), so "▁h" "e"; no merge "▁h e".
        assertArrayEquals(new int[]{11, 10}, t.encode("he", false));
        // é is not a piece: its two bytes.
        assertArrayEquals(new int[]{1, 6, 4, 5}, t.encode("é", true));
        assertEquals("é", t.decode(t.encode("é", true)));
        assertEquals("hi hi\n", t.decode(t.encode("hi hi\n", true)));
        // <s> in text is parsed, and the run after it gets its dummy prefix again.
        assertArrayEquals(new int[]{1, 13}, t.encode("<s>hi", false));
    }

    @Test
    void llama2ConfigSaysAddBos() throws IOException {
        Path file = write("tokenizer.json", LLAMA2_STYLE.replace("\"post_processor\": {", "\"post_processor_unused\": {"));
        write("tokenizer_config.json", """
                {"add_bos_token": true, "add_eos_token": false,
                 "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": {"__type": "AddedToken", "content": "</s>"},
                 "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "x"}]}
                """);
        HfTokenizerJson loaded = HfTokenizerJson.load(file);
        assertTrue(loaded.addBos());
        assertEquals("<s>", loaded.bosToken());
        assertEquals("{{ messages }}", loaded.chatTemplate());
    }

    /** The Llama 3 shape, with the vocabulary of {@link ByteLevelBpeTokenizerTest}. */
    private ObjectNode llama3Style(boolean arrayMerges) {
        ObjectNode root = JSON.createObjectNode();
        String[] tokens = ByteLevelBpeTokenizerTest.tokens();
        int firstSpecial = tokens.length - ByteLevelBpeTokenizerTest.SPECIALS.length;
        ArrayNode added = root.putArray("added_tokens");
        for (int i = firstSpecial; i < tokens.length; i++)
            added.addObject().put("id", i).put("content", tokens[i]).put("special", true).put("normalized", false);
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject().put("type", "Split").put("behavior", "Isolated").put("invert", false);
        split.putObject("pattern").put("Regex", PreTokenizer.LLAMA3_PATTERN);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true).put("use_regex", false);
        ObjectNode post = root.putObject("post_processor").put("type", "Sequence");
        ArrayNode processors = post.putArray("processors");
        processors.addObject().put("type", "ByteLevel");
        ObjectNode template = processors.addObject().put("type", "TemplateProcessing");
        ArrayNode single = template.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<|begin_of_text|>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode model = root.putObject("model").put("type", "BPE").put("ignore_merges", true).put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < firstSpecial; i++) vocab.put(tokens[i], i);
        ArrayNode merges = model.putArray("merges");
        for (String m : ByteLevelBpeTokenizerTest.MERGES) {
            if (arrayMerges) merges.addArray().add(m.split(" ")[0]).add(m.split(" ")[1]);
            else merges.add(m);
        }
        return root;
    }

    @Test
    void llama3StyleFile() throws IOException {
        Path file = write("tokenizer.json", llama3Style(false).toString());
        write("tokenizer_config.json", """
                {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\\n\\n{{ m.content }}<|eot_id|>{% endfor %}"}
                """);
        HfTokenizerJson loaded = HfTokenizerJson.load(file);
        ByteLevelBpeTokenizer t = assertInstanceOf(ByteLevelBpeTokenizer.class, loaded.tokenizer());
        assertSame(PreTokenizer.LLAMA3, t.preTokenizer());
        assertTrue(t.ignoresMerges());
        assertTrue(loaded.addBos()); // the template's leading special token
        assertEquals("<|begin_of_text|>", loaded.bosToken());
        assertEquals("<|eot_id|>", loaded.eosToken());
        assertTrue(loaded.chatTemplate().startsWith("{{ bos_token }}"));
        assertTrue(t.isEndOfText(t.pieceId("<|eot_id|>")));
        assertTrue(t.isEndOfText(t.pieceId("<|end_of_text|>")));
        assertEquals(TokenType.CONTROL, t.tokenType(t.pieceId("<|eot_id|>")));
        ByteLevelBpeTokenizer reference = ByteLevelBpeTokenizerTest.llama3Style();
        for (String s : List.of("<|start_header_id|>user<|end_header_id|>\n\nhello world<|eot_id|>", "12345 xyz", "日本 😀")) {
            assertArrayEquals(reference.encode(s, true), t.encode(s, true), s);
        }
        // Array-form merges load the same.
        Path arrays = write("arrays.json", llama3Style(true).toString());
        Tokenizer fromArrays = HfTokenizerJson.load(arrays, null).tokenizer();
        assertArrayEquals(reference.encode("hello world 12345", true), fromArrays.encode("hello world 12345", true));
    }

    @Test
    void gpt2StyleByteLevelUsesGpt2Pattern() throws IOException {
        ObjectNode root = llama3Style(false);
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        root.remove("post_processor");
        ((ObjectNode) root.get("model")).put("ignore_merges", false);
        ByteLevelBpeTokenizer t = (ByteLevelBpeTokenizer) HfTokenizerJson.load(write("tokenizer.json", root.toString())).tokenizer();
        assertSame(PreTokenizer.GPT2, t.preTokenizer());
        assertFalse(t.ignoresMerges());
        assertEquals(List.of("12345", " xyz"), t.preTokens("12345 xyz"));
    }

    @Test
    void sharedVocabularyAsTokenizerJsonEncodesLikeLlama2c() throws IOException {
        // The aidreams vocabulary written the way Hugging Face's converter writes Llama 2's: pieces
        // with '▁', merges for every split of every piece ordered by the piece's score.
        SentencePieceTokenizer bin = SentencePieceTokenizer.fromLlama2cFile(SharedModels.file("aidreams260K.tok512.bin"), 512);
        float[] scores = Llama2cVocabulary.read(SharedModels.file("aidreams260K.tok512.bin"), 512).scores();
        ObjectNode root = JSON.createObjectNode();
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 0).put("content", "<unk>").put("special", true);
        added.addObject().put("id", 1).put("content", "<s>").put("special", true);
        added.addObject().put("id", 2).put("content", "</s>").put("special", true);
        ArrayNode normalizers = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", "▁");
        normalizers.addObject().put("type", "Replace").put("content", "▁").putObject("pattern").put("String", " ");
        ObjectNode model = root.putObject("model").put("type", "BPE").put("byte_fallback", true).put("unk_token", "<unk>");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < 512; i++) vocab.put(i < 3 ? List.of("<unk>", "<s>", "</s>").get(i) : bin.piece(i).replace(' ', '▁'), i);
        Integer[] order = new Integer[512];
        for (int i = 0; i < 512; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a]));
        ArrayNode merges = model.putArray("merges");
        for (int id : order) {
            if (bin.tokenType(id) != TokenType.NORMAL) continue;
            String p = bin.piece(id);
            for (int cut = 1; cut < p.length(); cut++)
                if (bin.pieceId(p.substring(0, cut)) >= 0 && bin.pieceId(p.substring(cut)) >= 0)
                    merges.addArray().add(p.substring(0, cut).replace(' ', '▁')).add(p.substring(cut).replace(' ', '▁'));
        }
        Tokenizer hf = HfTokenizerJson.load(write("tokenizer.json", root.toString()), null).tokenizer();
        for (String s : List.of("Once upon a time", "Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes",
                "Contrast bloom, as I adjust my surface.\n", "日本 😀 café ö", "  two  spaces ")) {
            assertArrayEquals(bin.encode(s, true), hf.encode(s, true), s);
            assertEquals(s, hf.decode(hf.encode(s, true)));
        }
    }

    @Test
    void malformedFilesNameThemselves() throws IOException {
        Path broken = write("broken.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
        MalformedTokenizerException e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(broken, null));
        assertTrue(e.getMessage().contains(broken.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());

        Path unigram = write("unigram.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(unigram, null));
        assertTrue(e.getMessage().contains(unigram.toString()) && e.getMessage().contains("\"Unigram\" is not supported"), e.getMessage());

        Path noVocab = write("novocab.json", "{\"model\": {\"type\": \"BPE\", \"merges\": []}}");
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(noVocab, null));
        assertTrue(e.getMessage().contains("model.vocab"), e.getMessage());

        Path badMerge = write("badmerge.json", LLAMA2_STYLE.replace("\"h e\"", "\"he\""));
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(badMerge, null));
        assertTrue(e.getMessage().contains(badMerge.toString()) && e.getMessage().contains("merge 3"), e.getMessage());

        Path badId = write("badid.json", LLAMA2_STYLE.replace("\"▁hi\": 13", "\"▁hi\": \"13\""));
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(badId, null));
        assertTrue(e.getMessage().contains("▁hi"), e.getMessage());

        Path array = write("array.json", "[1, 2]");
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(array, null));
        assertTrue(e.getMessage().contains("not a JSON object"), e.getMessage());

        Path ok = write("ok.json", LLAMA2_STYLE);
        Path badConfig = write("bad_config.json", "{\"bos_token\": ");
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(ok, badConfig));
        assertTrue(e.getMessage().contains(badConfig.toString()), e.getMessage());

        Path strangeBos = write("strange_config.json", "{\"bos_token\": \"<|nope|>\"}");
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(ok, strangeBos));
        assertTrue(e.getMessage().contains("<|nope|>"), e.getMessage());

        Path nfkc = write("nfkc.json", LLAMA2_STYLE.replace("{\"type\": \"Prepend\", \"prepend\": \"▁\"},", "{\"type\": \"NFKC\"},"));
        e = assertThrows(MalformedTokenizerException.class, () -> HfTokenizerJson.load(nfkc, null));
        assertTrue(e.getMessage().contains("NFKC"), e.getMessage());

        assertThrows(java.nio.file.NoSuchFileException.class, () -> HfTokenizerJson.load(dir.resolve("absent.json")));
    }
}
