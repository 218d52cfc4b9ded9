package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AnalyzerCacheTest {

    @Test
    void secondStatementOfTheSameShapeIsServedFromTheCache() {
        Analyzer analyzer = new Analyzer(100);
        StatementFacts first = analyzer.analyze("SELECT * FROM t WHERE id = 1").statements().get(0);
        assertEquals(0, analyzer.cacheHits());
        assertEquals(1, analyzer.parserRuns());
        StatementFacts second = analyzer.analyze("select *  from t where id=42").statements().get(0);
        assertEquals(1, analyzer.cacheHits());
        assertEquals(1, analyzer.parserRuns());
        assertEquals("select *  from t where id=42", second.text(), "the text is this statement's own");
        assertEquals(first.fingerprint(), second.fingerprint());
        assertEquals(first.tablesRead(), second.tablesRead());
    }

    /**
     * An entry holds the shape, not the client's text: a statement padded with a comment or a literal of megabytes
     * pinned them in the shared heap until other shapes displaced it (a helper's pass, a135 F8). Each statement
     * still gets its own text.
     */
    @Test
    void anEntryDoesNotKeepTheTextsCommentsAndLiterals() {
        Analyzer analyzer = new Analyzer(100);
        String padded = "SELECT 901 AS k /* " + "z".repeat(1_000_000) + " */";
        assertEquals(padded, analyzer.analyze(padded).statements().get(0).text());
        String literal = "SELECT '" + "y".repeat(1_000_000) + "' = 'q' AS k";
        assertEquals(literal, analyzer.analyze(literal).statements().get(0).text());
        assertTrue(analyzer.cachedTextChars() < 10_000, analyzer.cachedTextChars() + " characters kept");
        String again = "SELECT 902 AS k /* short */";
        assertEquals(again, analyzer.analyze(again).statements().get(0).text());
        assertEquals(1, analyzer.cacheHits());
    }

    /**
     * A cached shape's facts are handed out with each statement's own text but the very same (immutable) sets:
     * the proxy recognises a repeated statement by them and reuses what it derived, instead of copying per
     * statement.
     */
    @Test
    void statementsOfACachedShapeShareTheirFactSets() {
        Analyzer analyzer = new Analyzer(100);
        StatementFacts first = analyzer.analyze("SELECT a, b FROM t JOIN u ON t.id = u.id WHERE t.id = 1")
                .statements().get(0);
        StatementFacts second = analyzer.analyze("SELECT a, b FROM t JOIN u ON t.id = u.id WHERE t.id = 2")
                .statements().get(0);
        assertEquals(1, analyzer.cacheHits());
        assertTrue(first.tablesRead().size() == 2 && !first.columnsRead().isEmpty(), first.toString());
        assertSame(first.tablesRead(), second.tablesRead());
        assertSame(first.columnsRead(), second.columnsRead());
        assertSame(first.tablesWritten(), second.tablesWritten());
        assertSame(first.columnsWritten(), second.columnsWritten());
        assertThrows(UnsupportedOperationException.class, () -> second.tablesRead().clear());
        var it = second.tablesRead().iterator();
        it.next();
        assertThrows(UnsupportedOperationException.class, it::remove);
    }

    @Test
    void innerStatementsUseTheCacheToo() {
        Analyzer analyzer = new Analyzer(100);
        analyzer.analyze("DELETE FROM t WHERE id = 1");
        analyzer.analyze("PREPARE p AS DELETE FROM t WHERE id = 2");
        assertEquals(1, analyzer.cacheHits());
    }

    @Test
    void zeroEntriesDisablesTheCache() {
        Analyzer analyzer = new Analyzer(0);
        analyzer.analyze("SELECT 1");
        analyzer.analyze("SELECT 2");
        assertEquals(0, analyzer.cacheHits());
        assertEquals(2, analyzer.parserRuns());
    }

    @Test
    void cacheStaysWithinItsBound() {
        ShapeCache cache = new ShapeCache(64);
        StatementFacts facts = new Analyzer(0).analyze("SELECT 1").statements().get(0);
        for (int i = 0; i < 1000; i++) {
            cache.put("select " + i, facts);
        }
        assertTrue(cache.size() <= 64 + 16, () -> "size " + cache.size());
        assertEquals(facts, cache.get("select 999"), "the most recent entry stays");
    }

    @Test
    void anEntryReadBetweenSweepsOutlivesUnreadOnes() {
        ShapeCache cache = new ShapeCache(64);
        StatementFacts facts = new Analyzer(0).analyze("SELECT 1").statements().get(0);
        cache.put("hot", facts);
        cache.put("cold", facts);
        for (int i = 0; i < 1000; i++) {
            cache.put("select " + i, facts);
            assertEquals(facts, cache.get("hot"), "read after every put, at put " + i);
        }
        assertEquals(null, cache.get("cold"), "never read again: evicted");
        assertTrue(cache.size() <= 64, () -> "size " + cache.size());
    }

    @Test
    void concurrentAnalysesAgreeWithASequentialOne() throws Exception {
        Analyzer shared = new Analyzer(50);
        Analyzer reference = new Analyzer(0);
        List<String> statements = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            statements.add("SELECT a, b FROM t" + (i % 7) + " WHERE id = " + i);
            statements.add("UPDATE t" + (i % 5) + " SET a = " + i + (i % 2 == 0 ? " WHERE id = 1" : ""));
            statements.add("DROP TABLE x" + (i % 3) + "; COPY t FROM STDIN");
            statements.add("WITH d AS (DELETE FROM t" + (i % 4) + " RETURNING *) SELECT * FROM d");
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int thread = 0; thread < 8; thread++) {
                int offset = thread;
                Callable<String> task = () -> {
                    for (int round = 0; round < 3; round++) {
                        for (int i = 0; i < statements.size(); i++) {
                            String sql = statements.get((i + offset * 13) % statements.size());
                            Analysis got = shared.analyze(sql);
                            Analysis expected = reference.analyze(sql);
                            if (!got.equals(expected)) {
                                return sql + "\n got      " + got + "\n expected " + expected;
                            }
                        }
                    }
                    return "";
                };
                results.add(pool.submit(task));
            }
            for (Future<String> r : results) {
                assertEquals("", r.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(shared.cacheHits() > 0);
    }
}
