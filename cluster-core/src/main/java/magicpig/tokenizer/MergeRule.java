package magicpig.tokenizer;

/**
 * Which token two adjacent tokens merge into, and how urgently: SentencePiece vocabularies rank a
 * merge by the score of the piece it makes, byte-level BPE (and Hugging Face's BPE) by the order of
 * the merges list.
 */
interface MergeRule {

    /** One possible merge: the token it produces and its priority (higher merges first). */
    record Merge(int token, double priority) {
    }

    /** The merge of left followed by right, or null when the pair does not merge. */
    Merge find(int left, int right);

    /** One long key for an ordered pair of token ids. */
    static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }
}
