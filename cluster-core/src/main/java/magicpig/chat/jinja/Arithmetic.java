package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.List;

/** Python's + - * / // % ** on the template's values. */
final class Arithmetic {
    private Arithmetic() {}

    static Object apply(String op, Object l, Object r) {
        if (op.equals("+")) {
            if (l instanceof String a && r instanceof String b) return a + b;
            if (l instanceof List<?> a && r instanceof List<?> b) {
                List<Object> out = new ArrayList<>(a);
                out.addAll(b);
                return out;
            }
        }
        if (op.equals("*")) {
            if (l instanceof String s && r instanceof Long n) return s.repeat((int) Math.max(0, n));
            if (l instanceof Long n && r instanceof String s) return s.repeat((int) Math.max(0, n));
        }
        if (!Values.isNumber(l) || !Values.isNumber(r)) {
            throw new JinjaException("unsupported operand types for " + op + ": " + Values.typeName(l) + " and " + Values.typeName(r));
        }
        if (l instanceof Long a && r instanceof Long b) {
            return switch (op) {
                case "+" -> a + b;
                case "-" -> a - b;
                case "*" -> a * b;
                case "/" -> {
                    if (b == 0) throw new JinjaException("division by zero");
                    yield (double) a / b;
                }
                case "//" -> {
                    if (b == 0) throw new JinjaException("division by zero");
                    yield Math.floorDiv(a, b);
                }
                case "%" -> {
                    if (b == 0) throw new JinjaException("modulo by zero");
                    yield Math.floorMod(a, b);
                }
                case "**" -> b >= 0 ? (Object) (long) Math.pow(a, b) : (Object) Math.pow(a, b);
                default -> throw new JinjaException("unknown operator " + op);
            };
        }
        double a = ((Number) l).doubleValue(), b = ((Number) r).doubleValue();
        return switch (op) {
            case "+" -> a + b;
            case "-" -> a - b;
            case "*" -> a * b;
            case "/" -> a / b;
            case "//" -> Math.floor(a / b);
            case "%" -> a - b * Math.floor(a / b);
            case "**" -> Math.pow(a, b);
            default -> throw new JinjaException("unknown operator " + op);
        };
    }
}
