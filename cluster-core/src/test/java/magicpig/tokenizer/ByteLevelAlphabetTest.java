package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ByteLevelAlphabetTest {

    @Test
    void gpt2Table() {
        assertEquals('A', ByteLevelAlphabet.charOf('A'));
        assertEquals('!', ByteLevelAlphabet.charOf('!'));
        assertEquals('\u0100', ByteLevelAlphabet.charOf(0)); // first shifted byte
        assertEquals('\u010A', ByteLevelAlphabet.charOf('\n')); // 'Ċ'
        assertEquals('\u0120', ByteLevelAlphabet.charOf(' ')); // 'Ġ'
        assertEquals('\u0121', ByteLevelAlphabet.charOf(0x7F));
        assertEquals('\u0143', ByteLevelAlphabet.charOf(0xAD)); // the last shifted byte (soft hyphen)
        assertEquals('\u00FF', ByteLevelAlphabet.charOf(0xFF));
        Set<Character> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) seen.add(ByteLevelAlphabet.charOf(b));
        assertEquals(256, seen.size());
    }

    @Test
    void spellsAndUnspells() {
        assertEquals("Hello\u0120world\u010A", ByteLevelAlphabet.spell("Hello world\n"));
        String s = "naïve 日本 😀 \u0000\u007f";
        assertEquals(s, new String(ByteLevelAlphabet.unspell(ByteLevelAlphabet.spell(s)), StandardCharsets.UTF_8));
        assertArrayEquals(new byte[]{(byte) 0xE6}, ByteLevelAlphabet.unspell("æ"));
    }
}
