package dev.warden.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * PostgreSQL's lexical rules, enough to split statements exactly where the server does and to classify them:
 * standard strings with {@code ''}, {@code E''} strings with backslash escapes, {@code U&''}, {@code B''},
 * {@code X''}, {@code N''}, dollar quotes with tags, quoted identifiers with {@code ""}, {@code --} and nested
 * block comments, positional parameters, operators. Never throws: an unterminated string, identifier or
 * comment swallows the rest of the input and is reported through {@link Result#unterminated()}.
 *
 * <p>Assumes {@code standard_conforming_strings = on} (the default since PostgreSQL 9.1): with it off, a
 * backslash in a plain {@code '...'} string escapes the next character and the server would split differently.
 */
final class Lexer {

    enum Type { WORD, QUOTED_IDENT, STRING, NUMBER, PARAM, OPERATOR }

    /**
     * One token. {@code value}: for words the lower-cased word, for quoted identifiers the exact name without
     * quotes, for strings the decoded content (dollar-quoted: the body), otherwise the source text.
     */
    record Token(Type type, int start, int end, String value) {
        boolean isWord(String word) {
            return type == Type.WORD && value.equals(word);
        }

        boolean isOp(String op) {
            return type == Type.OPERATOR && value.equals(op);
        }

        boolean isIdentifier() {
            return type == Type.WORD || type == Type.QUOTED_IDENT;
        }
    }

    record Result(List<Token> tokens, boolean unterminated) {}

    private final String s;
    private final int n;
    private int pos;
    private boolean unterminated;
    private final List<Token> tokens = new ArrayList<>();

    private Lexer(String s) {
        this.s = s;
        this.n = s.length();
    }

    static Result tokenize(String sql) {
        Lexer lexer = new Lexer(sql);
        lexer.run();
        return new Result(lexer.tokens, lexer.unterminated);
    }

    private void run() {
        while (pos < n && !unterminated) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B') {
                pos++;
            } else if (c == '-' && peek(1) == '-') {
                int eol = s.indexOf('\n', pos);
                pos = eol < 0 ? n : eol + 1;
            } else if (c == '/' && peek(1) == '*') {
                blockComment();
            } else if (c == '\'') {
                quoted(pos, pos, false);
            } else if ((c == 'e' || c == 'E') && peek(1) == '\'') {
                quoted(pos, pos + 1, true);
            } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && peek(1) == '\'') {
                quoted(pos, pos + 1, false);
            } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '\'') {
                quoted(pos, pos + 2, false);
            } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '"') {
                quotedIdentifier(pos, pos + 2);
            } else if (c == '"') {
                quotedIdentifier(pos, pos);
            } else if (c == '$') {
                dollar();
            } else if (isIdentStart(c)) {
                int start = pos;
                while (pos < n && isIdentPart(s.charAt(pos))) {
                    pos++;
                }
                add(Type.WORD, start, s.substring(start, pos).toLowerCase(Locale.ROOT));
            } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
                number();
            } else {
                operator();
            }
        }
    }

    private char peek(int ahead) {
        int i = pos + ahead;
        return i < n ? s.charAt(i) : '\0';
    }

    private void add(Type type, int start, String value) {
        tokens.add(new Token(type, start, pos, value));
    }

    private void blockComment() {
        int depth = 0;
        while (pos < n) {
            if (s.startsWith("/*", pos)) {
                depth++;
                pos += 2;
            } else if (s.startsWith("*/", pos)) {
                depth--;
                pos += 2;
                if (depth == 0) {
                    return;
                }
            } else {
                pos++;
            }
        }
        unterminated = true;
    }

    /** A string literal whose opening quote is at {@code quote}; E'' strings also take backslash escapes. */
    private void quoted(int start, int quote, boolean backslashEscapes) {
        delimited(start, quote, '\'', backslashEscapes, Type.STRING);
    }

    private void quotedIdentifier(int start, int quote) {
        delimited(start, quote, '"', false, Type.QUOTED_IDENT);
    }

    /** Text between {@code delimiter}s, a doubled delimiter standing for itself. */
    private void delimited(int start, int open, char delimiter, boolean backslashEscapes, Type type) {
        StringBuilder value = new StringBuilder();
        pos = open + 1;
        while (pos < n) {
            char c = s.charAt(pos);
            if (c == delimiter) {
                if (peek(1) == delimiter) {
                    value.append(delimiter);
                    pos += 2;
                    continue;
                }
                pos++;
                add(type, start, value.toString());
                return;
            }
            if (c == '\\' && backslashEscapes && pos + 1 < n) {
                value.append(s.charAt(pos + 1));
                pos += 2;
                continue;
            }
            value.append(c);
            pos++;
        }
        unterminated = true;
        add(type, start, value.toString());
    }

    private void dollar() {
        int start = pos;
        if (isDigit(peek(1))) {
            pos++;
            while (pos < n && isDigit(s.charAt(pos))) {
                pos++;
            }
            add(Type.PARAM, start, s.substring(start, pos));
            return;
        }
        // $tag$ where tag is empty or an identifier without '$' (PostgreSQL: dolq_start dolq_cont*)
        int i = pos + 1;
        if (i < n && isIdentStart(s.charAt(i))) {
            i++;
            while (i < n && isIdentPart(s.charAt(i)) && s.charAt(i) != '$') {
                i++;
            }
        }
        if (i < n && s.charAt(i) == '$') {
            String delimiter = s.substring(pos, i + 1);
            int bodyStart = i + 1;
            int close = s.indexOf(delimiter, bodyStart);
            if (close < 0) {
                pos = n;
                unterminated = true;
                add(Type.STRING, start, s.substring(bodyStart));
                return;
            }
            pos = close + delimiter.length();
            add(Type.STRING, start, s.substring(bodyStart, close));
            return;
        }
        pos++;
        add(Type.OPERATOR, start, "$");
    }

    private void number() {
        int start = pos;
        if (s.charAt(pos) == '0' && (peek(1) == 'x' || peek(1) == 'X' || peek(1) == 'o' || peek(1) == 'O'
                || peek(1) == 'b' || peek(1) == 'B')) {
            pos += 2;
            while (pos < n && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
                pos++;
            }
            add(Type.NUMBER, start, s.substring(start, pos));
            return;
        }
        digits();
        if (pos < n && s.charAt(pos) == '.' && peek(1) != '.') {
            pos++;
            digits();
        }
        if (pos < n && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            char next = peek(1);
            if (isDigit(next) || ((next == '+' || next == '-') && isDigit(peek(2)))) {
                pos += 2;
                digits();
            }
        }
        add(Type.NUMBER, start, s.substring(start, pos));
    }

    private void digits() {
        while (pos < n && (isDigit(s.charAt(pos)) || (s.charAt(pos) == '_' && isDigit(peek(1))))) {
            pos++;
        }
    }

    private void operator() {
        int start = pos;
        char c = s.charAt(pos);
        if (c == ':' && peek(1) == ':') {
            pos += 2;
            add(Type.OPERATOR, start, "::");
            return;
        }
        if (!isOperatorChar(c)) {
            pos++;
            add(Type.OPERATOR, start, String.valueOf(c));
            return;
        }
        // A run of operator characters is one operator, but a comment start ends it (PostgreSQL does the same).
        pos++;
        while (pos < n && isOperatorChar(s.charAt(pos))
                && !s.startsWith("--", pos) && !s.startsWith("/*", pos)) {
            pos++;
        }
        add(Type.OPERATOR, start, s.substring(start, pos));
    }

    private static boolean isOperatorChar(char c) {
        return "+-*/<>=~!@#%^&|`?".indexOf(c) >= 0;
    }

    static boolean isIdentStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    static boolean isIdentPart(char c) {
        return isIdentStart(c) || isDigit(c) || c == '$';
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
