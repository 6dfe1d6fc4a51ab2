package magicpig.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import magicpig.tokenizer.SyntheticTokenizer;
import org.junit.jupiter.api.Test;

/** Token by token to text: whole characters only, stop strings held back and cut, the space after BOS. */
class TextStreamTest {
    /** The synthetic vocabulary has one token per byte (3 + byte), so characters can be split at will. */
    static final SyntheticTokenizer TOK = new SyntheticTokenizer(512);

    static List<String> pieces(TextStream ts, String text) {
        List<String> out = new ArrayList<>();
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            out.add(ts.push((b & 0xFF) + 3));
            if (ts.stopped()) return out;
        }
        out.add(ts.finish());
        return out;
    }

    @Test
    void multiByteCharactersSplitAcrossTokensArriveWhole() {
        String text = "né € 😀 done";
        List<String> pieces = pieces(new TextStream(TOK, List.of(), 100), text);
        for (String p : pieces) assertFalse(p.contains("\uFFFD"), "broken character in " + pieces);
        assertEquals(text, String.join("", pieces));
        // the emoji's four bytes are four tokens: nothing is sent until the last one
        int at = text.getBytes(StandardCharsets.UTF_8).length - " done".length() - 4;
        assertEquals("", pieces.get(at));
        assertEquals("", pieces.get(at + 2));
        assertEquals("😀", pieces.get(at + 3));
    }

    @Test
    void stopStringIsCutAndWhatCouldStartOneIsHeld() {
        TextStream ts = new TextStream(TOK, List.of("END", "xyz"), 100);
        List<String> pieces = pieces(ts, "abc EN then END more");
        assertTrue(ts.stopped());
        assertEquals("abc EN then ", String.join("", pieces));
        // "E" and "EN" were held until "t" showed they do not start a stop string
        assertEquals("", pieces.get(4));
        assertEquals("", pieces.get(5));
        assertEquals("EN", pieces.get(6).substring(0, 2));
        assertEquals("", ts.push(3 + 'q'), "nothing after the stop");
    }

    @Test
    void heldTextIsReleasedAtTheEnd() {
        TextStream ts = new TextStream(TOK, List.of("STOP"), 100);
        List<String> pieces = pieces(ts, "ends with ST");
        assertFalse(ts.stopped());
        assertEquals("ends with ST", String.join("", pieces));
        assertEquals("ST", pieces.get(pieces.size() - 1));
    }

    @Test
    void firstPieceAfterBosLosesItsLeadingSpace() {
        int syllable = 300; // a piece like " shee"
        assertTrue(TOK.piece(syllable).startsWith(" "));
        assertEquals(TOK.piece(syllable).substring(1), new TextStream(TOK, List.of(), TOK.bosId()).push(syllable));
        assertEquals(TOK.piece(syllable), new TextStream(TOK, List.of(), 100).push(syllable));
        TextStream ts = new TextStream(TOK, List.of(), TOK.bosId());
        ts.push(syllable);
        assertEquals(TOK.piece(syllable), ts.push(syllable), "only the first piece");
    }
}
