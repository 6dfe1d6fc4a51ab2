package magicpig.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds special-token texts (control, unknown and user-defined pieces) in input text and cuts the
 * text around them, before any merging, as llama.cpp and Hugging Face do. At each position the
 * longest special text that starts there wins; control and unknown pieces are matched only when the
 * caller asks to parse special tokens, user-defined pieces always.
 */
final class SpecialTokens {

    /** A run of ordinary text (token == -1) or one special token (text == null). */
    record Segment(String text, int token) {
        boolean isToken() {
            return text == null;
        }
    }

    private record Entry(String text, int token, boolean always) {
    }

    /** Special texts by their first character, longest first. */
    private final Map<Character, List<Entry>> byFirstChar = new HashMap<>();

    SpecialTokens(String[] pieces, int[] types) {
        for (int id = 0; id < pieces.length; id++) {
            String piece = pieces[id];
            if (!TokenType.isSpecial(types[id]) || piece == null || piece.isEmpty()) continue;
            byFirstChar.computeIfAbsent(piece.charAt(0), c -> new ArrayList<>())
                    .add(new Entry(piece, id, types[id] == TokenType.USER_DEFINED));
        }
        for (List<Entry> entries : byFirstChar.values())
            entries.sort(Comparator.comparingInt((Entry e) -> e.text().length()).reversed());
    }

    List<Segment> split(String text, boolean parseSpecial) {
        List<Segment> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); ) {
            Entry hit = match(text, i, parseSpecial);
            if (hit == null) {
                i++;
                continue;
            }
            if (i > start) out.add(new Segment(text.substring(start, i), -1));
            out.add(new Segment(null, hit.token()));
            i += hit.text().length();
            start = i;
        }
        if (start < text.length()) out.add(new Segment(text.substring(start), -1));
        return out;
    }

    private Entry match(String text, int at, boolean parseSpecial) {
        List<Entry> entries = byFirstChar.get(text.charAt(at));
        if (entries == null) return null;
        for (Entry e : entries)
            if ((parseSpecial || e.always()) && text.startsWith(e.text(), at)) return e;
        return null;
    }
}
