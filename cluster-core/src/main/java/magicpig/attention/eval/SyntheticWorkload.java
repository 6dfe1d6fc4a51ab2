package magicpig.attention.eval;

import java.util.Locale;
import magicpig.attention.SplitMix64;

/**
 * Long-context attention with the structure that matters to sparse attention, drawn from a seed.
 *
 * <p>Keys {@code k_i = mu + a_i t_{z_i} + drift(i) + noise}: a large offset {@code mu} shared by
 * every key (real keys have one; without centering, SimHash sees nothing but it), a topic
 * direction {@code t_z} for runs of tokens (paragraphs) of random length, a slow positional drift
 * and unit Gaussian noise. The first {@value #SINKS} tokens are attention sinks (a direction every
 * query favours). Values are a per-topic mean plus noise. Queries have a component along mu and
 * the sink direction and noise, plus the regime's target:
 *
 * <ul>
 *   <li>{@link Regime#NEEDLE}: each query targets a few "needle" tokens hidden in the middle
 *       (logit margin about 12): attention is sharp, a handful of keys carry most of the weight;
 *   <li>{@link Regime#FLAT}: each query targets a frequent topic (logit margin about 2.5): many
 *       keys of medium weight, the aggregation regime where TopK loses the long tail.
 * </ul>
 *
 * Keys and values are generated on the fly from (seed, token), so a 128K x 128 workload costs no
 * memory beyond what its consumer copies.
 */
public final class SyntheticWorkload implements Workload {
    public static final int SINKS = 4;
    private static final int TOPICS = 32;
    private static final int NEEDLES_PER_QUERY = 4;

    public enum Regime {
        NEEDLE, FLAT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Regime regime;
    private final int n;
    private final int d;
    private final int queries;
    private final long seed;
    private final float[] mu;
    private final float[] sink;
    private final float[][] topic;
    private final float[][] topicValue;
    private final float[] driftA, driftB;
    private final int[] topicOf;
    private final float[] strength;
    /** Needle tokens of query j: needles[j][0..NEEDLES_PER_QUERY), and their direction. */
    private final int[][] needles;
    private final float[][] needleDir;
    private final float[][] needleValue;
    private final int[] queryTopic;
    private final int[] needleQuery;

    public SyntheticWorkload(Regime regime, int n, int headDim, int queries, long seed) {
        if (n < 1024) throw new IllegalArgumentException("synthetic workloads need at least 1024 tokens, got " + n);
        this.regime = regime;
        this.n = n;
        this.d = headDim;
        this.queries = queries;
        this.seed = seed;
        SplitMix64 r = new SplitMix64(SplitMix64.mix(seed ^ 0x57A7L));
        double sd = Math.sqrt(d);
        mu = direction(r, 0.8 * sd);
        sink = direction(r, 1.0 * sd);
        topic = new float[TOPICS][];
        topicValue = new float[TOPICS][];
        for (int t = 0; t < TOPICS; t++) {
            topic[t] = direction(r, 1);
            topicValue[t] = gaussian(r, 1);
        }
        driftA = direction(r, 0.3 * sd);
        driftB = direction(r, 0.3 * sd);
        // topics in runs of 16..512 tokens; topic frequencies skewed (low topic ids are common)
        topicOf = new int[n];
        strength = new float[n];
        for (int i = 0; i < n; ) {
            int len = 16 + (int) (r.nextDouble() * 496);
            int t = (int) (TOPICS * Math.pow(r.nextDouble(), 2));
            for (int j = i; j < Math.min(n, i + len); j++) {
                topicOf[j] = t;
                strength[j] = (float) (0.5 + r.nextDouble());
            }
            i += len;
        }
        needles = new int[queries][NEEDLES_PER_QUERY];
        needleDir = new float[queries][];
        needleValue = new float[queries][];
        queryTopic = new int[queries];
        for (int j = 0; j < queries; j++) {
            needleDir[j] = direction(r, 1);
            needleValue[j] = gaussian(r, 2);
            for (int m = 0; m < NEEDLES_PER_QUERY; m++) needles[j][m] = SINKS + 64 + (int) (r.nextDouble() * (n - 2 * 64 - SINKS));
            queryTopic[j] = (int) (r.nextDouble() * 4); // one of the frequent topics
        }
        needleQuery = new int[n];
        java.util.Arrays.fill(needleQuery, -1);
        if (regime == Regime.NEEDLE) for (int j = 0; j < queries; j++) for (int m : needles[j]) needleQuery[m] = j;
    }

