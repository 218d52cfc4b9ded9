package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The read-only proof for queries JSqlParser cannot parse. Every text here either fails JSqlParser (a keyword
 * alias such as {@code AS true} is enough) or is checked against the proof directly, so that what is asserted
 * is the proof's answer, not the parser's.
 */
class ReadOnlyProofTest {

    private final Analyzer analyzer = new Analyzer(1000);

    private StatementFacts one(String sql) {
        Analysis analysis = analyzer.analyze(sql);
        assertEquals(1, analysis.statements().size(), () -> "statements of " + sql + ": " + analysis);
        return analysis.statements().get(0);
    }

    private static ReadOnlyProof.Examination examine(String sql) {
        return ReadOnlyProof.examine(Lexer.tokenize(sql).tokens());
    }

    private static boolean proven(String sql) {
        ReadOnlyProof.Examination e = examine(sql);
        return e.isQuery && e.noWrite && e.unknownFunctions.isEmpty();
    }

    private static void assertJSqlParserFails(String sql) {
        GuardedParser parser = new GuardedParser(Analyzer.DEFAULT_PARSE_TIMEOUT.toNanos());
        assertFalse(parser.parse(Shape.parserText(Lexer.tokenize(sql).tokens())) instanceof GuardedParser.Parsed,
                () -> "JSqlParser parses " + sql + ": the test would not exercise the proof");
    }

    // ------------------------------------------------------------------ reads that are now understood

