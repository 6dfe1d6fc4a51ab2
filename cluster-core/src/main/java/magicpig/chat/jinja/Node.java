package magicpig.chat.jinja;

import java.util.List;
import java.util.Map;

/** The parsed template: statements that write output, and the expressions they evaluate. */
sealed interface Node {

    sealed interface Stmt extends Node {}

    record Text(String text) implements Stmt {}

    record Output(Expr value) implements Stmt {}

    record If(List<Branch> branches, List<Stmt> otherwise) implements Stmt {}

    record Branch(Expr test, List<Stmt> body) {}

    /** {@code for targets in iterable [if filter]}, with an {@code else} body for an empty loop. */
    record For(List<String> targets, Expr iterable, Expr filter, List<Stmt> body, List<Stmt> otherwise) implements Stmt {}

    /** {@code set name = value}, or {@code set ns.attr = value} when attr is not null. */
    record Set(String name, String attr, Expr value) implements Stmt {}

    /** {@code set name}...{@code endset}: the body's output becomes the value. */
    record SetBlock(String name, List<Stmt> body) implements Stmt {}

    /** A block rendered as its body ({@code generation}, which only marks assistant text for training tools). */
    record Block(List<Stmt> body) implements Stmt {}

    enum LoopControl implements Stmt { BREAK, CONTINUE }

    sealed interface Expr extends Node {}

    record Literal(Object value) implements Expr {}

    record Name(String name) implements Expr {}

    record Attr(Expr target, String name) implements Expr {}

    record Item(Expr target, Expr key) implements Expr {}

    record Slice(Expr target, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(Expr callee, List<Expr> args, Map<String, Expr> kwargs) implements Expr {}

    record Filter(Expr target, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {}

    record Test(Expr target, String name, List<Expr> args, boolean negated) implements Expr {}

    record Unary(String op, Expr operand) implements Expr {}

    record Binary(String op, Expr left, Expr right) implements Expr {}

    record Conditional(Expr test, Expr then, Expr otherwise) implements Expr {}

    record ListExpr(List<Expr> items) implements Expr {}

    record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {}
}
