package magicpig.attention.eval;

import java.util.Arrays;

/** Statistics the benchmarks report. */
public final class BenchStats {
    private BenchStats() {}

    /** The median of the values (the mean of the middle two for an even count); the array is left as it was. */
    public static double median(double... values) {
        if (values.length == 0) throw new IllegalArgumentException("the median of no values");
        double[] s = values.clone();
        Arrays.sort(s);
        int k = s.length;
        return k % 2 == 1 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
    }

    /** {@link #median(double...)} of a list. */
    public static double median(java.util.List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