    @Test
    void selectTrueAsTrueIsARead() {
        assertJSqlParserFails("SELECT true AS true");
        StatementFacts f = one("SELECT true AS true");
        assertEquals(StatementKind.SELECT, f.kind());
        assertFalse(f.unparsed());
        assertFalse(f.writes());
        assertTrue(f.tablesWritten().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT 1 AS false, 2 AS null, 3 AS select",
        "SELECT a AS true FROM t WHERE b = 1",
        "SELECT t.update, t.delete AS true FROM t",
        "SELECT a AS update, b AS delete, c AS insert, d AS merge FROM t WHERE false AS true IS NULL",
        "WITH x AS (SELECT 1 AS true) SELECT * FROM x",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n AS true FROM r",
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) AS true FROM pg_catalog.pg_attribute a",
        "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' "
                + "COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid)",
        "SELECT coalesce(a, b) AS true, extract(year FROM now()), lower(x), count(*) FILTER (WHERE y) FROM t",
        "(SELECT 1 AS true) UNION (SELECT 2)",
        "SELECT * FROM (SELECT 1 AS true) s, LATERAL (SELECT 2) u",
        "SELECT a AS true FROM t ORDER BY a DESC NULLS LAST LIMIT 1",
        "SELECT \"Weird\" AS true FROM \"Delete\"",
    })
    void readsThatJSqlParserCannotParseAreProvenReads(String sql) {
        assertProvenSelect(sql, false);
    }

    /** {@code sql}, which JSqlParser cannot parse, read as a SELECT, proven, writing no table; {@code writes} as said. */
    private void assertProvenSelect(String sql, boolean writes) {
        assertJSqlParserFails(sql);
        StatementFacts f = one(sql);
        assertEquals(StatementKind.SELECT, f.kind(), sql);
        assertEquals(writes, f.writes(), sql);
        assertFalse(f.unparsed(), () -> sql + ": " + examine(sql).unknownFunctions);
        assertTrue(f.tablesWritten().isEmpty(), sql);
    }

    /** A locking clause makes the read a write (it locks the rows), on the lexical path too (attacker pass a112). */
    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT a AS true FROM t FOR UPDATE",
        "SELECT a AS true FROM t FOR NO KEY UPDATE OF t NOWAIT",
        "SELECT a AS true FROM t FOR SHARE SKIP LOCKED",
        "SELECT a AS true FROM t FOR KEY SHARE",
    })
    void lockingReadsThatJSqlParserCannotParseAreProvenAndWrite(String sql) {
        assertProvenSelect(sql, true);
    }

    @Test
    void aProvenReadOfUserTablesMasksLikeAnUnparsedOne() {
        StatementFacts f = one("SELECT ssn || '' AS true FROM customers c JOIN orders o ON o.cid = c.id");
        assertFalse(f.unparsed());
        assertTrue(f.tablesRead().containsAll(Set.of(new TableRef(null, "customers"), new TableRef(null, "orders"))));
        assertTrue(f.columnsRead().contains(new ColumnRef(null, "*")), "expression columns must be masked");
        assertTrue(f.columnsRead().contains(new ColumnRef(null, "ssn")));
    }

    @Test
    void tablesInParenthesizedJoinsAreRead() {
        StatementFacts f = one("SELECT 1 AS true FROM (secrets s JOIN (payroll p JOIN x ON true) ON true)");
        assertFalse(f.unparsed());
        assertTrue(f.tablesRead().containsAll(Set.of(new TableRef(null, "secrets"), new TableRef(null, "payroll"),
                new TableRef(null, "x"))), f.tablesRead()::toString);
    }

    @Test
    void aProvenReadOfTheCatalogOnlyNamesItsColumns() {
        StatementFacts f = one("SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) AS true "
                + "FROM pg_catalog.pg_attribute a WHERE a.attnum > 0");
        assertFalse(f.unparsed());
        assertFalse(f.columnsRead().contains(new ColumnRef(null, "*")), f.columnsRead()::toString);
        assertTrue(f.columnsRead().contains(new ColumnRef("a", "atttypid")));
        assertEquals(Set.of(new TableRef("pg_catalog", "pg_attribute")), f.tablesRead());
    }

    @Test
    void anUnqualifiedCatalogNameIsNotTheCatalog() {
        // pg_temp is searched before pg_catalog: an unqualified pg_class may be a temporary table.
        StatementFacts f = one("SELECT relname AS true FROM pg_class");
        assertFalse(f.unparsed());
        assertTrue(f.columnsRead().contains(new ColumnRef(null, "*")));
    }

    // ------------------------------------------------------------------ texts that hide a write

    @ParameterizedTest
    @ValueSource(strings = {
        "WITH d AS (DELETE FROM t RETURNING *) SELECT true AS true FROM d",
        "WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT a AS true FROM u",
        "WITH i AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1 AS true",
        "WITH m AS NOT MATERIALIZED (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE RETURNING 1) "
                + "SELECT 1 AS true",
        "SELECT * FROM (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d) AS true",
        "(WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d AS true)",
        "SELECT * INTO t2 FROM t AS true",
        "SELECT 1 AS true INTO TEMP t2",
        "SELECT update FROM t AS true",
    })
    void dataModifyingStatementsAtAnyDepthAreNotProven(String sql) {
        assertJSqlParserFails(sql);
        assertFalse(proven(sql), sql);
        StatementFacts f = one(sql);
        assertTrue(f.unparsed() || f.writes(), () -> sql + " passed as a read: " + f);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT * FROM f_that_writes() AS true",
        "SELECT nextval('s') AS true",
        "SELECT lo_from_bytea(0, 'x') AS true",
        "select set_config('search_path', 'evil', false) as true",
        "SELECT dblink_exec('host=x', 'DELETE FROM t') AS true",
        "SELECT txid_current() AS true",
        "SELECT table_to_xml('customers', true, false, '') AS true",
        "SELECT pg_catalog.setval('s', 1) AS true",
        "SELECT public.lower('X') AS true",
        "SELECT \"nextval\"('s') AS true",
        "SELECT 1 AS true WHERE 1 BETWEEN SYMMETRIC nextval('s') AND 2",
        "SELECT 1 OPERATOR(pg_catalog.+) nextval('s') AS true",
        "SELECT 1 AS true WHERE 1 OPERATOR(public.===) 2",
        "SELECT a AS true FROM t WHERE b IN (SELECT pg_terminate_backend(pid) FROM pg_stat_activity)",
        "SELECT pg_advisory_lock(1) AS true",
        "SELECT pg_notify('c', 'x') AS true",
        "SELECT pg_switch_wal() AS true",
        "SELECT * FROM ROWS FROM (generate_series(1, 2), f_that_writes()) AS true",
        "SELECT 1 AS true FROM t x(a)",
    })
    void callsOfFunctionsThatMayWriteOrAreUnknownAreNotProven(String sql) {
        assertJSqlParserFails(sql);
        assertFalse(proven(sql), sql);
        StatementFacts f = one(sql);
        assertTrue(f.unparsed() || f.writes(), () -> sql + " passed as a read: " + f);
    }

    @Test
    void theSameCallsAreRefusedByTheProofEvenWhereJSqlParserParses() {
        for (String sql : new String[] {"SELECT nextval('s')", "SELECT lo_from_bytea(0, 'x')",
                "select set_config('a', 'b', false)", "SELECT * FROM f_that_writes()",
                "SELECT dblink_exec('x', 'y')", "VALUES (nextval('s'))"}) {
            assertFalse(proven(sql), sql);
        }
        assertTrue(proven("SELECT pg_catalog.pg_get_userbyid(1), array_to_string(ARRAY[1], ',')"));
    }

    @Test
    void notAQueryIsNeverProven() {
        assertFalse(examine("DELETE FROM t").isQuery);
        assertFalse(examine("WITH x AS (SELECT 1) DELETE FROM t").isQuery);
        assertFalse(examine("WITH x AS (SELECT 1)").isQuery);
        assertFalse(examine("SELEC 1").isQuery);
    }

    // ------------------------------------------------------------------ the catalog's part

    @Test
    void unknownFunctionsAreWhatTheCatalogMustAnswer() {
        StatementFacts f = one("SELECT my_fn(1) AS true, lower('x'), s.other(2) FROM t");
        assertTrue(f.unparsed());
        assertEquals(Set.of("my_fn", "s.other"), ReadOnlyProof.unknownFunctions(f, true));
        assertTrue(ReadOnlyProof.proveWithCatalog(f, true, fn -> fn.equals("my_fn")).unparsed());
        StatementFacts proven = ReadOnlyProof.proveWithCatalog(f, true, fn -> true);
        assertFalse(proven.unparsed());
        assertFalse(proven.writes());
        assertEquals(f.fingerprint(), proven.fingerprint());
    }

    @Test
    void anUnterminatedTextIsNeverProven() {
        StatementFacts f = one("SELECT my_fn(1) AS true, 'abc; DROP TABLE t");
        assertTrue(f.unparsed());
        assertEquals(Set.of(), ReadOnlyProof.unknownFunctions(f, true));
        assertTrue(ReadOnlyProof.proveWithCatalog(f, true, fn -> true).unparsed());
    }

    @Test
    void noCatalogAnswerMakesAWriteARead() {
        StatementFacts f = one("WITH d AS (DELETE FROM t RETURNING my_fn(1)) SELECT 1 AS true");
        assertEquals(Set.of(), ReadOnlyProof.unknownFunctions(f, true));
        assertTrue(ReadOnlyProof.proveWithCatalog(f, true, fn -> true).unparsed()
                || ReadOnlyProof.proveWithCatalog(f, true, fn -> true).writes());
    }

    @Test
    void builtInListKnowsPsqlsFunctionsAndNotTheWriters() {
        for (String fn : new String[] {"pg_catalog.format_type", "pg_get_userbyid", "pg_table_is_visible",
                "pg_get_expr", "obj_description", "pg_get_indexdef", "pg_get_constraintdef", "array_to_string",
                "pg_encoding_to_char", "pg_catalog.pg_table_size", "pg_partition_ancestors",
                "information_schema._pg_expandarray"}) {
            assertTrue(ReadOnlyProof.isBuiltInReadOnly(fn), fn);
        }
        for (String fn : new String[] {"nextval", "setval", "currval", "lo_from_bytea", "lo_import", "lo_unlink",
                "pg_terminate_backend", "set_config", "pg_advisory_lock", "pg_notify", "txid_current",
                "pg_current_xact_id", "pg_switch_wal", "query_to_xml", "table_to_xml", "pg_read_file",
                "dblink_exec", "public.format_type", "_pg_expandarray"}) {
            assertFalse(ReadOnlyProof.isBuiltInReadOnly(fn), fn);
        }
    }
}
