package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Which parenthesis closes which, in one token list, found in one pass. The lexical reading asks for the closing
 * parenthesis of an opening one at nearly every token; scanning forward each time made a deeply nested text (600 KB of
 * {@code abs(abs(...))}) cost the square of its length, minutes of the analysis lane. The few lists in use on a
 * thread are remembered by identity (a list is never changed once lexed; a sub-list passed down is its own entry).
 */
final class ParenMatches {
    /** Lists a reading alternates between: a statement's tokens, the rest after a keyword, a nested query. */
    private static final int REMEMBERED = 4;

    /** Tokens counted one by one before the table is built. */
    private static final int NEAR = 64;

    private static final ThreadLocal<ParenMatches[]> RECENT =
            ThreadLocal.withInitial(() -> new ParenMatches[REMEMBERED]);

    /** How deep {@link Analyzer#analyze} calls are on this thread (it is called again for SQL inside SQL). */
    private static final ThreadLocal<int[]> ANALYSES = ThreadLocal.withInitial(() -> new int[1]);

    /** An analysis starts on this thread. */
    static void entered() {
        ANALYSES.get()[0]++;
    }

    /**
     * An analysis ends on this thread: when it was the outermost, the tables are dropped. They are as large as the
     * token lists (a 16 MB text's held hundreds of MB), and nothing after the analysis asks for them; kept, they stayed
     * until four later lists replaced them.
     */
    static void left() {
        int[] depth = ANALYSES.get();
        if (--depth[0] <= 0) {
            depth[0] = 0;
            java.util.Arrays.fill(RECENT.get(), null);
        }
    }

    private final WeakReference<List<Token>> tokens;
    private final int size;
    /** The list's first and last tokens when the table was made: a list refilled since (none is) is not taken for it. */
    private final Token first;
    private final Token last;
    /** For each opening parenthesis the index of the one closing it, else -1. */
    private final int[] closing;
    /** For each closing parenthesis the index of the one it closes, else -1. */
    private final int[] opening;
    /** Per word asked for by {@link #wordAhead}: whether it comes at index k or later, at k's depth. */
    private final java.util.Map<String, boolean[]> ahead = new java.util.HashMap<>(2);

    private ParenMatches(List<Token> tokens) {
        this.tokens = new WeakReference<>(tokens);
        this.size = tokens.size();
        this.first = size == 0 ? null : tokens.get(0);
        this.last = size == 0 ? null : tokens.get(size - 1);
        this.closing = new int[size];
        this.opening = new int[size];
        java.util.Arrays.fill(closing, -1);
        java.util.Arrays.fill(opening, -1);
        ArrayDeque<Integer> open = new ArrayDeque<>();
        for (int k = 0; k < size; k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                open.push(k);
            } else if (t.isOp(")") && !open.isEmpty()) {
                int o = open.pop();
                closing[o] = k;
                opening[k] = o;
            }
        }
    }

    /**
     * The index of the parenthesis that closes the one at {@code open} (or the first after it); -1 when none. The same
     * answer as counting depth forward from {@code open}: a {@code (} met at depth 0 returns the one closing it; stray
     * {@code )} before it lower the depth, so that only a later {@code (} back at depth 0 counts.
     */
    static int closingParen(List<Token> tokens, int open) {
        int depth = 0;
        int first = -1;
        int k = open;
        // Near matches (most of them) are counted directly, without the cost of the table.
        for (int end = Math.min(tokens.size(), open + NEAR); k < end; k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                if (depth++ == 0) {
                    first = k;
                }
            } else if (t.isOp(")") && --depth == 0) {
                return k;
            }
        }
        if (k >= tokens.size()) {
            return -1;
        }
        if (first >= 0) {
            return of(tokens).closing[first]; // the depth stayed above 0 since
        }
        int[] closing = of(tokens).closing;
        for (; k < closing.length; k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                if (depth++ == 0) {
                    return closing[k];
                }
            } else if (t.isOp(")")) {
                depth--; // below 0 here: stray closing parentheses
            }
        }
        return -1;
    }

    /**
     * The index of the parenthesis that the {@code )} at {@code close} closes; -1 when none. The same answer as
     * counting depth backward from {@code close}, which {@code (x).nextval, ...} asked at each attribute call: a text
     * of them nested inside one another cost the square of its length.
     */
    static int openingParen(List<Token> tokens, int close) {
        int depth = 0;
        for (int k = close, end = Math.max(-1, close - NEAR); k > end; k--) {
            Token t = tokens.get(k);
            if (t.isOp(")")) {
                depth++;
            } else if (t.isOp("(") && --depth == 0) {
                return k;
            }
        }
        return close - NEAR < 0 ? -1 : of(tokens).opening[close];
    }

    /**
     * Whether the word comes at {@code from} or later at that depth: before a {@code )} ends the depth, skipping
     * parentheses inside it whole (none unclosed). Answered for every index at once, from the end backwards, so that
     * asking at each of many siblings costs no rescan of the ones after it.
     */
    static boolean wordAhead(List<Token> tokens, int from, String word) {
        if (from >= tokens.size()) {
            return false;
        }
        ParenMatches m = of(tokens);
        boolean[] found = m.ahead.get(word);
        if (found == null) {
            found = new boolean[m.size + 1];
            for (int k = m.size - 1; k >= 0; k--) {
                Token t = tokens.get(k);
                if (t.isOp("(")) {
                    found[k] = m.closing[k] >= 0 && found[m.closing[k] + 1];
                } else if (!t.isOp(")")) {
                    found[k] = t.isWord(word) || found[k + 1];
                }
            }
            m.ahead.put(word, found);
        }
        return found[from];
    }

    private static ParenMatches of(List<Token> tokens) {
        ParenMatches[] recent = RECENT.get();
        for (int k = 0; k < recent.length; k++) {
            ParenMatches m = recent[k];
            if (m != null && m.tokens.get() == tokens && m.size == tokens.size()
                    && (m.size == 0 || m.first == tokens.get(0) && m.last == tokens.get(m.size - 1))) {
                if (k > 0) {
                    System.arraycopy(recent, 0, recent, 1, k);
                    recent[0] = m;
                }
                return m;
            }
        }
        ParenMatches m = new ParenMatches(tokens);
        System.arraycopy(recent, 0, recent, 1, recent.length - 1);
        recent[0] = m;
        return m;
    }
}
