package dev.warden.proxy.catalog;

import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;

import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * Whether two analyses read the same to the catalog's judgements ({@link Exposure}, the names to look up, the
 * search_path's part): the same facts, field by field, and texts that are equal or differ only in the digits of
 * numeric literals ({@code ... WHERE aid = 12345} and {@code ... = 678}), as a client's repeated statement does
 * under the simple protocol. The judgements read a text through its names (words, and words inside strings and
 * quoted identifiers), the words around a relation's name (aliases, column lists) and, for the search_path, the
 * characters before a name; a numeric literal's digits are none of these. Texts with a quote, a dollar sign, a
 * backslash or a comment are compared whole: their literals can hold words.
 */
public final class SameReading {

    private SameReading() {
    }

    public static boolean of(Analysis a, Analysis b) {
        if (a == b || a.statements() == b.statements()) {
            return true;
        }
        return sameStatements(a.statements(), b.statements(), 0);
    }

    private static boolean sameStatements(List<StatementFacts> a, List<StatementFacts> b, int depth) {
        if (a == b) {
            return true;
        }
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!same(a.get(i), b.get(i), depth)) {
                return false;
            }
        }
        return true;
    }

    private static boolean same(StatementFacts f, StatementFacts g, int depth) {
        if (f == g) {
            return true;
        }
        if (depth > 32) {
            return false; // deeper than StatementFacts#allStatements follows: not worth proving
        }
        // The analyzer's cache hands out one instance of each set for a shape: identity first, then contents.
        return f.kind() == g.kind() && f.writes() == g.writes() && f.hasWhere() == g.hasWhere()
                && f.dataModifyingCte() == g.dataModifyingCte() && f.unparsed() == g.unparsed()
                && f.dynamicSql() == g.dynamicSql() && f.fingerprint().equals(g.fingerprint())
                && f.objectType().equals(g.objectType())
                && inOrder(f.tablesRead(), g.tablesRead()) && inOrder(f.tablesWritten(), g.tablesWritten())
                && inOrder(f.columnsRead(), g.columnsRead()) && inOrder(f.columnsWritten(), g.columnsWritten())
                && inOrder(f.functions(), g.functions()) && inOrder(f.implicitCalls(), g.implicitCalls())
                && inOrder(f.innerKinds(), g.innerKinds()) && f.copy().equals(g.copy())
                && f.roleTarget().equals(g.roleTarget()) && f.preparedName().equals(g.preparedName())
                && sameInner(f.inner(), g.inner(), depth) && sameStatements(f.nested(), g.nested(), depth + 1)
                && sameText(f.text(), g.text());
    }

    private static boolean sameInner(Optional<StatementFacts> a, Optional<StatementFacts> b, int depth) {
        if (a.isEmpty() || b.isEmpty()) {
            return a.isEmpty() && b.isEmpty();
        }
        return same(a.get(), b.get(), depth + 1);
    }

    /** Equal elements in the same order (a reason names the first relation a statement writes). */
    private static boolean inOrder(Collection<?> a, Collection<?> b) {
        if (a == b) {
            return true;
        }
        if (a.size() != b.size()) {
            return false;
        }
        Iterator<?> i = a.iterator();
        Iterator<?> j = b.iterator();
        while (i.hasNext()) {
            if (!i.next().equals(j.next())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the texts are equal, or both free of quotes, dollar signs, backslashes and comments and equal but
     * for the digits of runs that start a number (a digit run right after a letter, digit, underscore or dollar
     * sign is part of a name and must match).
     */
    static boolean sameText(String s, String t) {
        if (s == t || s.equals(t)) {
            return true;
        }
        int i = 0;
        int j = 0;
        while (i < s.length() && j < t.length()) {
            char c = s.charAt(i);
            char d = t.charAt(j);
            if (!plain(s, i)) {
                return false; // t has the same character here, or the texts already differ
            }
            if (isDigit(c) && isDigit(d) && (i == 0 || !identPart(s.charAt(i - 1)))) {
                // The characters before matched, so t's digit starts a number too.
                while (i < s.length() && isDigit(s.charAt(i))) {
                    i++;
                }
                while (j < t.length() && isDigit(t.charAt(j))) {
                    j++;
                }
                continue;
            }
            if (c != d) {
                return false;
            }
            i++;
            j++;
        }
        return i == s.length() && j == t.length();
    }

    /**
     * Whether the character at {@code i} starts no string, quoted identifier, dollar quote, parameter, escape or
     * comment: in a text made of such characters every word is a token.
     */
    private static boolean plain(String s, int i) {
        char c = s.charAt(i);
        if (c == '\'' || c == '"' || c == '$' || c == '\\') {
            return false;
        }
        return !((c == '-' || c == '/') && i + 1 < s.length() && s.charAt(i + 1) == (c == '-' ? '-' : '*'));
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** A character that continues a name (as the lexer and the search_path's word match read one). */
    private static boolean identPart(char c) {
        return c >= 0x80 || Character.isLetterOrDigit(c) || c == '_' || c == '$';
    }
}
