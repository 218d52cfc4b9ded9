package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * SQL that built-ins run from a value (query_to_xml, ts_stat, ts_rewrite, crosstab, table_to_xml): an attacker's pass
 * (2026-12-06) switched the role and wrote through {@code query_to_xml('select set_config(''role'', ...)')} while
 * Warden judged a read. A literal text is analysed as nested statements; any other is dynamic SQL.
 */
class SqlInStringsTest {

    private final Analyzer analyzer = new Analyzer(1000);

    private StatementFacts one(String sql) {
        List<StatementFacts> all = analyzer.analyze(sql).statements();
        assertEquals(1, all.size(), sql);
        return all.get(0);
    }

    private static Optional<String> roleTarget(StatementFacts f) {
        return f.allStatements().stream().map(StatementFacts::roleTarget).flatMap(Optional::stream).findFirst();
    }

    @Test
    void aLiteralQueryIsAnalysedAsTheStatementItRuns() {
        String role = "set_config(''role'', ''admin'', false)";
        for (String sql : List.of(
                "SELECT query_to_xml('select " + role + "', true, false, '')",
                "select pg_catalog.QUERY_TO_XML('select " + role + "'::text, true, false, '')",
                "SELECT query_to_xmlschema('select " + role + "', true, false, '')",
                "SELECT query_to_xml_and_xmlschema('select " + role + "', true, false, '')",
                "SELECT * FROM ts_stat('select to_tsvector(" + role + ")')",
                "SELECT ts_rewrite('a'::tsquery, 'select ''a''::tsquery, " + role + "::tsquery')",
                "SELECT query_to_xml(E'select set_config(\\'role\\', \\'admin\\', false)', true, false, '')",
                "SELECT query_to_xml($q$select set_config('role', 'admin', false)$q$, true, false, '')",
                "SELECT * FROM crosstab('select 1, 2, 3', 'select " + role + "') AS t(a int, b int)",
                "SELECT length(query_to_xml('select 1', true, false, '')::text) "
                        + "+ length(query_to_xml('select " + role + "', true, false, '')::text)")) {
            StatementFacts f = one(sql);
            assertEquals(Optional.of("admin"), roleTarget(f), sql);
            assertTrue(f.writes(), sql);
            assertFalse(f.dynamicSql(), sql);
        }
        StatementFacts write = one("SELECT query_to_xml('select lo_create(4242)', true, false, '')");
        assertTrue(write.writes());
        assertTrue(write.allStatements().stream().anyMatch(s -> s.functions().contains("lo_create")));
        StatementFacts view = one("SELECT table_to_xml('public.v'::regclass, true, false, '')");
        assertTrue(view.allStatements().stream().anyMatch(s -> s.tablesRead().contains(new TableRef("public", "v"))),
                "table_to_xml reads the relation it names, as SELECT * FROM it: a view runs what it calls");
    }

    @Test
    void aQueryTextComputedAtRunTimeIsDynamicSql() {
        for (String sql : List.of(
                "SELECT query_to_xml('select ' || 'set_config(1)', true, false, '')",
                "SELECT query_to_xml($1, true, false, '')",
                "SELECT query_to_xml(q, true, false, '') FROM queries",
                "SELECT query_to_xml(query => 'select 1', nulls => true, tableforest => false, targetns => '')",
                "SELECT * FROM ts_stat(format('select %s', 1))",
                "SELECT ts_rewrite('a'::tsquery, q) FROM queries",
                "SELECT ('select 1'::text).ts_stat",
                "SELECT schema_to_xml('public', true, false, '')",
                "SELECT database_to_xml(true, false, '')",
                "SELECT table_to_xml(oid, true, false, '') FROM pg_class")) {
            StatementFacts f = one(sql);
            assertTrue(f.dynamicSql(), sql);
            assertTrue(f.writes(), sql + ": what unknown SQL does is unknown");
        }
    }

    @Test
    void callsThatRunNoQueryStayReads() {
        for (String sql : List.of(
                "SELECT query_to_xml('select id from t', true, false, '')",
                "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)",
                "SELECT ts_rewrite(q, s, t) FROM aliases",
                "SELECT * FROM crosstab('select 1, 2, 3', 2) AS t(a int, b int)",
                "SELECT query_to_xml FROM t",
                "SELECT 'query_to_xml(''select set_config(1)'')'")) {
            StatementFacts f = one(sql);
            assertFalse(f.writes(), sql);
            assertFalse(f.dynamicSql(), sql);
        }
    }

    @Test
    void aRoutineBodyCallingThemInAnExpressionIsJudgedAsTheCall() {
        Analyzer.RoutineAnalysis body = analyzer.analyzeRoutineBody("plpgsql", "BEGIN IF query_to_xml("
                + "'select set_config(''role'', ''admin'', false)', true, false, '') IS NOT NULL THEN RETURN 1; END IF; "
                + "RETURN 0; END", true);
        assertTrue(body.statements().stream().flatMap(s -> s.allStatements().stream())
                .anyMatch(s -> s.roleTarget().equals(Optional.of("admin"))));
        assertTrue(analyzer.callWithUnknownArguments("ts_rewrite").stream().allMatch(StatementFacts::dynamicSql),
                "an aggregate or operator over ts_rewrite(tsquery, text) runs each value as a query");
        assertTrue(analyzer.callWithUnknownArguments("upper").isEmpty());
    }
}
