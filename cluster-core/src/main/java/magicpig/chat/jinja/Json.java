package magicpig.chat.jinja;

import java.util.List;
import java.util.Map;

/** The tojson filter: Python's json.dumps(value, ensure_ascii=False, indent=...) as Hugging Face calls it. */
final class Json {
    private Json() {}

    /** indent < 0: one line with ", " and ": " separators; else nested lines with that many spaces. */
    static String write(Object v, int indent) {
        StringBuilder b = new StringBuilder();
        write(b, v, indent, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int indent, int depth) {
        if (v == null || v == Values.UNDEFINED) {
            b.append("null");
        } else if (v instanceof Boolean x) {
            b.append(x ? "true" : "false");
        } else if (v instanceof Long x) {
            b.append(x);
        } else if (v instanceof Double x) {
            b.append(Values.pyFloat(x).replace("inf", "Infinity").replace("nan", "NaN"));
        } else if (v instanceof String s) {
            string(b, s);
        } else if (v instanceof List<?> l) {
            container(b, '[', ']', l.size(), indent, depth, (k) -> write(b, l.get(k), indent, depth + 1));
        } else if (v instanceof Map<?, ?> m) {
            Object[] keys = m.keySet().toArray();
            container(b, '{', '}', keys.length, indent, depth, (k) -> {
                string(b, Values.str(keys[k]));
                b.append(": ");
                write(b, m.get(keys[k]), indent, depth + 1);
            });
        } else {
            throw new JinjaException("object of type " + Values.typeName(v) + " is not JSON serializable");
        }
    }

    private static void container(StringBuilder b, char open, char close, int n, int indent, int depth,
                                  java.util.function.IntConsumer item) {
        b.append(open);
        if (n == 0) {
            b.append(close);
            return;
        }
        for (int k = 0; k < n; k++) {
            if (k > 0) b.append(indent < 0 ? ", " : ",");
            if (indent >= 0) b.append('\n').append(" ".repeat(indent * (depth + 1)));
            item.accept(k);
        }
        if (indent >= 0) b.append('\n').append(" ".repeat(indent * depth));
        b.append(close);
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
