package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Optional;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TextReferencesTest {

    private static final Analyzer ANALYZER = new Analyzer(0);

    @Test
    void relocationIsARelationsNewNameOrSchemaNotAColumnsOrAConstraints() {
        assertEquals(Optional.of(new TextReferences.Relocation(null, "b")),
                TextReferences.relocation("ALTER TABLE IF EXISTS a RENAME TO B"));
        assertEquals(Optional.of(new TextReferences.Relocation(null, "B")),
                TextReferences.relocation("ALTER VIEW a RENAME TO \"B\""));
        assertEquals(Optional.of(new TextReferences.Relocation("s", null)),
                TextReferences.relocation("ALTER MATERIALIZED VIEW a SET SCHEMA s"));
        assertEquals(Optional.of(new TextReferences.Relocation(null, "")),
                TextReferences.relocation("ALTER TABLE a RENAME TO 'b'"));
        assertEquals(Optional.empty(), TextReferences.relocation("ALTER TABLE a RENAME COLUMN c TO d"));
        assertEquals(Optional.empty(), TextReferences.relocation("ALTER TABLE a RENAME c TO d"));
        assertEquals(Optional.empty(), TextReferences.relocation("ALTER TABLE a RENAME CONSTRAINT c TO d"));
        assertEquals(Optional.empty(), TextReferences.relocation("ALTER TABLE a SET (fillfactor = 70)"));
    }

    @Test
    void theRowOfAWriteIsReadUnderEverySpellingAndAFieldNamedNewIsNot() {
        assertEquals(Set.of("email"), TextReferences.rowOfWriteColumns("INSERT INTO c VALUES (NEW.Email)"));
        assertEquals(Set.of("email"), TextReferences.rowOfWriteColumns("SELECT \"new\" /* x */ . email"));
        assertEquals(Set.of("E-mail"), TextReferences.rowOfWriteColumns("SELECT old.\"E-mail\""));
        assertEquals(Set.of("*"), TextReferences.rowOfWriteColumns("SELECT row_to_json(NEW), (OLD).id, new.*"));
        assertEquals(Set.of(), TextReferences.rowOfWriteColumns("SELECT 'new.email', \"NEW\".x FROM t"));
        // After a dot too: PL/pgSQL's label named like the function holds the row (f.new).
        assertEquals(Set.of("*"), TextReferences.rowOfWriteColumns("SELECT f.new::text"));
        assertEquals(Set.of("ssn"), TextReferences.rowOfWriteColumns("SELECT f.new.ssn"));
    }

    @Test
    void expressionsOutsideABodysStatementsAreReadAsTheSelectsPlpgsqlRunsThemAs() {
        List<String> texts = ANALYZER.analyzeRoutineBody("plpgsql", "DECLARE v text; BEGIN "
                + "v := (SELECT email FROM people LIMIT 1); RAISE NOTICE '%', translate(\"new\".email, 'a', 'b'); "
                + "EXECUTE 'INSERT INTO c VALUES ($1)' USING OLD.ssn; IF NEW IS NULL THEN RETURN NULL; END IF; "
                + "INSERT INTO c VALUES ((SELECT 1)); RETURN NEW; END", true).statements().stream()
                .map(StatementFacts::text).toList();
        // (A DECLARE section of variables is no statement; its expressions are read one by one, and each variable's
        // type as the cast PL/pgSQL makes into it.)
        assertEquals(List.of("INSERT INTO c VALUES ($1)", "INSERT INTO c VALUES ((SELECT 1))",
                "SELECT (SELECT email FROM people LIMIT 1)", "SELECT NULL::text", "SELECT new.\"email\"",
                "SELECT new.\"ssn\"", "SELECT new"),
                texts);
    }

    @Test
    void namesIncludeIdentifiersQuotedNamesAndWordsInsideStrings() {
        Set<String> names = TextReferences.names(
                "SELECT \"Email\", x FROM query_to_xml('SELECT ssn FROM customers', true, false, '') AS q(x)");
        assertTrue(names.containsAll(Set.of("email", "Email", "x", "query_to_xml", "ssn", "customers", "q")), names.toString());
        assertTrue(TextReferences.names("DO $b$ BEGIN PERFORM card FROM wallet; END $b$").containsAll(Set.of("card", "wallet")));
    }

    @Test
    void renamesAreReadAsTheServerReadsThem() {
        assertEquals(List.of("x", "ssn"), TextReferences.columnRenames("ALTER TABLE t RENAME COLUMN x /**/ TO ssn")
                .stream().flatMap(java.util.Arrays::stream).toList());
        assertEquals(List.of("y", "ssn"), TextReferences.columnRenames("ALTER TABLE t RENAME y TO U&\"\\0073sn\"")
                .stream().flatMap(java.util.Arrays::stream).toList());
        assertEquals(List.of("a", "b"), TextReferences.columnRenames("ALTER TYPE ct RENAME ATTRIBUTE a TO b")
                .stream().flatMap(java.util.Arrays::stream).toList());
        assertEquals(List.of(), TextReferences.columnRenames("ALTER TABLE t RENAME TO u"));
        assertEquals(List.of(), TextReferences.columnRenames("ALTER TABLE t RENAME CONSTRAINT c TO d"));
        assertEquals(List.of("srcw"), TextReferences.renamedTo("ALTER VIEW v RENAME /* x */ TO SRCW"));
        assertEquals(List.of(), TextReferences.renamedTo("ALTER TABLE t RENAME COLUMN a TO b"));
    }

    @Test
    void namesInABodyAreThoseTheServerResolves() {
        String k = "k".repeat(70);
        assertTrue(TextReferences.names("RETURN (SELECT v FROM " + k + ")").contains("k".repeat(63)));
        assertTrue(TextReferences.names("SELECT v FROM U&\"\\006B7\"").contains("k7"));
        assertTrue(TextReferences.names("EXECUTE E'SELECT v FROM \\x6b98'").contains("k98"));
        assertTrue(TextReferences.names("SELECT v FROM Äb").contains("Äb"));
    }

    @Test
    void anArgumentOtherThanOneStringLiteralIsComputed() {
        java.util.Map<String, Integer> xml = java.util.Map.of("query_to_xml", 0, "table_to_xml", 0, "ts_rewrite", 1);
        assertFalse(TextReferences.computedArgument("SELECT query_to_xml('SELECT 1', true, false, '')", xml));
        assertFalse(TextReferences.computedArgument(
                "SELECT pg_catalog.table_to_xml('t'::pg_catalog.regclass, true, false, '')", xml));
        assertFalse(TextReferences.computedArgument("SELECT query_to_xml  ($q$SELECT 1$q$ ,true,false,'')", xml));
        assertTrue(TextReferences.computedArgument("SELECT query_to_xml('SELECT * FROM t' || 'x', true)", xml));
        assertTrue(TextReferences.computedArgument("SELECT table_to_xml(16384, true, false, '')", xml));
        assertTrue(TextReferences.computedArgument("SELECT table_to_xml(to_regclass('t'), true)", xml));
        assertTrue(TextReferences.computedArgument("SELECT table_to_xml(oid::regclass, true) FROM pg_class", xml));
        // Under standard_conforming_strings off the literal ends later, and the argument is then computed.
        assertTrue(TextReferences.computedArgument("SELECT query_to_xml('a\\', ' || x || ', true)", xml));
        // The second argument: after a first that has commas of its own.
        assertFalse(TextReferences.computedArgument("SELECT ts_rewrite(f(a, b), 'SELECT a, b FROM t')", xml));
        assertTrue(TextReferences.computedArgument("SELECT ts_rewrite(f(a, b), 'SELECT a, b FROM ' || t)", xml));
        assertFalse(TextReferences.computedArgument("SELECT ts_rewrite(q)", xml));
    }

    /**
     * a129: an option is read where the grammar has it, not as the first token after any word named like one. A
     * column named {@code format} in FORCE_QUOTE's list had the format read as {@code )} (and the CSV split as
     * text); FORCE QUOTE's {@code quote} was taken for the QUOTE option.
     */
    @Test
    void copyOptionsAreReadWhereTheGrammarHasThem() {
        String forced = "COPY (SELECT 1 AS format) TO STDOUT WITH (FORMAT csv, DELIMITER '-', FORCE_QUOTE (format))";
        assertEquals(new TextReferences.CopyOption(true, "-"), option(forced, "delimiter"));
        assertEquals("csv", new Analyzer(100).analyze(forced).statements().get(0).copy().get().format());
        String old = "COPY q TO STDOUT CSV FORCE QUOTE quote, format QUOTE '\"' DELIMITER '-' NULL ''";
        assertEquals(new TextReferences.CopyOption(true, "\""), option(old, "quote"));
        assertEquals(new TextReferences.CopyOption(true, ""), option(old, "null"));
        assertEquals("csv", new Analyzer(100).analyze(old).statements().get(0).copy().get().format());
        // What does not read as the grammar has it is unknown: the COPY is not masked as text.
        String odd = "COPY q TO STDOUT (FORMAT csv) FORMAT text";
        assertEquals(new TextReferences.CopyOption(true, null), option(odd, "delimiter"));
        assertEquals("unread", new Analyzer(100).analyze(odd).statements().get(0).copy().get().format());
        assertEquals("unread", new Analyzer(100).analyze("COPY q TO STDOUT (FORMAT \"c\\sv\")").statements().get(0)
                .copy().get().format());
    }

    /** Option {@code name} of the COPY {@code sql} as the analysis reads it, standard_conforming_strings on. */
    private static TextReferences.CopyOption option(String sql, String name) {
        return option(sql, name, true);
    }

    private static TextReferences.CopyOption option(String sql, String name, boolean standardConformingStrings) {
        return new Analyzer(0).analyze(sql, standardConformingStrings).statements().get(0).copy().get().option(name);
    }

    /** Under standard_conforming_strings off a plain string takes backslash escapes, as the server reads it. */
    @Test
    void copyOptionsAreReadWithTheSessionsStringSetting() {
        String sql = "COPY t TO STDOUT (DELIMITER '\\x7c', NULL '\\N', ENCODING 'S\\x4aIS')";
        assertEquals(new TextReferences.CopyOption(true, "|"), option(sql, "delimiter", false));
        assertEquals(new TextReferences.CopyOption(true, "N"), option(sql, "null", false));
        assertEquals(new TextReferences.CopyOption(true, "SJIS"), option(sql, "encoding", false));
        assertEquals(new TextReferences.CopyOption(true, "\\x7c"), option(sql, "delimiter", true));
        assertEquals(new TextReferences.CopyOption(true, "\\N"), option(sql, "null", true));
    }

    @Test
    void copyOptionsAreTheTokensAfterToStdout() {
        assertEquals(new TextReferences.CopyOption(true, "|"),
                option("COPY t TO /* x */ STDOUT (DELIMITER /* y */ '|')", "delimiter"));
        assertEquals(new TextReferences.CopyOption(true, ";"), option(
                "COPY t TO STDOUT WITH (FORMAT csv, /* DELIMITER '|', */ DELIMITER ';')", "delimiter"));
        assertEquals(new TextReferences.CopyOption(true, "\t"),
                option("COPY t TO STDOUT DELIMITER AS E'\\t'", "delimiter"));
        // The query's own text is no option; an option that is not one literal is unknown.
        assertEquals(new TextReferences.CopyOption(false, null),
                option("COPY (SELECT 'delimiter' AS delimiter) TO STDOUT", "delimiter"));
        assertEquals(new TextReferences.CopyOption(true, null),
                option("COPY t TO STDOUT (DELIMITER chr(124))", "delimiter"));
        assertEquals(new TextReferences.CopyOption(true, "\\N"),
                option("COPY t TO STDOUT (NULL '\\N')", "null"));
        assertEquals(new TextReferences.CopyOption(false, null), option("COPY t FROM STDIN", "null"));
    }

    @Test
    void wordsInARowAreReadPastComments() {
        for (String sql : List.of("CREATE FUNCTION f() RETURNS trigger AS 'x'", "CREATE FUNCTION f() RETURNS /* c */ TRIGGER",
                "CREATE FUNCTION f() RETURNS pg_catalog.trigger", "CREATE FUNCTION f() RETURNS \"trigger\"",
                "CREATE FUNCTION f() RETURNS\n-- c\nevent_trigger")) {
            assertTrue(TextReferences.returnsTrigger(sql), sql);
        }
        assertFalse(TextReferences.returnsTrigger("CREATE FUNCTION f() RETURNS int AS 'SELECT 1 -- returns trigger'"));
        assertFalse(TextReferences.returnsTrigger("CREATE FUNCTION f() RETURNS \"TRIGGER\""));
        assertTrue(TextReferences.setsSchema("ALTER TABLE t SET /* c */ SCHEMA s"));
        assertFalse(TextReferences.setsSchema("ALTER TABLE t SET (fillfactor = 70) -- set schema"));
        assertTrue(TextReferences.leavesTree("ALTER TABLE t DETACH/**/PARTITION p"));
        assertTrue(TextReferences.leavesTree("ALTER TABLE t NO\n-- c\nINHERIT p"));
        assertFalse(TextReferences.leavesTree("ALTER TABLE t INHERIT p"));
    }

    @Test
    void aCallOfAnotherArityIsAnotherOverload() {
        java.util.Map<String, Integer> read = java.util.Map.of("ts_rewrite", 1, "query_to_xml", 0);
        java.util.Map<String, Integer> two = java.util.Map.of("ts_rewrite", 2);
        assertFalse(TextReferences.computedArgument("SELECT ts_rewrite(q, to_tsquery('a'), to_tsquery('b'))", read,
                two));
        assertFalse(TextReferences.computedArgument("SELECT ts_rewrite(f(a, b), g(c, (d, e)), 'x')", read, two));
        assertTrue(TextReferences.computedArgument("SELECT ts_rewrite(q, 'SELECT a, b FROM ' || t)", read, two));
        assertTrue(TextReferences.computedArgument("SELECT ts_rewrite(q, f(x, y))", read, two));
        // An inner call of another arity is skipped, the outer one still counts.
        assertTrue(TextReferences.computedArgument(
                "SELECT ts_rewrite(ts_rewrite(q, x, y), 'SELECT a, b FROM ' || t)", read, two));
        assertTrue(TextReferences.computedArgument(
                "SELECT ts_rewrite(q, x, y), ts_rewrite(q, 'SELECT a FROM ' || t)", read, two));
        // Functions without an arity count with any number of arguments.
        assertTrue(TextReferences.computedArgument("SELECT query_to_xml(q, true, false, '')", read, two));
        assertFalse(TextReferences.computedArgument("SELECT ts_rewrite()", read, two));
    }

    @Test
    void literalArgumentsAreTheValuesOfEachCall() {
        java.util.Map<String, Integer> cursor = java.util.Map.of("cursor_to_xml", 0);
        assertEquals(java.util.Optional.of(java.util.List.of("xc", "Y")), TextReferences.literalArguments(
                "SELECT cursor_to_xml('xc'::refcursor, 5, false, true, ''), cursor_to_xml('Y', 1, true, true, '')",
                cursor));
        assertEquals(java.util.Optional.empty(), TextReferences.literalArguments(
                "SELECT cursor_to_xml('x' || 'c', 5, false, true, '')", cursor));
        assertEquals(java.util.Optional.of(java.util.List.of()), TextReferences.literalArguments("SELECT 1", cursor));
    }

    @Test
    void aBackslashCannotHideANameUnderEitherStringSetting() {
        // With standard_conforming_strings off, the first string ends later: both readings are taken.
        Set<String> names = TextReferences.names("SELECT 'a\\', email, '' FROM customers");
        assertTrue(names.contains("email"));
    }

    @Test
    void aliasListsOnSensitiveRelationsAreFound() {
        assertEquals(Set.of("customers"), TextReferences.renamedRelations(
                "SELECT e FROM customers AS t(i, n, e)", Set.of("customers")));
        assertEquals(Set.of("customers"), TextReferences.renamedRelations(
                "SELECT e FROM customers t(i, n, e)", Set.of("customers")));
        assertEquals(Set.of(), TextReferences.renamedRelations(
                "SELECT c.id FROM customers c JOIN orders o ON (o.cid = c.id)", Set.of("customers")));
        assertEquals(Set.of(), TextReferences.renamedRelations(
                "SELECT id FROM customers WHERE (id > 1)", Set.of("customers")));
    }

    @Test
    void filterUseAllowsOnlyEqualityWithABoundParameter() {
        Set<String> s = Set.of("ssn", "email");
        assertEquals(Optional.of("ssn"), TextReferences.filterUse("SELECT id FROM c WHERE ssn LIKE '07%'", s));
        assertEquals(Optional.of("ssn"), TextReferences.filterUse("SELECT id FROM c WHERE lower(ssn) = 'x'", s));
        assertEquals(Optional.of("email"), TextReferences.filterUse("SELECT id FROM c ORDER BY email", s));
        assertEquals(Optional.of("email"), TextReferences.filterUse("SELECT id FROM c ORDER BY (SELECT c.email)", s));
        assertEquals(Optional.of("ssn"), TextReferences.filterUse("SELECT count(*) FROM c GROUP BY c.ssn", s));
        assertEquals(Optional.of("email"), TextReferences.filterUse("SELECT 1 FROM c JOIN d ON c.email = d.email", s));
        assertEquals(Optional.of("ssn"), TextReferences.filterUse("SELECT id FROM c WHERE ssn = $1 OR ssn > '1'", s));
        assertEquals(Optional.empty(), TextReferences.filterUse("SELECT id, email FROM c WHERE email = $1", s));
        assertEquals(Optional.empty(), TextReferences.filterUse("SELECT id FROM c WHERE $1 = c.email AND id > 3", s));
        assertEquals(Optional.empty(), TextReferences.filterUse("SELECT ssn, upper(email) FROM c WHERE id = 1", s));
    }

    @Test
    void filterUseFollowsASensitiveValueUnderAnotherNameOrPosition() {
        Set<String> s = Set.of("ssn", "email");
        for (String sql : List.of("SELECT 1 FROM (SELECT substr(ssn, 1, 1) AS c FROM t) s WHERE c = '5'",
                "SELECT 1 FROM (SELECT max(ssn) m FROM t) s WHERE s.m LIKE '5%'",
                "SELECT 1 FROM (SELECT substr(ssn, 1, 1) FROM t) s WHERE substr = '5'",
                "SELECT 1 FROM (SELECT CASE WHEN true THEN ssn END FROM t) s WHERE \"case\" = '5'",
                "SELECT 1 FROM (SELECT ssn || '' FROM t) s WHERE \"?column?\" = '5'",
                "WITH d(c) AS (SELECT ssn FROM t) SELECT 1 FROM d WHERE c LIKE '5%'",
                "WITH d AS MATERIALIZED (SELECT ssn AS x FROM t) SELECT 1 FROM d WHERE d.x LIKE '5%'",
                "WITH d AS (SELECT ssn FROM t) SELECT 1 FROM d WHERE d::text LIKE '(5%'",
                "SELECT 1 FROM t, LATERAL substr(ssn, 1, 1) AS d WHERE d = '5'",
                "SELECT 1 FROM t, LATERAL (VALUES (ssn)) v(x) WHERE x LIKE '5%'",
                "SELECT 1 FROM t, ROWS FROM (upper(email)) WITH ORDINALITY AS r(x, n) WHERE x LIKE 'A%'",
                "SELECT 1 FROM (SELECT id, ssn FROM t) s(i, k) WHERE k LIKE '5%'",
                "SELECT 1 FROM (SELECT ssn AS a FROM t) s, (SELECT a AS b FROM s) q WHERE b LIKE '5%'",
                "SELECT id FROM t LIMIT (SELECT n FROM (SELECT length(email) AS n FROM t) s)",
                "SELECT id, ssn FROM t ORDER BY 2", "SELECT substr(ssn, 1, 1), count(*) FROM t GROUP BY 1",
                "SELECT k, count(*) FROM (SELECT ssn AS k FROM t) s GROUP BY 1, 2",
                "SELECT DISTINCT substr(ssn, 1, 1) FROM t",
                "SELECT substr(ssn, 1, 1) FROM t INTERSECT SELECT '5'", "SELECT ssn FROM t EXCEPT SELECT '5'",
                "SELECT '5' UNION SELECT ssn FROM t", "(SELECT '5') UNION (SELECT ssn FROM t)",
                "SELECT 1, '5' UNION ALL SELECT 2, ssn FROM t ORDER BY 2",
                "SELECT 1 FROM t NATURAL JOIN (SELECT 1 AS id, '5' AS ssn) v",
                "SELECT 1 FROM (SELECT id, substr(ssn, 1, 1) c FROM t) p NATURAL LEFT JOIN (VALUES (1, '5')) v(id, c)")) {
            assertTrue(TextReferences.filterUse(sql, s).isPresent(), sql);
        }
        for (String sql : List.of("SELECT 1 FROM (SELECT id AS c, ssn FROM t) s WHERE c = 1",
                "WITH d(c, e) AS (SELECT id, email FROM t) SELECT e FROM d WHERE c = 2",
                "SELECT * FROM (SELECT id, ssn FROM t) s(i, k) WHERE i = 1",
                "SELECT 1 FROM t, LATERAL abs(id) AS d WHERE d = 1", "SELECT id, ssn FROM t ORDER BY 1 DESC",
                "SELECT id, ssn FROM t UNION ALL SELECT 2, '5'", "SELECT id FROM t UNION SELECT 2",
                "SELECT DISTINCT id FROM t", "SELECT id, count(*) FROM t GROUP BY 1",
                "SELECT string_agg(email, ',' ORDER BY 1) FROM t", "SELECT id, email FROM t WHERE email = $1",
                "SELECT v FROM c NATURAL JOIN (VALUES (1)) w(id)")) {
            assertEquals(Optional.empty(), TextReferences.filterUse(sql, s), sql);
        }
    }

    @Test
    void createdFromExecuteNamesThePreparedStatementACreateTableAsStores() {
        assertEquals(Optional.of("q"), TextReferences.createdFromExecute("CREATE TABLE t AS EXECUTE Q"));
        assertEquals(Optional.of("Q"), TextReferences.createdFromExecute("create temp table t (a) as execute \"Q\"(1)"));
        assertEquals(Optional.of("s1"), TextReferences.createdFromExecute("EXPLAIN ANALYZE CREATE TABLE t AS EXECUTE s1"));
        assertEquals(Optional.empty(), TextReferences.createdFromExecute("CREATE TABLE t AS SELECT 1"));
        assertEquals(Optional.empty(), TextReferences.createdFromExecute("SELECT 'create table t as execute q'"));
    }

    @Test
    void filterUseCountsWhatDecidesHowManyRowsComeBack() {
        Set<String> s = Set.of("ssn", "email");
        for (String sql : List.of("SELECT generate_series(1, substr(ssn, 1, 3)::int) FROM c",
                "SELECT * FROM pg_catalog.generate_series(1, (SELECT length(email) FROM c LIMIT 1))",
                "SELECT id FROM c LIMIT (SELECT substr(ssn, 1, 3)::int FROM c WHERE id = $1)",
                "SELECT id FROM c OFFSET 1 + (SELECT length(c.email) FROM c)",
                "SELECT id FROM c FETCH FIRST (SELECT length(email) FROM c) ROWS ONLY",
                "SELECT unnest(array_fill(0, ARRAY[length(email)])) FROM c",
                "SELECT regexp_split_to_table(ssn, '') FROM c",
                "SELECT unnest(ARRAY[string_to_array(email, '')]) FROM c",
                "SELECT unnest(ARRAY[1, (SELECT length(ssn) FROM c)]) FROM c")) {
            assertTrue(TextReferences.filterUse(sql, s).isPresent(), sql);
        }
        for (String sql : List.of("SELECT ssn, generate_series(1, 3) FROM c LIMIT 2",
                "SELECT email FROM c ORDER BY id LIMIT 1 OFFSET 1", "SELECT unnest(ARRAY[id]), email FROM c",
                "SELECT (SELECT max(ssn) FROM c) FROM generate_series(1, 3) g",
                "SELECT id FROM c FETCH FIRST 2 ROWS ONLY", "SELECT unnest(ARRAY[email, c.ssn]) FROM c")) {
            assertEquals(Optional.empty(), TextReferences.filterUse(sql, s), sql);
        }
    }

    @Test
    void wholeRowsInAFilterAreFoundThroughAliases() {
        Set<String> names = TextReferences.aliasesOf("SELECT c.id FROM customers c JOIN orders o ON o.cid = c.id",
                Set.of("customers"));
        assertEquals(Set.of("customers", "c"), names);
        assertEquals(Optional.of("c"), TextReferences.filterUse(
                "SELECT c.id FROM customers c WHERE row_to_json(c)::text LIKE '%07%'", names));
        assertEquals(Optional.empty(), TextReferences.filterUse("SELECT c.id FROM customers c WHERE c.id = 1", names));
        assertEquals(Set.of("customers"), TextReferences.aliasesOf("SELECT 1 FROM customers WHERE id = 2",
                Set.of("customers")));
    }

    @Test
    void cursorNamesOfDeclareFetchAndClose() {
        assertEquals(Optional.of("cur"), TextReferences.cursorName(ANALYZER.analyze("DECLARE cur CURSOR FOR SELECT 1").statements().get(0)));
        assertEquals(Optional.of("cur"), TextReferences.cursorName(ANALYZER.analyze("FETCH FORWARD 5 FROM cur").statements().get(0)));
        assertEquals(Optional.of("Cur"), TextReferences.cursorName(ANALYZER.analyze("FETCH ALL IN \"Cur\"").statements().get(0)));
        assertEquals(Optional.empty(), TextReferences.cursorName(ANALYZER.analyze("CLOSE ALL").statements().get(0)));
        assertFalse(TextReferences.cursorName(ANALYZER.analyze("SELECT 1").statements().get(0)).isPresent());
    }

    /** Which columns an INSERT gives a sensitive value; null where that is not read (every column counts then). */
    @Test
    void anInsertsValuesAreMatchedToItsColumnsOnlyWhereEveryUseLiesInOneValue() {
        Set<String> note = Set.of("note");
        java.util.Map<String, Boolean> m = TextReferences.insertValueUses(
                "INSERT INTO t (id, note) SELECT 3, note FROM t WHERE id = 1", note);
        assertEquals(java.util.Map.of("id", false, "note", true), m);
        assertEquals(java.util.Map.of("id", false, "note", true, "extra", false), TextReferences.insertValueUses(
                "insert into s.t as x (id, note, extra) values (1, (select note from t limit 1), 'a'), (2, 'b', 'c');",
                note));
        assertEquals(java.util.Map.of("extra", true, "id", false), TextReferences.insertValueUses(
                "INSERT INTO t (extra, id) VALUES (upper(note), 9) RETURNING note", note));
        assertEquals(java.util.Map.of("id", false, "extra", false), TextReferences.insertValueUses(
                "INSERT INTO t (id, extra) SELECT DISTINCT id, 'x' FROM t WHERE note = 'a' ORDER BY 1", note));
        // Uses outside the values, or forms not read: null.
        for (String sql : java.util.List.of(
                "INSERT INTO t (id, extra) SELECT x.id, x.n FROM (SELECT id, note AS n FROM t) x",
                "INSERT INTO t (id, extra) SELECT id, 'a' FROM t, LATERAL (SELECT note) n",
                "INSERT INTO t (id, extra) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET extra = excluded.note",
                "INSERT INTO t (id, extra) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET extra = note",
                "INSERT INTO t (id, note) SELECT 1, note FROM t UNION SELECT 2, note FROM t",
                "INSERT INTO t (id, note) SELECT * FROM t",
                "INSERT INTO t (id, note) SELECT t.* FROM t",
                "INSERT INTO t SELECT 1, note FROM t",
                "WITH c AS (SELECT note FROM t) INSERT INTO t (id, note) SELECT 1, note FROM c",
                "INSERT INTO t (id, note) WITH c AS (SELECT note FROM t) SELECT 1, note FROM c",
                "INSERT INTO t (id, note) (SELECT 1, note FROM t)",
                "INSERT INTO t (id, note) SELECT DISTINCT ON (id) id, note FROM t",
                "INSERT INTO t (id, note) VALUES (1, note, 2)",
                "INSERT INTO t (id, note) VALUES (1)",
                "INSERT INTO t (id, note) VALUES (1, 2 IS DISTINCT FROM note)",
                "INSERT INTO t (id, r.f) VALUES (1, note)",
                "INSERT INTO t (id, note) VALUES (1, '\\'), (2, note)",
                "INSERT INTO t (id, extra) SELECT 1 AS from, note FROM t",
                "UPDATE t SET extra = note")) {
            assertEquals(null, TextReferences.insertValueUses(sql, note), sql);
        }
    }

    @Test
    void renamesColumnsFindsAliasAndWithQueryColumnLists() {
        for (String renames : List.of("SELECT i FROM customers AS u(i, n)", "SELECT i FROM customers u(i, n)",
                "SELECT i FROM t, customers u(i, n)", "SELECT i FROM (TABLE customers) s(i, n)",
                "SELECT i FROM (TABLE customers) AS s(i, n)", "WITH c(i, n) AS (TABLE customers) SELECT i FROM c",
                "WITH a AS (SELECT 1), c(i) AS MATERIALIZED (TABLE customers) SELECT i FROM c",
                "SELECT a FROM f() AS t(a int)", "UPDATE p SET email = u.x FROM p AS u(i, x) WHERE p.id = u.i",
                // A second helper's pass: quoted or unreserved names, qualified relations, lists with no alias.
                "SELECT i FROM (TABLE customers) AS \"filter\"(i, n)", "WITH \"in\"(i, n) AS (TABLE c) SELECT i FROM \"in\"",
                "WITH filter(i, n) AS (TABLE c) SELECT i FROM filter", "SELECT i FROM customers \"in\"(i)",
                "SELECT i FROM public.customers u(i, n)", "SELECT a FROM json_to_recordset('[]') AS (a text)",
                "SELECT a FROM ROWS FROM (f() AS (a text))", "SELECT i FROM customers AS values(i)",
                "SELECT * FROM JSON_TABLE('[]', '$[*]' COLUMNS (x text PATH '$.x')) j",
                // A fourth pass: unreserved words as aliases without AS.
                "SELECT i FROM customers filter(i, n, x)", "SELECT i FROM customers cube(i, n)",
                "UPDATE c SET a = x FROM customers over(i, n, x) WHERE c.id = over.i",
                "SELECT i FROM (TABLE customers) filter(i, n)", "SELECT i FROM (TABLE customers) over(i, n)",
                // A fifth: one name renames the first column.
                "SELECT x FROM (TABLE p) filter(x)", "SELECT x FROM (TABLE p) over(x)",
                "SELECT x FROM generate_series(1, 3) cube(x)", "SELECT x FROM t, (TABLE p) within(x)")) {
            assertTrue(TextReferences.renamesColumns(renames), renames);
        }
        for (String plain : List.of("INSERT INTO s (id, note) SELECT id, note FROM t", "SELECT count(*) FILTER "
                + "(WHERE a > 1) OVER (PARTITION BY b) FROM t", "SELECT a FROM t, generate_series(1, 3) g",
                "SELECT a FROM t JOIN LATERAL f(t.a) x ON true", "SELECT a FROM t WHERE a IN (1, 2)",
                "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO NOTHING", "SELECT a::numeric(10, 2) FROM t",
                "SELECT id, lower(name) AS n FROM customers", "UPDATE c SET city = cast('Rome' AS varchar(20))",
                "INSERT INTO c (id, email) SELECT 900, lower('A@B.COM') AS email",
                "SELECT a FROM t TABLESAMPLE SYSTEM (1) REPEATABLE (1)", "SELECT a FROM t JOIN u ON (t.a = u.a)",
                "SELECT a FROM t JOIN u USING (a, b)", "SELECT a FROM t UNION (SELECT b FROM u)",
                "SELECT sum(a) OVER (w) FROM t WINDOW w AS (ORDER BY a)", "SELECT a, sum(b) OVER (w) FROM t",
                "SELECT count(*) FILTER (x) FROM t", "WITH a AS (SELECT 1), b AS (SELECT 2) "
                        + "SELECT count(*) FILTER (WHERE x > 0), lower(y) AS z FROM a, b")) {
            assertFalse(TextReferences.renamesColumns(plain), plain);
        }
    }

    @Test
    void readsWholeTableFindsTableAsARead() {
        for (String whole : List.of("TABLE customers", "SELECT t::text FROM (TABLE customers) t",
                "INSERT INTO s TABLE customers", "INSERT INTO s (a, b) TABLE customers",
                "SELECT 1 UNION ALL TABLE customers", "CREATE TABLE x AS TABLE customers")) {
            assertTrue(TextReferences.readsWholeTable(whole), whole);
        }
        for (String not : List.of("CREATE TABLE t (a int)", "DROP TABLE t", "LOCK TABLE t", "ALTER TABLE t ADD b int",
                "TRUNCATE TABLE t", "COMMENT ON TABLE t IS 'x'", "CREATE TEMP TABLE t (a int)",
                "INSERT INTO t SELECT 1")) {
            assertFalse(TextReferences.readsWholeTable(not), not);
        }
    }

    @Test
    void computedValueStoresTellsACopyAsItIsFromAComputation() {
        Set<String> email = Set.of("email");
        List<String> order = List.of("id", "email");
        assertEquals(java.util.Map.of("email", false), TextReferences.computedValueStores(
                "UPDATE people SET email = lower(email) WHERE id = 1 RETURNING email", email, order));
        assertEquals(java.util.Map.of("id", false, "email", true), TextReferences.computedValueStores(
                "UPDATE people SET id = id + 1, email = 'a@' || translate(email, '@', '-')", email, order));
        assertEquals(java.util.Map.of("id", false, "email", false), TextReferences.computedValueStores(
                "INSERT INTO copy (id, email) SELECT id, p.email FROM people p", email, order));
        assertEquals(java.util.Map.of("id", true, "email", false), TextReferences.computedValueStores(
                "INSERT INTO copy SELECT length(email), upper(email) FROM people", email, order));
        assertEquals(java.util.Map.of("email", true), TextReferences.computedValueStores(
                "UPDATE t SET email = 'a@' || translate(p.email, '@', '-') FROM people p", email, order));
        // A copy is a copy only where the caller says the name copied is masked as the column it lands in.
        List<String> seen = new java.util.ArrayList<>();
        assertEquals(java.util.Map.of("email", true, "ssn", false), TextReferences.computedValueStores(
                "UPDATE people SET email = upper(p.ssn), ssn = \"SSN\" FROM people p", Set.of("ssn", "SSN"),
                List.of("email", "ssn"), (column, source) -> seen.add(column + "<-" + source) && column.equals("ssn")));
        assertEquals(List.of("email<-ssn", "ssn<-SSN"), seen);
        // Used outside the stored values: where it lands is not read.
        assertEquals(null, TextReferences.computedValueStores(
                "INSERT INTO copy (email) SELECT email FROM (SELECT email || 'x' AS email FROM people) s", email, order));
        assertEquals(null, TextReferences.computedValueStores(
                "UPDATE t SET email = s.e FROM (SELECT 'a@' || email AS e FROM people) s", email, order));
        assertEquals(null, TextReferences.updateValueUses(
                "UPDATE t SET note = s.e FROM (SELECT id, email AS e FROM people) s WHERE s.id = t.id", email));
        assertEquals(java.util.Map.of("note", false), TextReferences.updateValueUses(
                "UPDATE t SET note = 'x' FROM people p WHERE p.id = t.id AND p.email = $1", email));
    }

    @Test
    void installingTriggerCodeIsReadPastCommentsAndCaseNotInStringsOrNames() {
        for (String sql : List.of("CREATE TRIGGER t BEFORE UPDATE ON c FOR EACH ROW EXECUTE FUNCTION f()",
                "create/**/or/**/replace trigger t after insert on c for each row execute procedure f()",
                "CREATE CONSTRAINT TRIGGER t AFTER UPDATE ON c DEFERRABLE FOR EACH ROW EXECUTE FUNCTION f()",
                "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()",
                "CREATE OR REPLACE RULE r AS ON INSERT TO c DO ALSO NOTIFY x",
                "CREATE SCHEMA s CREATE TABLE x (a int) CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW "
                        + "EXECUTE FUNCTION f()",
                "ALTER TABLE c ENABLE TRIGGER ALL", "ALTER TABLE c ENABLE -- x\n ALWAYS TRIGGER t",
                "ALTER TABLE c ENABLE REPLICA RULE r", "ALTER EVENT TRIGGER e ENABLE",
                "CREATE OR REPLACE FUNCTION f() RETURNS pg_catalog.trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                "CREATE OR REPLACE FUNCTION f() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$")) {
            assertTrue(TextReferences.installsTriggerCode(sql) != null, sql);
        }
        for (String sql : List.of("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1 /* create trigger */$$",
                "CREATE TABLE \"trigger\" (rule int, enable int)", "ALTER TABLE c DISABLE TRIGGER ALL",
                "ALTER TABLE c ENABLE ROW LEVEL SECURITY", "COMMENT ON TABLE c IS 'create trigger t'",
                "SELECT 'enable trigger' AS create_rule", "DROP TRIGGER t ON c", "ALTER TRIGGER t ON c RENAME TO u")) {
            assertFalse(TextReferences.installsTriggerCode(sql) != null, sql);
        }
    }

    @Test
    void aTriggersRelationAndWhatItTakesOfTheRowAreReadFromTokens() {
        assertEquals(Optional.of("Cust"), TextReferences.triggerRelation(
                "CREATE TRIGGER t BEFORE UPDATE OF a ON public.\"Cust\" FOR EACH ROW EXECUTE FUNCTION f()"));
        assertEquals(Optional.of("c"), TextReferences.triggerRelation(
                "create /* on x */ constraint trigger t after insert on c deferrable for each row execute procedure f()"));
        assertEquals(Optional.empty(), TextReferences.triggerRelation("CREATE TABLE t (a int)"));
        assertEquals(Optional.of("F"), TextReferences.triggerFunction(
                "CREATE TRIGGER t BEFORE UPDATE ON c FOR EACH ROW WHEN (g(NEW.a)) EXECUTE FUNCTION s.\"F\"(1)"));
        assertEquals(Optional.of("f"), TextReferences.triggerFunction(
                "create trigger t after insert on c for each row execute procedure /* x */ F()"));
        assertEquals(Optional.of("c"), TextReferences.ruleRelation(
                "CREATE OR REPLACE RULE r AS ON UPDATE TO public.c DO ALSO NOTIFY x"));
        Set<String> clear = Set.of("n", "City");
        for (String sql : List.of("INSERT INTO a VALUES (NEW::text)", "SELECT row_to_json(NEW)", "SELECT NEW.ssn",
                "INSERT INTO a SELECT (OLD).*", "SELECT new.\"city\"", "INSERT INTO a VALUES (NEW.*)",
                // PL/pgSQL's label named like the function holds the row too; a column named new reads so as well
                "INSERT INTO a VALUES (leak.new::text)", "SELECT leak.new.ssn", "SELECT t.new FROM t")) {
            assertTrue(TextReferences.namesRowBeyond(sql, clear), sql);
        }
        for (String sql : List.of("INSERT INTO a VALUES (NEW.n, TG_OP)", "SELECT new.\"City\", OLD.n", "SELECT 1",
                "SELECT leak.new.n")) {
            assertFalse(TextReferences.namesRowBeyond(sql, clear), sql);
        }
    }

    @Test
    void anExecuteWithConstantArgumentsIsToldFromOneThatRunsSomething() {
        for (String sql : List.of("EXECUTE p", "execute \"P q\";", "EXECUTE p(1)", "EXECUTE p(-1, 2.5e3, 'x', NULL)",
                "EXECUTE p(E'a\\'b', $$c$$, U&'d', B'01', X'ff', true, FALSE)", "EXECUTE p ( - 3 )")) {
            assertTrue(TextReferences.executesWithConstants(sql, true), sql);
        }
        for (String sql : List.of("EXECUTE p(+1)", "EXECUTE p(1 + 1)", "EXECUTE p(lo_unlink(1))", "EXECUTE p('1'::int)",
                "EXECUTE p(date '2020-01-01')", "EXECUTE p((SELECT 1))", "EXECUTE p(1,)", "EXECUTE p()",
                "EXECUTE p(1) x", "EXECUTE p(- -1)", "EXECUTE p(1 ### 2)", "EXECUTE p('a' 'b')", "EXECUTE p(x)",
                "EXECUTE p(cast(1 as int))", "EXECUTE p(ARRAY[1])", "EXECUTE p(- 'x')", "EXECUTE p('x", "PREPARE p",
                "EXECUTE", "EXECUTE p(-)")) {
            assertFalse(TextReferences.executesWithConstants(sql, true), sql);
        }
        // Under standard_conforming_strings off, 'a\'b' is one string; under on, the rest is outside it.
        assertTrue(TextReferences.executesWithConstants("EXECUTE p('a\\'b')", false));
        assertFalse(TextReferences.executesWithConstants("EXECUTE p('a\\'b')", true));
    }
    @Test
    void onlyADiscardOfAllDropsPreparedStatementsAndPortals() {
        for (String sql : List.of("DISCARD ALL", "discard all;", "DISCARD /* plans */ ALL", "DISCARD", "DISCARD x",
                "DISCARD \"plans\"", "DISCARD PLANS ALL", "DISCARD PLANS; DISCARD ALL", "SELECT 1")) {
            assertTrue(TextReferences.discardsNames(sql), sql);
        }
        for (String sql : List.of("DISCARD PLANS", "discard sequences;", "DISCARD TEMP", "Discard Temporary",
                "DISCARD -- all\n PLANS", "DISCARD /* all */ TEMP ;")) {
            assertFalse(TextReferences.discardsNames(sql), sql);
        }
    }
}
