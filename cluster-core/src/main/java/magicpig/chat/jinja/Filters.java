package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import magicpig.chat.jinja.Values.Callable;

/** The filters ({@code x | trim}) and tests ({@code x is defined}) chat templates use. */
final class Filters {
    private Filters() {}

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        return switch (name) {
            case "trim" -> Values.strip(string(v, name), args.isEmpty() ? null : Values.str(args.get(0)), true, true);
            case "length", "count" -> (long) length(v);
            case "upper" -> string(v, name).toUpperCase(Locale.ROOT);
            case "lower" -> string(v, name).toLowerCase(Locale.ROOT);
            case "title" -> title(string(v, name));
            case "capitalize" -> capitalize(string(v, name));
            case "string" -> Values.str(v);
            case "safe", "e", "escape" -> name.equals("safe") ? v : escape(Values.str(v));
            case "int" -> toInt(v);
            case "float" -> toFloat(v);
            case "abs" -> v instanceof Long l ? (Object) Math.abs(l) : (Object) Math.abs(((Number) number(v, name)).doubleValue());
            case "default", "d" -> {
                boolean bool = args.size() > 1 ? Values.truthy(args.get(1)) : Values.truthy(kwargs.getOrDefault("boolean", false));
                Object fallback = args.isEmpty() ? kwargs.getOrDefault("default_value", "") : args.get(0);
                yield v == Values.UNDEFINED || (bool && !Values.truthy(v)) ? fallback : v;
            }
            case "join" -> {
                String sep = args.isEmpty() ? Values.str(kwargs.getOrDefault("d", "")) : Values.str(args.get(0));
                Object attribute = kwargs.get("attribute");
                List<String> parts = new ArrayList<>();
                for (Object o : Values.iterate(v)) parts.add(Values.str(attribute == null ? o : Renderer.attribute(o, Values.str(attribute))));
                yield String.join(sep, parts);
            }
            case "first" -> {
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? Values.UNDEFINED : items.get(0);
            }
            case "last" -> {
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? Values.UNDEFINED : items.get(items.size() - 1);
            }
            case "list" -> Values.iterate(v);
            case "reverse" -> {
                if (v instanceof String s) yield new StringBuilder(s).reverse().toString();
                List<Object> items = Values.iterate(v);
                java.util.Collections.reverse(items);
                yield items;
            }
            case "unique" -> new ArrayList<>(new LinkedHashSet<>(Values.iterate(v)));
            case "replace" -> {
                if (args.size() < 2) throw new JinjaException("replace needs old and new");
                yield string(v, name).replace(Values.str(args.get(0)), Values.str(args.get(1)));
            }
            case "items" -> {
                if (v == Values.UNDEFINED || v == null) yield List.of();
                if (!(v instanceof Map<?, ?> m)) throw new JinjaException("items needs a dict, got " + Values.typeName(v));
                yield items(m);
            }
            case "tojson" -> Json.write(v, kwargs.containsKey("indent") ? (int) Values.toLong(kwargs.get("indent"), "indent")
                    : args.isEmpty() ? -1 : (int) Values.toLong(args.get(0), "indent"));
            case "indent" -> indent(string(v, name), args.isEmpty() ? (int) Values.toLong(kwargs.getOrDefault("width", 4L), "width")
                    : (int) Values.toLong(args.get(0), "width"), Values.truthy(kwargs.getOrDefault("first", false)));
            case "map" -> {
                List<Object> out = new ArrayList<>();
                Object attribute = kwargs.get("attribute");
                for (Object o : Values.iterate(v)) {
                    out.add(attribute != null ? Renderer.attribute(o, Values.str(attribute))
                            : filter(Values.str(args.get(0)), o, args.subList(1, args.size()), Map.of()));
                }
                yield out;
            }
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                for (Object o : Values.iterate(v)) {
                    boolean t = args.isEmpty() ? Values.truthy(o) : test(Values.str(args.get(0)), o, args.subList(1, args.size()));
                    if (t == name.equals("select")) out.add(o);
                }
                yield out;
            }
            case "selectattr", "rejectattr" -> {
                if (args.isEmpty()) throw new JinjaException(name + " needs an attribute name");
                List<Object> out = new ArrayList<>();
                for (Object o : Values.iterate(v)) {
                    Object a = Renderer.attribute(o, Values.str(args.get(0)));
                    boolean t = args.size() < 2 ? Values.truthy(a) : test(Values.str(args.get(1)), a, args.subList(2, args.size()));
                    if (t == name.equals("selectattr")) out.add(o);
                }
                yield out;
            }
            default -> throw new JinjaException("unknown filter '" + name + "'");
        };
    }

    static boolean test(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> v != Values.UNDEFINED;
            case "undefined" -> v == Values.UNDEFINED;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "string" -> v instanceof String;
            case "number" -> Values.isNumber(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "mapping" -> v instanceof Map;
            case "sequence" -> v instanceof List || v instanceof String || v instanceof Map;
            case "iterable" -> v instanceof List || v instanceof String || v instanceof Map;
            case "callable" -> v instanceof Callable;
            case "odd" -> Values.toLong(v, "odd") % 2 != 0;
            case "even" -> Values.toLong(v, "even") % 2 == 0;
            case "divisibleby" -> Values.toLong(v, "divisibleby") % Values.toLong(arg(args, name), "divisibleby") == 0;
            case "equalto", "eq", "==", "sameas" -> Values.equal(v, arg(args, name));
            case "ne", "!=" -> !Values.equal(v, arg(args, name));
            case "lt", "lessthan", "<" -> Values.compare(v, arg(args, name)) < 0;
            case "gt", "greaterthan", ">" -> Values.compare(v, arg(args, name)) > 0;
            case "le", "<=" -> Values.compare(v, arg(args, name)) <= 0;
            case "ge", ">=" -> Values.compare(v, arg(args, name)) >= 0;
            case "in" -> Values.contains(arg(args, name), v);
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
            default -> throw new JinjaException("unknown test '" + name + "'");
        };
    }

    private static Object arg(List<Object> args, String test) {
        if (args.isEmpty()) throw new JinjaException("the test '" + test + "' needs an argument");
        return args.get(0);
    }

    private static String string(Object v, String filter) {
        if (v == Values.UNDEFINED) return "";
        if (v instanceof String s) return s;
        return Values.str(v);
    }

    private static Object number(Object v, String filter) {
        if (!Values.isNumber(v)) throw new JinjaException(filter + " needs a number, got " + Values.typeName(v));
        return v;
    }

    private static int length(Object v) {
        if (v instanceof String s) return s.codePointCount(0, s.length());
        if (v instanceof List<?> l) return l.size();
        if (v instanceof Map<?, ?> m) return m.size();
        if (v == Values.UNDEFINED) return 0;
        throw new JinjaException("object of type " + Values.typeName(v) + " has no length");
    }

    private static Object toInt(Object v) {
        if (v instanceof Long) return v;
        if (v instanceof Double d) return (long) d.doubleValue();
        if (v instanceof Boolean b) return b ? 1L : 0L;
        try {
            return Long.parseLong(Values.str(v).strip());
        } catch (NumberFormatException e) {
            return 0L;
        }
    }

    private static Object toFloat(Object v) {
        if (Values.isNumber(v)) return ((Number) v).doubleValue();
        try {
            return Double.parseDouble(Values.str(v).strip());
        } catch (NumberFormatException e) {
            return 0.0;
        }
    }

    static List<Object> items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>();
        for (var e : m.entrySet()) out.add(java.util.Arrays.asList(e.getKey(), e.getValue()));
        return out;
    }

    static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean start = true;
        for (char c : s.toCharArray()) {
            b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
            start = !Character.isLetter(c);
        }
        return b.toString();
    }

    static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;").replace("'", "&#39;");
    }

    private static String indent(String s, int width, boolean first) {
        String pad = " ".repeat(width);
        String[] lines = s.split("\n", -1);
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < lines.length; k++) {
            if (k > 0) b.append('\n');
            if ((k > 0 || first) && !lines[k].isEmpty()) b.append(pad);
            b.append(lines[k]);
        }
        return b.toString();
    }
}
