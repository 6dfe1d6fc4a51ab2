package magicpig.attention;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Command-line flags as a map: {@code --name value} and {@code --name=value} become
 * {@code name -> value}; a flag followed by another flag (or nothing) maps to {@code "true"}.
 * Consumers remove what they understand, so leftovers can be reported as unknown.
 */
public final class Flags {
    private Flags() {}

    public static LinkedHashMap<String, String> parse(String[] args) {
        LinkedHashMap<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + a + "' (flags look like --name value)");
            String name = a.substring(2);
            int eq = name.indexOf('=');
            if (eq >= 0) {
                map.put(name.substring(0, eq), name.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                map.put(name, args[++i]);
            } else {
                map.put(name, "true");
            }
        }
        return map;
    }

    /** Removes and parses an int flag, or returns the default. */
    public static int takeInt(Map<String, String> flags, String name, int dflt) {
        String v = flags.remove(name);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": expected a whole number, got '" + v + "'");
        }
    }

    /** Removes and parses a long flag, or returns the default. */
    public static long takeLong(Map<String, String> flags, String name, long dflt) {
        String v = flags.remove(name);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": expected a whole number, got '" + v + "'");
        }
    }

    /** Removes a comma-separated int list flag ({@code 4096,16384} or {@code 4K,16K}), or returns the default. */
    public static int[] takeInts(Map<String, String> flags, String name, int[] dflt) {
        String v = flags.remove(name);
        if (v == null) return dflt;
        String[] parts = v.split(",");
        int[] r = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim().toUpperCase(java.util.Locale.ROOT);
            int mult = 1;
            if (p.endsWith("K")) {
                mult = 1024;
                p = p.substring(0, p.length() - 1);
            }
            try {
                r[i] = Math.multiplyExact(Integer.parseInt(p), mult);
            } catch (NumberFormatException | ArithmeticException e) {
                throw new IllegalArgumentException("--" + name + ": expected numbers like 4096,16384 or 4K,16K, got '" + v + "'");
            }
        }
        return r;
    }

    /** Fails on flags nobody consumed. */
    public static void requireEmpty(Map<String, String> flags) {
        if (!flags.isEmpty()) throw new IllegalArgumentException("unknown flag(s): --" + String.join(", --", flags.keySet()));
    }
}
