package magicpig.tokenizer;

import java.util.PriorityQueue;

/**
 * The BPE merge loop shared by both tokenizers: repeatedly merge the adjacent pair with the highest
 * priority, the leftmost one among equals, until no adjacent pair merges. This is exactly llama2.c's
 * quadratic loop (scan all pairs, keep the best with a strict {@code >}, so the leftmost wins ties),
 * done with a priority queue so long prompts stay fast.
 */
final class BpeMerge {

    private BpeMerge() {
    }

    /** A pair that could merge, as it was when queued; versions tell whether it has gone stale. */
    private record Candidate(double priority, int left, int right, int token, int leftVersion, int rightVersion) {
    }

    static int[] apply(int[] symbols, MergeRule rule) {
        int n = symbols.length;
        if (n < 2) return symbols.clone();
        int[] token = symbols.clone();
        int[] next = new int[n];
        int[] prev = new int[n];
        int[] version = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        // Highest priority first; primitive comparisons so -0.0 ties with 0.0 as in C. Symbols keep
        // their original index and never reorder, so the smallest index is the leftmost pair.
        PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) -> {
            if (a.priority() > b.priority()) return -1;
            if (a.priority() < b.priority()) return 1;
            return Integer.compare(a.left(), b.left());
        });
        for (int i = 0; i + 1 < n; i++) offer(queue, rule, token, version, i, i + 1);
        int alive = n;
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            // A pair is stale when either side was merged (or swallowed) after it was queued.
            if (version[c.left()] != c.leftVersion() || version[c.right()] != c.rightVersion()) continue;
            int l = c.left(), r = c.right();
            token[l] = c.token();
            version[l]++;
            version[r]++;
            next[l] = next[r];
            if (next[r] < n) prev[next[r]] = l;
            alive--;
            if (prev[l] >= 0) offer(queue, rule, token, version, prev[l], l);
            if (next[l] < n) offer(queue, rule, token, version, l, next[l]);
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i < n; i = next[i]) out[k++] = token[i];
        return out;
    }

    private static void offer(PriorityQueue<Candidate> queue, MergeRule rule, int[] token, int[] version, int l, int r) {
        MergeRule.Merge m = rule.find(token[l], token[r]);
        // NaN priorities never merge, as NaN > best is false in llama2.c.
        if (m == null || Double.isNaN(m.priority())) return;
        queue.add(new Candidate(m.priority(), l, r, m.token(), version[l], version[r]));
    }
}
