package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * How deep a text's block comments nest, read as the server's scanner reads it: what opens no comment there (a
 * {@code /}{@code *} in a string, a dollar-quoted body, a quoted name or a line comment) counts for nothing.
 */
class CommentNestingTest {

    private static int depth(String sql) {
        return Analyzer.scannerLoad(sql, true).commentDepth();
    }

    @Test
    void onlyCommentsTheServerReadsCount() {
        assertEquals(0, depth("SELECT 1"));
        assertEquals(1, depth("SELECT 1 /* a */ /* b */"));
        assertEquals(3, depth("SELECT /* a /* b /* c */ */ */ 1 /* d /* e */ */"));
        assertEquals(0, depth("SELECT '/*/*/*' AS \"/*/*\", $$/*/*$$ -- /*/*"));
        assertEquals(2, depth("SELECT E'\\'/*' /* x /* y */ */"));
        // standard_conforming_strings off: the backslash escapes the quote, so the string runs on past "/*".
        assertEquals(0, Analyzer.scannerLoad("SELECT '\\' /* '", false).commentDepth());
        assertEquals(1, Analyzer.scannerLoad("SELECT '\\' /* '", true).commentDepth());
        assertEquals(40_000, depth("SELECT 1 " + "/*".repeat(40_000) + "*/".repeat(40_000)));
        assertEquals(5, depth("SELECT 1 " + "/*".repeat(5))); // never closed: the server reports it unterminated
    }

    @Test
    void theLongestRunOfOperatorCharactersIsOutsideStrings() {
        assertEquals(3, Analyzer.scannerLoad("SELECT 1 +++ 1 <> 2", true).operatorRun());
        assertEquals(1, Analyzer.scannerLoad("SELECT '++++++' AS \"+++++\", $$++++$$ - 1 -- +++++", true).operatorRun());
    }
}
