package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A statement's shape: its tokens with every literal value replaced, comments dropped and spacing made
 * uniform. Two renderings of the same token sequence:
 *
 * <ul>
 *   <li>{@link #parserText()}: what JSqlParser parses and what the cache is keyed by. Strings become
 *       {@code '?'} and numbers {@code 0}, so the text stays valid SQL of the same syntactic shape. Because the
 *       parser never sees a literal's value, everything derived from the parse depends only on the key: a cache
 *       hit can never hand out facts that a different literal would have changed. The key is the full text, not
 *       a hash, so a collision cannot smuggle one statement's facts onto another.</li>
 *   <li>{@link #fingerprint()}: the normalized text with literals as {@code ?}, hashed.</li>
 * </ul>
 */
final class Shape {

    private Shape() {}

    static String parserText(List<Token> tokens) {
        return render(tokens, true);
    }

    /**
     * The text JSqlParser is given for a shape: {@link #parserText}, without the ONLY of {@code UPDATE ONLY t},
     * {@code DELETE FROM ONLY t} and {@code USING ONLY t}, which it cannot read (it reads {@code FROM ONLY t} and
     * {@code JOIN ONLY t}). ONLY keeps the statement from the table's children, so the facts of the text without
     * it reach as much or more. The cache stays keyed by {@link #parserText}: texts with and without ONLY keep
     * their own fingerprints.
     */
    static String parserInput(List<Token> tokens) {
        List<Token> kept = null;
        for (int i = 1; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token before = tokens.get(i - 1);
            boolean targetOnly = t.isWord("only") && (before.isWord("update") || before.isWord("using")
                    || (before.isWord("from") && i >= 2 && tokens.get(i - 2).isWord("delete")));
            if (targetOnly && kept == null) {
                kept = new java.util.ArrayList<>(tokens.subList(0, i));
            } else if (!targetOnly && kept != null) {
                kept.add(t);
            }
        }
        return render(kept == null ? tokens : kept, true);
    }

    /**
     * {@code tokens} with the parentheses of {@code ONLY ( name )} dropped: PostgreSQL's grammar reads {@code ONLY
     * '(' qualified_name ')'} as {@code ONLY qualified_name} wherever a relation may be named with ONLY (FROM, JOIN,
     * UPDATE, DELETE, MERGE, TRUNCATE, LOCK, ALTER TABLE, TABLE), and ONLY, a reserved word, is followed by a
     * parenthesis nowhere else. Neither JSqlParser nor Warden's own reading knew the form: an attacker's pass (a120)
     * ran {@code DELETE FROM ONLY (orders)} past the rule against DELETE without WHERE and {@code DELETE FROM ONLY
     * (api_keys)} past a rule on the table, both read as naming no table. The same list when there is none.
     */
    static List<Token> onlyUnwrapped(List<Token> tokens) {
        List<Token> out = null;
        for (int i = 0; i < tokens.size(); i++) {
            int close = i > 0 && tokens.get(i - 1).isWord("only") && tokens.get(i).isOp("(")
                    ? closeOfQualifiedName(tokens, i + 1) : -1;
            if (close > 0 && out == null) {
                out = new java.util.ArrayList<>(tokens.subList(0, i));
            }
            if (close > 0) {
                out.addAll(tokens.subList(i + 1, close));
                i = close; // the ')' is dropped too
            } else if (out != null) {
                out.add(tokens.get(i));
            }
        }
        return out == null ? tokens : List.copyOf(out);
    }

    /** The index of the ')' after a qualified name starting at {@code from} ({@code a}, {@code s.a}, ...); -1: none. */
    private static int closeOfQualifiedName(List<Token> tokens, int from) {
        int i = from;
        while (i < tokens.size() && tokens.get(i).isIdentifier()) {
            if (i + 1 < tokens.size() && tokens.get(i + 1).isOp(")")) {
                return i + 1;
            }
            if (i + 1 >= tokens.size() || !tokens.get(i + 1).isOp(".")) {
                return -1;
            }
            i += 2;
        }
        return -1;
    }

    static String normalizedText(List<Token> tokens) {
        return render(tokens, false);
    }

    /** First 128 bits of SHA-256 over the UTF-8 normalized text, as 32 lower-case hex digits. */
    static String fingerprint(List<Token> tokens) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] digest = sha.digest(normalizedText(tokens).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    private static String render(List<Token> tokens, boolean forParser) {
        StringBuilder out = new StringBuilder(tokens.size() * 6);
        Token previous = null;
        for (Token t : tokens) {
            if (previous != null && !previous.isOp(".") && !t.isOp(".")) {
                out.append(' ');
            }
            switch (t.type()) {
                case WORD -> {
                    if (forParser && !plainWord(t.value())) {
                        // The name exactly as the server reads it (folded and cut already), quoted: JSqlParser
                        // ends a word at characters PostgreSQL keeps in it (it read aaÉééßz€ as aaÉééßz).
                        quoted(out, t.value());
                    } else {
                        out.append(t.value());
                    }
                }
                case PARAM, OPERATOR -> out.append(t.value());
                case QUOTED_IDENT -> quoted(out, t.value());
                case STRING -> out.append(forParser ? "'?'" : "?");
                case NUMBER -> out.append(forParser ? "0" : "?");
                default -> throw new IllegalStateException(t.type().name());
            }
            previous = t;
        }
        return out.toString();
    }

    private static void quoted(StringBuilder out, String name) {
        out.append('"').append(name.replace("\"", "\"\"")).append('"');
    }

    /** A word of ASCII letters, digits and underscores: every keyword, and names any parser reads whole. */
    private static boolean plainWord(String word) {
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                return false;
            }
        }
        return true;
    }
}
