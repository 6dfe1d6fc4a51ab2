package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SentencePiece BPE on the shared 512-piece aidreams260K vocabulary. The expected ids were derived
 * by running llama2.c's encode() algorithm step by step (a literal transcription of run.c: dummy
 * prefix " " token, per-character lookup, byte fallback id = byte + 3, then merge the best-scoring
 * pair, leftmost on ties); the comments show the pieces. In this vocabulary the merges score
 * "in" 0, "es" -1, "er" -2, " a" -3, " t" -4, ..., single characters -170 and below.
 */
class SentencePieceTokenizerTest {

    private static SentencePieceTokenizer bin;

    @BeforeAll
    static void load() throws IOException {
        bin = SentencePieceTokenizer.fromLlama2cFile(SharedModels.file("aidreams260K.tok512.bin"), 512);
    }

    @Test
    void readsTheLlama2cVocabulary() {
        assertEquals(512, bin.vocabSize());
        assertEquals(1, bin.bosId());
        assertEquals(2, bin.eosId());
        assertEquals("\n<s>\n", bin.piece(1)); // llama2.c's export writes BOS/EOS with newlines
        assertEquals("<0x0A>", bin.piece(13)); // byte fallback: byte + 3
        assertEquals(" a", bin.piece(262));
        assertEquals(' ', bin.spaceSymbol()); // llama2.c exports store plain spaces
        assertEquals(262, bin.pieceId(" a"));
        assertEquals(-1, bin.pieceId("no such piece"));
        assertTrue(bin.isEndOfText(2));
        assertFalse(bin.isEndOfText(1));
        assertEquals(TokenType.UNKNOWN, bin.tokenType(0));
        assertEquals(TokenType.CONTROL, bin.tokenType(1));
        assertEquals(TokenType.BYTE, bin.tokenType(3));
        assertEquals(TokenType.NORMAL, bin.tokenType(259));
    }

    @Test
    void onceUponATime() {
        // " " "O" "n" "ce" " " "u" "p" "on" " a" " t" "im" "e": " O" is no piece, so the dummy
        // prefix stays alone; " a" (-3) merges before " t" (-4), "on" (-6), "ce" (-36), "im" (-83).
        assertArrayEquals(new int[]{1, 429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430},
                bin.encode("Once upon a time", true));
        assertArrayEquals(new int[]{429, 491, 433, 295, 429, 444, 445, 265, 262, 263, 342, 430},
                bin.encode("Once upon a time", false));
    }

    @Test
    void mergesLongWords() {
        // " E" "cho" "es" " of" " " "ve" "ct" "ors" " unfold" "," " a" " gentle" " hum"
        assertArrayEquals(new int[]{1, 388, 355, 260, 275, 429, 339, 315, 374, 327, 446, 262, 421, 392},
                bin.encode("Echoes of vectors unfold, a gentle hum", true));
        // A piece that is the whole word after its space: " " + " whispers".
        assertArrayEquals(new int[]{1, 429, 325}, bin.encode(" whispers", true));
        // Two spaces: " a" " " " b".
        assertArrayEquals(new int[]{1, 262, 429, 294}, bin.encode("a  b", true));
    }

    @Test
    void encodesTheReferenceGenerationText() {
        // The README's known-good greedy output, as llama2.c's encode() tokenizes it.
        String text = "Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes, a gentle hum of precision, "
                + "as I adjust my surface. Contrast emerge, a softly receptive fields of precision. Contrast bloom, as";
        int[] expected = {1, 388, 355, 260, 275, 429, 339, 315, 374, 327, 446, 262, 421, 392, 275, 280, 269, 440, 270, 283,
                446, 299, 303, 266, 358, 430, 312, 379, 441, 260, 446, 262, 421, 392, 275, 280, 269, 440, 270, 283, 446, 299,
                303, 384, 467, 407, 360, 266, 291, 443, 435, 295, 448, 429, 465, 265, 434, 317, 431, 434, 289, 408, 326, 446,
                262, 266, 437, 443, 434, 438, 451, 306, 295, 445, 434, 432, 339, 279, 432, 375, 410, 275, 280, 269, 440, 270,
                283, 448, 429, 465, 265, 434, 317, 431, 434, 389, 437, 393, 446, 299};
        assertArrayEquals(expected, bin.encode(text, true));
        assertEquals(text, bin.decode(expected));
    }

    @Test
    void emptyTextIsBosOrNothing() {
        // No dummy prefix for empty text (run.c: only "if (text[0] != '\0')").
        assertArrayEquals(new int[]{1}, bin.encode("", true));
        assertArrayEquals(new int[]{}, bin.encode("", false));
    }

