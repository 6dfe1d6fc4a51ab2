package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import magicpig.chat.jinja.Lexer.Token;
import magicpig.chat.jinja.Lexer.Type;
import magicpig.chat.jinja.Node.Expr;
import magicpig.chat.jinja.Node.Stmt;

/**
 * Recursive descent over the tokens, with Jinja's precedence: conditional expression, or, and, not,
 * comparisons, + and -, ~, * / // %, **, unary minus, then primaries with their postfix parts
 * ({@code .attr}, {@code [key]}, calls) and filters and tests, which bind tighter than any operator:
 * {@code 'a' + x | trim} trims x only.
 */
final class Parser {
    private final String src;
    private final List<Token> tokens;
    private int i;

    private Parser(String src, List<Token> tokens) {
        this.src = src;
        this.tokens = tokens;
    }

    static List<Stmt> parse(String src) {
        Parser p = new Parser(src, Lexer.tokenize(src));
        List<Stmt> body = p.statements(List.of());
        if (p.peek().type() != Type.EOF) throw p.error(p.peek(), "unexpected '{% " + p.tokens.get(p.i + 1).text() + " %}'");
        return body;
    }

    /** Parses statements until EOF or a block tag whose name is in ends (left unconsumed, after its '{%'). */
    private List<Stmt> statements(List<String> ends) {
        List<Stmt> out = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case EOF -> {
                    if (!ends.isEmpty()) throw error(t, "missing {% " + String.join(" / ", ends) + " %}");
                    return out;
                }
                case TEXT -> {
                    i++;
                    out.add(new Node.Text(t.text()));
                }
                case VAR_OPEN -> {
                    i++;
                    Expr e = expression();
                    expect(Type.VAR_CLOSE, "'}}'");
                    out.add(new Node.Output(e));
                }
                case BLOCK_OPEN -> {
                    Token name = tokens.get(i + 1);
                    if (name.type() == Type.NAME && ends.contains(name.text())) return out;
                    i += 2;
                    out.add(statement(name));
                }
                default -> throw error(t, "unexpected " + t.type());
            }
        }
    }

    private Stmt statement(Token name) {
        if (name.type() != Type.NAME) throw error(name, "expected a statement name after '{%'");
        return switch (name.text()) {
            case "if" -> ifStatement();
            case "for" -> forStatement();
            case "set" -> setStatement();
            case "break", "continue" -> {
                expect(Type.BLOCK_CLOSE, "'%}'");
                yield name.text().equals("break") ? Node.LoopControl.BREAK : Node.LoopControl.CONTINUE;
            }
            case "generation" -> {
                expect(Type.BLOCK_CLOSE, "'%}'");
                List<Stmt> body = statements(List.of("endgeneration"));
                endTag("endgeneration");
                yield new Node.Block(body);
            }
            default -> throw error(name, "unsupported statement '" + name.text() + "'");
        };
    }

    private Stmt ifStatement() {
        List<Node.Branch> branches = new ArrayList<>();
        Expr test = expression();
        expect(Type.BLOCK_CLOSE, "'%}'");
        List<Stmt> otherwise = List.of();
        List<String> ends = List.of("elif", "else", "endif");
        while (true) {
            List<Stmt> body = statements(ends);
            branches.add(new Node.Branch(test, body));
            i++; // '{%'
            String tag = next().text();
            if (tag.equals("elif")) {
                test = expression();
                expect(Type.BLOCK_CLOSE, "'%}'");
                continue;
            }
            if (tag.equals("else")) {
                expect(Type.BLOCK_CLOSE, "'%}'");
                otherwise = statements(List.of("endif"));
                endTag("endif");
            } else {
                expect(Type.BLOCK_CLOSE, "'%}'");
            }
            return new Node.If(branches, otherwise);
        }
    }

    private Stmt forStatement() {
        List<String> targets = new ArrayList<>();
        boolean paren = accept(Type.OP, "(");
        do {
            targets.add(expect(Type.NAME, "a loop variable").text());
        } while (accept(Type.OP, ","));
        if (paren) expect(Type.OP, ")");
        expectName("in");
        Expr iterable = conditionalFree();
        Expr filter = null;
        if (accept(Type.NAME, "if")) filter = expression();
        if (accept(Type.NAME, "recursive")) throw error(peek(), "recursive loops are not supported");
        expect(Type.BLOCK_CLOSE, "'%}'");
        List<Stmt> body = statements(List.of("else", "endfor"));
        List<Stmt> otherwise = List.of();
        i++;
        if (next().text().equals("else")) {
            expect(Type.BLOCK_CLOSE, "'%}'");
            otherwise = statements(List.of("endfor"));
            endTag("endfor");
        } else {
            expect(Type.BLOCK_CLOSE, "'%}'");
        }
        return new Node.For(targets, iterable, filter, body, otherwise);
    }

    private Stmt setStatement() {
        String name = expect(Type.NAME, "a variable name").text();
        String attr = null;
        if (accept(Type.OP, ".")) attr = expect(Type.NAME, "an attribute name").text();
        if (attr == null && peek().type() == Type.BLOCK_CLOSE) {
            i++;
            List<Stmt> body = statements(List.of("endset"));
            endTag("endset");
            return new Node.SetBlock(name, body);
        }
        if (peek().isOp(",")) throw error(peek(), "tuple assignment in set is not supported");
        expect(Type.OP, "=");
        Expr value = expression();
        expect(Type.BLOCK_CLOSE, "'%}'");
        return new Node.Set(name, attr, value);
    }

    private void endTag(String name) {
        expect(Type.BLOCK_OPEN, "'{% " + name + " %}'");
        expectName(name);
        expect(Type.BLOCK_CLOSE, "'%}'");
    }

    // ---- expressions ----

    Expr expression() {
        Expr e = or();
        if (peek().isName("if")) {
            i++;
            Expr test = or();
            Expr otherwise = accept(Type.NAME, "else") ? expression() : new Node.Literal(Values.UNDEFINED);
            return new Node.Conditional(test, e, otherwise);
        }
        return e;
    }

    /** A for loop's iterable: no conditional expression, so that 'if' starts the loop filter. */
    private Expr conditionalFree() {
        return or();
    }

    private Expr or() {
        Expr e = and();
        while (accept(Type.NAME, "or")) e = new Node.Binary("or", e, and());
        return e;
    }

    private Expr and() {
        Expr e = not();
        while (accept(Type.NAME, "and")) e = new Node.Binary("and", e, not());
        return e;
    }

    private Expr not() {
        if (accept(Type.NAME, "not")) return new Node.Unary("not", not());
        return compare();
    }

    private Expr compare() {
        Expr e = add();
        while (true) {
            Token t = peek();
            String op;
            if (t.type() == Type.OP && Set.of("==", "!=", "<", ">", "<=", ">=").contains(t.text())) {
                op = t.text();
                i++;
            } else if (t.isName("in")) {
                op = "in";
                i++;
            } else if (t.isName("not") && tokens.get(i + 1).isName("in")) {
                op = "not in";
                i += 2;
            } else {
                return e;
            }
            e = new Node.Binary(op, e, add());
        }
    }

    private Expr add() {
        Expr e = concat();
        while (peek().isOp("+") || peek().isOp("-")) e = new Node.Binary(next().text(), e, concat());
        return e;
    }

    private Expr concat() {
        Expr e = mul();
        while (accept(Type.OP, "~")) e = new Node.Binary("~", e, mul());
        return e;
    }

    private Expr mul() {
        Expr e = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            e = new Node.Binary(next().text(), e, pow());
        }
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (accept(Type.OP, "**")) e = new Node.Binary("**", e, unary(true));
        return e;
    }

    private Expr unary(boolean withFilters) {
        Expr e;
        if (accept(Type.OP, "-")) {
            e = new Node.Unary("-", unary(false));
        } else if (accept(Type.OP, "+")) {
            e = unary(false);
        } else {
            e = postfix(primary());
        }
        return withFilters ? filters(e) : e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.type()) {
            case STRING -> {
                StringBuilder s = new StringBuilder(t.text());
                while (peek().type() == Type.STRING) s.append(next().text()); // adjacent literals join
                return new Node.Literal(s.toString());
            }
            case INT -> {
                return new Node.Literal(Long.parseLong(t.text()));
            }
            case FLOAT -> {
                return new Node.Literal(Double.parseDouble(t.text()));
            }
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Node.Literal(Boolean.TRUE);
                    case "false", "False" -> new Node.Literal(Boolean.FALSE);
                    case "none", "None" -> new Node.Literal(null);
                    default -> new Node.Name(t.text());
                };
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (accept(Type.OP, ")")) return new Node.ListExpr(List.of());
                        Expr e = expression();
                        if (peek().isOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (accept(Type.OP, ",") && !peek().isOp(")")) items.add(expression());
                            expect(Type.OP, ")");
                            return new Node.ListExpr(items);
                        }
                        expect(Type.OP, ")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            items.add(expression());
                            if (!accept(Type.OP, ",")) break;
                        }
                        expect(Type.OP, "]");
                        return new Node.ListExpr(items);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>(), values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            keys.add(expression());
                            expect(Type.OP, ":");
                            values.add(expression());
                            if (!accept(Type.OP, ",")) break;
                        }
                        expect(Type.OP, "}");
                        return new Node.DictExpr(keys, values);
                    }
                    default -> { }
                }
            }
            default -> { }
        }
        throw error(t, "unexpected " + describe(t));
    }

    private Expr postfix(Expr e) {
        while (true) {
            if (accept(Type.OP, ".")) {
                Token name = next();
                if (name.type() != Type.NAME && name.type() != Type.INT) throw error(name, "expected an attribute name after '.'");
                e = new Node.Attr(e, name.text());
            } else if (accept(Type.OP, "[")) {
                e = subscript(e);
            } else if (peek().isOp("(")) {
                i++;
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr target) {
        Expr start = null, stop = null, step = null;
        boolean slice = false;
        if (!peek().isOp(":")) start = expression();
        if (accept(Type.OP, ":")) {
            slice = true;
            if (!peek().isOp(":") && !peek().isOp("]")) stop = expression();
            if (accept(Type.OP, ":") && !peek().isOp("]")) step = expression();
        }
        expect(Type.OP, "]");
        return slice ? new Node.Slice(target, start, stop, step) : new Node.Item(target, start);
    }

    /** Arguments after '(' up to ')': positional, then name=value. */
    private Node.Call call(Expr callee) {
        List<Expr> args = new ArrayList<>();
        Map<String, Expr> kwargs = new LinkedHashMap<>();
        while (!peek().isOp(")")) {
            if (peek().type() == Type.NAME && tokens.get(i + 1).isOp("=")) {
                String k = next().text();
                i++;
                kwargs.put(k, expression());
            } else {
                args.add(expression());
            }
            if (!accept(Type.OP, ",")) break;
        }
        expect(Type.OP, ")");
        return new Node.Call(callee, args, kwargs);
    }

    private Expr filters(Expr e) {
        while (true) {
            if (accept(Type.OP, "|")) {
                String name = dottedName();
                Node.Call args = accept(Type.OP, "(") ? call(null) : new Node.Call(null, List.of(), Map.of());
                e = new Node.Filter(e, name, args.args(), args.kwargs());
            } else if (accept(Type.NAME, "is")) {
                boolean negated = accept(Type.NAME, "not");
                String name = dottedName();
                List<Expr> args = List.of();
                if (accept(Type.OP, "(")) {
                    args = call(null).args();
                } else if (startsTestArgument(peek())) {
                    args = List.of(postfix(primary()));
                }
                e = new Node.Test(e, name, args, negated);
            } else if (peek().isOp("(")) {
                i++;
                e = call(e);
            } else {
                return e;
            }
        }
    }

    /** Test names can be operators' words ("==" is "eq"); an argument may follow without parentheses. */
    private String dottedName() {
        Token t = next();
        if (t.type() == Type.NAME) return t.text();
        if (t.type() == Type.OP && Set.of("==", "!=", "<", ">", "<=", ">=").contains(t.text())) return t.text();
        throw error(t, "expected a filter or test name, got " + describe(t));
    }

    private static boolean startsTestArgument(Token t) {
        return switch (t.type()) {
            case STRING, INT, FLOAT -> true;
            case NAME -> !Set.of("and", "or", "not", "in", "is", "if", "else").contains(t.text());
            case OP -> t.text().equals("[") || t.text().equals("{");
            default -> false;
        };
    }

    // ---- token helpers ----

    private Token peek() {
        return tokens.get(i);
    }

    private Token next() {
        Token t = tokens.get(i);
        if (t.type() != Type.EOF) i++;
        return t;
    }

    private boolean accept(Type type, String text) {
        if (peek().is(type, text)) {
            i++;
            return true;
        }
        return false;
    }

    private Token expect(Type type, String what) {
        Token t = peek();
        if (t.type() != type || (type == Type.OP && !t.text().equals(what))) throw error(t, "expected " + what + ", got " + describe(t));
        i++;
        return t;
    }

    private void expectName(String name) {
        Token t = peek();
        if (!t.isName(name)) throw error(t, "expected '" + name + "', got " + describe(t));
        i++;
    }

    private static String describe(Token t) {
        return switch (t.type()) {
            case EOF -> "the end of the template";
            case TEXT -> "text";
            case VAR_CLOSE -> "'}}'";
            case BLOCK_CLOSE -> "'%}'";
            case VAR_OPEN -> "'{{'";
            case BLOCK_OPEN -> "'{%'";
            case STRING -> "a string";
            default -> "'" + t.text() + "'";
        };
    }

    private JinjaException error(Token t, String message) {
        return new JinjaException(message + " at " + where(src, t.pos()));
    }

    /** "line L, column C" of a position in the source. */
    static String where(String src, int pos) {
        int line = 1, col = 1;
        for (int k = 0; k < Math.min(pos, src.length()); k++) {
            if (src.charAt(k) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return "line " + line + ", column " + col;
    }
}
