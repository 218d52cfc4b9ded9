package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Statements built to exhaust the parser cost their limit once, and a text of many costs a bounded total. */
class ParserTimeBudgetTest {

    /** Parenthesised UNIONs nested {@code depth} deep: a few KB that JSqlParser needs hundreds of ms for. */
    static String nestedUnions(int depth) {
        return "SELECT " + "( ".repeat(depth) + "SELECT 0 " + "UNION SELECT 0 ) ".repeat(depth);
    }

    @Test
    void aStatementThatTimesOutIsRememberedByShapeAndRefusedAtOnceWhenRepeated() {
        Analyzer analyzer = new Analyzer(1000, Duration.ofMillis(20));
        Analysis first = analyzer.analyze(nestedUnions(330));
        assertEquals(1, analyzer.parserRuns());
        assertTrue(first.statements().get(0).unparsed(), "not understood in time: fails closed");

        assertNotNull(analyzer.analyzeCached(nestedUnions(330), true), "a repeat is known without the parser");
        Analysis again = analyzer.analyze(nestedUnions(330));
        assertEquals(1, analyzer.parserRuns(), "the same shape is not parsed again");
        assertTrue(again.statements().get(0).unparsed());
    }

    @Test
    void aTextOfFortySlowStatementsSpendsABoundedParserTime() {
        Analyzer analyzer = new Analyzer(1000, Duration.ofMillis(50));
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            text.append(nestedUnions(330 + i)).append(";\n");
        }
        assertTrue(text.length() > 250_000, "the attack's size: " + text.length());
        Analysis analysis = analyzer.analyze(text.toString());
        assertEquals(40, analysis.statements().size());
        assertTrue(analysis.statements().stream().allMatch(StatementFacts::unparsed));
        // 250 ms of parser time per text at 50 ms per statement: about five parses, not forty.
        assertTrue(analyzer.parserRuns() <= 8, "parser runs: " + analyzer.parserRuns());
    }
}