    @Test
    void byteFallbackForMissingCharacters() {
        // '\n' is no piece: <0x0A> = 10 + 3.
        assertArrayEquals(new int[]{1, 429, 480, 375, 438, 437, 13, 449, 284, 438, 441}, bin.encode("Hello\nworld", true));
        // 日 = E6 97 A5, 本 = E6 9C AC: each byte + 3.
        assertArrayEquals(new int[]{1, 429, 233, 154, 168, 233, 159, 175}, bin.encode("日本", true));
        // 😀 = F0 9F 98 80 (4 bytes), then '!' = 0x21 (no piece of its own here).
        assertArrayEquals(new int[]{1, 429, 243, 162, 155, 131, 36}, bin.encode("😀!", true));
        // é falls back (C3 A9) while ö is a piece of its own (508).
        assertArrayEquals(new int[]{1, 273, 435, 443, 198, 172, 429, 508}, bin.encode("café ö", true));
        // Multi-byte characters the vocabulary has: – (492), σ (496), ° (503); '\\' falls back (0x5C + 3).
        assertArrayEquals(new int[]{1, 352, 405, 95, 417, 261, 430, 446, 429, 469, 464, 464, 485, 429, 494, 437, 453, 498,
                501, 429, 458, 506, 482, 505, 484, 429, 492, 429, 496, 503}, bin.encode("Tab\\there, 100% (ok); x=3/4 – σ°", true));
    }

    @Test
    void leadingSpaceKeepsItsOwnToken() {
        // Dummy prefix " " plus the text's own " ", then "le" "ad" "ing" " sp" "a" "ce".
        assertArrayEquals(new int[]{1, 429, 429, 285, 336, 264, 420, 435, 295}, bin.encode(" leading space", true));
    }

    @Test
    void tokenBytes() {
        assertArrayEquals(new byte[0], bin.tokenBytes(0)); // <unk>
        assertArrayEquals(new byte[0], bin.tokenBytes(1)); // BOS
        assertArrayEquals(new byte[0], bin.tokenBytes(2)); // EOS
        assertArrayEquals(new byte[]{10}, bin.tokenBytes(13)); // <0x0A>
        assertArrayEquals(new byte[]{(byte) 0xE6}, bin.tokenBytes(233));
        assertArrayEquals(" a".getBytes(), bin.tokenBytes(262));
        assertThrows(IllegalArgumentException.class, () -> bin.tokenBytes(512));
        assertThrows(IllegalArgumentException.class, () -> bin.piece(-1));
    }

    @Test
    void roundTrips() {
        for (String s : List.of("Once upon a time", "a", " ", "  two  spaces  ", "line one\nline two\n", "tabs\tand\r\nCRLF",
                "日本語のテキスト", "emoji 😀🎉 and flags 🇫🇷", "Ελληνικά μ λ ε σ", "mixed: café, naïve, Zürich – 100°",
                "\u0000 nul and \u007f del", "Contrast bloom, as I adjust my surface.")) {
            int[] ids = bin.encode(s, true);
            assertEquals(s, bin.decode(ids), "round trip of " + s);
            // Without BOS the dummy-prefix space stays: a continuation decodes with its space.
            assertEquals(" " + s, bin.decode(bin.encode(s, false)), "round trip without BOS of " + s);
        }
    }

    @Test
    void ggufVocabularyEncodesTheSameIds() throws IOException {
        Map<String, Object> meta = GgufVocabularyForTest.metadata(SharedModels.file("aidreams260K.gguf"));
        assertEquals("llama", meta.get("tokenizer.ggml.model"));
        SentencePieceTokenizer gguf = SentencePieceTokenizer.fromVocabulary(
                GgufVocabularyForTest.strings(meta, "tokenizer.ggml.tokens"),
                GgufVocabularyForTest.floats(meta, "tokenizer.ggml.scores"),
                GgufVocabularyForTest.ints(meta, "tokenizer.ggml.token_type"),
                (Integer) meta.get("tokenizer.ggml.bos_token_id"),
                (Integer) meta.get("tokenizer.ggml.eos_token_id"));
        assertEquals(SentencePieceTokenizer.WORD_MARKER, gguf.spaceSymbol()); // GGUF pieces use '▁'
        assertEquals("\u2581a", gguf.piece(262));
        assertArrayEquals(" a".getBytes(), gguf.tokenBytes(262));
        assertArrayEquals(new byte[0], gguf.tokenBytes(1));
        for (String s : List.of("Once upon a time", "Echoes of vectors unfold, a gentle hum", "Hello\nworld", "日本 😀!",
                " leading space", "a  b", "café ö", "")) {
            assertArrayEquals(bin.encode(s, true), gguf.encode(s, true), "same ids for " + s);
            assertEquals(s, gguf.decode(gguf.encode(s, true)));
        }
        // "<s>" in the text is BOS when special tokens are parsed, characters otherwise; the run
        // after a special token gets its own dummy prefix, as in llama.cpp.
        assertArrayEquals(new int[]{1, 1, 429, 491, 433, 295}, gguf.encode("<s>Once", true, true));
        int[] literal = gguf.encode("<s>", false, false);
        assertFalse(Arrays.stream(literal).anyMatch(t -> t == 1));
        assertEquals(" <s>", gguf.decode(literal));
    }

