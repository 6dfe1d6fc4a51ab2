package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python's meaning of the template's values. Values are String, Long, Double, Boolean, null (None),
 * List, Map with String keys, {@link Namespace}, {@link Callable} and {@link #UNDEFINED}.
 */
final class Values {
    /** A name or attribute that does not exist: prints as nothing, is false, iterates as empty. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "Undefined";
        }
    };

    /** A function or bound method, called with positional and keyword arguments. */
    @FunctionalInterface
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** What {@code namespace(...)} makes: the one value a loop body may change for the code after the loop. */
    static final class Namespace {
        final Map<String, Object> values = new LinkedHashMap<>();
    }

    private Values() {}

    static boolean truthy(Object v) {
        if (v == null || v == UNDEFINED) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Long l) return l != 0;
        if (v instanceof Double d) return d != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof Collection<?> c) return !c.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        return true;
    }

    /** Python's str(): what {{ value }} prints. */
    static String str(Object v) {
        if (v == UNDEFINED) return "";
        if (v instanceof String s) return s;
        return repr(v);
    }

    /** Python's repr(), used inside printed lists and dicts. */
    static String repr(Object v) {
        if (v == null) return "None";
        if (v == UNDEFINED) return "";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Double d) return pyFloat(d);
        if (v instanceof String s) return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'";
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(repr(o));
            return "[" + String.join(", ", parts) + "]";
        }
        if (v instanceof Map<?, ?> m) {
            List<String> parts = new ArrayList<>();
            for (var e : m.entrySet()) parts.add(repr(e.getKey()) + ": " + repr(e.getValue()));
            return "{" + String.join(", ", parts) + "}";
        }
        if (v instanceof Namespace) return "<Namespace>";
        if (v instanceof Callable) return "<function>";
        return String.valueOf(v);
    }

    static String pyFloat(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.format("%d.0", (long) d);
        return Double.toString(d);
    }

    static String typeName(Object v) {
        if (v == null) return "None";
        if (v == UNDEFINED) return "undefined";
        if (v instanceof String) return "str";
        if (v instanceof Long) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof Boolean) return "bool";
        if (v instanceof List) return "list";
        if (v instanceof Map) return "dict";
        if (v instanceof Namespace) return "namespace";
        if (v instanceof Callable) return "function";
        return v.getClass().getSimpleName();
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double;
    }

    static boolean equal(Object a, Object b) {
        if (a == b) return true;
        if (a == null || b == null || a == UNDEFINED || b == UNDEFINED) return false;
        if (isNumber(a) && isNumber(b)) return ((Number) a).doubleValue() == ((Number) b).doubleValue();
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            for (int k = 0; k < x.size(); k++) if (!equal(x.get(k), y.get(k))) return false;
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (!x.keySet().equals(y.keySet())) return false;
            for (var e : x.entrySet()) if (!equal(e.getValue(), y.get(e.getKey()))) return false;
            return true;
        }
        return a.equals(b);
    }

    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Long x && b instanceof Long y) return Long.compare(x, y);
            return Double.compare(((Number) a).doubleValue(), ((Number) b).doubleValue());
        }
        if (a instanceof String x && b instanceof String y) return x.compareTo(y);
        if (a instanceof Boolean x && b instanceof Boolean y) return Boolean.compare(x, y);
        throw new JinjaException("cannot compare " + typeName(a) + " with " + typeName(b));
    }

    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            if (!(item instanceof String t)) throw new JinjaException("'in <string>' needs a string, not " + typeName(item));
            return s.contains(t);
        }
        if (container instanceof List<?> l) {
            for (Object o : l) if (equal(o, item)) return true;
            return false;
        }
        if (container instanceof Map<?, ?> m) return m.containsKey(item);
        if (container == UNDEFINED || container == null) return false;
        throw new JinjaException("cannot look for an item in " + typeName(container));
    }

    /** The items a for loop or a filter walks over. */
    static List<Object> iterate(Object v) {
        if (v == null || v == UNDEFINED) return List.of();
        if (v instanceof List<?> l) return new ArrayList<>(l);
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) {
            List<Object> out = new ArrayList<>();
            s.codePoints().forEach(cp -> out.add(Character.toString(cp)));
            return out;
        }
        throw new JinjaException(typeName(v) + " is not iterable");
    }

    static long toLong(Object v, String what) {
        if (v instanceof Long l) return l;
        if (v instanceof Boolean b) return b ? 1 : 0;
        throw new JinjaException(what + " must be an integer, got " + typeName(v));
    }

    static boolean isPythonSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int a = 0, b = s.length();
        if (left) while (a < b && stripped(s.charAt(a), chars)) a++;
        if (right) while (b > a && stripped(s.charAt(b - 1), chars)) b--;
        return s.substring(a, b);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isPythonSpace(c) : chars.indexOf(c) >= 0;
    }
}
