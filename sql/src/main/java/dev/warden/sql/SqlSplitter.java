package dev.warden.sql;

import dev.warden.sql.Lexer.Token;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a SQL text into statements at top-level semicolons: not inside strings, quoted identifiers or
 * comments (the lexer sees to that), not inside parentheses or brackets ({@code CREATE RULE ... DO (a; b)}),
 * and not inside the {@code BEGIN ATOMIC ... END} body of a SQL-standard function (as psql does).
 */
final class SqlSplitter {

    /**
     * One statement's slice of the input.
     *
     * @param text the source between semicolons, stripped of surrounding whitespace
     * @param tokens the statement's tokens, never including the terminating semicolon
     * @param unterminated whether the lexer ran off the end inside a string, identifier or comment here
     */
    record Segment(String text, List<Token> tokens, boolean unterminated) {}

    private SqlSplitter() {}

    static List<Segment> split(String sql) {
        Lexer.Result lexed = Lexer.tokenize(sql);
        List<Token> all = lexed.tokens();
        List<Segment> segments = new ArrayList<>();
        int segmentStart = 0;
        int firstToken = 0;
        int depth = 0;
        int atomicDepth = 0;
        for (int i = 0; i < all.size(); i++) {
            Token t = all.get(i);
            if (t.type() == Lexer.Type.OPERATOR) {
                switch (t.value()) {
                    case "(", "[" -> depth++;
                    case ")", "]" -> depth = Math.max(0, depth - 1);
                    case ";" -> {
                        if (depth == 0 && atomicDepth == 0) {
                            segments.add(new Segment(sql.substring(segmentStart, t.start()).strip(),
                                    List.copyOf(all.subList(firstToken, i)), false));
                            segmentStart = t.end();
                            firstToken = i + 1;
                        }
                    }
                    default -> { }
                }
            } else if (t.type() == Lexer.Type.WORD && isRoutineDefinition(all, firstToken)) {
                if (t.value().equals("begin") && i + 1 < all.size() && all.get(i + 1).isWord("atomic")) {
                    atomicDepth++;
                } else if (atomicDepth > 0 && t.value().equals("case")) {
                    atomicDepth++;
                } else if (atomicDepth > 0 && t.value().equals("end")) {
                    atomicDepth--;
                }
            }
        }
        if (firstToken < all.size() || lexed.unterminated()
                || !sql.substring(segmentStart).isBlank()) {
            segments.add(new Segment(sql.substring(segmentStart).strip(),
                    List.copyOf(all.subList(firstToken, all.size())), lexed.unterminated()));
        }
        return segments;
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
