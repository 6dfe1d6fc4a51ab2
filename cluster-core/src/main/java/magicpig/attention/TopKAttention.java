package magicpig.attention;

import magicpig.model.LlamaConfig;

/**
 * Baseline: exact TopK attention. Over the offloaded keys it computes every logit (an oracle: a
 * real TopK system would need an index to avoid reading all keys) and attends exactly to the
 * {@code budget} highest, plus the same static set as MagicPIG. Biased when attention is flat: the
 * long tail it drops is lost.
 */
public final class TopKAttention extends SparseAttention<TopKAttention.Scratch> {

    public TopKAttention(LlamaConfig config, AttentionSettings settings) {
        super(config, settings);
    }

    public static final class Scratch {
        final float[] scores;
        final int[] idx;
        final float[] picked;
        final int[] pos;

        Scratch(int n) {
            scores = new float[n];
            idx = new int[n];
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
    protected void attendOffloaded(int layer, int head, int part, float[] q, int qOff, Scratch s, PartialState out) {
        int kvHead = head / group;
        HeadSlice kv = slices[layer][kvHead];
        int from = offloadedFrom(), n = offloadedTo() - from;
        for (int i = 0; i < n; i++) {
            s.scores[i] = VectorMath.dot(q, qOff, kv.keys(), kv.keyOffset(from + i), headDim) * scale;
            s.idx[i] = i;
        }
        int k = settings.budget().keys(n);
        TopSelection.select(s.scores, s.idx, n, k);
        for (int j = 0; j < k; j++) {
            s.picked[j] = s.scores[s.idx[j]];
            s.pos[j] = from + s.idx[j];
        }
        PartialSoftmax.accumulate(s.picked, k, s.pos, 0, kv, headDim, out);
    }
}
