package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.sql.Lexer.Token;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Texts past the parsed length are read lexically, with no parser timeout: that reading must cost about the length of
 * the text, however deep its parentheses. (Scanning forward to the closing parenthesis at each one held the analysis
 * lane for minutes on 600 KB of nested calls.) The limits are far above the linear cost, far below the quadratic one.
 */
class DeepNestingTimeTest {

    /** Beyond the parsed length, as the proxy's default budget makes it. */
    private final Analyzer analyzer = new Analyzer(0, Duration.ofSeconds(2), 10_000);

    private static final Duration LIMIT = Duration.ofSeconds(20);

    @Test
    void aCallNestedAHundredAndTwentyThousandDeepIsReadInSeconds() {
        String sql = "select " + "abs(".repeat(120_000) + "1" + ")".repeat(120_000);
        StatementFacts facts = assertTimeoutPreemptively(LIMIT, () -> analyzer.analyze(sql)).statements().get(0);
        assertEquals(StatementKind.SELECT, facts.kind());
        assertTrue(facts.functions().contains("abs"), facts.functions().toString());
    }

    @Test
    void aNestedExcludeAndOnConflictAreReadInSeconds() {
        String exclude = "select " + "exclude(".repeat(60_000) + "1" + ")".repeat(60_000);
        assertTimeoutPreemptively(LIMIT, () -> analyzer.analyze(exclude));
        String conflict = "select " + "on conflict(".repeat(60_000) + "1" + ")".repeat(60_000);
        assertTimeoutPreemptively(LIMIT, () -> analyzer.analyze(conflict));
    }

    @Test
    void aLongListOfOnConflictParenthesesIsReadInSeconds() {
        String sql = "select " + "on conflict(1), ".repeat(40_000) + "1";
        assertTimeoutPreemptively(LIMIT, () -> analyzer.analyze(sql));
    }

    /**
     * The table answers as the depth count forward did, from any index, on balanced and unbalanced lists; and as the
     * count backward did from each closing parenthesis.
     */
    @Test
    void closingParenthesesAreTheOnesCountingDepthFinds() {
        Random random = new Random(105);
        String[] pieces = {"(", ")", "x", "do", " "};
        for (int round = 0; round < 300; round++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(round < 100 ? 20 : 400);
            for (int k = 0; k < length; k++) {
                text.append(pieces[random.nextInt(k % 50 < 25 ? 2 : pieces.length)]).append(' ');
            }
            List<Token> tokens = Lexer.tokenize(text.toString()).tokens();
            for (int open = 0; open <= tokens.size(); open++) {
                assertEquals(countingDepth(tokens, open), ParenMatches.closingParen(tokens, open), text + " @" + open);
                assertEquals(doAhead(tokens, open), ParenMatches.wordAhead(tokens, open, "do"), text + " @" + open);
                if (open < tokens.size() && tokens.get(open).isOp(")")) {
                    assertEquals(countingBack(tokens, open), ParenMatches.openingParen(tokens, open), text + " @" + open);
                }
            }
        }
    }

    private static int countingDepth(List<Token> tokens, int open) {
        int depth = 0;
        for (int k = open; k < tokens.size(); k++) {
            if (tokens.get(k).isOp("(")) {
                depth++;
            } else if (tokens.get(k).isOp(")") && --depth == 0) {
                return k;
            }
        }
        return -1;
    }

    private static int countingBack(List<Token> tokens, int close) {
        int depth = 0;
        for (int k = close; k >= 0; k--) {
            if (tokens.get(k).isOp(")")) {
                depth++;
            } else if (tokens.get(k).isOp("(") && --depth == 0) {
                return k;
            }
        }
        return -1;
    }

    private static boolean doAhead(List<Token> tokens, int from) {
        int depth = 0;
        for (int k = from; k < tokens.size(); k++) {
            Token t = tokens.get(k);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                if (--depth < 0) {
                    return false;
                }
            } else if (depth == 0 && t.isWord("do")) {
                return true;
            }
        }
        return false;
    }

    /** {@code ((x).nextval).nextval ...}: each attribute call looked back for its parenthesis. */
    @Test
    void nestedAttributeCallsOfSequenceFunctionsAreReadInSeconds() {
        String sql = "select " + "(".repeat(60_000) + "'s'" + ").nextval".repeat(60_000);
        assertTimeoutPreemptively(LIMIT, () -> analyzer.analyze(sql));
    }

    @Test
    void aShortNestedStatementIsReadAsBefore() {
        StatementFacts facts = analyzer.analyze("select abs(abs(lower('x')))").statements().get(0);
        assertFalse(facts.unparsed());
        assertTrue(facts.functions().containsAll(List.of("abs", "lower")), facts.functions().toString());
    }
}
