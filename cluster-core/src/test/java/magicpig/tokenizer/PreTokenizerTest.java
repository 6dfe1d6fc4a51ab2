package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pre-tokenizer patterns on tricky text. The expected lists were written by hand from the
 * patterns' alternatives (first alternative that matches at each position wins) and cross-checked
 * with Python's {@code regex} module, whose Unicode classes agree with Oniguruma's.
 */
class PreTokenizerTest {

    private static void llama3(String text, String... expected) {
        assertEquals(List.of(expected), PreTokenizer.LLAMA3.split(text), "Llama 3 split of " + text);
    }

    private static void gpt2(String text, String... expected) {
        assertEquals(List.of(expected), PreTokenizer.GPT2.split(text), "GPT-2 split of " + text);
    }

    @Test
    void llama3Basics() {
        llama3("Hello world", "Hello", " world");
        // \s+(?!\S) leaves the last space to join the word.
        llama3("  hi", " ", " hi");
        // Digits in runs of at most three.
        llama3("12345", "123", "45");
        llama3("I'm", "I", "'m");
        // Newline runs stand alone.
        llama3("a\n\nb", "a", "\n\n", "b");
        // Punctuation keeps the newlines that follow it.
        llama3("x!!!\n", "x", "!!!\n");
        llama3("", new String[0]);
    }

    @Test
    void llama3TrickyCases() {
        // Contractions are case-insensitive.
        llama3("I'M HERE'S", "I", "'M", " HERE", "'S");
        llama3("don't   stop\n\n  now", "don", "'t", "  ", " stop", "\n\n", " ", " now");
        llama3("3.14159 and 1,000,000", "3", ".", "141", "59", " and", " ", "1", ",", "000", ",", "000");
        llama3("   ", "   ");
        llama3("a \n b", "a", " \n", " b");
        // One non-letter (here a tab) may lead a word.
        llama3("tab\there", "tab", "\there");
        llama3("¡Hola! ¿Qué?", "¡Hola", "!", " ¿", "Qué", "?");
        llama3("日本語 テキスト123", "日本語", " テキスト", "123");
        llama3("emoji 😀🎉!!", "emoji", " 😀🎉!!");
        // \s is Unicode white space: no-break space and ideographic space lead words like a space.
        llama3("x\u00a0y\u3000z", "x", "\u00a0y", "\u3000z");
        llama3("'ll've 'S", "'ll", "'ve", " '", "S");
        llama3("<|x|> foo", "<|", "x", "|>", " foo");
        llama3("a  \n\n  b  ", "a", "  \n\n", " ", " b", "  ");
        llama3("trailing  ", "trailing", "  ");
    }

    @Test
    void gpt2Splits() {
        gpt2("Hello world", "Hello", " world");
        gpt2("  hi", " ", " hi");
        gpt2("12345", "12345");
        gpt2("I'm", "I", "'m");
        gpt2("a\n\nb", "a", "\n", "\n", "b");
        gpt2("x!!!\n", "x", "!!!", "\n");
        // Contractions are case-sensitive here.
        gpt2("I'M HERE'S", "I", "'", "M", " HERE", "'", "S");
        gpt2("don't   stop\n\n  now", "don", "'t", "  ", " stop", "\n\n ", " now");
        gpt2("3.14159 and 1,000,000", "3", ".", "14159", " and", " 1", ",", "000", ",", "000");
        gpt2("tab\there", "tab", "\t", "here");
        gpt2("x\u00a0y\u3000z", "x", "\u00a0", "y", "\u3000", "z");
    }

    @Test
    void choosesByGgufPre() {
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forGgufPre("llama-bpe"));
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forGgufPre("llama3"));
        assertSame(PreTokenizer.GPT2, PreTokenizer.forGgufPre("gpt2"));
        assertSame(PreTokenizer.GPT2, PreTokenizer.forGgufPre("default"));
        assertSame(PreTokenizer.GPT2, PreTokenizer.forGgufPre(null));
    }

    @Test
    void prefixSpaceAndGaps() {
        PreTokenizer prefixed = PreTokenizer.ofPattern(PreTokenizer.GPT2_PATTERN, true);
        assertEquals(List.of(" Hello", " world"), prefixed.split("Hello world"));
        assertEquals(List.of(" hi"), prefixed.split(" hi"));
        // Text between matches is a pre-token too (Split's Isolated behaviour).
        assertEquals(List.of("ab", "-", "cd"), PreTokenizer.ofPattern("-", false).split("ab-cd"));
        assertThrows(IllegalArgumentException.class, () -> PreTokenizer.ofPattern("(unclosed", false));
    }
}
