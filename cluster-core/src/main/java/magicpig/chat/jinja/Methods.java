package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import magicpig.chat.jinja.Values.Callable;

/** The Python methods templates call on strings and dicts ({@code content.strip()}, {@code m.get('k')}). */
final class Methods {
    private Methods() {}

    /** The bound method, or undefined when the value has no such attribute. */
    static Object of(Object target, String name) {
        if (target instanceof String s) return string(s, name);
        if (target instanceof Map<?, ?> m) return map(m, name);
        return Values.UNDEFINED;
    }

    private static Object string(String s, String name) {
        return switch (name) {
            case "strip" -> (Callable) (a, kw) -> Values.strip(s, chars(a), true, true);
            case "lstrip" -> (Callable) (a, kw) -> Values.strip(s, chars(a), true, false);
            case "rstrip" -> (Callable) (a, kw) -> Values.strip(s, chars(a), false, true);
            case "upper" -> (Callable) (a, kw) -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> (Callable) (a, kw) -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> (Callable) (a, kw) -> Filters.title(s);
            case "capitalize" -> (Callable) (a, kw) -> Filters.capitalize(s);
            case "startswith" -> (Callable) (a, kw) -> affix(s, a, true);
            case "endswith" -> (Callable) (a, kw) -> affix(s, a, false);
            case "split" -> (Callable) (a, kw) -> split(s, a.isEmpty() ? kw.get("sep") : a.get(0),
                    a.size() > 1 ? Values.toLong(a.get(1), "maxsplit") : -1);
            case "splitlines" -> (Callable) (a, kw) -> new ArrayList<Object>(s.lines().toList());
            case "replace" -> (Callable) (a, kw) -> {
                if (a.size() < 2) throw new JinjaException("replace() needs old and new");
                return s.replace(Values.str(a.get(0)), Values.str(a.get(1)));
            };
            case "find" -> (Callable) (a, kw) -> (long) s.indexOf(Values.str(a.get(0)));
            case "count" -> (Callable) (a, kw) -> (long) count(s, Values.str(a.get(0)));
            case "join" -> (Callable) (a, kw) -> {
                List<String> parts = new ArrayList<>();
                for (Object o : Values.iterate(a.get(0))) parts.add(Values.str(o));
                return String.join(s, parts);
            };
            default -> Values.UNDEFINED;
        };
    }

    private static Object map(Map<?, ?> m, String name) {
        return switch (name) {
            case "items" -> (Callable) (a, kw) -> Filters.items(m);
            case "keys" -> (Callable) (a, kw) -> new ArrayList<Object>(m.keySet());
            case "values" -> (Callable) (a, kw) -> new ArrayList<Object>(m.values());
            case "get" -> (Callable) (a, kw) -> {
                Object k = a.get(0);
                return m.containsKey(k) ? m.get(k) : a.size() > 1 ? a.get(1) : null;
            };
            default -> Values.UNDEFINED;
        };
    }

    private static String chars(List<Object> args) {
        return args.isEmpty() || args.get(0) == null ? null : Values.str(args.get(0));
    }

    private static boolean affix(String s, List<Object> args, boolean prefix) {
        if (args.isEmpty()) throw new JinjaException((prefix ? "startswith" : "endswith") + "() needs an argument");
        List<Object> options = args.get(0) instanceof List<?> l ? new ArrayList<>(l) : List.of(args.get(0));
        for (Object o : options) {
            String x = Values.str(o);
            if (prefix ? s.startsWith(x) : s.endsWith(x)) return true;
        }
        return false;
    }

    /** Python's str.split: on runs of whitespace without a separator, else on the exact separator. */
    static List<Object> split(String s, Object sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (sep == null || sep == Values.UNDEFINED) {
            int k = 0, n = s.length();
            while (true) {
                while (k < n && Values.isPythonSpace(s.charAt(k))) k++;
                if (k >= n) break;
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(Values.strip(s.substring(k), null, false, true));
                    break;
                }
                int e = k;
                while (e < n && !Values.isPythonSpace(s.charAt(e))) e++;
                out.add(s.substring(k, e));
                k = e;
            }
            return out;
        }
        String d = Values.str(sep);
        if (d.isEmpty()) throw new JinjaException("empty separator");
        int k = 0;
        while (true) {
            int e = s.indexOf(d, k);
            if (e < 0 || (maxsplit >= 0 && out.size() == maxsplit)) {
                out.add(s.substring(k));
                return out;
            }
            out.add(s.substring(k, e));
            k = e + d.length();
        }
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int k = s.indexOf(sub); k >= 0; k = s.indexOf(sub, k + sub.length())) n++;
        return n;
    }
}
