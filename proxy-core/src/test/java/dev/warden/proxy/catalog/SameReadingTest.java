package dev.warden.proxy.catalog;

import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which analyses share a memoised catalog judgement (see {@link ScreenedShapes}): the same facts, and texts that
 * differ at most in the digits of numeric literals; anything a literal could hide a word in is compared whole.
 */
class SameReadingTest {

    private final Analyzer analyzer = new Analyzer(100);

    private boolean same(String a, String b) {
        Analysis x = analyzer.analyze(a);
        Analysis y = analyzer.analyze(b);
        return SameReading.of(x, y);
    }

    @Test
    void aRepeatedStatementWithOtherNumbersReadsTheSame() {
        assertTrue(same("SELECT abalance FROM pgbench_accounts WHERE aid = 12345",
                "SELECT abalance FROM pgbench_accounts WHERE aid = 7"));
        assertTrue(same("SELECT a FROM t WHERE x > 1.5 LIMIT 10", "SELECT a FROM t WHERE x > 22.75 LIMIT 3"));
        assertTrue(same("SELECT label FROM things WHERE id = $1", "SELECT label FROM things WHERE id = $1"));
    }

    @Test
    void digitsOfANameAreTheName() {
        assertFalse(same("SELECT a FROM t1 WHERE id = 1", "SELECT a FROM t2 WHERE id = 1"));
        assertFalse(same("SELECT a FROM t WHERE x = 1e5", "SELECT a FROM t WHERE x = 1e7"));
    }

    @Test
    void aTextWithAStringAQuotedNameACommentOrAParameterIsComparedWhole() {
        assertFalse(same("SELECT query_to_xml('SELECT label FROM things', true, false, '')",
                "SELECT query_to_xml('SELECT email FROM people', true, false, '')"));
        assertFalse(same("SELECT a FROM t WHERE x = '1'", "SELECT a FROM t WHERE x = '2'"));
        assertFalse(same("SELECT \"a1\" FROM t", "SELECT \"a2\" FROM t"));
        assertFalse(same("SELECT a FROM t WHERE id = 1 -- things", "SELECT a FROM t WHERE id = 2 -- things"));
        assertFalse(same("SELECT a FROM t /* 1 */ WHERE id = 1", "SELECT a FROM t /* 2 */ WHERE id = 1"));
        assertFalse(same("SELECT $$1$$::text FROM t", "SELECT $$2$$::text FROM t"));
    }

    @Test
    void otherWordsOrLayoutAreAnotherReading() {
        assertFalse(same("SELECT a FROM t WHERE id = 1", "SELECT b FROM t WHERE id = 1"));
        assertFalse(same("SELECT a FROM public.t WHERE id = 1", "SELECT a FROM public . t WHERE id = 1"));
        assertFalse(same("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id = -1"));
    }

    @Test
    void textsAloneFollowTheRule() {
        assertTrue(SameReading.sameText("x = 10", "x = 2"));
        assertFalse(SameReading.sameText("x-1", "x--1"));
        assertFalse(SameReading.sameText("x = 1", "x = 1 "));
        assertFalse(SameReading.sameText("a\\1", "a\\2"));
    }
}
