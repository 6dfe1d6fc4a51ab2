package magicpig.attention;

import magicpig.model.LlamaConfig;

/**
 * Baseline: oracle importance sampling, the estimator MagicPIG approximates with LSH. Over the
 * offloaded keys it knows the true softmax weights p_i (it reads every key) and includes key i
 * independently with probability {@code pi_i = min(1, c p_i)}, c chosen so that
 * {@code sum pi_i = budget} (water-filling: keys heavier than 1/c are always taken). Sampled keys get
 * the logit {@code s_i - ln pi_i}, so numerator and normaliser are unbiased (Horvitz-Thompson), as
 * in MagicPIG with the ideal inclusion probabilities. Coin flips come from a {@link SplitMix64}
 * stream seeded per (seed, step, layer, head), so results do not depend on thread scheduling.
 */
public final class OracleSamplingAttention extends SparseAttention<OracleSamplingAttention.Scratch> {
    private long step;

    public OracleSamplingAttention(LlamaConfig config, AttentionSettings settings) {
        super(config, settings);
    }

    public static final class Scratch {
        final float[] scores;
        final double[] prob;
        final float[] picked;
        final int[] pos;
        final SplitMix64 rng = new SplitMix64(0);

        Scratch(int n) {
            scores = new float[n];
            prob = new double[n];
            picked = new float[n];
            pos = new int[n];
        }
    }

    @Override
    protected Scratch newScratch() {
        return new Scratch(Math.max(1, offloadedTo() - offloadedFrom()));
    }

    @Override
    protected void buildOffloaded(int layer, int kvHead, HeadSlice kv, int from, int to) {}

    @Override
    protected int offloadedParts(int layer) {
        return offloadedTo() > offloadedFrom() ? 1 : 0;
    }

    @Override
    protected void beforeStep(int layer, int pos) {
        step++;
    }

    @Override
    protected void attendOffloaded(int layer, int head, int part, float[] q, int qOff, Scratch s, PartialState out) {
        int kvHead = head / group;
        HeadSlice kv = slices[layer][kvHead];
        int from = offloadedFrom(), n = offloadedTo() - from;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = VectorMath.dot(q, qOff, kv.keys(), kv.keyOffset(from + i), headDim) * scale;
            s.scores[i] = v;
            max = Math.max(max, v);
        }
        double total = 0;
        for (int i = 0; i < n; i++) total += s.prob[i] = Math.exp(s.scores[i] - max);
        for (int i = 0; i < n; i++) s.prob[i] /= total;
        int budget = settings.budget().keys(n);
        double c = waterLevel(s.prob, n, budget);
        s.rng.reseed(SplitMix64.mix(settings.seed() ^ SplitMix64.mix(step * 0x100000001L + (long) layer * 65536 + head)));
        int count = 0;
        for (int i = 0; i < n; i++) {
            double pi = Math.min(1, c * s.prob[i]);
            if (pi >= 1 || s.rng.nextDouble() < pi) {
                s.picked[count] = (float) (s.scores[i] - Math.log(pi));
                s.pos[count++] = from + i;
            }
        }
        PartialSoftmax.accumulate(s.picked, count, s.pos, 0, kv, headDim, out);
    }

    /** c with {@code sum_i min(1, c p_i) = budget} (p summing to 1, budget < n); iterates the capped set to a fixed point. */
    static double waterLevel(double[] p, int n, int budget) {
        if (budget >= n) return Double.POSITIVE_INFINITY;
        double c = budget;
        for (int iter = 0; iter < 100; iter++) {
            int capped = 0;
            double rest = 0;
            for (int i = 0; i < n; i++) {
                if (c * p[i] >= 1) capped++;
                else rest += p[i];
            }
            if (rest <= 0) return c;
            double next = (budget - capped) / rest;
            if (next == c) return c;
            c = next;
        }
        return c;
    }
}
