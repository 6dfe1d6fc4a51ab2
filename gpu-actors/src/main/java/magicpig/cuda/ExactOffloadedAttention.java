package magicpig.cuda;

import magicpig.model.LlamaConfig;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.Parallel;

/**
 * The host side of {@link SparseLayerStep} computed exactly: attention of every query head over the
 * offloaded positions [lo, hi) of one layer's keys and values (host copies, [position][kvDim]), on
 * the CPU cores, as partial states. The reference that MagicPIG's sampled attention approximates,
 * and an upper bound on its cost.
 */
final class ExactOffloadedAttention implements SparseLayerStep.OffloadedAttention {
    private final LlamaConfig c;
    private final float[] keys, values;
    private final int lo, hi;

    ExactOffloadedAttention(LlamaConfig c, float[] keys, float[] values, int lo, int hi) {
        this.c = c;
        this.keys = keys;
        this.values = values;
        this.lo = lo;
        this.hi = hi;
    }

    @Override
    public void attend(float[] q, short[] codes, float[] partials) {
        int d = c.headDim(), kvDim = c.kvDim(), group = c.groupSize();
        float scale = (float) (1.0 / Math.sqrt(d));
        Parallel.forEach(c.heads(), h -> {
            int kvh = h / group;
            float[] scores = new float[hi - lo];
            float m = Float.NEGATIVE_INFINITY;
            for (int t = lo; t < hi; t++) {
                float s = FloatKernels.dot(q, h * d, keys, t * kvDim + kvh * d, d) * scale;
                scores[t - lo] = s;
                m = Math.max(m, s);
            }
            double l = 0;
            float[] o = new float[d];
            for (int t = lo; t < hi; t++) {
                float w = (float) Math.exp(scores[t - lo] - m);
                l += w;
                int at = t * kvDim + kvh * d;
                for (int i = 0; i < d; i++) o[i] += w * values[at + i];
            }
            int p = h * (d + 2);
            partials[p] = hi > lo ? m : Float.NEGATIVE_INFINITY;
            partials[p + 1] = (float) l;
            for (int i = 0; i < d; i++) partials[p + 2 + i] = l > 0 ? (float) (o[i] / l) : 0f;
        });
    }
}
