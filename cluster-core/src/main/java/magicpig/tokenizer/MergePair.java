package magicpig.tokenizer;

/**
 * One entry of a BPE merges list: the left and right pieces whose concatenation is the merged piece.
 * GGUF and older Hugging Face files write a merge as one string "left right"; newer tokenizer.json
 * files write a two-element array (which allows pieces that contain spaces).
 */
public record MergePair(String left, String right) {

    public MergePair {
        if (left == null || right == null || left.isEmpty() || right.isEmpty())
            throw new IllegalArgumentException("a merge needs two non-empty pieces, got [" + left + "] [" + right + "]");
    }

    /** Parses "left right": exactly one space separates the two pieces. */
    public static MergePair parse(String merge) {
        int space = merge.indexOf(' ');
        if (space <= 0 || space == merge.length() - 1 || merge.indexOf(' ', space + 1) >= 0)
            throw new IllegalArgumentException("merge \"" + merge + "\" is not of the form \"left right\"");
        return new MergePair(merge.substring(0, space), merge.substring(space + 1));
    }

    /** Parses a whole merges list, naming the entry at fault. */
    public static java.util.List<MergePair> parseAll(String[] merges) {
        java.util.List<MergePair> out = new java.util.ArrayList<>(merges.length);
        for (int i = 0; i < merges.length; i++) {
            try {
                out.add(parse(merges[i]));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("merge " + i + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** The piece this merge produces. */
    public String merged() {
        return left + right;
    }
}
