package magicpig.sampling;

import java.util.SplittableRandom;
import magicpig.tensor.FloatKernels;

/**
 * Picks the next token: greedy, or a draw from softmax(logits / temperature) after top-k, top-p
 * and min-p filtering (applied in that order, as llama.cpp's default chain does). One sampler per
 * sequence; its buffers are allocated once, so a draw allocates nothing.
 */
public final class Sampler {
    private final SamplingSettings settings;
    private final SplittableRandom random;
    private final float[] probs;
    private final int[] order;

    public Sampler(SamplingSettings settings, int vocabSize) {
        this.settings = settings;
        this.random = new SplittableRandom(settings.seed());
        this.probs = new float[vocabSize];
        this.order = new int[vocabSize];
    }

    public SamplingSettings settings() {
        return settings;
    }

    /** The next token. The logits are read, not changed. */
    public int sample(float[] logits) {
        int n = probs.length;
        if (settings.greedy()) return FloatKernels.argmax(logits, n);
        // softmax(logits / T), computed stably
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[i]);
        float inv = 1f / settings.temperature();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[i] - max) * inv);
            probs[i] = p;
            sum += p;
        }
        // candidates in order[0, m), sorted by probability when any filter needs it
        int m = n;
        for (int i = 0; i < n; i++) order[i] = i;
        boolean filter = settings.topK() > 0 || settings.topP() < 1f || settings.minP() > 0f;
        if (filter) {
            float top = (float) (1.0 / sum); // the largest probability, normalised (its unnormalised value is exp(0) = 1)
            if (settings.minP() > 0f) {
                float cutoff = settings.minP() * top * (float) sum; // back to unnormalised
                m = 0;
                for (int i = 0; i < n; i++) if (probs[i] >= cutoff) order[m++] = i;
            }
            if (settings.topK() > 0 && settings.topK() < m) {
                selectTop(m, settings.topK());
                m = settings.topK();
            }
            sortDescending(0, m - 1);
            if (settings.topP() < 1f) {
                double kept = 0, total = 0;
                for (int i = 0; i < m; i++) total += probs[order[i]];
                int cut = m;
                for (int i = 0; i < m; i++) {
                    kept += probs[order[i]];
                    if (kept >= settings.topP() * total) {
                        cut = i + 1;
                        break;
                    }
                }
                m = cut;
            }
        }
        double mass = 0;
        for (int i = 0; i < m; i++) mass += probs[order[i]];
        double r = random.nextDouble() * mass;
        double acc = 0;
        for (int i = 0; i < m; i++) {
            acc += probs[order[i]];
            if (r < acc) return order[i];
        }
        return order[m - 1];
    }

    /** Moves the k most probable of order[0, m) to order[0, k) (quickselect). */
    private void selectTop(int m, int k) {
        int lo = 0, hi = m - 1;
        while (lo < hi) {
            int p = partition(lo, hi);
            if (p == k - 1) return;
            if (p < k - 1) lo = p + 1;
            else hi = p - 1;
        }
    }

    private int partition(int lo, int hi) {
        int mid = (lo + hi) >>> 1;
        swap(mid, hi);
        float pivot = probs[order[hi]];
        int store = lo;
        for (int i = lo; i < hi; i++) {
            if (probs[order[i]] > pivot) swap(i, store++);
        }
        swap(store, hi);
        return store;
    }

    private void sortDescending(int lo, int hi) {
        while (lo < hi) {
            int p = partition(lo, hi);
            if (p - lo < hi - p) {
                sortDescending(lo, p - 1);
                lo = p + 1;
            } else {
                sortDescending(p + 1, hi);
                hi = p - 1;
            }
        }
    }

    private void swap(int a, int b) {
        int t = order[a];
        order[a] = order[b];
        order[b] = t;
    }
}
