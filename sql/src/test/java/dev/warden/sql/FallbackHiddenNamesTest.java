package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * What the lexical reading (statements JSqlParser does not parse) must still see: a helper's pass (a125) had a write
 * inside a WITH query that itself begins with a WITH go unseen (an UPDATE of every row recorded as a SELECT, a masked
 * identity's copy of clear values into its own table), a FROM inside parentheses after a name taken for a function's
 * ({@code INSERT INTO t (SELECT ... FROM x)}, {@code xmlserialize(content (SELECT ... FROM x) AS text)}), and
 * {@code TABLE x} after a target named like a keyword ({@code INSERT INTO new TABLE x}).
 */
class FallbackHiddenNamesTest {

    private final Analyzer analyzer = new Analyzer(100);

    private record Case(String sql, Set<String> written, Set<String> read) {
    }

    @Test
    void hiddenWritesAndReadsAreSeen() {
        List<Case> cases = List.of(
                new Case("WITH w AS (WITH x AS (SELECT 1) UPDATE orders SET total = 0 RETURNING id) SELECT * FROM w",
                        Set.of("orders"), Set.of()),
                new Case("WITH w AS (WITH x AS MATERIALIZED (SELECT 1), y AS (SELECT 2) INSERT INTO blk VALUES (7) "
                        + "RETURNING id) SELECT * FROM w", Set.of("blk"), Set.of()),
                new Case("WITH z AS (WITH y AS (SELECT 1) DELETE FROM zz WHERE false RETURNING a) INSERT INTO tt "
                        + "(SELECT note FROM blk) RETURNING note", Set.of("zz", "tt"), Set.of("blk")),
                new Case("WITH z AS (WITH y AS (SELECT 1) DELETE FROM zz WHERE false RETURNING a) SELECT "
                        + "xmlserialize(content (SELECT xmlagg(xmlelement(name n, note)) FROM blk) AS text)",
                        Set.of("zz"), Set.of("blk")),
                new Case("INSERT INTO new TABLE blk RETURNING id", Set.of("new"), Set.of("blk")),
                new Case("INSERT INTO pg_temp.local TABLE blk", Set.of("local"), Set.of("blk")));
        for (Case c : cases) {
            StatementFacts f = analyzer.analyze(c.sql()).statements().get(0);
            Set<String> written = new TreeSet<>();
            f.tablesWritten().forEach(t -> written.add(t.name()));
            Set<String> read = new TreeSet<>();
            f.tablesRead().forEach(t -> read.add(t.name()));
            assertTrue(written.containsAll(c.written()), c.sql() + ": written " + written);
            assertTrue(read.containsAll(c.read()), c.sql() + ": read " + read);
        }
        StatementFacts everyRow = analyzer.analyze(cases.get(0).sql()).statements().get(0);
        assertEquals(false, everyRow.hasWhere(), "an UPDATE of every row reads as unfiltered");
        // A FROM of a call's own syntax is not a table.
        assertEquals(Set.of(), analyzer.analyze("SELECT extract(year FROM now()), substring('abc' FROM 2)")
                .statements().get(0).tablesRead());
    }
}
