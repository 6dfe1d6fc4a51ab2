package magicpig.metrics;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

/**
 * The recent past of a timer, for the dashboard: its histogram's cumulative bucket counts taken at
 * every {@link #tick}, kept for the last {@code window} ticks, so that rates and quantiles describe
 * the last few seconds rather than everything since start. Quantiles are read from the buckets the
 * way Prometheus' {@code histogram_quantile} does (linear inside a bucket), so the dashboard and a
 * PromQL query over the same window agree.
 *
 * <p>Used by one thread (the node's metrics reporter), about once a second.
 */
public final class LatencyWindow {
    private final Timer timer;
    private final double[] bounds;
    /** ring[t][b]: cumulative count of bucket b at tick t; ring[t][bounds.length]: total count; times in nanos. */
    private final long[][] ring;
    private final long[] times;
    private int ticks;

    /** @param bounds the timer's bucket bounds in seconds (one of {@link Buckets}) */
    public LatencyWindow(Timer timer, double[] bounds, int window) {
        if (window < 1) throw new IllegalArgumentException("a window holds at least one tick, got " + window);
        this.timer = timer;
        this.bounds = bounds;
        this.ring = new long[window + 1][bounds.length + 1];
        this.times = new long[window + 1];
    }

    /** Takes the timer's counts now. */
    public void tick(long nanoTime) {
        int slot = ticks % ring.length;
        long[] counts = ring[slot];
        CountAtBucket[] buckets = timer.takeSnapshot().histogramCounts();
        for (int b = 0; b < bounds.length; b++) counts[b] = b < buckets.length ? (long) buckets[b].count() : 0;
        counts[bounds.length] = timer.count();
        times[slot] = nanoTime;
        ticks++;
    }

    /** Events per second over the window (0 before two ticks). */
    public double rate() {
        if (ticks < 2) return 0;
        int now = (ticks - 1) % ring.length, then = oldest();
        double seconds = (times[now] - times[then]) / 1e9;
        return seconds <= 0 ? 0 : (ring[now][bounds.length] - ring[then][bounds.length]) / seconds;
    }

    /** Events in the window, per bucket (not cumulative), the last entry counting those above every bound. */
    public long[] recent() {
        long[] out = new long[bounds.length + 1];
        if (ticks == 0) return out;
        int now = (ticks - 1) % ring.length;
        long[] a = ring[now], b = ticks < 2 ? new long[a.length] : ring[oldest()];
        long below = 0;
        for (int i = 0; i < bounds.length; i++) {
            long cum = a[i] - b[i];
            out[i] = cum - below;
            below = cum;
        }
        out[bounds.length] = (a[bounds.length] - b[bounds.length]) - below;
        return out;
    }

    /** Count of everything the timer recorded so far (at the last tick). */
    public long total() {
        return ticks == 0 ? 0 : ring[(ticks - 1) % ring.length][bounds.length];
    }

    /** The q-quantile, in seconds, of the window's events; NaN when there were none. */
    public double quantile(double q) {
        return quantile(bounds, recent(), q);
    }

    private int oldest() {
        return ticks < ring.length ? 0 : ticks % ring.length;
    }

    /**
     * The q-quantile of events counted per bucket ({@code perBucket[i]} in (bounds[i-1], bounds[i]],
     * the last entry above every bound), interpolated linearly inside its bucket; NaN when empty.
     * Events above the last bound count as the last bound.
     */
    public static double quantile(double[] bounds, long[] perBucket, double q) {
        long total = 0;
        for (long c : perBucket) total += c;
        if (total == 0) return Double.NaN;
        double rank = q * total;
        long below = 0;
        for (int i = 0; i < bounds.length; i++) {
            long c = perBucket[i];
            if (c > 0 && below + c >= rank) {
                double lo = i == 0 ? 0 : bounds[i - 1];
                return lo + (bounds[i] - lo) * Math.max(0, rank - below) / c;
            }
            below += c;
        }
        return bounds[bounds.length - 1];
    }
}
