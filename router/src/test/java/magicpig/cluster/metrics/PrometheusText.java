package magicpig.cluster.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Prometheus' text format read back, for tests: samples by name and labels. */
public final class PrometheusText {
    private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** One sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {
        public boolean has(Map<String, String> wanted) {
            for (var e : wanted.entrySet()) if (!e.getValue().equals(labels.get(e.getKey()))) return false;
            return true;
        }
    }

    private final List<Sample> samples = new ArrayList<>();
    private final String text;

    public PrometheusText(String text) {
        this.text = text;
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            Matcher m = LINE.matcher(line.strip());
            if (!m.matches()) throw new AssertionError("not a Prometheus sample line: " + line);
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) labels.put(l.group(1), l.group(2));
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(4).replace("+Inf", "Infinity"))));
        }
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Every sample of a name whose labels include {@code labels} (pairs: name, value, ...). */
    public List<Sample> all(String name, String... labels) {
        Map<String, String> wanted = new LinkedHashMap<>();
        for (int i = 0; i < labels.length; i += 2) wanted.put(labels[i], labels[i + 1]);
        return samples.stream().filter(s -> s.name().equals(name) && s.has(wanted)).toList();
    }

    /** The one sample of a name with these labels; fails naming what there is when there is none. */
    public double value(String name, String... labels) {
        List<Sample> found = all(name, labels);
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples of " + name + " " + List.of(labels) + "; the scrape has "
                    + samples.stream().filter(s -> s.name().startsWith(name)).toList());
        }
        return found.get(0).value();
    }

    /** The value, or 0 when the series does not exist (yet). */
    public double valueOr0(String name, String... labels) {
        List<Sample> found = all(name, labels);
        return found.isEmpty() ? 0 : found.get(0).value();
    }

    public String text() {
        return text;
    }
}
