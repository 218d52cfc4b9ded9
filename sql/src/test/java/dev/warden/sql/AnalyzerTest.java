package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AnalyzerTest {

    private final Analyzer analyzer = new Analyzer(1000);

    private StatementFacts one(String sql) {
        Analysis analysis = analyzer.analyze(sql);
        assertEquals(1, analysis.statements().size(), () -> "statements of " + sql + ": " + analysis);
        return analysis.statements().get(0);
    }

    private List<StatementFacts> all(String sql) {
        return analyzer.analyze(sql).statements();
    }

    private static TableRef t(String name) {
        return new TableRef(null, name);
    }

    // ------------------------------------------------------------------ DROP / TRUNCATE

    @Test
    void dropTableIsADropOfThatTable() {
        StatementFacts f = one("DROP TABLE t");
        assertEquals(StatementKind.DROP, f.kind());
        assertEquals("TABLE", f.objectType());
        assertTrue(f.writes());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertFalse(f.unparsed());
        assertEquals("DROP TABLE t", f.text());
    }

    @Test
    void aSequenceCreatedOrAlteredIsARelationWrittenWhicheverPathReadsIt() {
        for (String sql : List.of("CREATE SEQUENCE s.q", "CREATE SEQUENCE IF NOT EXISTS s.q START 5",
                "CREATE UNLOGGED SEQUENCE s.q", "ALTER SEQUENCE s.q RESTART WITH 1",
                "ALTER SEQUENCE IF EXISTS s.q INCREMENT BY 2", "ALTER SEQUENCE s.q OWNED BY s.t.id")) {
            assertTrue(one(sql).tablesWritten().contains(new TableRef("s", "q")), sql + ": " + one(sql).tablesWritten());
        }
    }

    @Test
    void nextvalAndSetvalWriteTheSequenceTheirLiteralNamesEachTime() {
        assertEquals(Set.of(new TableRef("b", "s")), one("SELECT setval('b.s', 1)").tablesWritten());
        assertTrue(one("SELECT setval('b.s', 1)").writes());
        // The shape cache keeps no literal: another sequence in the same shape is read from its own text.
        assertEquals(Set.of(new TableRef("c", "t")), one("SELECT setval('c.t', 1)").tablesWritten());
        assertEquals(Set.of(t("t"), new TableRef("Q", "s x\"y")),
                one("INSERT INTO t VALUES (nextval('\"Q\".\"s x\"\"y\"'::regclass))").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "b")), one("SELECT pg_catalog.NEXTVAL(' A . B ')").tablesWritten());
        for (String computed : List.of("SELECT setval('a' || 'b', 1)", "SELECT nextval(x) FROM t",
                "SELECT nextval('16384')", "SELECT nextval('a.b.c.d')", "SELECT nextval('a..b')",
                "SELECT nextval('a\\b')", "SELECT nextval(format('%s', 'b.s'))")) {
            assertTrue(one(computed).tablesWritten().contains(TableRef.ANY_RELATION), computed);
        }
        // currval and lastval read; a string that only mentions nextval calls nothing.
        assertEquals(Set.of(), one("SELECT currval('b.s'), lastval(), 'nextval(''b.s'')'").tablesWritten());
        List<StatementFacts> body = analyzer.analyze("DO $$BEGIN PERFORM setval('b.s', 1); END$$").statements()
                .get(0).nested();
        assertTrue(body.stream().anyMatch(f -> f.tablesWritten().contains(new TableRef("b", "s"))), body.toString());
    }

    /**
     * PostgreSQL reads {@code ONLY (name)} as {@code ONLY name} wherever a relation takes ONLY (gram.y's
     * relation_expr). An attacker's pass (a120) ran {@code DELETE FROM ONLY (orders)} and {@code DELETE FROM ONLY
     * (api_keys) WHERE ...} through Warden, which read them as naming no table (and without WHERE rules off).
     */
    @Test
    void onlyWithAParenthesizedNameNamesTheRelation() {
        for (String[] pair : new String[][] {
                {"DELETE FROM ONLY (orders)", "DELETE FROM ONLY orders"},
                {"DELETE FROM ONLY (\"Api Keys\") WHERE id <= 5", "DELETE FROM ONLY \"Api Keys\" WHERE id <= 5"},
                {"UPDATE ONLY (public.api_keys) SET key = 'x' WHERE id = 6",
                        "UPDATE ONLY public.api_keys SET key = 'x' WHERE id = 6"},
                {"UPDATE ONLY ( s . t ) SET a = 1", "UPDATE ONLY s.t SET a = 1"},
                {"TRUNCATE ONLY (orders)", "TRUNCATE ONLY orders"},
                {"LOCK ONLY (orders)", "LOCK ONLY orders"},
                {"ALTER TABLE ONLY (orders) DROP COLUMN total", "ALTER TABLE ONLY orders DROP COLUMN total"},
                {"SELECT * FROM ONLY (customers) c JOIN ONLY (s.u) ON true", "SELECT * FROM ONLY customers c JOIN "
                        + "ONLY s.u ON true"},
                {"DELETE FROM t USING ONLY (u) WHERE t.a = u.a", "DELETE FROM t USING ONLY u WHERE t.a = u.a"},
                {"MERGE INTO ONLY (orders) o USING s ON o.id = s.id WHEN MATCHED THEN DELETE",
                        "MERGE INTO ONLY orders o USING s ON o.id = s.id WHEN MATCHED THEN DELETE"},
                {"WITH x AS (DELETE FROM ONLY (t) RETURNING a) SELECT a FROM x",
                        "WITH x AS (DELETE FROM ONLY t RETURNING a) SELECT a FROM x"}}) {
            StatementFacts parens = one(pair[0]);
            StatementFacts plain = one(pair[1]);
            assertEquals(plain.kind(), parens.kind(), pair[0]);
            assertEquals(plain.unparsed(), parens.unparsed(), pair[0]);
            assertEquals(plain.tablesWritten(), parens.tablesWritten(), pair[0]);
            assertEquals(plain.tablesRead(), parens.tablesRead(), pair[0]);
            assertEquals(plain.hasWhere(), parens.hasWhere(), pair[0]);
            assertEquals(plain.writes(), parens.writes(), pair[0]);
        }
        assertEquals(Set.of(new TableRef(null, "orders")), one("DELETE FROM ONLY (orders)").tablesWritten());
        // Not a relation: the parentheses stay (a row constructor after FETCH ... ONLY is not SQL either).
        assertFalse(one("SELECT a FROM t ORDER BY a FETCH FIRST 1 ROWS ONLY").unparsed());
    }

    @Test
    void onlyInADeleteOrUpdateTargetIsParsedAndKeepsItsOwnFingerprint() {
        for (String[] pair : new String[][] {
                {"DELETE FROM ONLY s.t WHERE id = 1", "DELETE FROM s.t WHERE id = 1"},
                {"UPDATE ONLY s.t SET a = 1 WHERE id = 2", "UPDATE s.t SET a = 1 WHERE id = 2"},
                {"DELETE FROM ONLY t USING ONLY u WHERE t.a = u.a", "DELETE FROM t USING u WHERE t.a = u.a"},
                {"WITH x AS (DELETE FROM ONLY t WHERE a = 1 RETURNING a) SELECT a FROM x",
                        "WITH x AS (DELETE FROM t WHERE a = 1 RETURNING a) SELECT a FROM x"}}) {
            StatementFacts only = one(pair[0]);
            StatementFacts whole = one(pair[1]);
            assertFalse(only.unparsed(), pair[0]);
            assertEquals(whole.tablesWritten(), only.tablesWritten(), pair[0]);
            assertEquals(whole.tablesRead(), only.tablesRead(), pair[0]);
            assertEquals(whole.hasWhere(), only.hasWhere(), pair[0]);
            assertNotEquals(whole.fingerprint(), only.fingerprint(), pair[0]);
            // Whichever the cache saw first, each text keeps its own fingerprint.
            assertEquals(only.fingerprint(), one(pair[0]).fingerprint());
        }
        assertFalse(one("DELETE FROM ONLY t").hasWhere());
        assertFalse(one("SELECT a FROM t ORDER BY a FETCH FIRST 1 ROWS ONLY").unparsed());
    }

    @Test
    void whatADeleteOrMergeJSqlParserCannotReadUsesIsRead() {
        StatementFacts f = one("DELETE FROM t3 USING t1 JOIN s.t2 USING (a), ONLY t4 x WHERE t3.x > t1.a");
        assertTrue(f.unparsed());
        assertTrue(f.tablesRead().containsAll(Set.of(t("t1"), new TableRef("s", "t2"), t("t4"))), f.tablesRead().toString());
        StatementFacts cte = one("WITH d AS (DELETE FROM t3 USING t1 JOIN t2 USING (a) WHERE t3.x = 1 RETURNING 1) "
                + "SELECT * FROM d");
        assertTrue(cte.tablesRead().contains(t("t1")), cte.tablesRead().toString());
        StatementFacts merge = one("MERGE INTO t USING s.src x ON t.a = x.a WHEN NOT MATCHED THEN INSERT (a) "
                + "OVERRIDING SYSTEM VALUE VALUES (x.a)");
        assertTrue(merge.tablesRead().contains(new TableRef("s", "src")), merge.tablesRead().toString());
    }

    @Test
    void rulesGrantsDefaultPrivilegesAndIndexesNameTheRelationsTheyChange() {
        assertEquals(Set.of(new TableRef("s", "t")),
                one("CREATE OR REPLACE RULE r AS ON DELETE TO s.t WHERE old.a > 1 DO INSTEAD NOTHING").tablesWritten());
        // The event is no statement: nothing named "to" is written.
        assertEquals(Set.of(t("t")), one("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "*"), new TableRef("b", "*")),
                one("GRANT SELECT ON ALL TABLES IN SCHEMA a, b TO x").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "*")), one("REVOKE ALL ON ALL SEQUENCES IN SCHEMA a FROM x").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "*")), one("GRANT USAGE, CREATE ON SCHEMA a TO PUBLIC").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "s"), t("q")), one("GRANT SELECT ON SEQUENCE a.s, q TO x").tablesWritten());
        assertEquals(Set.of(), one("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA a TO x").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "*")),
                one("ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA a GRANT SELECT ON TABLES TO x").tablesWritten());
        assertEquals(Set.of(TableRef.ANY_RELATION),
                one("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "i"), t("j")),
                one("DROP INDEX CONCURRENTLY IF EXISTS a.i, j").tablesWritten());
        assertEquals(Set.of(new TableRef("a", "i")), one("ALTER INDEX IF EXISTS a.i RENAME TO k").tablesWritten());
        for (String sql : List.of("ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b",
                "ALTER INDEX ALL IN TABLESPACE a OWNED BY r SET TABLESPACE b",
                "ALTER MATERIALIZED VIEW ALL IN TABLESPACE a SET TABLESPACE b NOWAIT")) {
            assertTrue(one(sql).tablesWritten().contains(TableRef.ANY_RELATION), sql);
        }
    }

    @Test
    void aChildPartitionTriggerPolicyOrRuleWritesTheTableItBelongsTo() {
        // Parents are read (only the child is created); a rule on them holds for the writing statement.
        StatementFacts kid = one("CREATE TABLE p.kid (x text) INHERITS (a, \"S\".b)");
        assertEquals(Set.of(new TableRef("p", "kid")), kid.tablesWritten());
        assertEquals(Set.of(t("a"), new TableRef("S", "b")), kid.tablesRead());
        assertTrue(one("CREATE TABLE kid PARTITION OF s.parent FOR VALUES IN (1)").tablesRead()
                .contains(new TableRef("s", "parent")));
        assertEquals(Set.of(new TableRef("s", "p")), one("ALTER TABLE kid INHERIT s.p").tablesRead());
        assertEquals(Set.of(new TableRef("s", "p")), one("ALTER TABLE kid NO INHERIT s.p").tablesRead());
        assertEquals(Set.of(t("t")), one("ALTER TABLE t ALTER COLUMN inherit TYPE int").tablesWritten());
        for (String sql : List.of("ALTER TRIGGER g ON s.t RENAME TO h", "ALTER POLICY p ON s.t USING (false)",
                "ALTER RULE r ON s.t RENAME TO q")) {
            assertEquals(Set.of(new TableRef("s", "t")), one(sql).tablesWritten(), sql);
        }
    }

    @Test
    void aRegclassTextSplitsAsTheServerSplitsIt() {
        assertEquals(List.of("a", "b"), LexicalAnalysis.regclassName("A.b"));
        assertEquals(List.of("A", "b.c"), LexicalAnalysis.regclassName(" \"A\" . \"b.c\" "));
        assertEquals(List.of("x\"y"), LexicalAnalysis.regclassName("\"x\"\"y\""));
        assertEquals(null, LexicalAnalysis.regclassName("123"));
        assertEquals(null, LexicalAnalysis.regclassName("a."));
        assertEquals(null, LexicalAnalysis.regclassName("\"\""));
        assertEquals(null, LexicalAnalysis.regclassName("a b"));
        assertEquals(null, LexicalAnalysis.regclassName("\"a"));
    }

    @Test
    void importForeignSchemaWritesTheTablesItListsOrAnyOfItsSchema() {
        StatementFacts all = one("IMPORT FOREIGN SCHEMA remote FROM SERVER srv INTO billing");
        assertEquals(StatementKind.IMPORT_FOREIGN_SCHEMA, all.kind());
        assertEquals(Set.of(new TableRef("billing", "*")), all.tablesWritten());
        assertFalse(all.unparsed());
        assertEquals(Set.of(new TableRef("billing", "*")),
                one("IMPORT FOREIGN SCHEMA remote EXCEPT (a) FROM SERVER srv INTO billing OPTIONS (x 'into')")
                        .tablesWritten());
        assertEquals(Set.of(new TableRef("Billing", "invoices"), new TableRef("Billing", "Big")),
                one("import foreign schema \"Remote\" limit to (Invoices, \"Big\") from server srv into \"Billing\"")
                        .tablesWritten());
        // Not understood: read as a statement nobody understood, which the production baseline refuses.
        assertTrue(one("IMPORT FOREIGN SCHEMA remote FROM SERVER srv").unparsed());
    }

    @Test
    void quotedTableNameKeepsItsCase() {
        StatementFacts f = one("drop   table \"T\"");
        assertEquals(StatementKind.DROP, f.kind());
        assertEquals(Set.of(t("T")), f.tablesWritten());
    }

    @Test
    void dropOfSeveralTablesWithIfExistsNamesEach() {
        StatementFacts f = one("DROP TABLE IF EXISTS a, s.b CASCADE");
        assertEquals(Set.of(t("a"), new TableRef("s", "b")), f.tablesWritten());
        assertFalse(f.unparsed());
    }

    @Test
    void dropAfterASelectIsASecondStatement() {
        List<StatementFacts> s = all("SELECT 1; DROP TABLE t");
        assertEquals(2, s.size());
        assertEquals(StatementKind.SELECT, s.get(0).kind());
        assertEquals("SELECT 1", s.get(0).text());
        assertEquals(StatementKind.DROP, s.get(1).kind());
        assertEquals("DROP TABLE t", s.get(1).text());
    }

    @Test
    void leadingCommentDoesNotHideADrop() {
        StatementFacts f = one("/* x */ DROP TABLE t");
        assertEquals(StatementKind.DROP, f.kind());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertEquals("/* x */ DROP TABLE t", f.text());
    }

    @Test
    void nestedCommentIsSkippedWhole() {
        List<StatementFacts> s = all("/* a /* b */ DROP TABLE t; */ SELECT 1");
        assertEquals(1, s.size());
        assertEquals(StatementKind.SELECT, s.get(0).kind());
    }

    @Test
    void truncateIsATruncateOfTables() {
        StatementFacts f = one("TRUNCATE t");
        assertEquals(StatementKind.TRUNCATE, f.kind());
        assertEquals("TABLE", f.objectType());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertTrue(f.writes());
        assertFalse(f.unparsed());
        assertEquals(Set.of(t("a"), t("b")), one("TRUNCATE TABLE ONLY a, b RESTART IDENTITY").tablesWritten());
    }

    // ------------------------------------------------------------------ DML and WHERE

    @Test
    void deleteWithoutWhereHasNoWhere() {
        StatementFacts f = one("DELETE FROM t");
        assertEquals(StatementKind.DELETE, f.kind());
        assertFalse(f.hasWhere());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertTrue(f.writes());
        assertFalse(f.unparsed());
    }

    @Test
    void deleteWithWhereHasWhere() {
        StatementFacts f = one("DELETE FROM t WHERE id = 1");
        assertEquals(StatementKind.DELETE, f.kind());
        assertTrue(f.hasWhere());
        assertEquals(Set.of(new ColumnRef(null, "id")), f.columnsRead());
    }

    /**
     * A WHERE that names nothing differing from row to row changes every row or none: as without a WHERE (attacker pass
     * a142, F1). {@code WHERE true} alone is the way to say every row; a condition naming a column, a cursor, a
     * relation, or a WHERE of a subquery, is a WHERE.
     */
    @Test
    void aConstantWhereOfAnUpdateOrDeleteIsNoWhere() {
        for (String sql : List.of("UPDATE t SET a = 0 WHERE 1=1", "DELETE FROM t WHERE 'a' = 'a'",
                "delete from t where not false", "DELETE FROM t WHERE (SELECT true)", "DELETE FROM t WHERE true AND true",
                "UPDATE t SET a = 0 WHERE CURRENT_DATE = CURRENT_DATE RETURNING a", "DELETE FROM t WHERE 1 IN (1)",
                "DELETE FROM t WHERE $$x$$ = 'x'",
                "WITH d AS (DELETE FROM t WHERE 1 = 1 RETURNING 1) SELECT count(*) FROM d",
                "UPDATE t SET a = (SELECT 1 WHERE id = 1) WHERE 2 > 1", "DELETE FROM t WHERE (true)",
                "DELETE FROM t WHERE EXISTS (SELECT 1)", "DELETE FROM t WHERE id = 1 OR 1 = 1",
                "UPDATE t SET a = 0 WHERE a = a", "DELETE FROM t WHERE (t.id = t.id)", "DELETE FROM t WHERE (id > 0) OR (true)",
                "DELETE FROM t WHERE id = id AND 1 = 1",
                "MERGE INTO t USING s ON (t.id = t.id) WHEN MATCHED THEN DELETE",
                "MERGE INTO t USING s ON t.id > s.id OR true WHEN MATCHED THEN UPDATE SET a = 1",
                "MERGE INTO t USING s ON ((t.id = t.id)) WHEN MATCHED THEN DELETE", "DELETE FROM t WHERE 1::int = 1",
                "DELETE FROM t WHERE 't'::boolean", "DELETE FROM t WHERE 1 = 0 OR id = 5",
                // a143 F1: the target's column with itself however qualified, >=, <=, IS NOT DISTINCT FROM, and calls
                // of constants
                "DELETE FROM t WHERE t.id = id", "UPDATE public.t AS x SET a = 0 WHERE x.id = public.t.id",
                "DELETE FROM t WHERE id >= id", "UPDATE t SET a = 0 WHERE t.a <= a",
                "DELETE FROM t WHERE id IS NOT DISTINCT FROM t.id", "DELETE FROM t WHERE coalesce(true)",
                "DELETE FROM t WHERE now() IS NOT NULL", "DELETE FROM t WHERE greatest(1, 2) > 0",
                "DELETE FROM ONLY s.t * WHERE s.t.id = id", "UPDATE t x SET a = 0 WHERE id = x.id",
                // attacker pass a144, F1: one-sided parentheses and casts, quoted names, CAST, typed literals, IN
                "DELETE FROM t o WHERE (id) = id", "DELETE FROM t WHERE id = (id)", "DELETE FROM t WHERE (id = (id))",
                "DELETE FROM t WHERE \"id\" = id", "DELETE FROM t WHERE id = id::int", "DELETE FROM t WHERE id = 1 OR (id) = id",
                "UPDATE t SET a = 0 WHERE (a)::text = (a::text)", "DELETE FROM t WHERE CAST(1 AS int) = 1",
                "DELETE FROM t WHERE coalesce(null, true)", "DELETE FROM t WHERE nullif(1, 2) = 1",
                "DELETE FROM t WHERE interval '1 day' > interval '0'", "DELETE FROM t WHERE bool 'true'",
                "DELETE FROM t WHERE id IN (id)", "DELETE FROM t WHERE o.id = id OR id IN ((id))",
                "MERGE INTO t USING s ON (t.id) = t.id WHEN MATCHED THEN DELETE",
                "MERGE INTO t USING s ON t.id = (t.id) WHEN MATCHED THEN DELETE",
                "DELETE FROM t WHERE now() > '2020-01-01'",
                // the keywords that may also be columns' names, where they are the keywords (and a column with itself)
                "DELETE FROM t WHERE 1 BETWEEN 0 AND 2", "DELETE FROM t WHERE 1 NOT BETWEEN 2 AND 3",
                "DELETE FROM t WHERE 'a' LIKE 'a' ESCAPE '!'", "DELETE FROM t WHERE true IS NOT UNKNOWN",
                "DELETE FROM t WHERE (1) BETWEEN SYMMETRIC 2 AND 0", "DELETE FROM t WHERE escape = escape",
                "DELETE FROM t WHERE exists = exists", "DELETE FROM t WHERE NOT EXISTS (SELECT 1)",
                // a145 F4, the forms that need no meaning: a list of x, and IS TRUE / IS NOT FALSE of such a condition
                "DELETE FROM t WHERE id IN (id, id)", "UPDATE t SET a = 0 WHERE id IN ((id), id::int)",
                "DELETE FROM t WHERE (id = id) IS TRUE", "DELETE FROM t WHERE id = id IS NOT FALSE",
                "DELETE FROM t WHERE id = 5 OR ((id) IN (id)) IS TRUE",
                // a149 F1: row constructors, VALUES, a subquery's own WHERE, built-ins of one value, unary plus,
                // CAST and COLLATE on one side
                "DELETE FROM t WHERE ROW(1) = ROW(1)", "DELETE FROM t WHERE row(true) IS NOT NULL",
                "DELETE FROM t WHERE (VALUES (true))", "DELETE FROM t WHERE NOT EXISTS (SELECT WHERE false)",
                "DELETE FROM t WHERE version() IS NOT NULL", "DELETE FROM t WHERE pi() > 3",
                "DELETE FROM t WHERE ROW(id) = ROW(id)", "DELETE FROM t WHERE id = +id",
                "DELETE FROM t WHERE id = CAST(id AS int)", "DELETE FROM t WHERE CAST((id) AS int) = id",
                "UPDATE t SET v = 'x' WHERE v = v COLLATE \"C\"", "DELETE FROM t WHERE (t).id = id",
                "DELETE FROM t WHERE id = (t.*).id", "DELETE FROM s.t x WHERE (x).id = x.id",
                // a151 F2, F3: a field of a constant, schema-qualified and other calls of constants, types of several
                // words or qualified, COLLATE, OPERATOR()
                "DELETE FROM t WHERE ('(1,x)'::t).id = 1", "DELETE FROM t WHERE ($1).id = 1",
                "DELETE FROM t WHERE s.now() = 1", // any function of no column: one value, unless it is random()
                "DELETE FROM t WHERE pg_catalog.now() IS NOT NULL", "DELETE FROM t WHERE 1::double precision = 1",
                "DELETE FROM t WHERE 1::pg_catalog.int4 = 1", "DELETE FROM t WHERE 'a' COLLATE \"C\" = 'a'",
                "DELETE FROM t WHERE length('a') = 1", "DELETE FROM t WHERE 1 OPERATOR(pg_catalog.=) 1",
                "DELETE FROM t WHERE now()::timestamp with time zone IS NOT NULL",
                // a151 F7: a field named like a word that ends a condition
                "DELETE FROM t WHERE id = 5 AND (ROW(true)::x).limit OR true",
                // a151 F8: an alias or field named like a statement's word
                "DELETE FROM t USING (SELECT 1) AS insert WHERE 1 = 1", "DELETE FROM t USING (SELECT 1) insert WHERE 1 = 1",
                "UPDATE t SET a = 0 FROM (SELECT 'x' AS insert) z WHERE 1 = 1",
                "DELETE FROM t USING (SELECT 1) AS values WHERE 1 = 1",
                // a151 F6: a WHERE on the other relation only
                "DELETE FROM t USING t s2 WHERE s2.id = 1", "UPDATE t SET a = 0 FROM u WHERE u.flag",
                // a151 F4: a MERGE's ON with an OR operand or an AND of only a self-comparison on the target
                "MERGE INTO t USING s ON t.id = s.x OR s.y = 1 WHEN MATCHED THEN DELETE",
                "MERGE INTO t USING s ON s.x = 1 AND t.id = t.id WHEN MATCHED THEN DELETE",
                "MERGE INTO t USING s ON (t.id = s.x OR x = 1) WHEN MATCHED THEN DELETE",
                "MERGE INTO t x USING s ON (x).when = 1 OR true WHEN MATCHED THEN DELETE")) {
            assertFalse(one(sql).hasWhere(), sql);
        }
        for (String sql : List.of("UPDATE t SET a = 0 WHERE true", "DELETE FROM t WHERE TRUE", "DELETE FROM t WHERE id = 1",
                "UPDATE t SET a = (SELECT 1 WHERE 1 = 1) WHERE id = 2", "DELETE FROM t WHERE CURRENT OF c",
                "DELETE FROM t WHERE id IN (SELECT id FROM u WHERE 1 = 1)", "DELETE FROM t WHERE \"a\" = 1",
                "DELETE FROM t USING u WHERE t.id = u.id",
                "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u)", "DELETE FROM t WHERE id = 1 OR id = 2",
                "DELETE FROM t WHERE id BETWEEN 1 AND 5", "DELETE FROM t WHERE true AND id = 1",
                "DELETE FROM t WHERE (id) = (1)", "MERGE INTO t USING s ON (t.id = s.id) WHEN MATCHED THEN DELETE",
                "DELETE FROM t WHERE id = 1 AND (a = a)", "DELETE FROM t WHERE false OR id = 5",
                "DELETE FROM t WHERE ROW(id) = ROW(1)", "DELETE FROM t WHERE id = CAST(a AS int)",
                "DELETE FROM t WHERE (t).id = a", "DELETE FROM t WHERE f(t).id = id",
                "DELETE FROM t WHERE id = pg_catalog.abs(a)", "DELETE FROM t WHERE a::double precision = 1",
                "DELETE FROM t WHERE random() < 0.5", "DELETE FROM t WHERE pg_catalog.random() < 0.5",
                "DELETE FROM t WHERE v COLLATE \"C\" = 'a'", "DELETE FROM t WHERE id OPERATOR(pg_catalog.=) 1",
                "DELETE FROM t USING u WHERE u.id = t.id AND u.flag", "DELETE FROM t USING u WHERE id = u.id",
                "DELETE FROM t AS x USING u WHERE x.id = u.id",
                "MERGE INTO t USING s ON t.id = s.id AND s.x = 1 WHEN MATCHED THEN DELETE",
                "MERGE INTO t USING s ON t.id = s.id OR t.id = s.x WHEN MATCHED THEN DELETE",
                "DELETE FROM t WHERE id IN (VALUES (1), (2))", "DELETE FROM t WHERE random() < 0.5",
                "DELETE FROM t WHERE v = w COLLATE \"C\"", "DELETE FROM t WHERE id = +a",
                "MERGE INTO public.t USING (SELECT 1 AS k) z ON public.t.id = z.k WHEN MATCHED THEN UPDATE SET v = 'w'",
                "MERGE INTO s.t USING u ON s.t.id = u.id WHEN MATCHED THEN DELETE",
                "DELETE FROM t WHERE id = 5 OR (false)", "DELETE FROM t WHERE id::text = '1'",
                "UPDATE t SET a = 0 FROM u WHERE t.id = u.id", "UPDATE t SET a = 0 FROM u WHERE t.id = id",
                "DELETE FROM t USING u WHERE u.id = t.id", "DELETE FROM t WHERE coalesce(a, 0) = 1",
                "DELETE FROM t WHERE now() > created", "DELETE FROM t WHERE s.f(a) = 1", "DELETE FROM t WHERE now = 1",
                "DELETE FROM t WHERE id IS DISTINCT FROM 5", "DELETE FROM t WHERE (r).a = (s).a",
                "DELETE FROM t WHERE id >= 5", "DELETE FROM t WHERE id = OLD.id", "UPDATE t SET a = 0 WHERE id = new.id",
                "DELETE FROM t AS x WHERE x.id = f.id", "DELETE FROM ONLY s.t WHERE id = u.id",
                "DELETE FROM t WHERE \"ID\" = id", "DELETE FROM t WHERE id IN (id, 5)", "DELETE FROM t WHERE id IN (5)",
                "DELETE FROM t WHERE (a + b) * c = a + (b * c)", "DELETE FROM t WHERE id = (SELECT id FROM u)",
                "DELETE FROM t WHERE id IN (SELECT id FROM u)", "DELETE FROM t WHERE (id) = 5",
                "DELETE FROM t WHERE CAST(a AS int) = 1", "DELETE FROM t WHERE a = date '2020-01-01'",
                "DELETE FROM t WHERE f(a) = f(b)", "DELETE FROM t WHERE j->>'a' = j->>'b'", "DELETE FROM t WHERE a[1] = a[2]",
                "UPDATE t SET a = 0 WHERE substr(x, 1, 1) = substr(x, 2, 1)",
                "MERGE INTO t USING s ON t.id + 1 = t.id + 2 WHEN MATCHED THEN DELETE",
                // columns named like keywords PostgreSQL also takes for names (were read as the keywords: constant)
                "DELETE FROM t WHERE exists", "DELETE FROM t WHERE NOT exists", "DELETE FROM t WHERE escape = 'x'",
                "DELETE FROM t WHERE unknown", "DELETE FROM t WHERE between = 1", "DELETE FROM t WHERE exists = true",
                "DELETE FROM t WHERE 1 BETWEEN between AND 2", "DELETE FROM t WHERE escape LIKE 'a' ESCAPE escape",
                "UPDATE t SET a = 0 WHERE unknown IS UNKNOWN", "DELETE FROM t WHERE 1 = 1 AND between = 2",
                "DELETE FROM t WHERE escape BETWEEN 1 AND 2", "DELETE FROM t WHERE flag IS TRUE",
                "DELETE FROM t WHERE (id = 5) IS TRUE", "DELETE FROM t WHERE id IN (id, a)",
                "DELETE FROM t WHERE (id = id) IS NOT TRUE", "DELETE FROM t WHERE id IN (id, (SELECT 1))")) {
            assertTrue(one(sql).hasWhere(), sql);
        }
    }

    /**
     * a126 (H3): {@code (x).f} calls {@code f(x)} (attribute notation). Before, {@code (0::oid).lo_create} created a
     * large object and {@code (1::bigint).pg_advisory_lock} took a lock, each read as a SELECT that writes nothing;
     * the same call written as {@code f(x)} was a write. Also when the parser cannot read the statement.
     */
    @Test
    void aWritingBuiltInCalledInAttributeNotationIsAWrite() {
        for (String sql : List.of("SELECT (0::oid).lo_create", "SELECT (1::bigint).pg_advisory_lock",
                "SELECT count((x).pg_cancel_backend) FROM (SELECT 1 AS x) s", "SELECT true AS true, (0::oid).lo_create",
                "SELECT (16546::oid).LO_UNLINK")) {
            StatementFacts f = one(sql);
            assertTrue(f.writes(), sql);
        }
        assertFalse(one("SELECT (c).lo_create_date FROM t c").writes(), "a field of another name");
    }

    @Test
    void updateWithoutWhereHasNoWhereAndWritesItsSetColumns() {
        StatementFacts f = one("UPDATE t SET a=1");
        assertEquals(StatementKind.UPDATE, f.kind());
        assertFalse(f.hasWhere());
        assertEquals(Set.of(new ColumnRef("t", "a")), f.columnsWritten());
    }

    @Test
    void whereCurrentOfCountsAsWhereThoughTheParserFails() {
        StatementFacts f = one("UPDATE t SET a = 1 WHERE CURRENT OF c");
        assertEquals(StatementKind.UPDATE, f.kind());
        assertTrue(f.hasWhere());
        assertTrue(f.unparsed());
        assertEquals(Set.of(t("t")), f.tablesWritten());
    }

    @Test
    void deletingCteMakesTheSelectADeleteWithoutWhere() {
        StatementFacts f = one("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d");
        assertEquals(StatementKind.SELECT, f.kind());
        assertTrue(f.dataModifyingCte());
        assertTrue(f.writes());
        assertFalse(f.hasWhere());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertTrue(f.involves(StatementKind.DELETE));
        assertFalse(f.tablesRead().contains(t("d")), "CTE names are not tables");
    }

    @Test
    void cteWithWhereKeepsWhere() {
        StatementFacts f = one("WITH d AS (DELETE FROM t WHERE id = 3 RETURNING *) SELECT * FROM d");
        assertTrue(f.hasWhere());
        assertTrue(f.dataModifyingCte());
    }

    @Test
    void insertWithSchemaNamesTargetAndColumns() {
        StatementFacts f = one("INSERT INTO s.t (a, b) VALUES (1, 2)");
        assertEquals(StatementKind.INSERT, f.kind());
        assertEquals(Set.of(new TableRef("s", "t")), f.tablesWritten());
        assertEquals("s.t", f.tablesWritten().iterator().next().qualified());
        assertEquals(Set.of(new ColumnRef("s.t", "a"), new ColumnRef("s.t", "b")), f.columnsWritten());
    }

    @Test
    void mergeWritesTargetAndReadsSource() {
        StatementFacts f = one("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a");
        assertEquals(StatementKind.MERGE, f.kind());
        assertTrue(f.writes());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertEquals(Set.of(t("s")), f.tablesRead());
        assertTrue(f.columnsWritten().contains(new ColumnRef("t", "a")));
        assertTrue(f.innerKinds().contains(StatementKind.UPDATE));
    }

    @Test
    void joinColumnsResolveAliasesToTables() {
        StatementFacts f = one(
                "SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = $1");
        assertEquals(StatementKind.SELECT, f.kind());
        assertFalse(f.writes());
        assertEquals(Set.of(t("users"), t("orders")), f.tablesRead());
        assertEquals(Set.of(new ColumnRef("users", "email"), new ColumnRef("orders", "total"),
                new ColumnRef("orders", "user_id"), new ColumnRef("users", "id")), f.columnsRead());
        assertTrue(f.hasWhere());
    }

    @Test
    void selectIntoWritesTheNewTable() {
        StatementFacts f = one("SELECT * INTO newt FROM t");
        assertEquals(StatementKind.SELECT, f.kind());
        assertTrue(f.writes());
        assertEquals(Set.of(t("newt")), f.tablesWritten());
        assertEquals(Set.of(t("t")), f.tablesRead());
    }

    @Test
    void valuesAndTableAreSelects() {
        assertEquals(StatementKind.SELECT, one("VALUES (1, 2)").kind());
        StatementFacts table = one("TABLE t");
        assertEquals(StatementKind.SELECT, table.kind());
        assertEquals(Set.of(t("t")), table.tablesRead());
    }

    @Test
    void stringThatLooksLikeADropIsASelect() {
        StatementFacts f = one("SELECT 'DROP TABLE t'");
        assertEquals(StatementKind.SELECT, f.kind());
        assertFalse(f.writes());
        assertTrue(f.tablesWritten().isEmpty());
    }

    @Test
    void lineCommentContainingDropIsIgnored() {
        StatementFacts f = one("-- DROP TABLE t\nSELECT 1");
        assertEquals(StatementKind.SELECT, f.kind());
        assertFalse(f.writes());
    }

    @Test
    void semicolonInDollarQuoteDoesNotSplit() {
        List<StatementFacts> s = all("SELECT $$;$$; SELECT 2");
        assertEquals(2, s.size());
        assertEquals("SELECT $$;$$", s.get(0).text());
        assertEquals("SELECT 2", s.get(1).text());
    }

    @Test
    void backslashEscapedQuoteInEStringDoesNotHideTheDrop() {
        List<StatementFacts> s = all("SELECT E'it\\'s'; DROP TABLE x");
        assertEquals(2, s.size());
        assertEquals(StatementKind.SELECT, s.get(0).kind());
        assertEquals(StatementKind.DROP, s.get(1).kind());
        assertEquals(Set.of(t("x")), s.get(1).tablesWritten());
    }

    @Test
    void transactionBlockGivesThreeStatements() {
        List<StatementFacts> s = all("BEGIN; UPDATE a SET x = 1 WHERE id = 2; COMMIT");
        assertEquals(List.of(StatementKind.BEGIN, StatementKind.UPDATE, StatementKind.COMMIT),
                s.stream().map(StatementFacts::kind).toList());
        assertTrue(s.get(1).hasWhere());
        assertFalse(s.get(0).unparsed());
        assertFalse(s.get(2).unparsed());
        assertFalse(s.get(0).writes());
    }

    @Test
    void transactionSynonymsMapToTheirKinds() {
        assertEquals(StatementKind.BEGIN, one("START TRANSACTION ISOLATION LEVEL SERIALIZABLE").kind());
        assertEquals(StatementKind.COMMIT, one("END").kind());
        assertEquals(StatementKind.ROLLBACK, one("ABORT").kind());
        assertEquals(StatementKind.ROLLBACK, one("ROLLBACK TO SAVEPOINT s").kind());
        assertEquals(StatementKind.SAVEPOINT, one("SAVEPOINT s").kind());
        assertEquals(StatementKind.RELEASE, one("RELEASE SAVEPOINT s").kind());
    }

    // ------------------------------------------------------------------ PREPARE / EXECUTE / EXPLAIN / DECLARE

    @Test
    void prepareCarriesTheInnerDeleteAndExecuteNamesIt() {
        List<StatementFacts> s = all("PREPARE p AS DELETE FROM t; EXECUTE p");
        assertEquals(2, s.size());
        StatementFacts prepare = s.get(0);
        assertEquals(StatementKind.PREPARE, prepare.kind());
        assertEquals(Optional.of("p"), prepare.preparedName());
        StatementFacts inner = prepare.inner().orElseThrow();
        assertEquals(StatementKind.DELETE, inner.kind());
        assertFalse(inner.hasWhere());
        assertEquals("DELETE FROM t", inner.text());
        assertTrue(prepare.involves(StatementKind.DELETE));
        assertFalse(prepare.hasWhere());
        StatementFacts execute = s.get(1);
        assertEquals(StatementKind.EXECUTE, execute.kind());
        assertEquals(Optional.of("p"), execute.preparedName());
    }

    @Test
    void deallocateNamesItsStatementOrAll() {
        assertEquals(Optional.of("p"), one("DEALLOCATE p").preparedName());
        assertEquals(Optional.of("ALL"), one("DEALLOCATE PREPARE ALL").preparedName());
        assertEquals(StatementKind.DEALLOCATE, one("DEALLOCATE p").kind());
    }

    @Test
    void explainAnalyzeMirrorsTheStatementItRuns() {
        StatementFacts f = one("EXPLAIN ANALYZE DELETE FROM t");
        assertEquals(StatementKind.EXPLAIN, f.kind());
        assertTrue(f.writes());
        assertFalse(f.hasWhere());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertEquals(StatementKind.DELETE, f.inner().orElseThrow().kind());
    }

    @Test
    void plainExplainDoesNotWrite() {
        StatementFacts f = one("EXPLAIN DELETE FROM t");
        assertFalse(f.writes());
        assertTrue(f.tablesWritten().isEmpty());
        assertFalse(one("EXPLAIN (ANALYZE false) DELETE FROM t").writes());
        assertTrue(one("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t").writes());
    }

    @Test
    void explainRunsItsStatementOnlyWhenItAnalyses() {
        assertTrue(Analyzer.explainRuns("EXPLAIN ANALYZE SELECT 1", true));
        assertTrue(Analyzer.explainRuns("explain (costs off, analyse) SELECT 1", true));
        assertTrue(Analyzer.explainRuns("EXPLAIN VERBOSE ANALYZE SELECT 1", true));
        assertTrue(Analyzer.explainRuns("EXPLAIN (ANALYZE SELECT 1", true)); // options that do not close
        assertFalse(Analyzer.explainRuns("EXPLAIN SELECT 1", true));
        assertFalse(Analyzer.explainRuns("EXPLAIN VERBOSE SELECT 1", true));
        assertFalse(Analyzer.explainRuns("EXPLAIN (ANALYZE false, VERBOSE) SELECT 1", true));
        assertFalse(Analyzer.explainRuns("EXPLAIN (ANALYZE 'off') SELECT 1", true));
    }

    @Test
    void declareCursorCarriesItsQuery() {
        StatementFacts f = one("DECLARE c CURSOR FOR SELECT * FROM secret");
        assertEquals(StatementKind.DECLARE, f.kind());
        assertEquals(Set.of(t("secret")), f.tablesRead());
        assertEquals(StatementKind.SELECT, f.inner().orElseThrow().kind());
        assertEquals(StatementKind.FETCH, one("FETCH 10 FROM c").kind());
        assertEquals(StatementKind.CLOSE, one("CLOSE c").kind());
    }

    // ------------------------------------------------------------------ COPY

    @Test
    void copyToProgramIsAnExportToAProgram() {
        StatementFacts f = one("COPY t TO PROGRAM 'cat'");
        assertEquals(StatementKind.COPY, f.kind());
        CopySpec copy = f.copy().orElseThrow();
        assertEquals(CopySpec.Direction.TO, copy.direction());
        assertEquals(CopySpec.Target.PROGRAM, copy.target());
        assertEquals(Optional.of(t("t")), copy.table());
        assertFalse(f.unparsed());
        assertFalse(f.writes());
    }

    @Test
    void copyFromServerFileWritesTheTable() {
        StatementFacts f = one("COPY t FROM '/tmp/x'");
        CopySpec copy = f.copy().orElseThrow();
        assertEquals(CopySpec.Direction.FROM, copy.direction());
        assertEquals(CopySpec.Target.FILE, copy.target());
        assertTrue(f.writes());
        assertEquals(Set.of(t("t")), f.tablesWritten());
    }

    @Test
    void copyOfAQueryToStdoutReadsTheQueryTables() {
        StatementFacts f = one("COPY (SELECT * FROM t) TO STDOUT WITH (FORMAT csv)");
        CopySpec copy = f.copy().orElseThrow();
        assertTrue(copy.query());
        assertEquals(Optional.empty(), copy.table());
        assertEquals(CopySpec.Target.STDOUT, copy.target());
        assertEquals("csv", copy.format());
        assertEquals(Set.of(t("t")), f.tablesRead());
        assertFalse(f.writes());
    }

    @Test
    void copyFromStdinWritesTheTable() {
        StatementFacts f = one("COPY t FROM STDIN");
        CopySpec copy = f.copy().orElseThrow();
        assertEquals(CopySpec.Target.STDIN, copy.target());
        assertEquals("text", copy.format());
        assertTrue(f.writes());
        assertFalse(f.unparsed());
    }

    @Test
    void copyOfADeleteQueryIsADeleteWithoutWhere() {
        StatementFacts f = one("COPY (DELETE FROM t RETURNING *) TO STDOUT");
        assertTrue(f.writes());
        assertFalse(f.hasWhere());
        assertTrue(f.involves(StatementKind.DELETE));
    }

    // ------------------------------------------------------------------ functions

    @Test
    void serverFileFunctionInSelectListIsReported() {
        StatementFacts f = one("SELECT pg_read_file('/etc/passwd')");
        assertEquals(Set.of("pg_read_file"), f.functions());
        assertFalse(f.writes());
    }

    @Test
    void functionInFromIsReported() {
        StatementFacts f = one("SELECT * FROM pg_ls_dir('.')");
        assertEquals(Set.of("pg_ls_dir"), f.functions());
    }

    @Test
    void schemaQualifiedFunctionKeepsItsSchema() {
        assertEquals(Set.of("pg_catalog.pg_read_file"),
                one("SELECT pg_catalog.pg_read_file('/etc/passwd')").functions());
    }

    @Test
    void functionsInSubqueriesAndCtesAreReported() {
        StatementFacts f = one("WITH x AS (SELECT lo_import('/etc/passwd') AS o) "
                + "SELECT * FROM t WHERE a IN (SELECT pg_read_binary_file(b) FROM u)");
        assertTrue(f.functions().containsAll(Set.of("lo_import", "pg_read_binary_file")), f.functions()::toString);
    }

    @Test
    void functionsAreFoundByTheLexerWhenTheParserFails() {
        StatementFacts f = one("SELECT pg_read_file('x') FROM t WHERE CURRENT OF c");
        assertTrue(f.unparsed());
        assertTrue(f.functions().contains("pg_read_file"));
    }

    // ------------------------------------------------------------------ roles and settings

    @Test
    void setRoleNamesTheRole() {
        StatementFacts f = one("SET ROLE postgres");
        assertEquals(StatementKind.SET_ROLE, f.kind());
        assertEquals(Optional.of("postgres"), f.roleTarget());
        assertFalse(f.unparsed());
        assertEquals(Optional.of("admin"), one("SET LOCAL ROLE admin").roleTarget());
        assertEquals(Optional.of("none"), one("SET ROLE NONE").roleTarget());
        assertEquals(Optional.of("Admin"), one("SET ROLE 'Admin'").roleTarget());
    }

    @Test
    void roleGivenAsStringIsNotTakenFromTheCache() {
        assertEquals(Optional.of("nobody"), one("SET ROLE 'nobody'").roleTarget());
        assertEquals(Optional.of("postgres"), one("SET ROLE 'postgres'").roleTarget());
    }

    /**
     * A CTE may be named like a statement keyword (values, insert, select: unreserved or column-name keywords): the
     * statement is what follows the WITH list (an attacker's pass had {@code WITH values AS (SELECT 1) DELETE FROM t}
     * read as a SELECT outside production).
     */
    @Test
    void aCteNamedLikeAStatementKeywordIsNotTheStatement() {
        for (String sql : List.of("WITH values AS (SELECT 1) DELETE FROM gw_ledger",
                "WITH values(a) AS MATERIALIZED (SELECT 1), select AS (SELECT 2) DELETE FROM gw_ledger",
                "WITH RECURSIVE insert(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM insert WHERE n < 3) "
                        + "SEARCH DEPTH FIRST BY n SET o CYCLE n SET c USING p DELETE FROM gw_ledger")) {
            StatementFacts f = one(sql);
            assertEquals(StatementKind.DELETE, f.kind(), sql);
            assertFalse(f.hasWhere(), sql);
            assertTrue(f.tablesWritten().stream().anyMatch(t -> t.name().endsWith("gw_ledger")), sql + ": " + f);
        }
        assertEquals(StatementKind.UPDATE, one("WITH insert AS (SELECT 1) UPDATE gw_ledger SET total = 0").kind());
        assertEquals(StatementKind.SELECT, one("WITH delete AS (SELECT 1) SELECT * FROM delete").kind());
    }

    private static LexicalAnalysis.RoleBySetConfig roleClause(String sql) {
        return LexicalAnalysis.roleBySetConfig(Lexer.tokenize(sql, true).tokens());
    }

    /**
     * A routine's SET role clause stands outside parentheses, before its SQL-standard body: a parameter, a column of
     * RETURNS TABLE or a type named update does not hide it (an attacker's pass ran a body as another role with
     * {@code CREATE FUNCTION f(update int) ... SET role = x}), and an UPDATE ... SET role = of a body or a rule is a
     * column, not the setting.
     */
    @Test
    void aRoutinesSetRoleClauseIsFoundWhateverItsParametersAreCalled() {
        for (String sql : List.of(
                "CREATE FUNCTION f(update int) RETURNS text LANGUAGE sql SET role = boss AS 'SELECT 1'",
                "CREATE PROCEDURE p(IN update int) LANGUAGE sql SET role = boss AS 'SELECT 1'",
                "CREATE FUNCTION f() RETURNS TABLE (update int) LANGUAGE sql SET role = boss AS 'SELECT 1'",
                "CREATE FUNCTION f(x update) RETURNS update LANGUAGE sql SET role = boss AS 'SELECT 1'",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1' SET \"ROLE\" TO boss",
                "ALTER FUNCTION f(update int) SET role = boss",
                "ALTER ROUTINE f(update int) SET role TO boss")) {
            LexicalAnalysis.RoleBySetConfig found = roleClause(sql);
            assertTrue(found != null && found.kinds().contains(StatementKind.SET_ROLE) && found.target().equals("boss"),
                    sql + ": " + found);
        }
        for (String sql : List.of(
                "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC UPDATE t SET role = 1; END",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN (SELECT 1)",
                "CREATE RULE r AS ON UPDATE TO t DO INSTEAD UPDATE u SET role = 'x'",
                "CREATE OR REPLACE RULE r AS ON INSERT TO t DO ALSO (UPDATE u SET role = 'x')",
                "CREATE FUNCTION f(x int DEFAULT 1) RETURNS int LANGUAGE sql SET search_path = a, role AS 'SELECT 1'")) {
            assertEquals(null, roleClause(sql), sql);
        }
    }

    @Test
    void setSessionAuthorizationNamesTheRole() {
        StatementFacts f = one("SET SESSION AUTHORIZATION postgres");
        assertEquals(StatementKind.SET_SESSION_AUTHORIZATION, f.kind());
        assertEquals(Optional.of("postgres"), f.roleTarget());
    }

    @Test
    void resetRoleAndResetSessionAuthorizationAreResetRole() {
        assertEquals(StatementKind.RESET_ROLE, one("RESET ROLE").kind());
        assertEquals(StatementKind.RESET_ROLE, one("RESET SESSION AUTHORIZATION").kind());
        assertEquals(StatementKind.RESET, one("RESET work_mem").kind());
    }

    @Test
    void otherSetsAreSet() {
        StatementFacts f = one("SET search_path TO a, b");
        assertEquals(StatementKind.SET, f.kind());
        assertFalse(f.writes());
        assertFalse(f.unparsed());
        assertEquals(StatementKind.SHOW, one("SHOW work_mem").kind());
    }

    @Test
    void alterSystemIsAlterSystem() {
        StatementFacts f = one("ALTER SYSTEM SET work_mem = '1GB'");
        assertEquals(StatementKind.ALTER_SYSTEM, f.kind());
        assertTrue(f.writes());
        assertFalse(f.unparsed());
    }

    // ------------------------------------------------------------------ DO, DDL, privileges, utility

    @Test
    void unicodeEscapesAreReadAsTheServerDecodesThem() {
        // An attacker's pass (2026-12-05): the body of a U&'' string was read as written, so \002A/ did not end the
        // comment it ends once decoded, and this DROP ran as a DO that drops nothing; a UESCAPE clause after a U&""
        // name stood between the name and its parenthesis, so no function call was seen at all.
        List<StatementFacts> body = analyzer.analyze("DO U&'BEGIN /* \\002A/ DROP TABLE t; /\\002A */ END'")
                .statements().get(0).nested();
        assertTrue(body.stream().anyMatch(f -> f.kind() == StatementKind.DROP && f.tablesWritten().contains(t("t"))),
                body.toString());
        List<StatementFacts> bang = analyzer.analyze("DO U&'BEGIN /* !002A/ TRUNCATE t; /!002A */ END' UESCAPE '!'")
                .statements().get(0).nested();
        assertTrue(bang.stream().anyMatch(f -> f.kind() == StatementKind.TRUNCATE), bang.toString());
        assertEquals(Set.of("lo_from_bytea"), one("SELECT U&\"!006Co_from_bytea\" UESCAPE '!' (0, 'x')").functions());
        assertEquals(Set.of("lo_from_bytea"), one("SELECT U&\"lo_from_bytea\" /* c */ UESCAPE\n$$!$$ (0, 'x')")
                .functions());
        assertEquals(Set.of("pg_temp.f1"), one("SELECT pg_temp.U&\"f!0031\" UESCAPE '!' ()").functions());
        assertEquals(Optional.of("x"), one("SELECT set_config(U&'\\0072ole', 'x', false)").roleTarget());
        assertEquals(Optional.of("x"), one("SELECT set_config(U&'?0072ole' UESCAPE '?', 'x', false)").roleTarget());
        // A literal that is not the whole name argument names no constant setting (a helper's pass).
        assertEquals(Optional.of("?"), one("SELECT set_config('ro' || 'le', 'x', false)").roleTarget());
        // A malformed escape or UESCAPE is the server's error; the name stays as written.
        assertEquals(Set.of("lo_from_bytea"), one("SELECT U&\"lo_from_bytea\" (0, 'x')").functions());
    }

    /**
     * An attacker's pass (finding 2): PL/pgSQL evaluates every expression as a SELECT, but only a body's statements
     * and assignments were judged, so set_config('role', ...) in an IF condition, a DEFAULT, RAISE's arguments,
     * ASSERT, a WHILE condition or a FOR loop's bound switched the role under a DO the role rule never saw.
     */
    @Test
    void setConfigInEveryPlpgsqlExpressionIsARoleChange() {
        String call = "set_config('role', 'shop_readwrite', false)";
        for (String body : List.of("BEGIN IF " + call + " IS NOT NULL THEN NULL; END IF; END",
                "BEGIN IF false THEN NULL; ELSIF " + call + " IS NULL THEN NULL; END IF; END",
                "DECLARE x text DEFAULT " + call + "; BEGIN END",
                "BEGIN RAISE NOTICE '%', " + call + "; END",
                "BEGIN ASSERT " + call + " IS NOT NULL; END",
                "BEGIN WHILE " + call + " IS NULL LOOP EXIT; END LOOP; END",
                "BEGIN FOR i IN 1..length(" + call + ") LOOP NULL; END LOOP; END",
                "BEGIN LOOP EXIT WHEN " + call + " IS NOT NULL; END LOOP; END",
                "BEGIN CASE " + call + " WHEN 'x' THEN NULL; ELSE NULL; END CASE; END",
                "DECLARE x text; BEGIN x := " + call + "; END",
                "BEGIN IF pg_catalog.set_config('role', 'shop_readwrite', false) IS NULL THEN NULL; END IF; END",
                "BEGIN IF \"set_config\"('role', 'shop_readwrite', false) IS NULL THEN NULL; END IF; END",
                "BEGIN IF U&\"!0073et_config\" UESCAPE '!' ('role', 'shop_readwrite', false) IS NULL THEN NULL; "
                        + "END IF; END")) {
            StatementFacts f = one("DO $$" + body + "$$");
            assertTrue(f.allStatements().stream().anyMatch(s -> s.innerKinds().contains(StatementKind.SET_ROLE)
                    && s.roleTarget().equals(Optional.of("shop_readwrite"))), body + ": " + f.allStatements());
        }
        StatementFacts lo = one("DO $$BEGIN IF lo_from_bytea(0, 'x') > 0 THEN NULL; END IF; END$$");
        assertTrue(lo.nested().stream().anyMatch(s -> s.kind() == StatementKind.SELECT && s.writes()),
                lo.nested().toString());
        // An operator in a condition runs its function as one in a statement does: the catalog says which.
        assertTrue(one("DO $$BEGIN IF 0::oid OPERATOR(pg_temp.###) 'x'::bytea > 0 THEN NULL; END IF; END$$")
                .implicitCalls().contains("op:###"));
        Analyzer.RoutineAnalysis body = analyzer.analyzeRoutineBody("plpgsql",
                "BEGIN IF a OPERATOR(s.###) b THEN RETURN 1; END IF; RETURN 0; END", true);
        assertTrue(body.functions().contains("op:###"), body.functions().toString());
    }

    /** Conditions that call harmless built-ins (length, now, coalesce, format) list no write and no role change. */
    @Test
    void harmlessBuiltInsInPlpgsqlExpressionsChangeNothing() {
        StatementFacts f = one("DO $$DECLARE n int DEFAULT length('abc'); BEGIN IF now() IS NOT NULL AND "
                + "coalesce(n, 0) > 0 THEN RAISE NOTICE '%', format('%s', n); END IF; "
                + "PERFORM set_config('search_path', 'public', false); END$$");
        assertTrue(f.allStatements().stream().noneMatch(s -> s.innerKinds().contains(StatementKind.SET_ROLE)),
                f.allStatements().toString());
        assertTrue(f.nested().stream().noneMatch(s -> s.kind() == StatementKind.SELECT && s.unparsed()),
                f.nested().toString());
    }

    /**
     * Finding 3: an aggregate or an operator whose function is set_config runs it with arguments its text does not
     * show: creating one is a role change of an unknown role, as {@code SELECT set_config(x, y, false)} is.
     */
    @Test
    void anAggregateOrOperatorRunningSetConfigIsARoleChange() {
        for (String sql : List.of(
                "CREATE AGGREGATE pg_temp.agg(text, boolean) (sfunc = set_config, stype = text, initcond = 'role')",
                "CREATE AGGREGATE agg(text, boolean) (SFUNC = pg_catalog.set_config, STYPE = text)",
                "CREATE OPERATOR pg_temp.### (leftarg = text, rightarg = text, function = set_config)",
                // A string names the function too (defGetQualifiedName); a helper's review of aab7d40f.
                "CREATE AGGREGATE ag(text, bool) (sfunc = 'set_config', stype = text, initcond = 'role')",
                "CREATE AGGREGATE ag(text, bool) (SFUNC = 'pg_catalog.set_config', STYPE = text)")) {
            StatementFacts f = one(sql);
            assertTrue(f.innerKinds().contains(StatementKind.SET_ROLE), sql);
            assertEquals(Optional.of("?"), f.roleTarget(), sql);
        }
        assertFalse(one("CREATE AGGREGATE agg(int) (sfunc = int4pl, stype = int)").innerKinds()
                .contains(StatementKind.SET_ROLE));
        assertFalse(one("CREATE TABLE set_config_log (set_config text)").innerKinds().contains(StatementKind.SET_ROLE));
    }

    @Test
    void doBlockWritesAndIsNotAnalysedFurther() {
        StatementFacts f = one("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$");
        assertEquals(StatementKind.DO, f.kind());
        assertTrue(f.writes());
        assertTrue(f.tablesWritten().isEmpty());
    }

    @Test
    void doBlockFunctionCallsAreReported() {
        StatementFacts f = one("DO $body$ BEGIN PERFORM pg_read_file('x'); "
                + "EXECUTE 'SELECT lo_export(1, ''/tmp/x'')'; END $body$");
        assertEquals(Set.of("pg_read_file", "lo_export"), f.functions());
    }

    @Test
    void doBodiesWithDifferentFunctionsAreNotConfusedByTheCache() {
        assertEquals(Set.of("now"), one("DO $$ BEGIN PERFORM now(); END $$").functions());
        assertEquals(Set.of("pg_read_file"), one("DO $$ BEGIN PERFORM pg_read_file('x'); END $$").functions());
    }

    @Test
    void grantOnTableIsAGrantOfThatTable() {
        StatementFacts f = one("GRANT ALL ON t TO bob");
        assertEquals(StatementKind.GRANT, f.kind());
        assertEquals("TABLE", f.objectType());
        assertTrue(f.writes());
        assertEquals(Set.of(t("t")), f.tablesWritten());
        assertEquals("ROLE", one("GRANT admin TO bob").objectType());
        assertEquals(StatementKind.REVOKE, one("REVOKE SELECT ON t FROM bob").kind());
    }

    @Test
    void createTableAsReadsItsQueryAndWritesTheNewTable() {
        StatementFacts f = one("CREATE TABLE x AS SELECT * FROM t");
        assertEquals(StatementKind.CREATE, f.kind());
        assertEquals("TABLE", f.objectType());
        assertEquals(Set.of(t("x")), f.tablesWritten());
        assertEquals(Set.of(t("t")), f.tablesRead());
        assertTrue(f.writes());
    }

    @Test
    void objectTypesOfDdl() {
        assertEquals("MATERIALIZED VIEW", one("CREATE MATERIALIZED VIEW mv AS SELECT 1").objectType());
        assertEquals("INDEX", one("CREATE UNIQUE INDEX i ON t (a)").objectType());
        assertEquals("VIEW", one("CREATE OR REPLACE VIEW v AS SELECT * FROM t").objectType());
        assertEquals("SCHEMA", one("DROP SCHEMA s CASCADE").objectType());
        assertEquals("EXTENSION", one("CREATE EXTENSION IF NOT EXISTS hstore").objectType());
        assertEquals("ROLE", one("CREATE USER bob").objectType());
        assertEquals("FUNCTION", one("DROP FUNCTION f(int)").objectType());
        assertEquals("TABLE", one("ALTER TABLE t ADD COLUMN c int").objectType());
        assertEquals(Set.of(t("t")), one("ALTER TABLE t ADD COLUMN c int").tablesWritten());
        assertEquals(Set.of(t("t")), one("CREATE INDEX CONCURRENTLY i ON t (a)").tablesWritten());
        assertEquals("TABLE", one("COMMENT ON TABLE t IS 'x'").objectType());
        assertEquals(StatementKind.DROP_OWNED, one("DROP OWNED BY bob").kind());
        assertEquals(StatementKind.REASSIGN_OWNED, one("REASSIGN OWNED BY a TO b").kind());
    }

    @Test
    void utilityStatementsAreUnderstoodWithoutTheParser() {
        StatementFacts listen = one("LISTEN ch");
        assertEquals(StatementKind.LISTEN, listen.kind());
        assertFalse(listen.unparsed());
        assertFalse(listen.writes());
        StatementFacts vacuum = one("VACUUM t");
        assertEquals(StatementKind.VACUUM, vacuum.kind());
        assertEquals(Set.of(t("t")), vacuum.tablesWritten());
        assertTrue(vacuum.writes());
        assertFalse(vacuum.unparsed());
        StatementFacts lock = one("LOCK TABLE t");
        assertEquals(StatementKind.LOCK, lock.kind());
        assertEquals(Set.of(t("t")), lock.tablesWritten());
        assertTrue(lock.writes());
        assertFalse(lock.unparsed());
        assertEquals(StatementKind.NOTIFY, one("NOTIFY ch, 'hello'").kind());
        // As pg_notify, pg_stat_reset and VACUUM are: a message to other sessions, new statistics (attacker pass
        // a109: both ran unapproved on prod, where writes wait for approval, while pg_notify and VACUUM were held).
        assertTrue(one("NOTIFY ch, 'hello'").writes());
        assertTrue(one("ANALYZE t").writes());
        assertTrue(one("ANALYZE").writes());
        assertEquals(StatementKind.CHECKPOINT, one("CHECKPOINT").kind());
        assertTrue(one("CHECKPOINT").writes());
        assertTrue(one("SELECT brin_summarize_new_values('i')").writes());
        assertTrue(one("SELECT pg_catalog.gin_clean_pending_list('i'::regclass)").writes());
        // Each assigns a transaction id (attacker pass a139, F5); the _if_assigned forms and the snapshot do not.
        assertTrue(one("SELECT txid_current()").writes());
        assertTrue(one("SELECT pg_catalog.pg_current_xact_id()").writes());
        assertFalse(one("SELECT txid_current_if_assigned(), pg_current_xact_id_if_assigned()").writes());
        assertFalse(one("SELECT txid_current_snapshot()").writes());
        // SELECT ... FOR UPDATE / SHARE locks the rows it reads, as LOCK locks a table (attacker pass a112, H6).
        for (String locking : List.of("SELECT * FROM t FOR UPDATE", "SELECT * FROM t WHERE a = 1 FOR NO KEY UPDATE",
                "SELECT * FROM t FOR SHARE SKIP LOCKED", "SELECT * FROM t FOR KEY SHARE OF t NOWAIT",
                "SELECT * FROM (SELECT * FROM t FOR UPDATE) s", "WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x",
                "select * from t for update of t skip locked",
                "SELECT * FROM t WHERE a = ANY('{1}'::int[]) ORDER BY 1 LIMIT 1 FOR UPDATE")) {
            assertTrue(one(locking).writes(), locking);
        }
        // FOR READ ONLY is the empty locking clause (a139 F1): a read, where a lock in a subquery still writes.
        assertFalse(one("SELECT id FROM t WHERE id = 10 FOR READ ONLY").writes());
        assertFalse(one("select * from t for read only").writes());
        assertTrue(one("SELECT * FROM (SELECT * FROM t FOR UPDATE) s FOR READ ONLY").writes());
        assertFalse(one("SELECT substring('abc' FROM 1 FOR 2)").writes());
        assertFalse(one("SELECT * FROM t").writes());
        assertFalse(one("UNLISTEN *").writes());
        assertEquals(StatementKind.DISCARD, one("DISCARD ALL").kind());
        assertEquals(StatementKind.CHECKPOINT, one("CHECKPOINT").kind());
        assertEquals(StatementKind.REFRESH, one("REFRESH MATERIALIZED VIEW CONCURRENTLY mv").kind());
        assertEquals(StatementKind.CALL, one("CALL p(1)").kind());
        assertEquals(Set.of("p"), one("CALL p(1)").functions());
    }

    // ------------------------------------------------------------------ what cannot be understood

    @Test
    void garbageIsUnparsedOther() {
        StatementFacts f = one("SELEC 1 FROM");
        assertEquals(StatementKind.OTHER, f.kind());
        assertTrue(f.unparsed());
        assertTrue(analyzer.analyze("SELEC 1 FROM").anyUnparsed());
    }

    @Test
    void unterminatedStringIsOneUnparsedStatement() {
        List<StatementFacts> s = all("SELECT 'abc; DROP TABLE t");
        assertEquals(1, s.size());
        assertTrue(s.get(0).unparsed());
        assertEquals("SELECT 'abc; DROP TABLE t", s.get(0).text());
    }

    @Test
    void unterminatedCommentIsUnparsed() {
        List<StatementFacts> s = all("SELECT 1; /* DROP TABLE t");
        assertEquals(2, s.size());
        assertTrue(s.get(1).unparsed());
    }

    @Test
    void emptyTextIsOneEmptyStatementAndEmptyStatementsAreDropped() {
        assertEquals(StatementKind.EMPTY, one("").kind());
        assertEquals(StatementKind.EMPTY, one("  -- nothing\n").kind());
        assertEquals(StatementKind.EMPTY, one(";;").kind());
        assertEquals(1, all("SELECT 1;;").size());
        assertEquals(StatementKind.EMPTY, one(null).kind());
    }

    @Test
    void neverThrowsOnOddInput() {
        String[] inputs = {"$", "$$", "$a$", "\"", "E'\\", "/*", "((((", "))))", ";", "U&\"x", "SELECT $1$2",
            "\u0000", "SELECT 1 FROM t WHERE a = '\\'; DROP TABLE t; --'", "create function f() begin atomic",
            "x".repeat(100_000), "SELECT " + "(".repeat(5000) + "1" + ")".repeat(5000)};
        for (String input : inputs) {
            Analysis a = analyzer.analyze(input);
            assertFalse(a.statements().isEmpty(), input);
        }
    }

    @Test
    void veryLongStatementSkipsTheParser() {
        String sql = "SELECT * FROM t WHERE a IN (" + "1,".repeat(40_000) + "1)";
        long before = analyzer.parserRuns();
        StatementFacts f = one(sql);
        assertEquals(before, analyzer.parserRuns());
        // The lexer proves it a read (ReadOnlyProof); one that calls an unknown function stays unparsed.
        assertFalse(f.unparsed());
        assertFalse(f.writes());
        assertEquals(StatementKind.SELECT, f.kind());
        assertEquals(Set.of(t("t")), f.tablesRead());
        assertTrue(one(sql.replace("IN (", "IN (my_fn(), ")).unparsed());
    }

    @Test
    void analysisSummarisesWrites() {
        assertTrue(analyzer.analyze("SELECT 1; DELETE FROM t").writes());
        assertFalse(analyzer.analyze("SELECT 1; SHOW x").writes());
    }

    // ------------------------------------------------------------------ fingerprints

    @Test
    void sameShapeGivesSameFingerprint() {
        assertEquals(one("SELECT * FROM t WHERE id = 1").fingerprint(),
                one("select *  from t where id=42").fingerprint());
        assertEquals(one("SELECT 'a' /* c */ FROM t").fingerprint(),
                one("SELECT E'b\\'c' FROM t -- x").fingerprint());
        assertEquals(one("SELECT $$x$$").fingerprint(), one("SELECT 'y'").fingerprint());
        assertEquals(32, one("SELECT 1").fingerprint().length());
    }

    @Test
    void differentShapeGivesDifferentFingerprint() {
        assertNotEquals(one("SELECT * FROM t WHERE id = 1").fingerprint(),
                one("SELECT * FROM u WHERE id = 1").fingerprint());
        assertNotEquals(one("SELECT * FROM t").fingerprint(), one("SELECT * FROM \"T\"").fingerprint());
        assertNotEquals(one("SELECT * FROM t WHERE id = 1").fingerprint(),
                one("SELECT * FROM t WHERE id = $1").fingerprint());
    }

    @Test
    void fingerprintIsStable() {
        // SHA-256 of "select * from t where id = ?", first 128 bits: the same in every JVM and release.
        assertEquals(Shape.normalizedText(Lexer.tokenize("SELECT * FROM t WHERE id = 1").tokens()),
                "select * from t where id = ?");
        assertEquals("88e41652b573c403c0c1b9d3c4dfd2e7", one("SELECT * FROM t WHERE id = 1").fingerprint());
    }

    // ------------------------------------------------------------------ redaction and declarative DDL

    @Test
    void redactionReplacesEveryLiteralAndKeepsTheRest() {
        assertEquals("SELECT * FROM t WHERE a = ? AND b = ? /* c */ AND c IN (?, ?) AND d = $1",
                analyzer.redactLiterals("SELECT * FROM t WHERE a = 'secret' AND b = E'x\\'y' /* c */ "
                        + "AND c IN (42, 1.5e3) AND d = $1"));
        assertEquals("DO ?", analyzer.redactLiterals("DO $$ BEGIN PERFORM 'pw'; END $$"));
        assertEquals("SELECT ?", analyzer.redactLiterals("SELECT 'unterminated"));
        assertEquals("", analyzer.redactLiterals(null));
    }

    @Test
    void ddlOfDeclarativeObjectsIsUnderstoodWhenTheParserFails() {
        StatementFacts f = one("ALTER FUNCTION f(integer) PARALLEL SAFE");
        assertEquals(StatementKind.ALTER, f.kind());
        assertEquals("FUNCTION", f.objectType());
        assertFalse(f.unparsed());
        assertEquals("OPERATOR", one("CREATE OPERATOR ~<~ (LEFTARG = citext, RIGHTARG = citext, "
                + "PROCEDURE = citext_pattern_lt)").objectType());
        assertFalse(one("CREATE OPERATOR ~<~ (LEFTARG = citext, PROCEDURE = lt)").unparsed());
    }

    /** The implicit calls of the statements of {@code sql}. */
    private java.util.Set<String> implicitCalls(String sql) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        analyzer.analyze(sql).statements().forEach(f -> out.addAll(f.implicitCalls()));
        return out;
    }

    @Test
    void operatorsAConstructImpliesAndTypesRowsAreStoredAsAreImplicitCalls() {
        java.util.function.Function<String, java.util.Set<String>> calls = this::implicitCalls;
        assertTrue(calls.apply("SELECT NULLIF(a, b), a IN (1), CASE a WHEN 1 THEN 2 END, a IS DISTINCT FROM b")
                .contains("op:="));
        assertTrue(calls.apply("SELECT a NOT IN (1)").containsAll(java.util.Set.of("op:<>", "op:=")));
        assertTrue(calls.apply("SELECT a LIKE b, a NOT ILIKE b").containsAll(java.util.Set.of("op:~~", "op:!~~*")));
        assertTrue(calls.apply("SELECT a BETWEEN 1 AND 2").containsAll(java.util.Set.of("op:>=", "op:<=")));
        assertTrue(calls.apply("SELECT * FROM a JOIN b USING (c)").contains("op:="));
        assertTrue(calls.apply("ALTER TABLE t ALTER COLUMN c TYPE s.d").contains("cast:d"));
        assertTrue(calls.apply("ALTER TABLE t ALTER c SET DATA TYPE d2").contains("cast:d2"));
        assertTrue(calls.apply("ALTER TABLE t ADD COLUMN IF NOT EXISTS n d3 DEFAULT 1").contains("cast:d3"));
        assertTrue(calls.apply("ALTER TABLE t ADD n d4").contains("cast:d4"));
        assertTrue(calls.apply("ALTER DOMAIN d5 VALIDATE CONSTRAINT c").contains("cast:d5"));
        // ... and the check it names, by name: "domcheck:" + the domain's length in characters + its name + the check's.
        assertTrue(calls.apply("ALTER DOMAIN s.d5 VALIDATE /* c */ CONSTRAINT c").contains("domcheck:2:d5c"));
        assertTrue(calls.apply("ALTER DOMAIN \"D é\" VALIDATE CONSTRAINT \"C \"\"1\"")
                .contains("domcheck:3:D éC \"1"));
        assertTrue(calls.apply("SELECT NULL::s.t.c%TYPE").contains("coltype:t.c"));
        assertTrue(calls.apply("SELECT * FROM XMLTABLE('/r' PASSING x COLUMNS a d6 PATH 'a', b d7)")
                .containsAll(java.util.Set.of("cast:d6", "cast:d7")));
        assertEquals(java.util.Set.of(), calls.apply("ALTER TABLE t ADD CONSTRAINT k CHECK (c > 0) NOT VALID")
                .stream().filter(k -> k.startsWith("cast:")).collect(java.util.stream.Collectors.toSet()));
    }

    @Test
    void aValueFilledAsTheTypeOfAnArgumentNoCastNamesIsTypedByEveryNameOfTheStatement() {
        java.util.function.Function<String, java.util.Set<String>> typeOf = sql -> {
            java.util.Set<String> out = new java.util.TreeSet<>();
            analyzer.analyze(sql).statements().forEach(f -> f.allStatements().forEach(g -> g.implicitCalls().stream()
                    .filter(k -> k.startsWith("typeof:")).forEach(out::add)));
            return out;
        };
        assertTrue(typeOf.apply("SELECT jsonb_populate_record(c, '{}') FROM s.holder h")
                .containsAll(java.util.Set.of("typeof:c", "typeof:holder", "typeof:h", "typeof:s")));
        assertTrue(typeOf.apply("SELECT * FROM t, pg_catalog.json_populate_recordset(f(t.x) ## 1, '[]')")
                .containsAll(java.util.Set.of("typeof:t", "typeof:f", "typeof:##")));
        assertTrue(typeOf.apply("SELECT populate_record(c, h) FROM t").contains("typeof:t"));
        assertTrue(typeOf.apply("SELECT c #= h FROM t").contains("typeof:t"));
        // The cast binds tighter than ||: the argument is text || wc, not wc.
        assertTrue(typeOf.apply("SELECT jsonb_populate_record(a || b::wc, '{}') FROM t").contains("typeof:t"));
        assertTrue(typeOf.apply("SELECT jsonb_populate_record(-1::wc, '{}') FROM t").contains("typeof:t"));
        // A cast names the type, which its own key judges.
        for (String typed : new String[] {"NULL::wc", "NULL::s.wc", "(NULL::wc)", "c::text::wc", "CAST(c AS wc)",
                "wc '(1)'", "ROW(1)::wc", "(c)::wc", "f(c)::wc", "'(1)'::wc", "$1::wc"}) {
            assertEquals(java.util.Set.of(), typeOf.apply("SELECT jsonb_populate_record(" + typed + ", '{}') FROM t"),
                    typed);
        }
        assertEquals(java.util.Set.of(), typeOf.apply("SELECT jsonb_to_record(c) FROM t"));
        // In a body, a name may be a parameter or a variable: any type.
        assertTrue(typeOf.apply("CREATE FUNCTION f(v wc) RETURNS wc LANGUAGE sql AS "
                + "$$SELECT jsonb_populate_record(v, '{}')$$").contains("typeof:*"));
        assertTrue(typeOf.apply("DO $$DECLARE v wc; BEGIN v := jsonb_populate_record(v, '{}'); END$$")
                .contains("typeof:*"));
        assertTrue(analyzer.analyzeRoutineBody("plpgsql", "DECLARE v wc; BEGIN RETURN json_populate_record(v, '{}'); "
                + "END", true).functions().contains("typeof:*"));
        assertFalse(analyzer.analyzeRoutineBody("plpgsql", "BEGIN RETURN json_populate_record(NULL::wc, '{}'); "
                + "END", true).statements().stream().anyMatch(f -> f.implicitCalls().contains("typeof:*")));
    }

    @Test
    void anInputFunctionGivenATypesOidRunsThatTypesChecks() {
        java.util.function.Function<String, java.util.Set<String>> calls = this::implicitCalls;
        assertTrue(calls.apply("SELECT record_in('(2)', 'public.wc'::regtype, -1)").contains("cast:wc"));
        assertTrue(calls.apply("SELECT count(domain_in('2', 'WD[]'::regtype::oid, -1))").contains("cast:wd"));
        assertFalse(calls.apply("SELECT record_in('(2)', 'wc'::regtype, -1)").contains("typeof:*"));
        assertTrue(calls.apply("SELECT array_in('{2}', t.oid, -1) FROM pg_type t").contains("typeof:*"));
        assertTrue(calls.apply("SELECT range_in('[1,2]', to_regtype('r'), -1)").contains("typeof:*"));
        assertFalse(calls.apply("SELECT numeric_in('1', 1700, -1)").contains("typeof:*"));
    }
    /**
     * a149 F3: in a body, a DO block or a rule's action, a variable, a parameter, a loop variable, a label's or a
     * record's field and NEW/OLD hold one value for the whole statement: a WHERE on them alone changes every row or
     * none, as {@code WHERE $1} does. Each was read as naming a column, and the DELETE ran on every row.
     */
    @Test
    void aWhereOnABodysVariablesAloneIsNoWhere() {
        for (String sql : List.of("DO $$DECLARE k int := 1; BEGIN DELETE FROM t WHERE k = 1; END$$",
                "DO $$DECLARE t bool := true; BEGIN UPDATE s SET v = 'x' WHERE t; END$$",
                "DO $$#variable_conflict use_variable\nDECLARE id int := 5; BEGIN DELETE FROM t WHERE id > 0; END$$",
                "DO $$DECLARE r record; BEGIN FOR r IN SELECT 1 AS k LOOP DELETE FROM t WHERE r.k = 1; END LOOP; END$$",
                "DO $$BEGIN FOR i IN 1..1 LOOP DELETE FROM t WHERE i = 1; END LOOP; END$$",
                "DO $$DECLARE a int[] := ARRAY[1]; BEGIN DELETE FROM t WHERE a[1] = 1; END$$",
                "DO $$<<outer>> DECLARE k int := 1; BEGIN DELETE FROM t WHERE outer.k = 1; END$$",
                "DO $$DECLARE x int := 1; BEGIN INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET v = 'u' "
                        + "WHERE x = 1; END$$",
                "DO $$DECLARE a int := 1; b int := 2; BEGIN DELETE FROM t WHERE a = b; END$$",
                "DO $$DECLARE c CURSOR (key int) FOR SELECT key; k int := 1; BEGIN DELETE FROM t WHERE k = 1; END$$",
                "DO $$BEGIN DECLARE k int := 1; BEGIN DELETE FROM t WHERE k IS NOT NULL; END; END$$",
                "CREATE FUNCTION f(t bool) RETURNS void LANGUAGE sql AS 'DELETE FROM s WHERE t'",
                "CREATE FUNCTION f(IN t bool) RETURNS void LANGUAGE sql AS 'DELETE FROM s WHERE f.t'",
                "CREATE FUNCTION f(t bool) RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM s WHERE t; END",
                "CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN DELETE FROM s WHERE NEW.x = 1; "
                        + "RETURN NEW; END'",
                "CREATE RULE r AS ON INSERT TO a DO ALSO DELETE FROM s WHERE new.x = 1")) {
            assertTrue(bodyWithoutWhere(analyzer.analyze(sql).statements()), sql);
        }
        for (String sql : List.of("DO $$DECLARE k int := 1; BEGIN DELETE FROM t WHERE id = k; END$$",
                "DO $$BEGIN FOR i IN 1..3 LOOP DELETE FROM t WHERE id = i; END LOOP; END$$",
                "CREATE FUNCTION f(k int) RETURNS void LANGUAGE sql AS 'DELETE FROM s WHERE id = k'",
                "CREATE FUNCTION f(double precision) RETURNS void LANGUAGE sql AS 'DELETE FROM s WHERE id = $1'",
                "CREATE RULE r AS ON INSERT TO a DO ALSO DELETE FROM s WHERE s.id = new.x",
                // a parameter named like a column: the column written qualified by its table
                "CREATE FUNCTION del(id int) RETURNS void LANGUAGE sql AS 'DELETE FROM s WHERE s.id = del.id'",
                "DO $$BEGIN DELETE FROM t WHERE k = 1; END$$")) {
            assertFalse(bodyWithoutWhere(analyzer.analyze(sql).statements()), sql);
        }
        // The catalog's reading of a body, with the routine's parameter names and its own
        Analyzer.RoutineAnalysis body = analyzer.analyzeRoutineBody("sql", "DELETE FROM public.s WHERE t", true,
                java.util.Set.of("purge_if", "t"));
        assertFalse(body.statements().get(0).hasWhere());
        assertTrue(analyzer.analyzeRoutineBody("sql", "DELETE FROM public.s WHERE t", true).statements().get(0)
                .hasWhere());
        assertFalse(analyzer.analyzeRoutineBody("sql", "DELETE FROM public.s WHERE purge_if.t", true,
                java.util.Set.of("purge_if", "t")).statements().get(0).hasWhere());
        // A name written qualified by the routine's and also unqualified: both the parameter or variable (a column of
        // the name, which a SQL function would take unqualified, is not known here: refused, never let through)
        assertFalse(analyzer.analyzeRoutineBody("sql", "DELETE FROM public.s WHERE t = purge_if.t", true,
                java.util.Set.of("purge_if", "t")).statements().get(0).hasWhere());
        assertTrue(bodyWithoutWhere(analyzer.analyze("DO $$<<b>> DECLARE k int := 1; BEGIN DELETE FROM t WHERE k = "
                + "b.k; END$$").statements()));
    }

    /** Whether a statement {@code statements} run, at any depth, is an UPDATE or DELETE without a WHERE. */
    private static boolean bodyWithoutWhere(List<StatementFacts> statements) {
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                boolean changes = f.kind() == StatementKind.UPDATE || f.kind() == StatementKind.DELETE
                        || f.innerKinds().contains(StatementKind.UPDATE);
                if (f != top && changes && !f.hasWhere()) {
                    return true;
                }
            }
        }
        return false;
    }
}
