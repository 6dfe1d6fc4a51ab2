package magicpig.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8StreamTest {

    @Test
    void charactersSplitAcrossTokensAreHeldUntilComplete() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8); // 3 bytes
        byte[] pig = "🐖".getBytes(StandardCharsets.UTF_8); // 4 bytes
        Utf8Stream s = new Utf8Stream();
        assertEquals("a", s.push(new byte[] {'a', euro[0]}));
        assertEquals("", s.push(new byte[] {euro[1]}));
        assertEquals("€", s.push(new byte[] {euro[2], pig[0], pig[1]}));
        assertEquals("🐖b", s.push(new byte[] {pig[2], pig[3], 'b'}));
        assertEquals("", s.flush());
    }

    @Test
    void brokenSequencesBecomeReplacementCharacters() {
        Utf8Stream s = new Utf8Stream();
        assertEquals("\uFFFDx", s.push(new byte[] {(byte) 0xE2, 'x'}));
        assertEquals("\uFFFD", s.push(new byte[] {(byte) 0x80}));
        s.push(new byte[] {(byte) 0xF0, (byte) 0x9F});
        assertEquals("\uFFFD", s.flush());
    }
}
