package magicpig.chat.jinja;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import magicpig.chat.jinja.Node.Stmt;
import magicpig.chat.jinja.Values.Callable;

/**
 * A Jinja template in the subset that chat templates are written in: text, {@code {{ }}} output,
 * if/elif/else, for loops (with {@code loop.*}, an else branch, a filter, break and continue), set
 * (also {@code set ns.x} and block set), comments and whitespace control; Python-like expressions
 * with string methods, filters and tests; the functions {@code raise_exception}, {@code namespace},
 * {@code range} and {@code strftime_now}. Rendering follows Hugging Face's environment
 * (trim_blocks and lstrip_blocks on). Macros, includes and inheritance are not supported: parsing
 * such a template fails with a {@link JinjaException}.
 */
public final class JinjaTemplate {
    private final List<Stmt> body;

    private JinjaTemplate(List<Stmt> body) {
        this.body = body;
    }

    /** Parses the source; throws JinjaException naming the line and column of the first problem. */
    public static JinjaTemplate parse(String source) {
        return new JinjaTemplate(Parser.parse(source));
    }

    /**
     * Renders with the given variables (Strings, numbers, Booleans, null, Lists and Maps of those).
     * Throws {@link JinjaException.Raised} when the template calls raise_exception, JinjaException
     * for anything else it cannot evaluate.
     *
     * @param now the time strftime_now formats
     */
    public String render(Map<String, ?> variables, Supplier<ZonedDateTime> now) {
        Map<String, Object> globals = new HashMap<>();
        globals.put("raise_exception", (Callable) (args, kw) -> {
            throw new JinjaException.Raised(args.isEmpty() ? "the chat template refused the input" : Values.str(args.get(0)));
        });
        globals.put("namespace", (Callable) (args, kw) -> {
            Values.Namespace ns = new Values.Namespace();
            for (Object a : args) if (a instanceof Map<?, ?> m) m.forEach((k, v) -> ns.values.put(Values.str(k), v));
            ns.values.putAll(kw);
            return ns;
        });
        globals.put("dict", (Callable) (args, kw) -> new LinkedHashMap<>(kw));
        globals.put("range", (Callable) JinjaTemplate::range);
        globals.put("strftime_now", (Callable) (args, kw) -> strftime(now.get(), Values.str(args.isEmpty() ? "" : args.get(0))));
        for (var e : variables.entrySet()) globals.put(e.getKey(), e.getValue());
        return Renderer.render(body, globals);
    }

    private static Object range(List<Object> args, Map<String, Object> kw) {
        long start = 0, stop, step = 1;
        if (args.size() == 1) {
            stop = Values.toLong(args.get(0), "range stop");
        } else if (args.size() >= 2) {
            start = Values.toLong(args.get(0), "range start");
            stop = Values.toLong(args.get(1), "range stop");
            if (args.size() > 2) step = Values.toLong(args.get(2), "range step");
        } else {
            throw new JinjaException("range() needs an argument");
        }
        if (step == 0) throw new JinjaException("range() step cannot be zero");
        List<Object> out = new ArrayList<>();
        for (long k = start; step > 0 ? k < stop : k > stop; k += step) {
            out.add(k);
            if (out.size() > 1_000_000) throw new JinjaException("range() too long");
        }
        return out;
    }

    /** Python's strftime for the codes templates use (%d %b %B %Y %y %m %H %M %S %A %a %j %%). */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < format.length(); k++) {
            char c = format.charAt(k);
            if (c != '%' || k + 1 == format.length()) {
                b.append(c);
                continue;
            }
            char code = format.charAt(++k);
            switch (code) {
                case 'd' -> b.append(String.format("%02d", t.getDayOfMonth()));
                case 'b' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'Y' -> b.append(t.getYear());
                case 'y' -> b.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> b.append(String.format("%02d", t.getMonthValue()));
                case 'H' -> b.append(String.format("%02d", t.getHour()));
                case 'M' -> b.append(String.format("%02d", t.getMinute()));
                case 'S' -> b.append(String.format("%02d", t.getSecond()));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'j' -> b.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> b.append('%');
                default -> b.append('%').append(code);
            }
        }
        return b.toString();
    }
}
