package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Byte-level BPE on a vocabulary built here: the 256 byte symbols (ids 0..255, id = byte value),
 * then merged pieces in merge order, then Llama 3's special tokens.
 */
class ByteLevelBpeTokenizerTest {

    /** Merges in rank order ('Ġ' is the space symbol, 'Ċ' the newline symbol). */
    static final String[] MERGES = {
            "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "h e", "l l", "he ll", "hell o", "Ċ Ċ", "1 2", "12 3"};
    static final String[] SPECIALS = {
            "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    /** A whole-word piece no merge can reach: only ignore-merges finds it. */
    static final String UNREACHABLE = "Ġxyz";

    static String[] tokens() {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevelAlphabet.charOf(b)));
        for (String m : MERGES) tokens.add(m.replace(" ", ""));
        tokens.add(UNREACHABLE);
        tokens.addAll(List.of(SPECIALS));
        return tokens.toArray(String[]::new);
    }

    static int[] types(String[] tokens) {
        int[] types = new int[tokens.length];
        Arrays.fill(types, TokenType.NORMAL);
        for (int i = tokens.length - SPECIALS.length; i < tokens.length; i++) types[i] = TokenType.CONTROL;
        return types;
    }

    static ByteLevelBpeTokenizer llama3Style() {
        String[] tokens = tokens();
        return ByteLevelBpeTokenizer.fromVocabulary(tokens, MERGES, types(tokens),
                Arrays.asList(tokens).indexOf("<|begin_of_text|>"), Arrays.asList(tokens).indexOf("<|end_of_text|>"), "llama-bpe");
    }

    private static int id(Tokenizer t, String piece) {
        int id = t.pieceId(piece);
        assertTrue(id >= 0, piece);
        return id;
    }

    @Test
    void mergesByRank() {
        ByteLevelBpeTokenizer t = llama3Style();
        assertArrayEquals(new int[]{id(t, "hello"), id(t, "Ġworld")}, t.encode("hello world", false));
        // "hello" only partly: "he" + "ll" merge, "hel" is no piece.
        assertArrayEquals(new int[]{id(t, "hell"), 'p'}, t.encode("hellp", false));
        assertArrayEquals(new int[]{id(t, "Ġwor"), 'k'}, t.encode(" work", false));
        // "123" then "45": Llama 3 splits digits by three.
        assertArrayEquals(new int[]{id(t, "123"), '4', '5'}, t.encode("12345", false));
        assertArrayEquals(new int[]{'H', 'i', id(t, "ĊĊ"), 'x'}, t.encode("Hi\n\nx", false));
    }

    @Test
    void earlierMergeWins() {
        // Two rankings of the same three merges over "abc".
        String[] tokens = new String[259];
        for (int b = 0; b < 256; b++) tokens[b] = String.valueOf(ByteLevelAlphabet.charOf(b));
        tokens[256] = "ab";
        tokens[257] = "bc";
        tokens[258] = "aa";
        ByteLevelBpeTokenizer abFirst = ByteLevelBpeTokenizer.fromVocabulary(tokens, new String[]{"a b", "b c", "a a"}, null, -1, -1, PreTokenizer.GPT2, false);
        ByteLevelBpeTokenizer bcFirst = ByteLevelBpeTokenizer.fromVocabulary(tokens, new String[]{"b c", "a b", "a a"}, null, -1, -1, PreTokenizer.GPT2, false);
        assertArrayEquals(new int[]{256, 'c'}, abFirst.encode("abc", false));
        assertArrayEquals(new int[]{'a', 257}, bcFirst.encode("abc", false));
        // Equal ranks: leftmost first, so "aaa" is "aa" "a".
        assertArrayEquals(new int[]{258, 'a'}, abFirst.encode("aaa", false));
        assertArrayEquals(new int[]{258, 258}, abFirst.encode("aaaa", false));
        assertEquals(-1, abFirst.bosId());
        assertArrayEquals(new int[]{'a'}, abFirst.encode("a", true)); // no BOS to add
    }

    @Test
    void specialTokensInText() {
        ByteLevelBpeTokenizer t = llama3Style();
        int start = id(t, "<|start_header_id|>"), end = id(t, "<|end_header_id|>"), eot = id(t, "<|eot_id|>");
        int bos = id(t, "<|begin_of_text|>");
        String chat = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello world<|eot_id|>";
        int[] expected = {bos, start, 'u', 's', 'e', 'r', end, id(t, "ĊĊ"), id(t, "hello"), id(t, "Ġworld"), eot};
        assertArrayEquals(expected, t.encode(chat, false));
        assertArrayEquals(expected, t.encode(chat, false, true));
        // The text and the BOS the caller asks for are different things: both appear.
        assertEquals(bos, t.encode(chat, true)[0]);
        assertEquals(bos, t.encode(chat, true)[1]);
        // Not parsed: the special texts are ordinary bytes, and decode gives them back.
        int[] literal = t.encode("<|eot_id|>", false, false);
        assertFalse(Arrays.stream(literal).anyMatch(x -> x == eot));
        assertEquals("<|eot_id|>", t.decode(literal));
        // Control tokens decode to nothing.
        assertEquals("user\n\nhello world", t.decode(expected));
    }

