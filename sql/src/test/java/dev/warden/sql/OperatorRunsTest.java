package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A run of operator characters that ends in + or - and holds none of ~!@#^&|`?% is cut back as scan.l cuts it, the
 * rest read as operators of their own; read in time linear in the run (each cut-off character was read again with
 * the rest of the run: 50 KB of + held an analysis thread for a minute, an attacker's pass of 2026-12-06).
 */
class OperatorRunsTest {

    private static List<String> operators(String sql) {
        return Lexer.tokenize(sql).tokens().stream().map(Lexer.Token::value).toList();
    }

    @Test
    void runsAreCutAsTheServerCutsThem() {
        assertEquals(List.of("<", "-", "1"), operators("<-1"));
        assertEquals(List.of("+", "-", "+", "-"), operators("+-+-"));
        assertEquals(List.of("@-"), operators("@-"));
        assertEquals(List.of("*", "+"), operators("*+"));
        assertEquals(List.of("<=", "+", "-", "+", "x"), operators("<=+-+x"));
        assertEquals(List.of("!=-", "1"), operators("!=-1")); // ! keeps the run whole
        assertEquals(List.of("<>", "x"), operators("!=x"));
        assertEquals(List.of("1", "+", "+", "+", "1"), operators("1 +++ 1"));
    }

    /** Against the cut made one character at a time, reading the rest again each time (the rule as scan.l has it). */
    @Test
    void generatedRunsAreCutAsOneCharacterAtATimeWould() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String chars = "+-*/<>=~!@#%^&|`?";
        for (int round = 0; round < 2_000; round++) {
            StringBuilder run = new StringBuilder();
            int length = 1 + random.nextInt(12);
            for (int k = 0; k < length; k++) {
                run.append(chars.charAt(random.nextInt(k % 3 == 0 ? chars.length() : 2)));
            }
            if (run.indexOf("--") >= 0 || run.indexOf("/*") >= 0) {
                continue; // a comment starts there
            }
            String text = "a " + run + " b";
            assertEquals(reference(run.toString()), operators(text).subList(1, operators(text).size() - 1),
                    "seed " + seed + ": " + text);
        }
    }

    private static List<String> reference(String run) {
        java.util.List<String> out = new java.util.ArrayList<>();
        int pos = 0;
        while (pos < run.length()) {
            int start = pos;
            pos++;
            while (pos < run.length() && !run.startsWith("--", pos) && !run.startsWith("/*", pos)) {
                pos++;
            }
            if (pos - start > 1 && (run.charAt(pos - 1) == '+' || run.charAt(pos - 1) == '-')) {
                boolean kept = false;
                for (int i = pos - 2; i >= start && !kept; i--) {
                    kept = "~!@#^&|`?%".indexOf(run.charAt(i)) >= 0;
                }
                if (!kept) {
                    do {
                        pos--;
                    } while (pos - start > 1 && (run.charAt(pos - 1) == '+' || run.charAt(pos - 1) == '-'));
                }
            }
            String op = run.substring(start, pos);
            out.add(op.equals("!=") ? "<>" : op);
        }
        return out;
    }

    @Test
    void aLongRunIsReadInLinearTime() {
        String sql = "SELECT 1 " + "+".repeat(400_000) + " 1";
        List<Lexer.Token> tokens = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> Lexer.tokenize(sql).tokens());
        assertEquals(400_003, tokens.size());
    }
}
