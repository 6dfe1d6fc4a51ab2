package magicpig.chat.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts template source into text and tag tokens, with the whitespace rules Hugging Face renders chat
 * templates with: {@code trim_blocks} (the newline after a block tag or comment goes),
 * {@code lstrip_blocks} (spaces and tabs before a block tag that starts a line go), and the
 * {@code -} markers ({@code {%- ... -%}}) that strip all whitespace on their side.
 */
final class Lexer {
    enum Type { TEXT, VAR_OPEN, VAR_CLOSE, BLOCK_OPEN, BLOCK_CLOSE, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Type type, String text, int pos) {
        boolean is(Type t, String s) {
            return type == t && text.equals(s);
        }

        boolean isOp(String s) {
            return is(Type.OP, s);
        }

        boolean isName(String s) {
            return is(Type.NAME, s);
        }
    }

    private static final String[] OPS = {"==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "~", "<", ">", "=",
            "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"};

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    /** The previous tag asked for the whitespace at the start of the next text to go. */
    private boolean stripNext;

    private Lexer(String src) {
        this.src = src;
    }

    static List<Token> tokenize(String src) {
        Lexer l = new Lexer(src);
        l.run();
        return l.out;
    }

    private void run() {
        int textStart = pos;
        while (true) {
            int tag = nextTag(pos);
            if (tag < 0) {
                text(textStart, src.length(), src.length(), false, false);
                break;
            }
            char kind = src.charAt(tag + 1);
            char mod = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
            boolean block = kind == '%' || kind == '#';
            text(textStart, tag, tag, mod == '-', block && mod != '+' && mod != '-');
            pos = tag + 2 + (mod == '-' || mod == '+' ? 1 : 0);
            if (kind == '#') {
                int end = src.indexOf("#}", pos);
                if (end < 0) throw error(tag, "unclosed comment");
                stripNext = src.charAt(end - 1) == '-';
                pos = end + 2;
                if (!stripNext) trimNewline();
            } else if (src.startsWith("raw", skipSpaces(pos)) && kind == '%' && isRawTag(pos)) {
                raw(tag);
            } else {
                out.add(new Token(kind == '{' ? Type.VAR_OPEN : Type.BLOCK_OPEN, "", tag));
                insideTag(kind == '{' ? "}}" : "%}");
                if (kind == '%' && !stripNext) trimNewline();
            }
            textStart = pos;
        }
        out.add(new Token(Type.EOF, "", src.length()));
    }

    private int nextTag(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Emits src[start, end) as text after applying the pending and requested whitespace rules. */
    private void text(int start, int end, int tagPos, boolean stripRight, boolean lstripBlock) {
        if (stripNext) {
            while (start < end && Character.isWhitespace(src.charAt(start))) start++;
            stripNext = false;
        }
        if (stripRight) {
            while (end > start && Character.isWhitespace(src.charAt(end - 1))) end--;
        } else if (lstripBlock) {
            int j = end;
            while (j > start && (src.charAt(j - 1) == ' ' || src.charAt(j - 1) == '\t')) j--;
            if (j == 0 || src.charAt(j - 1) == '\n') end = j;
        }
        if (end > start) out.add(new Token(Type.TEXT, src.substring(start, end), start));
    }

    private void trimNewline() {
        if (src.startsWith("\r\n", pos)) pos += 2;
        else if (src.startsWith("\n", pos)) pos++;
    }

    private int skipSpaces(int i) {
        while (i < src.length() && Character.isWhitespace(src.charAt(i))) i++;
        return i;
    }

    private boolean isRawTag(int i) {
        int j = skipSpaces(skipSpaces(i) + 3);
        return src.startsWith("%}", j) || src.startsWith("-%}", j);
    }

    /** {% raw %}...{% endraw %}: the body is text, untouched. */
    private void raw(int tag) {
        int close = src.indexOf("%}", pos) + 2;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-]?%\\}").matcher(src);
        if (!m.find(close)) throw error(tag, "{% raw %} without {% endraw %}");
        if (m.end() - m.start() > 0 && src.charAt(m.start() + 2) == '-') {
            int e = m.start();
            while (e > close && Character.isWhitespace(src.charAt(e - 1))) e--;
            if (e > close) out.add(new Token(Type.TEXT, src.substring(close, e), close));
        } else if (m.start() > close) {
            out.add(new Token(Type.TEXT, src.substring(close, m.start()), close));
        }
        stripNext = src.charAt(m.end() - 3) == '-';
        pos = m.end();
        if (!stripNext) trimNewline();
    }

    private void insideTag(String close) {
        while (true) {
            pos = skipSpaces(pos);
            if (pos >= src.length()) throw error(pos, "unclosed tag: expected '" + close + "'");
            if (src.startsWith("-" + close, pos) || src.startsWith(close, pos)) {
                stripNext = src.charAt(pos) == '-';
                pos += stripNext ? 3 : 2;
                out.add(new Token(close.equals("}}") ? Type.VAR_CLOSE : Type.BLOCK_CLOSE, "", pos));
                return;
            }
            char c = src.charAt(pos);
            if (c == '\'' || c == '"') {
                string(c);
            } else if (Character.isDigit(c)) {
                number();
            } else if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
                out.add(new Token(Type.NAME, src.substring(s, pos), s));
            } else {
                String op = null;
                for (String o : OPS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) throw error(pos, "unexpected character '" + c + "'");
                out.add(new Token(Type.OP, op, pos));
                pos += op.length();
            }
        }
    }

    private void number() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
        boolean isFloat = pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1));
        if (isFloat) {
            pos++;
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        }
        out.add(new Token(isFloat ? Type.FLOAT : Type.INT, src.substring(s, pos).replace("_", ""), s));
    }

    /** A Python string literal with its backslash escapes. */
    private void string(char quote) {
        int s = pos++;
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= src.length()) throw error(s, "unterminated string");
            char c = src.charAt(pos++);
            if (c == quote) break;
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= src.length()) throw error(s, "unterminated string");
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case '0' -> b.append('\0');
                case '\\', '\'', '"' -> b.append(e);
                case 'u', 'x' -> {
                    int n = e == 'u' ? 4 : 2;
                    if (pos + n > src.length()) throw error(s, "bad \\" + e + " escape");
                    b.append((char) Integer.parseInt(src.substring(pos, pos + n), 16));
                    pos += n;
                }
                case '\n' -> { } // line continuation
                default -> b.append('\\').append(e);
            }
        }
        out.add(new Token(Type.STRING, b.toString(), s));
    }

    private JinjaException error(int at, String message) {
        return new JinjaException(message + " at " + Parser.where(src, at));
    }
}