    @Test
    void bosAndEndOfText() {
        ByteLevelBpeTokenizer t = llama3Style();
        int bos = id(t, "<|begin_of_text|>");
        assertEquals(bos, t.bosId());
        assertArrayEquals(new int[]{bos}, t.encode("", true));
        assertArrayEquals(new int[]{}, t.encode("", false));
        assertArrayEquals(new int[]{bos, id(t, "hello")}, t.encode("hello", true));
        assertTrue(t.isEndOfText(id(t, "<|end_of_text|>")));
        assertTrue(t.isEndOfText(id(t, "<|eot_id|>")));
        assertFalse(t.isEndOfText(bos));
        assertFalse(t.isEndOfText(id(t, "hello")));
        assertFalse(t.isEndOfText(-1));
        assertArrayEquals(new int[]{id(t, "<|end_of_text|>"), id(t, "<|eot_id|>")}, t.endOfTextIds());
    }

    @Test
    void ignoreMergesTakesWholePieces() {
        String[] tokens = tokens();
        ByteLevelBpeTokenizer llama3 = llama3Style();
        assertTrue(llama3.ignoresMerges());
        assertSame(PreTokenizer.LLAMA3, llama3.preTokenizer());
        assertArrayEquals(new int[]{id(llama3, UNREACHABLE)}, llama3.encode(" xyz", false));
        ByteLevelBpeTokenizer gpt2 = ByteLevelBpeTokenizer.fromVocabulary(tokens, MERGES, types(tokens), -1, -1, "gpt2");
        assertFalse(gpt2.ignoresMerges());
        assertSame(PreTokenizer.GPT2, gpt2.preTokenizer());
        assertArrayEquals(new int[]{' ', 'x', 'y', 'z'}, gpt2.encode(" xyz", false));
        // GPT-2's pattern keeps digit runs whole: "12" "3" merge to "123", then "45" stays bytes.
        assertArrayEquals(new int[]{id(gpt2, "123"), '4', '5'}, gpt2.encode("12345", false));
    }

    @Test
    void tokenBytesAndRoundTrips() {
        ByteLevelBpeTokenizer t = llama3Style();
        assertArrayEquals(" world".getBytes(), t.tokenBytes(id(t, "Ġworld")));
        assertArrayEquals(new byte[]{'\n', '\n'}, t.tokenBytes(id(t, "ĊĊ")));
        assertArrayEquals(new byte[]{(byte) 0xF0}, t.tokenBytes(0xF0));
        assertArrayEquals(new byte[0], t.tokenBytes(id(t, "<|eot_id|>")));
        assertThrows(IllegalArgumentException.class, () -> t.tokenBytes(t.vocabSize()));
        for (String s : List.of("hello world", "  leading and trailing  ", "tabs\tand\r\nCRLF\n\n\n", "日本語のテキスト",
                "emoji 😀🎉 and 🇫🇷", "I'M here, you'RE there; 12345678 9", "\u0000\u007f\u00ad", "x!!!\n  y")) {
            assertEquals(s, t.decode(t.encode(s, false)), "round trip of " + s);
            assertEquals(s, t.decode(t.encode(s, true)), "round trip with BOS of " + s);
            // The cache gives the same answer the second time.
            assertArrayEquals(t.encode(s, false), t.encode(s, false));
        }
    }

    @Test
    void userDefinedTokensAreAlwaysMatchedAndDecodeRaw() {
        String[] tokens = Arrays.copyOf(tokens(), tokens().length + 1);
        tokens[tokens.length - 1] = "<tool>";
        int[] types = Arrays.copyOf(types(tokens()), tokens.length);
        types[tokens.length - 1] = TokenType.USER_DEFINED;
        ByteLevelBpeTokenizer t = ByteLevelBpeTokenizer.fromVocabulary(tokens, MERGES, types, -1, -1, "llama3");
        int tool = tokens.length - 1;
        assertArrayEquals(new int[]{id(t, "hello"), tool}, t.encode("hello<tool>", false, false));
        assertArrayEquals("<tool>".getBytes(), t.tokenBytes(tool));
    }

    @Test
    void malformedInputs() {
        String[] tokens = tokens();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpeTokenizer.fromVocabulary(tokens, new String[]{"a b", "abc"}, null, -1, -1, "gpt2"));
        assertTrue(e.getMessage().contains("merge 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpeTokenizer.fromVocabulary(tokens, MERGES, new int[3], -1, -1, "gpt2"));
        assertThrows(IllegalArgumentException.class,
                () -> ByteLevelBpeTokenizer.fromVocabulary(tokens, MERGES, null, tokens.length, -1, "gpt2"));
    }
}