    @Override
    public String name() {
        return regime.label() + "-" + (n % 1024 == 0 ? (n / 1024) + "K" : Integer.toString(n));
    }

    public Regime regime() {
        return regime;
    }

    @Override
    public int size() {
        return n;
    }

    @Override
    public int headDim() {
        return d;
    }

    @Override
    public int queries() {
        return queries;
    }

    /** The query whose needle token i is, or -1. */
    private int needleOf(int i) {
        return needleQuery[i];
    }

    @Override
    public void key(int i, float[] dst, int off) {
        SplitMix64 r = new SplitMix64(SplitMix64.mix(seed * 31 + i));
        if (i < SINKS) {
            for (int c = 0; c < d; c++) dst[off + c] = mu[c] + sink[c] + (float) r.nextGaussian() * 0.5f;
            return;
        }
        double angle = Math.PI * i / n;
        float ca = (float) Math.cos(angle), sa = (float) Math.sin(angle);
        float[] t = topic[topicOf[i]];
        float a = strength[i] * (float) Math.sqrt(d) * 0.25f;
        int nj = needleOf(i);
        for (int c = 0; c < d; c++) {
            float x = mu[c] + a * t[c] + ca * driftA[c] + sa * driftB[c] + (float) r.nextGaussian();
            if (nj >= 0) x += 12f * needleDir[nj][c];
            dst[off + c] = x;
        }
    }

    @Override
    public void value(int i, float[] dst, int off) {
        SplitMix64 r = new SplitMix64(SplitMix64.mix(seed * 37 + i + 0x7A1L));
        float[] tv = i < SINKS ? null : topicValue[topicOf[i]];
        int nj = needleOf(i);
        for (int c = 0; c < d; c++) {
            float x = (float) r.nextGaussian();
            if (tv != null) x += tv[c];
            if (nj >= 0) x = needleValue[nj][c] * 2;
            dst[off + c] = x;
        }
    }

    @Override
    public void query(int j, float[] dst, int off) {
        SplitMix64 r = new SplitMix64(SplitMix64.mix(seed * 41 + j + 0xC0FFEEL));
        double sd = Math.sqrt(d);
        // logits are q·k / sqrt(d). Noise of 0.7 per dim gives bulk logits a std of about 1.2; the
        // target direction gets a margin of 12 (needle keys: 12 * t) or 2.5 x strength (topic keys:
        // 0.25 sqrt(d) strength * t); sinks get +5; the component along mu shifts every logit alike.
        float[] target = regime == Regime.NEEDLE ? needleDir[j] : topic[queryTopic[j]];
        float gain = regime == Regime.NEEDLE ? (float) sd : 10f;
        float[] muDir = unit(mu), sinkDir = unit(sink);
        for (int c = 0; c < d; c++) {
            dst[off + c] = gain * target[c] + 0.25f * (float) sd * muDir[c] + 5f * sinkDir[c] + 0.7f * (float) r.nextGaussian();
        }
    }

    private float[] direction(SplitMix64 r, double norm) {
        float[] v = gaussian(r, 1);
        double s = 0;
        for (float x : v) s += x * x;
        float f = (float) (norm / Math.sqrt(s));
        for (int c = 0; c < d; c++) v[c] *= f;
        return v;
    }

    private float[] gaussian(SplitMix64 r, double scale) {
        float[] v = new float[d];
        for (int c = 0; c < d; c++) v[c] = (float) (r.nextGaussian() * scale);
        return v;
    }

    private static float[] unit(float[] v) {
        double s = 0;
        for (float x : v) s += x * x;
        float[] u = new float[v.length];
        for (int c = 0; c < v.length; c++) u[c] = (float) (v[c] / Math.sqrt(s));
        return u;
    }
}
