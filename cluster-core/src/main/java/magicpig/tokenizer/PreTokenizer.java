package magicpig.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words that byte-level BPE merges within, by a regular expression whose
 * matches (and any text between them) become the pre-tokens, as Hugging Face's
 * {@code Split(behavior = Isolated)} and llama.cpp's pre-tokenizers do.
 *
 * <p>The patterns are compiled with {@link Pattern#UNICODE_CHARACTER_CLASS} so that {@code \s} is
 * Unicode white space (as in Oniguruma, which Hugging Face uses, and llama.cpp's tables) rather
 * than ASCII only, and {@code (?i:...)} folds case by Unicode rules; {@code \p{L}} and {@code \p{N}}
 * are Unicode categories either way. Java matches alternatives leftmost-first with backtracking,
 * as Oniguruma does, and supports the lookahead {@code (?!\S)}.
 *
 * <p>Which pattern, by GGUF's {@code tokenizer.ggml.pre}: {@code llama3}, {@code llama-v3},
 * and {@code llama-bpe} take {@link #LLAMA3}; everything else (including
 * {@code gpt2}, {@code default} and a missing value) takes {@link #GPT2}. llama.cpp knows many more
 * pre-tokenizer names (for other model families) that this project does not serve, and its own
 * {@code default} splits with a different set of patterns than GPT-2's; GPT-2's is the choice here
 * because it is what Hugging Face's ByteLevel pre-tokenizer does for such vocabularies.
 */
public final class PreTokenizer {

    /** Llama 3's pattern (also in its tokenizer.json): digits in runs of at most three, newlines kept apart. */
    public static final String LLAMA3_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** GPT-2's pattern, the one Hugging Face's ByteLevel pre-tokenizer uses when use_regex is on. */
    public static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    public static final PreTokenizer LLAMA3 = new PreTokenizer(LLAMA3_PATTERN, false);
    public static final PreTokenizer GPT2 = new PreTokenizer(GPT2_PATTERN, false);

    private final Pattern pattern;
    private final boolean addPrefixSpace;

    private PreTokenizer(String regex, boolean addPrefixSpace) {
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        this.addPrefixSpace = addPrefixSpace;
    }

    /**
     * Any pattern (as a tokenizer.json's Split pre-tokenizer holds it); addPrefixSpace puts a space
     * before text that does not start with one (Hugging Face ByteLevel's add_prefix_space).
     *
     * @throws IllegalArgumentException when Java cannot compile the pattern
     */
    public static PreTokenizer ofPattern(String regex, boolean addPrefixSpace) {
        try {
            return new PreTokenizer(regex, addPrefixSpace);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("pre-tokenizer pattern is not a regular expression Java accepts: " + e.getMessage(), e);
        }
    }

    /** The pre-tokenizer llama.cpp picks for GGUF's tokenizer.ggml.pre (null when absent). */
    public static PreTokenizer forGgufPre(String pre) {
        if (pre == null) return GPT2;
        return switch (pre) {
            case "llama3", "llama-v3", "llama-bpe" -> LLAMA3;
            default -> GPT2;
        };
    }

    /** True for the tokenizer.ggml.pre names of Llama 3, whose vocabularies skip merges for whole-word pieces. */
    static boolean isLlama3(String pre) {
        return forGgufPre(pre) == LLAMA3;
    }

    public String pattern() {
        return pattern.pattern();
    }

    public boolean addsPrefixSpace() {
        return addPrefixSpace;
    }

    /** The pre-tokens of text, in order; joined they give back the text (plus any prefix space). */
    public List<String> split(String text) {
        if (addPrefixSpace && !text.isEmpty() && !text.startsWith(" ")) text = " " + text;
        List<String> out = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue; // an empty match splits nothing
            if (m.start() > last) out.add(text.substring(last, m.start())); // Isolated: gaps are pre-tokens too
            out.add(m.group());
            last = m.end();
        }
        if (last < text.length()) out.add(text.substring(last));
        return out;
    }
}
