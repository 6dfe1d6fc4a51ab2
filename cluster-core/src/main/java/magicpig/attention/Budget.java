package magicpig.attention;

/**
 * How many offloaded keys a baseline (TopK, Quest, oracle sampling) may attend: a fraction of the
 * offloaded keys ({@code 0.02} or {@code 2%}) or a count ({@code 2048}). The static set (sinks,
 * local window, generated tokens) comes on top, as for MagicPIG.
 *
 * @param value    the fraction in (0, 1], or the count (a whole number >= 1)
 * @param fraction whether value is a fraction
 */
public record Budget(double value, boolean fraction) {

    public Budget {
        if (fraction && !(value > 0 && value <= 1)) {
            throw new IllegalArgumentException("--budget: a fraction must be in (0, 1] (e.g. 0.02 or 2%), got " + value);
        }
        if (!fraction && !(value >= 1 && value == Math.rint(value) && value <= Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("--budget: a key count must be a whole number >= 1, got " + value);
        }
    }

    public static Budget fraction(double f) {
        return new Budget(f, true);
    }

    public static Budget count(int count) {
        return new Budget(count, false);
    }

    /** {@code 2%}, {@code 0.02} (below 1: a fraction) or {@code 2048} (a count). */
    public static Budget parse(String s) {
        String t = s.trim();
        try {
            if (t.endsWith("%")) return fraction(Double.parseDouble(t.substring(0, t.length() - 1).trim()) / 100);
            double v = Double.parseDouble(t);
            if (v > 0 && v < 1) return fraction(v);
            if (v == 1 && t.contains(".")) return fraction(1);
            return new Budget(v, false);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--budget: expected a fraction (0.02), a percentage (2%) or a key count (2048), got '" + s + "'");
        }
    }

    /** Keys allowed out of {@code offloaded}, at least 1 (when there is any) and at most all. */
    public int keys(int offloaded) {
        if (offloaded <= 0) return 0;
        long k = fraction ? Math.round(value * offloaded) : (long) value;
        return (int) Math.max(1, Math.min(offloaded, k));
    }

    @Override
    public String toString() {
        return fraction ? (value * 100) + "%" : Long.toString((long) value);
    }
}
