package magicpig.attention;

/**
 * Picks the indices of the {@code k} largest of n scores in expected O(n), in place and without
 * allocation: a quickselect over an index array (median-of-three pivots, Hoare partition), which
 * leaves the k best indices, in no particular order, at the front.
 */
final class TopSelection {
    private TopSelection() {}

    /** Reorders {@code idx[0..n)} so that {@code idx[0..k)} index the k largest {@code score[idx[i]]}. */
    static void select(float[] score, int[] idx, int n, int k) {
        if (k <= 0 || k >= n) return;
        int lo = 0, hi = n - 1;
        int target = k - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            float a = score[idx[lo]], b = score[idx[mid]], c = score[idx[hi]];
            float pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
            int i = lo, j = hi;
            while (i <= j) {
                while (score[idx[i]] > pivot) i++;
                while (score[idx[j]] < pivot) j--;
                if (i <= j) {
                    int t = idx[i];
                    idx[i] = idx[j];
                    idx[j] = t;
                    i++;
                    j--;
                }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return;
        }
    }
}
