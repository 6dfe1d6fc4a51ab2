package magicpig.gateway;

import java.util.List;
import magicpig.tokenizer.Tokenizer;
import magicpig.tokenizer.Utf8Stream;

/**
 * Generated tokens to the text a client receives, piece by piece: bytes of a UTF-8 character split
 * across tokens are held until the character is whole; the first piece after a BOS loses its leading
 * space (as llama.cpp and run.c print it); text that could be the start of a stop string is held
 * until it is known not to be one, and a stop string ends the text before it.
 */
final class TextStream {
    private final Tokenizer tokenizer;
    private final Utf8Stream utf8 = new Utf8Stream();
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean afterBos;
    private boolean stopped;

    /** @param previousToken the prompt's last token (the rule about BOS looks at it) */
    TextStream(Tokenizer tokenizer, List<String> stops, int previousToken) {
        this.tokenizer = tokenizer;
        this.stops = stops;
        this.afterBos = previousToken == tokenizer.bosId();
    }

    /** Adds a token; returns the text that can be sent now (possibly empty). After a stop string, always "". */
    String push(int token) {
        if (stopped) return "";
        byte[] bytes = tokenizer.tokenBytes(token);
        if (afterBos && bytes.length > 0) {
            if (bytes[0] == ' ') bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
            afterBos = false;
        }
        pending.append(utf8.push(bytes));
        return release(false);
    }

    /** The generation ended: everything still held. */
    String finish() {
        if (stopped) return "";
        pending.append(utf8.flush());
        return release(true);
    }

    /** True once a stop string has been seen: the caller ends the generation. */
    boolean stopped() {
        return stopped;
    }

    private String release(boolean all) {
        int cut = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        String out;
        if (cut >= 0) {
            stopped = true;
            out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int hold = all ? 0 : heldSuffix();
        out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** Length of the longest end of the pending text that is a proper start of some stop string. */
    private int heldSuffix() {
        int best = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, pending.length()); k > best; k--) {
                if (endsWithStartOf(s, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private boolean endsWithStartOf(String stop, int k) {
        int from = pending.length() - k;
        for (int j = 0; j < k; j++) if (pending.charAt(from + j) != stop.charAt(j)) return false;
        return true;
    }
}