    @Test
    void mergeRanksFromAllSplitsMatchScores() {
        // Hugging Face's Llama 2 tokenizer.json lists, for every piece, each split into two pieces,
        // ordered by the piece's score: ranking by that list must encode like scoring.
        String[] pieces = new String[bin.vocabSize()];
        float[] scores = new float[bin.vocabSize()];
        Integer[] order = new Integer[bin.vocabSize()];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = bin.piece(i).replace(' ', SentencePieceTokenizer.WORD_MARKER);
            order[i] = i;
        }
        float[] binScores = llama2cScores();
        System.arraycopy(binScores, 0, scores, 0, scores.length);
        Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a]));
        List<MergePair> merges = new ArrayList<>();
        for (int id : order) {
            if (bin.tokenType(id) != TokenType.NORMAL) continue;
            String p = pieces[id];
            for (int cut = 1; cut < p.length(); cut++) {
                String l = p.substring(0, cut), r = p.substring(cut);
                int li = bin.pieceId(l.replace(SentencePieceTokenizer.WORD_MARKER, ' '));
                int ri = bin.pieceId(r.replace(SentencePieceTokenizer.WORD_MARKER, ' '));
                if (li >= 0 && ri >= 0) merges.add(new MergePair(l, r));
            }
        }
        int[] types = new int[pieces.length];
        for (int i = 0; i < types.length; i++) types[i] = bin.tokenType(i);
        pieces[1] = "<s>";
        pieces[2] = "</s>";
        SentencePieceTokenizer ranked = SentencePieceTokenizer.fromMerges(pieces, merges, types, 1, 2, true);
        for (String s : List.of("Once upon a time", "Echoes of vectors unfold, a gentle hum of precision",
                "as I adjust my surface. Contrast emerge, a softly receptive fields", "日本 😀!", "a  b", "whisperings")) {
            assertArrayEquals(bin.encode(s, true), ranked.encode(s, true), "same ids for " + s);
        }
    }

    private static float[] llama2cScores() {
        try {
            return Llama2cVocabulary.read(SharedModels.file("aidreams260K.tok512.bin"), 512).scores();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void truncatedFileNamesItself(@TempDir Path dir) throws IOException {
        byte[] whole = Files.readAllBytes(SharedModels.file("aidreams260K.tok512.bin"));
        Path cut = dir.resolve("cut.bin");
        // The last piece is "μ" (2 bytes): cutting 1 byte leaves it short, cutting 3 its header.
        Files.write(cut, Arrays.copyOf(whole, whole.length - 1));
        MalformedTokenizerException e = assertThrows(MalformedTokenizerException.class,
                () -> SentencePieceTokenizer.fromLlama2cFile(cut, 512));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("piece 511 claims 2 bytes but 1 remain"), e.getMessage());
        Files.write(cut, Arrays.copyOf(whole, whole.length - 3));
        e = assertThrows(MalformedTokenizerException.class, () -> SentencePieceTokenizer.fromLlama2cFile(cut, 512));
        assertTrue(e.getMessage().contains(cut.toString()) && e.getMessage().contains("511 of the 512"), e.getMessage());

        Path whole512 = dir.resolve("whole.bin");
        Files.write(whole512, whole);
        e = assertThrows(MalformedTokenizerException.class, () -> SentencePieceTokenizer.fromLlama2cFile(whole512, 600));
        assertTrue(e.getMessage().contains("512 of the 600"), e.getMessage());
        assertEquals(512, SentencePieceTokenizer.fromLlama2cFile(whole512).vocabSize());

        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[]{1, 0});
        e = assertThrows(MalformedTokenizerException.class, () -> SentencePieceTokenizer.fromLlama2cFile(tiny, 512));
        assertTrue(e.getMessage().contains(tiny.toString()) && e.getMessage().contains("too short"), e.getMessage());

        Path garbage = dir.resolve("garbage.bin");
        Files.write(garbage, new byte[]{10, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 0, 0, 'x'});
        e = assertThrows(MalformedTokenizerException.class, () -> SentencePieceTokenizer.fromLlama2cFile(garbage, 512));
        assertTrue(e.getMessage().contains("piece 0 claims 65535 bytes"), e.getMessage());
    }

    @Test
    void handBuiltVocabularyWithTiesTakesTheLeftmost() {
        // "ab" and "bc" score alike: in "abc" the leftmost pair (a,b) merges first.
        String[] pieces = {"<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "ab", "bc", "\u2581ab"};
        float[] scores = {0, 0, 0, -10, -10, -10, -10, -1, -1, -2};
        SentencePieceTokenizer t = SentencePieceTokenizer.fromVocabulary(pieces, scores, null, 1, 2, false);
        assertArrayEquals(new int[]{7, 6}, t.encode("abc", false));
        assertArrayEquals(new int[]{8}, t.encode("bc", false));
        SentencePieceTokenizer prefixed = SentencePieceTokenizer.fromVocabulary(pieces, scores, null, 1, 2, true);
        // "▁abc": "ab" (-1) first, then "▁ab" (-2); "bc" cannot form any more.
        assertArrayEquals(new int[]{9, 6}, prefixed.encode("abc", false));
        // Without byte pieces, a missing character is <unk>.
        assertArrayEquals(new int[]{9, 0}, prefixed.encode("abé", false));
    }
}
