package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import magicpig.chat.jinja.Node.Expr;
import magicpig.chat.jinja.Node.Stmt;
import magicpig.chat.jinja.Values.Callable;
import magicpig.chat.jinja.Values.Namespace;

/**
 * Runs parsed statements against variables. Scopes follow Jinja: a for loop's body gets a scope of
 * its own per iteration (a {@code set} inside it is gone after the loop; a namespace carries values
 * out), an if does not.
 */
final class Renderer {
    /** Stops runaway templates (a loop over range(10**9)). */
    private static final int MAX_OUTPUT_CHARS = 16 << 20;

    private enum Flow { NEXT, BREAK, CONTINUE }

    private static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) return s.vars.get(name);
            }
            return Values.UNDEFINED;
        }
    }

    /** What {@code loop} is inside a for body. */
    static final class Loop {
        final List<Object> items;
        int index0;

        Loop(List<Object> items) {
            this.items = items;
        }

        Object attr(String name) {
            int n = items.size();
            return switch (name) {
                case "index" -> (long) index0 + 1;
                case "index0" -> (long) index0;
                case "revindex" -> (long) (n - index0);
                case "revindex0" -> (long) (n - index0 - 1);
                case "first" -> index0 == 0;
                case "last" -> index0 == n - 1;
                case "length" -> (long) n;
                case "previtem" -> index0 > 0 ? items.get(index0 - 1) : Values.UNDEFINED;
                case "nextitem" -> index0 + 1 < n ? items.get(index0 + 1) : Values.UNDEFINED;
                case "cycle" -> (Callable) (args, kw) -> args.isEmpty() ? Values.UNDEFINED : args.get(index0 % args.size());
                default -> Values.UNDEFINED;
            };
        }
    }

    private final StringBuilder out = new StringBuilder();

    private Renderer() {}

    static String render(List<Stmt> body, Map<String, Object> globals) {
        Scope root = new Scope(null);
        root.vars.putAll(globals);
        Renderer r = new Renderer();
        r.run(body, root, r.out);
        return r.out.toString();
    }

    private Flow run(List<Stmt> body, Scope scope, StringBuilder sink) {
        for (Stmt s : body) {
            Flow f = exec(s, scope, sink);
            if (f != Flow.NEXT) return f;
        }
        return Flow.NEXT;
    }

    private Flow exec(Stmt s, Scope scope, StringBuilder sink) {
        switch (s) {
            case Node.Text t -> write(sink, t.text());
            case Node.Output o -> write(sink, Values.str(eval(o.value(), scope)));
            case Node.If f -> {
                for (Node.Branch b : f.branches()) {
                    if (Values.truthy(eval(b.test(), scope))) return run(b.body(), scope, sink);
                }
                return run(f.otherwise(), scope, sink);
            }
            case Node.For f -> {
                return loop(f, scope, sink);
            }
            case Node.Set set -> {
                Object value = eval(set.value(), scope);
                if (set.attr() == null) {
                    scope.vars.put(set.name(), value);
                } else if (scope.get(set.name()) instanceof Namespace ns) {
                    ns.values.put(set.attr(), value);
                } else {
                    throw new JinjaException("cannot set " + set.name() + "." + set.attr() + ": " + set.name() + " is not a namespace");
                }
            }
            case Node.SetBlock set -> {
                StringBuilder captured = new StringBuilder();
                run(set.body(), scope, captured);
                scope.vars.put(set.name(), captured.toString());
            }
            case Node.Block b -> {
                return run(b.body(), scope, sink);
            }
            case Node.LoopControl c -> {
                return c == Node.LoopControl.BREAK ? Flow.BREAK : Flow.CONTINUE;
            }
        }
        return Flow.NEXT;
    }

    private Flow loop(Node.For f, Scope scope, StringBuilder sink) {
        List<Object> items = Values.iterate(eval(f.iterable(), scope));
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                bind(f.targets(), item, s);
                if (Values.truthy(eval(f.filter(), s))) kept.add(item);
            }
            items = kept;
        }
        if (items.isEmpty()) return run(f.otherwise(), scope, sink);
        Loop loop = new Loop(items);
        for (; loop.index0 < items.size(); loop.index0++) {
            Scope s = new Scope(scope);
            bind(f.targets(), items.get(loop.index0), s);
            s.vars.put("loop", loop);
            if (run(f.body(), s, sink) == Flow.BREAK) break;
        }
        return Flow.NEXT;
    }

    private static void bind(List<String> targets, Object item, Scope s) {
        if (targets.size() == 1) {
            s.vars.put(targets.get(0), item);
            return;
        }
        if (!(item instanceof List<?> parts) || parts.size() != targets.size()) {
            throw new JinjaException("cannot unpack " + Values.typeName(item) + " into " + targets.size() + " loop variables");
        }
        for (int k = 0; k < targets.size(); k++) s.vars.put(targets.get(k), parts.get(k));
    }

    private void write(StringBuilder sink, String s) {
        sink.append(s);
        if (sink.length() > MAX_OUTPUT_CHARS || out.length() > MAX_OUTPUT_CHARS) {
            throw new JinjaException("the template's output grew past " + MAX_OUTPUT_CHARS + " characters");
        }
    }

    // ---- expressions ----

    Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Node.Literal l -> l.value();
            case Node.Name n -> scope.get(n.name());
            case Node.Attr a -> attribute(eval(a.target(), scope), a.name());
            case Node.Item it -> item(eval(it.target(), scope), eval(it.key(), scope));
            case Node.Slice sl -> slice(eval(sl.target(), scope), evalOrNull(sl.start(), scope), evalOrNull(sl.stop(), scope),
                    evalOrNull(sl.step(), scope));
            case Node.Call c -> {
                Object callee = eval(c.callee(), scope);
                if (!(callee instanceof Callable fn)) {
                    throw new JinjaException(describe(c.callee()) + " is not callable (" + Values.typeName(callee) + ")");
                }
                yield fn.call(evalAll(c.args(), scope), evalAll(c.kwargs(), scope));
            }
            case Node.Filter f -> Filters.filter(f.name(), eval(f.target(), scope), evalAll(f.args(), scope), evalAll(f.kwargs(), scope));
            case Node.Test t -> Filters.test(t.name(), eval(t.target(), scope), evalAll(t.args(), scope)) != t.negated();
            case Node.Unary u -> switch (u.op()) {
                case "not" -> !Values.truthy(eval(u.operand(), scope));
                case "-" -> {
                    Object v = eval(u.operand(), scope);
                    if (v instanceof Long x) yield -x;
                    if (v instanceof Double x) yield -x;
                    throw new JinjaException("bad operand for unary -: " + Values.typeName(v));
                }
                default -> throw new JinjaException("unknown operator " + u.op());
            };
            case Node.Binary b -> binary(b, scope);
            case Node.Conditional c -> Values.truthy(eval(c.test(), scope)) ? eval(c.then(), scope) : eval(c.otherwise(), scope);
            case Node.ListExpr l -> evalAll(l.items(), scope);
            case Node.DictExpr d -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int k = 0; k < d.keys().size(); k++) m.put(Values.str(eval(d.keys().get(k), scope)), eval(d.values().get(k), scope));
                yield m;
            }
        };
    }

    private Object evalOrNull(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private List<Object> evalAll(List<Expr> es, Scope scope) {
        List<Object> out = new ArrayList<>(es.size());
        for (Expr x : es) out.add(eval(x, scope));
        return out;
    }

    private Map<String, Object> evalAll(Map<String, Expr> es, Scope scope) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var x : es.entrySet()) out.put(x.getKey(), eval(x.getValue(), scope));
        return out;
    }

    private Object binary(Node.Binary b, Scope scope) {
        Object l = eval(b.left(), scope);
        switch (b.op()) {
            case "and" -> {
                return Values.truthy(l) ? eval(b.right(), scope) : l;
            }
            case "or" -> {
                return Values.truthy(l) ? l : eval(b.right(), scope);
            }
            default -> { }
        }
        Object r = eval(b.right(), scope);
        return switch (b.op()) {
            case "==" -> Values.equal(l, r);
            case "!=" -> !Values.equal(l, r);
            case "<" -> Values.compare(l, r) < 0;
            case ">" -> Values.compare(l, r) > 0;
            case "<=" -> Values.compare(l, r) <= 0;
            case ">=" -> Values.compare(l, r) >= 0;
            case "in" -> Values.contains(r, l);
            case "not in" -> !Values.contains(r, l);
            case "~" -> Values.str(l) + Values.str(r);
            default -> Arithmetic.apply(b.op(), l, r);
        };
    }

    static Object attribute(Object target, String name) {
        if (target instanceof Map<?, ?> m) {
            if (m.containsKey(name)) return m.get(name);
            return Methods.of(target, name);
        }
        if (target instanceof Namespace ns) return ns.values.getOrDefault(name, Values.UNDEFINED);
        if (target instanceof Loop loop) return loop.attr(name);
        if (target instanceof List<?> l && name.chars().allMatch(Character::isDigit)) return item(l, Long.parseLong(name));
        return Methods.of(target, name);
    }

    static Object item(Object target, Object key) {
        if (target instanceof Map<?, ?> m) {
            Object k = key instanceof String ? key : Values.str(key);
            return m.containsKey(k) ? m.get(k) : Values.UNDEFINED;
        }
        if (target instanceof List<?> l && key instanceof Long idx) {
            long k = idx < 0 ? idx + l.size() : idx;
            return k >= 0 && k < l.size() ? l.get((int) k) : Values.UNDEFINED;
        }
        if (target instanceof String s && key instanceof Long idx) {
            long k = idx < 0 ? idx + s.length() : idx;
            return k >= 0 && k < s.length() ? String.valueOf(s.charAt((int) k)) : Values.UNDEFINED;
        }
        if (key instanceof String name) return attribute(target, name);
        if (target == Values.UNDEFINED) return Values.UNDEFINED;
        throw new JinjaException("cannot index " + Values.typeName(target) + " with " + Values.typeName(key));
    }

    /** Python's seq[start:stop:step] on lists and strings. */
    static Object slice(Object target, Object start, Object stop, Object step) {
        int n;
        if (target instanceof List<?> l) n = l.size();
        else if (target instanceof String s) n = s.length();
        else if (target == Values.UNDEFINED) return Values.UNDEFINED;
        else throw new JinjaException("cannot slice " + Values.typeName(target));
        long st = step == null ? 1 : Values.toLong(step, "slice step");
        if (st == 0) throw new JinjaException("slice step cannot be zero");
        long a, z;
        if (st > 0) {
            a = start == null ? 0 : clamp(Values.toLong(start, "slice start"), n, 0, n);
            z = stop == null ? n : clamp(Values.toLong(stop, "slice stop"), n, 0, n);
        } else {
            a = start == null ? n - 1 : clamp(Values.toLong(start, "slice start"), n, -1, n - 1);
            z = stop == null ? -1 : clamp(Values.toLong(stop, "slice stop"), n, -1, n - 1);
        }
        List<Object> items = new ArrayList<>();
        StringBuilder chars = new StringBuilder();
        for (long k = a; st > 0 ? k < z : k > z; k += st) {
            if (target instanceof List<?> l) items.add(l.get((int) k));
            else chars.append(((String) target).charAt((int) k));
        }
        return target instanceof String ? chars.toString() : items;
    }

    private static long clamp(long v, int n, long lo, long hi) {
        if (v < 0) v += n;
        return Math.max(lo, Math.min(hi, v));
    }

    private static String describe(Expr e) {
        return switch (e) {
            case Node.Name n -> "'" + n.name() + "'";
            case Node.Attr a -> "'" + a.name() + "'";
            default -> "the expression";
        };
    }
}
