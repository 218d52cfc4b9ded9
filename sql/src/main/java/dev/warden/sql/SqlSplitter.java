package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a SQL text into statements at top-level semicolons: not inside strings, quoted identifiers or
 * comments (the lexer sees to that), not inside parentheses or brackets ({@code CREATE RULE ... DO (a; b)}:
 * the server rejects a whole text whose semicolon sits inside unbalanced brackets, so nothing of it runs),
 * and not inside the {@code BEGIN ATOMIC ... END} body of a SQL-standard function.
 *
 * <p>The body ends where the server's grammar ends it: at an {@code END} where a body statement would start
 * (right after {@code BEGIN ATOMIC} or a top-level semicolon); an {@code END} of a CASE, or used as a column
 * label ({@code SELECT 1 AS end}), is never there. (psql counts CASE and END instead, and can disagree with
 * the server.) Every statement of the body is also handed back as a
 * {@link Segment#possibleStatements() possible statement}, judged like a top-level one.
 */
final class SqlSplitter {

    /**
     * One statement's slice of the input.
     *
     * @param text the source between semicolons, stripped of surrounding whitespace
     * @param tokens the statement's tokens, never including the terminating semicolon
     * @param unterminated whether the lexer ran off the end inside a string, identifier or comment here
     */
    record Segment(String text, List<Token> tokens, boolean unterminated, List<List<Token>> possibleStatements) {
        Segment(String text, List<Token> tokens, boolean unterminated) {
            this(text, tokens, unterminated, List.of());
        }
    }

    private SqlSplitter() {}

    static List<Segment> split(String sql) {
        return split(sql, Lexer.tokenize(sql));
    }

    static List<Segment> split(String sql, Lexer.Result lexed) {
        List<Token> all = lexed.tokens();
        List<List<Token>> pieces = new ArrayList<>();
        int pieceStart = -1;
        List<Segment> segments = new ArrayList<>();
        int segmentStart = 0;
        int firstToken = 0;
        int depth = 0;
        boolean atomic = false;
        boolean bodyStatementStart = false;
        for (int i = 0; i < all.size(); i++) {
            Token t = all.get(i);
            if (atomic && bodyStatementStart && !t.isOp(";")) {
                bodyStatementStart = false;
                if (t.isWord("end")) {
                    // The grammar ends a BEGIN ATOMIC body at END where a statement would start; elsewhere END
                    // belongs to a CASE or is a column label (SELECT 1 AS end), which no count can tell apart.
                    atomic = false;
                    if (pieceStart >= 0 && pieceStart < i) {
                        addPiece(pieces, all, pieceStart, i);
                    }
                    pieceStart = -1;
                    continue;
                }
            }
            if (t.type() == Lexer.Type.OPERATOR) {
                // Brackets and ';' are one character: a char switch, not a string's hash and equals per token.
                String op = t.value();
                switch (op.length() == 1 ? op.charAt(0) : '\0') {
                    case '(', '[' -> depth++;
                    case ')', ']' -> depth = Math.max(0, depth - 1);
                    case ';' -> {
                        if (atomic && depth == 0) {
                            addPiece(pieces, all, pieceStart, i);
                            pieceStart = i + 1;
                            bodyStatementStart = true;
                        }
                        if (depth == 0 && !atomic) {
                            segments.add(new Segment(sql.substring(segmentStart, t.start()).strip(),
                                    List.copyOf(all.subList(firstToken, i)), false, List.copyOf(pieces)));
                            segmentStart = t.end();
                            firstToken = i + 1;
                            pieces.clear();
                            pieceStart = -1;
                        }
                    }
                    default -> { }
                }
            } else if (!atomic && depth == 0 && t.isWord("begin") && i + 1 < all.size()
                    && all.get(i + 1).isWord("atomic") && isRoutineDefinition(all, firstToken)) {
                atomic = true;
                bodyStatementStart = true;
                i++; // ATOMIC
                pieceStart = i + 1;
            }
        }
        if (atomic && pieceStart >= 0) {
            addPiece(pieces, all, pieceStart, all.size());
        }
        if (firstToken < all.size() || lexed.unterminated()
                || !sql.substring(segmentStart).isBlank()) {
            segments.add(new Segment(sql.substring(segmentStart).strip(),
                    List.copyOf(all.subList(firstToken, all.size())), lexed.unterminated(), List.copyOf(pieces)));
        }
        return segments;
    }

    /** A piece of a BEGIN ATOMIC body; the body's own closing END alone is not a piece. */
    private static void addPiece(List<List<Token>> pieces, List<Token> all, int from, int to) {
        boolean onlyEnd = true;
        for (int k = from; k < to; k++) {
            onlyEnd &= all.get(k).isWord("end");
        }
        if (!onlyEnd) {
            pieces.add(List.copyOf(all.subList(from, to)));
        }
    }

    /** {@code CREATE [OR REPLACE] FUNCTION|PROCEDURE}: the only statements that may hold BEGIN ATOMIC. */
    private static boolean isRoutineDefinition(List<Token> all, int first) {
        if (first >= all.size() || !all.get(first).isWord("create")) {
            return false;
        }
        int i = first + 1;
        if (i + 1 < all.size() && all.get(i).isWord("or") && all.get(i + 1).isWord("replace")) {
            i += 2;
        }
        return i < all.size() && (all.get(i).isWord("function") || all.get(i).isWord("procedure"));
    }
}
