package magicpig.attention;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import magicpig.model.LlamaConfig;

/**
 * Baseline: Quest (Tang et al., 2024) page selection. The offloaded keys are cut into pages of
 * {@value #PAGE} tokens with per-channel min and max of their keys. A query scores each page by the
 * upper bound {@code sum_c max(q_c min_c, q_c max_c)} of any of its keys' dot products, takes the
 * best pages up to the budget and attends exactly to their tokens (plus the static set).
 */
public final class QuestAttention extends SparseAttention<QuestAttention.Scratch> {
    public static final int PAGE = 16;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    /** Per (layer, kv head): page minima and maxima, pages x headDim. */
    private final float[][][] mins;
    private final float[][][] maxs;

    public QuestAttention(LlamaConfig config, AttentionSettings settings) {
        super(config, settings);
        mins = new float[layers][kvHeads][];
        maxs = new float[layers][kvHeads][];
    }

    public static final class Scratch {
        final float[] bounds;
        final int[] idx;
        final float[] scores;
        final int[] pos;

        Scratch(int pages) {
            bounds = new float[pages];
            idx = new int[pages];
            scores = new float[pages * PAGE];
            pos = new int[pages * PAGE];
        }
    }

    private int pages() {
        return (offloadedTo() - offloadedFrom() + PAGE - 1) / PAGE;
    }

    @Override
    protected Scratch newScratch() {
        return new Scratch(Math.max(1, pages()));
    }

    @Override
    protected void buildOffloaded(int layer, int kvHead, HeadSlice kv, int from, int to) {
        int pages = (to - from + PAGE - 1) / PAGE;
        float[] mn = new float[pages * headDim];
        float[] mx = new float[pages * headDim];
        MemorySegment keys = kv.keys();
        for (int p = 0; p < pages; p++) {
            int s = from + p * PAGE, e = Math.min(to, s + PAGE);
            for (int c = 0; c < headDim; c++) {
                float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                for (int t = s; t < e; t++) {
                    float v = keys.get(FLOAT, kv.keyOffset(t) + 4L * c);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                mn[p * headDim + c] = lo;
                mx[p * headDim + c] = hi;
            }
        }
        mins[layer][kvHead] = mn;
        maxs[layer][kvHead] = mx;
    }

    @Override
    protected int offloadedParts(int layer) {
        return offloadedTo() > offloadedFrom() ? 1 : 0;
    }

    /** Upper bound of q·k over the keys of a page. */
    private float bound(float[] q, int qOff, float[] mn, float[] mx, int off) {
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        for (int upper = F.loopBound(headDim); c < upper; c += F.length()) {
            FloatVector qv = FloatVector.fromArray(F, q, qOff + c);
            acc = acc.add(qv.mul(FloatVector.fromArray(F, mn, off + c)).max(qv.mul(FloatVector.fromArray(F, mx, off + c))));
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; c < headDim; c++) sum += Math.max(q[qOff + c] * mn[off + c], q[qOff + c] * mx[off + c]);
        return sum;
    }

    @Override
    protected void attendOffloaded(int layer, int head, int part, float[] q, int qOff, Scratch s, PartialState out) {
        int kvHead = head / group;
        HeadSlice kv = slices[layer][kvHead];
        int from = offloadedFrom(), to = offloadedTo();
        int pages = pages();
        float[] mn = mins[layer][kvHead], mx = maxs[layer][kvHead];
        for (int p = 0; p < pages; p++) {
            s.bounds[p] = bound(q, qOff, mn, mx, p * headDim);
            s.idx[p] = p;
        }
        int want = Math.max(1, (settings.budget().keys(to - from) + PAGE - 1) / PAGE);
        int take = Math.min(pages, want);
        TopSelection.select(s.bounds, s.idx, pages, take);
        int count = 0;
        for (int j = 0; j < take; j++) {
            int st = from + s.idx[j] * PAGE, e = Math.min(to, st + PAGE);
            for (int t = st; t < e; t++) {
                s.scores[count] = VectorMath.dot(q, qOff, kv.keys(), kv.keyOffset(t), headDim) * scale;
                s.pos[count++] = t;
            }
        }
        PartialSoftmax.accumulate(s.scores, count, s.pos, 0, kv, headDim, out);
    }
}
