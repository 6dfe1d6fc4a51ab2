package magicpig.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Histogram bucket bounds, in seconds: six per decade (1, 1.5, 2, 3, 5, 7 x 10^n), so a quantile
 * read from the buckets (Prometheus' {@code histogram_quantile}, or {@link LatencyWindow}) is within
 * about 25 % of the true value, at a few dozen series per histogram instead of Micrometer's default
 * 276.
 */
public final class Buckets {
    private static final double[] MANTISSAS = {1, 1.5, 2, 3, 5, 7};

    /** Time to first token, end-to-end and queue time: 1 ms to 1,000 s. */
    public static final double[] REQUEST = series(1e-3, 1e3);
    /** Inter-token latency: 1 ms to 100 s. */
    public static final double[] TOKEN = series(1e-3, 1e2);
    /** An actor's handling of one message, a shard's query, a data-plane round trip: 1 us to 100 s. */
    public static final double[] FAST = series(1e-6, 1e2);

    private Buckets() {}

    /** The bounds from {@code min} to {@code max} seconds (both included when on the series). */
    static double[] series(double min, double max) {
        List<Double> out = new ArrayList<>();
        for (int e = (int) Math.floor(Math.log10(min)); e <= (int) Math.ceil(Math.log10(max)); e++) {
            for (double m : MANTISSAS) {
                double v = Double.parseDouble(m + "e" + e); // exact decimal, not m * 10^e rounded
                if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.add(v);
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The bounds as Micrometer's service-level objectives of a timer. */
    public static Duration[] durations(double[] seconds) {
        Duration[] d = new Duration[seconds.length];
        for (int i = 0; i < d.length; i++) d[i] = Duration.ofNanos(Math.round(seconds[i] * 1e9));
        return d;
    }
}
