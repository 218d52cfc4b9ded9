package dev.warden.sql;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * PostgreSQL's lexical rules ({@code src/backend/parser/scan.l}, versions 13 to 17), rule for rule where they
 * decide where a token ends: {@code --} comments end at {@code \n} or {@code \r}; block comments nest;
 * whitespace is space, tab, LF, CR, FF and VT; plain {@code '...'} strings follow the session's
 * {@code standard_conforming_strings} (off: a backslash escapes the next character, as in {@code E''});
 * {@code N''} is a plain string; {@code B''} and {@code X''} end at the first quote (a doubled quote starts a
 * new plain string); {@code U&''} and {@code U&""} double their quote and take no backslash escapes; a string
 * followed by whitespace holding a newline and another quote continues in the state it was in (so
 * {@code B'0'} newline {@code '\'} is one bit string); dollar quotes end at the same tag.
 *
 * <p>Never throws: an unterminated string, identifier or comment swallows the rest of the input and is
 * reported through {@link Result#unterminated()} (the server refuses such a text whole).
 * {@link Result#settingSensitive()} says whether the reading could change with
 * {@code standard_conforming_strings}: the two readings are identical up to the first backslash inside a
 * plain string, so a text without one reads the same under both.
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

        /**
         * {@code word}, unquoted or quoted: where the grammar takes any label (the option names of COPY's
         * parenthesised list), {@code "delimiter"} is the option {@code delimiter}.
         */
        boolean isLabel(String word) {
            return (type == Type.WORD || type == Type.QUOTED_IDENT) && value.equals(word);
        }

        boolean isOp(String op) {
            return type == Type.OPERATOR && value.equals(op);
        }

        boolean isIdentifier() {
            return type == Type.WORD || type == Type.QUOTED_IDENT;
        }
    }

    /**
     * @param unterminated whether a string, quoted identifier or comment ran to the end of the input
     * @param settingSensitive whether a plain string held a backslash, so that the other setting of
     *     {@code standard_conforming_strings} could read the text differently
     */
    record Result(List<Token> tokens, boolean unterminated, boolean settingSensitive) {}

    /** How a string's body is read (scan.l's states xq, xe, xb/xh, xus). */
    private enum StringMode { PLAIN, ESCAPED, BITS, UNICODE }

    private final String s;
    private final int n;
    private final boolean standardConformingStrings;
    private int pos;
    private boolean unterminated;
    private boolean settingSensitive;
    /** The deepest nesting of block comments read, and the longest run of operator characters (see {@link #load}). */
    private int deepestComment;
    private int longestOperatorRun;
    private final List<Token> tokens = new ArrayList<>();
    /** The indexes in {@link #tokens} of {@code U&"..."} and {@code U&'...'} tokens, their values as written. */
    private final List<Integer> unicodeAt = new ArrayList<>();

    /** Names as written, not cut to {@link #MAX_NAME_BYTES} (for {@link #mayCutNamesUnlikeUtf8} only). */
    private final boolean wholeNames;

    private Lexer(String s, boolean standardConformingStrings, boolean wholeNames) {
        this.s = s;
        this.n = s.length();
        this.standardConformingStrings = standardConformingStrings;
        this.wholeNames = wholeNames;
    }

    /** Tokens under {@code standard_conforming_strings = on}. */
    static Result tokenize(String sql) {
        return tokenize(sql, true);
    }

    static Result tokenize(String sql, boolean standardConformingStrings) {
        return tokenize(sql, standardConformingStrings, false);
    }

    private static Result tokenize(String sql, boolean standardConformingStrings, boolean wholeNames) {
        Lexer lexer = new Lexer(sql, standardConformingStrings, wholeNames);
        lexer.run();
        return new Result(lexer.tokens, lexer.unterminated, lexer.settingSensitive);
    }

    /**
     * How deep the block comments of {@code sql} nest, and its longest run of operator characters, read as the
     * server's scanner reads them (a {@code /*} or a {@code +} inside a string or a quoted name counts for nothing).
     * The server's scanner takes time growing with the square of either, and stops for no cancel or statement
     * timeout while it scans: {@code {depth, run}}.
     */
    static int[] load(String sql, boolean standardConformingStrings) {
        Lexer lexer = new Lexer(sql, standardConformingStrings, false);
        lexer.read();
        return new int[] {lexer.deepestComment, lexer.longestOperatorRun};
    }

    static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B';
    }

    private void run() {
        read();
        decodeUnicode();
    }

    private void read() {
        while (pos < n && !unterminated) {
            char c = s.charAt(pos);
            if (isSpace(c)) {
                pos++;
            } else if (c == '-' && peek(1) == '-') {
                pos = endOfLineComment(pos);
            } else if (c == '/' && peek(1) == '*') {
                blockComment();
            } else if (c == '\'') {
                string(pos, pos, StringMode.PLAIN);
            } else if ((c == 'e' || c == 'E') && peek(1) == '\'') {
                string(pos, pos + 1, StringMode.ESCAPED);
            } else if ((c == 'n' || c == 'N') && peek(1) == '\'') {
                // scan.l returns NCHAR for the letter alone; the quote then starts an ordinary string.
                string(pos, pos + 1, StringMode.PLAIN);
            } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X') && peek(1) == '\'') {
                string(pos, pos + 1, StringMode.BITS);
            } else if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '\'') {
                string(pos, pos + 2, StringMode.UNICODE);
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
                add(Type.WORD, start, word(start, pos));
            } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
                number();
            } else {
                operator();
            }
        }
    }

    /**
     * The folded word at {@code [start, end)} ({@link #foldName}). A common keyword, whatever its ASCII case, is
     * the one constant string (no substring and no folded copy per token).
     */
    private String word(int start, int end) {
        int length = end - start;
        if (length <= MAX_REMEMBERED) {
            int hash = 0;
            boolean ascii = true;
            for (int i = start; i < end && ascii; i++) {
                char c = s.charAt(i);
                ascii = c < 0x80;
                hash = hash * 31 + (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            }
            if (ascii) {
                if (length <= MAX_KEYWORD) {
                    String keyword = KEYWORDS[hash & (KEYWORDS.length - 1)];
                    if (keyword != null && keyword.length() == length && asciiLowerEquals(start, keyword)) {
                        return keyword;
                    }
                }
                // An ASCII name this short is never cut (MAX_NAME_BYTES), and folding it is lower-casing A-Z.
                int slot = (hash ^ (hash >>> 11)) & (NAMES.length - 1);
                String known = NAMES[slot];
                if (known != null && known.length() == length && asciiLowerEquals(start, known)) {
                    return known;
                }
                String name = foldName(s.substring(start, end));
                NAMES[slot] = name;
                return name;
            }
        }
        String name = foldName(s.substring(start, end));
        return wholeNames ? name : truncateName(name);
    }

    /** The longest ASCII name {@link #NAMES} keeps. */
    private static final int MAX_REMEMBERED = 40;

    /**
     * Folded ASCII names read lately, by a hash of their folded text: a statement repeated with other literals
     * names the same tables and columns, and each was two allocations per token (3 % of the bytes Warden's threads
     * allocated under {@code pgbench -S -c16}). Shared by every thread without a lock: a slot holds some whole
     * (immutable) string or null, and a slot another name took is a miss that makes a copy.
     */
    private static final String[] NAMES = new String[1024];

    /** The longest name PostgreSQL keeps, in bytes: NAMEDATALEN - 1. */
    static final int MAX_NAME_BYTES = 63;

    /**
     * A name as the server keeps it: its first {@link #MAX_NAME_BYTES} bytes, cut at a character boundary
     * ({@code truncate_identifier}, for unquoted, quoted and {@code U&} names alike; the server says so in a
     * NOTICE). Bytes are counted in UTF-8, the encoding of nearly every server; a longer name means the one it is
     * cut to, so a name Warden kept whole would be a relation the server does not read.
     */
    static String truncateName(String name) {
        int n = name.length();
        if (n <= MAX_NAME_BYTES / 4) {
            return name; // even at four bytes a character it fits
        }
        int bytes = 0;
        for (int i = 0; i < n; ) {
            int cp = name.codePointAt(i);
            int length = utf8Bytes(cp);
            if (bytes + length > MAX_NAME_BYTES) {
                return name.substring(0, i);
            }
            bytes += length;
            i += Character.charCount(cp);
        }
        return name;
    }

    /** How many bytes UTF-8 writes code point {@code cp} in. */
    private static int utf8Bytes(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    /**
     * An unquoted name as PostgreSQL folds it ({@code downcase_identifier} in scansup.c): ASCII {@code A-Z} become
     * {@code a-z} and every other character stays. (A server whose encoding is single-byte also folds letters of
     * the upper half by its locale's {@code tolower}; {@code SessionLexing} refuses texts that depend on it.)
     * Java's {@code toLowerCase} folds far more: {@code Ärzte} would read as {@code ärzte}, a relation the server
     * does not mean, and the Kelvin sign as {@code k}.
     */
    static String foldName(String name) {
        int i = 0;
        int n = name.length();
        while (i < n && (name.charAt(i) < 'A' || name.charAt(i) > 'Z')) {
            i++;
        }
        if (i == n) {
            return name;
        }
        char[] folded = name.toCharArray();
        for (; i < n; i++) {
            char c = folded[i];
            if (c >= 'A' && c <= 'Z') {
                folded[i] = (char) (c + ('a' - 'A'));
            }
        }
        return new String(folded);
    }

    /** Whether an unquoted name in {@code tokens} holds a character outside ASCII (see {@link #foldName}). */
    static boolean hasNonAsciiName(List<Token> tokens) {
        for (Token t : tokens) {
            if (t.type() == Type.WORD) {
                String v = t.value();
                for (int i = 0; i < v.length(); i++) {
                    if (v.charAt(i) >= 0x80) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** See {@link Analyzer#mayCutNamesUnlikeUtf8}. */
    static boolean mayCutNamesUnlikeUtf8(String sql, boolean standardConformingStrings, int serverCharBytes) {
        for (Token t : tokenize(sql, standardConformingStrings, true).tokens()) {
            if (t.type() != Type.WORD && t.type() != Type.QUOTED_IDENT) {
                continue;
            }
            String v = t.value();
            int ascii = 0;
            int other = 0;
            int utf8 = 0;
            for (int i = 0; i < v.length(); ) {
                int cp = v.codePointAt(i);
                if (cp < 0x80) {
                    ascii++;
                } else {
                    other++;
                }
                utf8 += utf8Bytes(cp);
                i += Character.charCount(cp);
            }
            if (other > 0 && (utf8 > MAX_NAME_BYTES || ascii + other * serverCharBytes > MAX_NAME_BYTES)) {
                return true;
            }
        }
        return false;
    }

    private boolean asciiLowerEquals(int start, String lower) {
        for (int i = 0; i < lower.length(); i++) {
            char c = s.charAt(start + i);
            if ((c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c) != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static final int MAX_KEYWORD = 12;

    /** Keywords by String.hashCode of the lower-cased word; a slot two keywords share keeps the first. */
    private static final String[] KEYWORDS = new String[512];

    static {
        for (String k : List.of("select", "from", "where", "and", "or", "not", "null", "is", "in", "as", "on",
                "insert", "into", "values", "update", "set", "delete", "returning", "begin", "commit", "rollback",
                "end", "join", "left", "inner", "outer", "order", "by", "group", "having", "limit", "offset",
                "distinct", "union", "all", "case", "when", "then", "else", "exists", "between", "like", "true",
                "false", "asc", "desc", "with", "for", "share", "using", "default", "count", "now", "coalesce",
                "transaction", "start", "savepoint", "release", "prepare", "execute", "deallocate", "show",
                "create", "table", "drop", "alter", "index", "if", "primary", "key", "references", "conflict",
                "do", "nothing", "cast", "interval", "any", "some", "fetch", "first", "next", "rows", "only")) {
            int slot = k.hashCode() & (KEYWORDS.length - 1);
            if (k.length() <= MAX_KEYWORD && KEYWORDS[slot] == null) {
                KEYWORDS[slot] = k;
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
        int end = endOfBlockComment(pos);
        if (end < 0) {
            pos = n;
            unterminated = true;
        } else {
            pos = end;
        }
    }

    /** Just past the block comment that starts at {@code at}, nested ones included; -1 when it never ends. */
    private int endOfBlockComment(int at) {
        int depth = 0;
        int i = at;
        while (i < n) {
            if (s.startsWith("/*", i)) {
                depth++;
                deepestComment = Math.max(deepestComment, depth);
                i += 2;
            } else if (s.startsWith("*/", i)) {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return -1;
    }

    /** Where a {@code --} comment starting at {@code at} ends: just past its {@code \n} or {@code \r}. */
    private int endOfLineComment(int at) {
        int i = at + 2;
        while (i < n && s.charAt(i) != '\n' && s.charAt(i) != '\r') {
            i++;
        }
        return i < n ? i + 1 : n;
    }

    /**
     * A string literal whose opening quote is at {@code quote}, read in scan.l's state for {@code mode}. At
     * each closing quote, whitespace that holds a newline (comments allowed) followed by another quote
     * continues the same literal in the same state (scan.l's {@code xqs} and {@code quotecontinue}).
     */
    private void string(int start, int quote, StringMode mode) {
        boolean plain = mode == StringMode.PLAIN;
        if (plain && !standardConformingStrings) {
            mode = StringMode.ESCAPED;
        }
        StringBuilder value = new StringBuilder();
        pos = quote + 1;
        while (pos < n) {
            char c = s.charAt(pos);
            if (c == '\'') {
                if (mode != StringMode.BITS && peek(1) == '\'') {
                    bytesInto(value);
                    value.append('\'');
                    pos += 2;
                    continue;
                }
                pos++;
                int next = continuation(pos);
                if (next < 0) {
                    bytesInto(value);
                    add(Type.STRING, start, value.toString());
                    if (mode == StringMode.UNICODE) {
                        unicodeAt.add(tokens.size() - 1);
                    }
                    return;
                }
                pos = next + 1;
                continue;
            }
            if (c == '\\') {
                if (plain) {
                    settingSensitive = true;
                }
                if (mode == StringMode.ESCAPED) {
                    if (pos + 1 >= n) {
                        break;
                    }
                    pos = escape(pos + 1, value);
                    continue;
                }
            }
            bytesInto(value);
            value.append(c);
            pos++;
        }
        unterminated = true;
        pos = n;
        bytesInto(value);
        add(Type.STRING, start, value.toString());
    }

    /**
     * Decodes the escape whose letter is at {@code at} (just after the backslash) into {@code value}, as the
     * server decodes it, so that the value of {@code E'DROP\x20TABLE t'} is the text it denotes; returns where
     * reading resumes. Only the backslash and the character after it matter to where the string ends: the
     * digits an escape takes are never quotes or backslashes.
     */
    private int escape(int at, StringBuilder value) {
        char c = s.charAt(at);
        if (c != 'x' && (c < '0' || c > '7')) {
            bytesInto(value);
        }
        switch (c) {
            case 'b' -> value.append('\b');
            case 'f' -> value.append('\f');
            case 'n' -> value.append('\n');
            case 'r' -> value.append('\r');
            case 't' -> value.append('\t');
            case 'x' -> {
                int end = digitsFrom(at + 1, 2, 16);
                if (end == at + 1) {
                    bytesInto(value);
                    value.append('x');
                    return at + 1;
                }
                escapedByte(Integer.parseInt(s.substring(at + 1, end), 16), value);
                return end;
            }
            case 'u', 'U' -> {
                int want = c == 'u' ? 4 : 8;
                int end = digitsFrom(at + 1, want, 16);
                if (end - at - 1 != want) {
                    value.append(c); // the server rejects an incomplete Unicode escape
                    return at + 1;
                }
                value.appendCodePoint(Math.min(Integer.parseInt(s.substring(at + 1, end), 16), Character.MAX_CODE_POINT));
                return end;
            }
            default -> {
                if (c >= '0' && c <= '7') {
                    int end = digitsFrom(at, 3, 8);
                    escapedByte(Integer.parseInt(s.substring(at, end), 8) & 0xFF, value);
                    return end;
                }
                value.append(c);
            }
        }
        return at + 1;
    }

    /**
     * A byte given by an escape ({@code \xC3}, {@code \303}): the server puts the byte itself into the string, so
     * bytes of 0x80 and up are read together, as the UTF-8 character they make ({@code E'\xC3\xA9'} is
     * {@code é}); a run that is not UTF-8 is kept one character per byte (the server refuses it in a UTF-8
     * database, and a single-byte database reads it so).
     */
    private void escapedByte(int b, StringBuilder value) {
        if (b < 0x80) {
            bytesInto(value);
            value.append((char) b);
            return;
        }
        if (pendingBytes.length == pendingLength) {
            pendingBytes = Arrays.copyOf(pendingBytes, pendingLength * 2);
        }
        pendingBytes[pendingLength++] = (byte) b;
    }

    /** Appends the escaped bytes read since the last character, decoded (see {@link #escapedByte}). */
    private void bytesInto(StringBuilder value) {
        if (pendingLength == 0) {
            return;
        }
        try {
            value.append(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(pendingBytes, 0, pendingLength)));
        } catch (CharacterCodingException notUtf8) {
            for (int i = 0; i < pendingLength; i++) {
                value.append((char) (pendingBytes[i] & 0xFF));
            }
        }
        pendingLength = 0;
    }

    private byte[] pendingBytes = new byte[8];
    private int pendingLength;

    private int digitsFrom(int from, int max, int radix) {
        int i = from;
        while (i < n && i - from < max && Character.digit(s.charAt(i), radix) >= 0 && s.charAt(i) < 0x80) {
            i++;
        }
        return i;
    }

    /**
     * scan.l's {@code quotecontinue}: from just after a closing quote, whitespace (and {@code --} comments)
     * including at least one newline, then a quote. Returns the index of that quote, or -1.
     */
    private int continuation(int from) {
        int i = from;
        boolean newline = false;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                newline = true;
                i++;
            } else if (isSpace(c)) {
                i++;
            } else if (c == '-' && i + 1 < n && s.charAt(i + 1) == '-') {
                int end = endOfLineComment(i);
                if (end > i && end <= n && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
                    newline = true;
                }
                i = end;
            } else {
                break;
            }
        }
        return newline && i < n && s.charAt(i) == '\'' ? i : -1;
    }

    private void quotedIdentifier(int start, int quote) {
        StringBuilder value = new StringBuilder();
        pos = quote + 1;
        while (pos < n) {
            char c = s.charAt(pos);
            if (c == '"') {
                if (peek(1) == '"') {
                    value.append('"');
                    pos += 2;
                    continue;
                }
                pos++;
                String name = value.toString();
                if (quote > start) {
                    add(Type.QUOTED_IDENT, start, name); // decoded with its UESCAPE, see decodeUnicode
                    unicodeAt.add(tokens.size() - 1);
                } else {
                    add(Type.QUOTED_IDENT, start, wholeNames ? name : truncateName(name));
                }
                return;
            }
            value.append(c);
            pos++;
        }
        unterminated = true;
        add(Type.QUOTED_IDENT, start, value.toString());
    }

    /**
     * Decodes each {@code U&"..."} identifier and {@code U&'...'} string as the server does (its parser, after the
     * lexer): with the escape character of a {@code UESCAPE 'c'} that follows it, which becomes part of its token,
     * else the backslash ({@code \XXXX}, {@code \+XXXXXX}, a doubled escape character). So {@code U&"\0073sn"}
     * reads as the column {@code ssn}, {@code U&"f!0031" UESCAPE '!' ()} as a call of {@code f1}, and {@code DO
     * U&'BEGIN /* \002A/ DROP TABLE t; /\002A *\/ END'} as the DROP it runs (an attacker's pass: the body read as
     * a comment, and the UESCAPE clause hid a call from the function checks). What the server would refuse (a
     * malformed escape, a UESCAPE of another form) is kept as written: the statement fails there.
     */
    private void decodeUnicode() {
        if (unicodeAt.isEmpty()) {
            return;
        }
        List<Token> out = new ArrayList<>(tokens.size());
        int next = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (next >= unicodeAt.size() || unicodeAt.get(next) != i) {
                out.add(t);
                continue;
            }
            next++;
            char escape = '\\';
            int end = t.end();
            if (i + 2 < tokens.size() && tokens.get(i + 1).isWord("uescape") && simpleString(tokens.get(i + 2))) {
                String chosen = tokens.get(i + 2).value();
                if (chosen.length() != 1 || !escapeCharacter(chosen.charAt(0))) {
                    out.add(t); // the server refuses it ("invalid Unicode escape character")
                    continue;
                }
                escape = chosen.charAt(0);
                end = tokens.get(i + 2).end();
                i += 2;
            }
            String decoded = unicodeDecode(t.value(), escape);
            String value = decoded == null ? t.value() : decoded;
            if (t.type() == Type.QUOTED_IDENT && !wholeNames) {
                value = truncateName(value);
            }
            out.add(new Token(t.type(), t.start(), end, value));
        }
        tokens.clear();
        tokens.addAll(out);
    }

    /** Whether {@code t} is what the grammar takes after UESCAPE: a string constant ('c', E'c', $$c$$). */
    private boolean simpleString(Token t) {
        if (t.type() != Type.STRING) {
            return false;
        }
        char first = s.charAt(t.start());
        return first == '\'' || first == '$' || first == 'e' || first == 'E';
    }

    /** scan.l's check_uescapechar: not a hex digit, {@code +}, a quote or whitespace. */
    private static boolean escapeCharacter(char c) {
        return Character.digit(c, 16) < 0 && c != '+' && c != '\'' && c != '"' && !isSpace(c);
    }

    /** {@code raw} with its escapes (escape character {@code escape}) decoded; null when one is malformed. */
    private static String unicodeDecode(String raw, char escape) {
        StringBuilder out = new StringBuilder(raw.length());
        for (int k = 0; k < raw.length(); k++) {
            char c = raw.charAt(k);
            if (c != escape) {
                out.append(c);
                continue;
            }
            if (k + 1 < raw.length() && raw.charAt(k + 1) == escape) {
                out.append(escape);
                k++;
            } else if (k + 5 <= raw.length() && hex(raw, k + 1, 4)) {
                out.appendCodePoint(Integer.parseInt(raw, k + 1, k + 5, 16));
                k += 4;
            } else if (k + 8 <= raw.length() && raw.charAt(k + 1) == '+' && hex(raw, k + 2, 6)
                    && Integer.parseInt(raw, k + 2, k + 8, 16) <= Character.MAX_CODE_POINT) {
                out.appendCodePoint(Integer.parseInt(raw, k + 2, k + 8, 16));
                k += 7;
            } else {
                return null;
            }
        }
        return out.toString();
    }

    private static boolean hex(String t, int from, int count) {
        for (int k = from; k < from + count; k++) {
            if (Character.digit(t.charAt(k), 16) < 0 || t.charAt(k) >= 0x80) {
                return false;
            }
        }
        return true;
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
        longestOperatorRun = Math.max(longestOperatorRun, pos - start);
        // scan.l: a multi-character operator made only of characters SQL's own operators use cannot end in + or -;
        // those are cut off and read again as operators of their own ({@code <-1} is {@code <} applied to -1).
        if (pos - start > 1 && (s.charAt(pos - 1) == '+' || s.charAt(pos - 1) == '-')) {
            boolean kept = false;
            for (int i = pos - 2; i >= start && !kept; i--) {
                kept = "~!@#^&|`?%".indexOf(s.charAt(i)) >= 0;
            }
            if (!kept) {
                int runEnd = pos;
                do {
                    pos--;
                } while (pos - start > 1 && (s.charAt(pos - 1) == '+' || s.charAt(pos - 1) == '-'));
                String op = s.substring(start, pos);
                add(Type.OPERATOR, start, op.equals("!=") ? "<>" : op);
                // What was cut off is + and - alone, which read again are one operator each: added here, as
                // reading each again scanned the rest of the run (a run of 50 KB of + took a minute).
                for (int i = pos; i < runEnd; i++) {
                    pos = i + 1;
                    add(Type.OPERATOR, i, String.valueOf(s.charAt(i)));
                }
                return;
            }
        }
        String op = s.substring(start, pos);
        // The server reads != as <> (NOT_EQUALS): an operator a user defines as <> is what it calls.
        add(Type.OPERATOR, start, op.equals("!=") ? "<>" : op);
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
