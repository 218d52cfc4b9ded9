package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The attacks that once made Warden's reading differ from PostgreSQL's, and the writes that hid behind other
 * statements: each must now be visible in the analysis. (The differential test checks the readings against
 * the real server; these name the known attacks one by one.)
 */
class HiddenStatementsTest {

    private final Analyzer analyzer = new Analyzer(100);

    private static List<StatementKind> kinds(Analysis a) {
        return a.statements().stream().map(StatementFacts::kind).toList();
    }

    private static boolean anyKind(Analysis a, StatementKind kind) {
        return a.statements().stream().flatMap(f -> f.allStatements().stream()).anyMatch(f -> f.kind() == kind);
    }

    /**
     * PL/pgSQL's {@code OPEN} takes any refcursor variable: one named by its block's label, or a parameter. An
     * attacker's pass (a120) hid a DELETE and an UPDATE in such OPENs, in a function a view called and in a DO block.
     */
    @Test
    void openOfALabelledOrParameterCursorRunsItsStatement() {
        for (String open : List.of("OPEN c.c FOR", "OPEN blk.cur NO SCROLL FOR", "OPEN $1 FOR", "OPEN \"C\" SCROLL FOR",
                "open BLK . cur for")) {
            String body = "<<blk>> DECLARE c refcursor; cur refcursor; r record; BEGIN " + open
                    + " DELETE FROM orders RETURNING id; FETCH c INTO r; RETURN r.id; END";
            Analyzer.RoutineAnalysis routine = analyzer.analyzeRoutineBody("plpgsql", body, true);
            assertTrue(routine.statements().stream().anyMatch(f -> f.kind() == StatementKind.DELETE
                    && f.tablesWritten().contains(new TableRef(null, "orders")) && !f.hasWhere()), open + ": "
                    + routine.statements());
            Analysis block = analyzer.analyze("DO $$" + body.replace("RETURN r.id;", "") + "$$");
            assertTrue(anyKind(block, StatementKind.DELETE), open);
        }
        // A row lock is no OPEN: SELECT ... FOR UPDATE runs no UPDATE.
        Analyzer.RoutineAnalysis lock = analyzer.analyzeRoutineBody("plpgsql",
                "DECLARE r record; BEGIN SELECT * INTO r FROM t AS c FOR UPDATE; END", true);
        assertFalse(lock.statements().stream().anyMatch(f -> f.kind() == StatementKind.UPDATE), lock.statements()
                .toString());
    }

    /** LOOP ends the query of a FOR ... IN loop only; a CTE named loop hid a write (attacker's pass a120). */
    @Test
    void aNameLoopDoesNotEndABodysStatement() {
        for (String statement : List.of("WITH loop AS (SELECT 393 AS id) UPDATE orders SET total = 0 WHERE id IN "
                + "(SELECT id FROM loop)", "WITH loop AS (SELECT 1) DELETE FROM orders",
                "DELETE FROM orders USING (SELECT 1 AS id) loop WHERE orders.id = loop.id")) {
            Analyzer.RoutineAnalysis routine = analyzer.analyzeRoutineBody("plpgsql", "BEGIN " + statement
                    + "; RETURN 1; END", true);
            assertTrue(routine.statements().stream().anyMatch(f -> f.tablesWritten().contains(new TableRef(null,
                    "orders"))), statement + ": " + routine.statements());
            Analysis block = analyzer.analyze("DO $$BEGIN " + statement + "; END$$");
            assertTrue(block.statements().stream().flatMap(f -> f.allStatements().stream()).anyMatch(f -> f
                    .tablesWritten().contains(new TableRef(null, "orders"))), statement);
        }
        // The query of FOR ... IN still ends at LOOP.
        Analyzer.RoutineAnalysis loop = analyzer.analyzeRoutineBody("plpgsql", "DECLARE r record; BEGIN FOR r IN "
                + "SELECT id FROM orders LOOP UPDATE t SET a = r.id WHERE id = 1; END LOOP; END", true);
        assertTrue(loop.statements().stream().anyMatch(f -> f.kind() == StatementKind.SELECT && !f.unparsed()
                && f.tablesRead().contains(new TableRef(null, "orders"))), loop.statements().toString());
        assertTrue(loop.statements().stream().anyMatch(f -> f.kind() == StatementKind.UPDATE
                && f.tablesWritten().contains(new TableRef(null, "t"))), loop.statements().toString());
    }

    /**
     * Fail closed: a body's statement Warden cannot read, whose words name a write its reading did not find, counts
     * as SQL Warden cannot follow (the a120 holes were such statements, listed as unparsed reads).
     */
    @Test
    void anUnreadBodyStatementNamingAWriteIsNotARead() {
        Analysis hidden = analyzer.analyze("DO $$BEGIN SELECT 1 FROM a UPDATE orders SET x = 1; END$$");
        assertTrue(hidden.statements().get(0).dynamicSql() && hidden.statements().get(0).writes(),
                hidden.statements().toString());
        assertTrue(Analyzer.namesAWrite(Lexer.tokenize("SELECT open c.c for delete FROM orders").tokens()));
        for (String read : List.of("SELECT * FROM t FOR UPDATE", "SELECT * FROM t FOR NO KEY UPDATE OF t",
                "SELECT t.update, s.delete FROM t, s", "SELECT 1 FROM fk WHERE confdeltype = 'c' -- ON DELETE")) {
            assertFalse(Analyzer.namesAWrite(Lexer.tokenize(read).tokens()), read);
        }
        Analysis lock = analyzer.analyze("DO $$DECLARE r record; BEGIN SELECT * INTO r FROM t FOR UPDATE; END$$");
        assertFalse(lock.statements().get(0).dynamicSql(), lock.statements().toString());
    }

    @Test
    void lineCommentEndsAtCarriageReturn() {
        Analysis a = analyzer.analyze("SELECT 1 -- note\r; DROP TABLE customers; -- rest");
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(a));
    }

    @Test
    void backslashQuoteFollowsStandardConformingStrings() {
        String sql = "SELECT 'a\\'; DROP TABLE customers; --'";
        assertEquals(List.of(StatementKind.SELECT), kinds(analyzer.analyze(sql, false)));
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(analyzer.analyze(sql, true)));
        assertTrue(Analyzer.dependsOnStringSetting(sql));
        assertFalse(Analyzer.dependsOnStringSetting("SELECT E'a\\'' , 'b'"));
    }

    @Test
    void bitStringEndsAtItsFirstQuoteAndContinuesInItsOwnState() {
        // B'0' then a doubled quote: the second quote opens an ordinary string (escapes under scs off)
        String doubled = "SELECT B'0''\\'; DROP TABLE customers; --'";
        assertEquals(List.of(StatementKind.SELECT), kinds(analyzer.analyze(doubled, false)));
        // A continuation after a newline stays a bit string, where a backslash is just a character
        String continued = "SELECT B'0'\n'\\'; DROP TABLE customers; --'";
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(analyzer.analyze(continued, false)));
    }

    @Test
    void sjisTrailByteIsNotABackslash() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("SELECT E'".getBytes(StandardCharsets.US_ASCII));
        bytes.write(0x95);
        bytes.write(0x5C); // the second byte of one SJIS character
        bytes.writeBytes("'; DROP TABLE customers; --'".getBytes(StandardCharsets.US_ASCII));
        String text = ClientEncoding.named("SJIS").orElseThrow().decode(bytes.toByteArray());
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(analyzer.analyze(text)));
    }

    @Test
    void everyPieceOfAnAtomicBodyIsSeen() {
        Analysis a = analyzer.analyze("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case;"
                + " END; DROP TABLE customers;");
        assertTrue(anyKind(a, StatementKind.DROP), a.toString());
    }

    @Test
    void dropOwnedIsItsOwnKind() {
        assertEquals(List.of(StatementKind.DROP_OWNED), kinds(analyzer.analyze("DROP OWNED BY alice CASCADE")));
    }

    @Test
    void mergeOnTrueHasNoWhere() {
        StatementFacts f = analyzer.analyze("MERGE INTO customers c USING (SELECT 1 AS id) s ON true "
                + "WHEN MATCHED THEN DELETE").statements().get(0);
        assertTrue(f.innerKinds().contains(StatementKind.DELETE));
        assertFalse(f.hasWhere());
        StatementFacts keyed = analyzer.analyze("MERGE INTO customers c USING (SELECT 1 AS id) s ON c.id = s.id "
                + "WHEN MATCHED THEN DELETE").statements().get(0);
        assertTrue(keyed.hasWhere());
        StatementFacts same = analyzer.analyze("MERGE INTO customers c USING (SELECT 1 AS id) s ON c.id = c.id "
                + "WHEN MATCHED THEN UPDATE SET name = 'x'").statements().get(0);
        assertFalse(same.hasWhere());
    }

    @Test
    void ruleActionsAreStatements() {
        StatementFacts f = analyzer.analyze("CREATE RULE r AS ON INSERT TO audit_log DO ALSO DELETE FROM customers")
                .statements().get(0);
        assertTrue(f.nested().stream().anyMatch(n -> n.kind() == StatementKind.DELETE && !n.hasWhere()));
        StatementFacts several = analyzer.analyze("CREATE RULE r AS ON INSERT TO a DO INSTEAD (INSERT INTO b "
                + "VALUES (1); DROP TABLE customers)").statements().get(0);
        assertEquals(List.of(StatementKind.INSERT, StatementKind.DROP),
                several.nested().stream().map(StatementFacts::kind).toList());
    }

    @Test
    void doBlockStaticSqlAndConstantExecuteAreStatements() {
        StatementFacts f = analyzer.analyze("DO $$ BEGIN EXECUTE 'DROP TABLE customers'; "
                + "DELETE FROM orders; END $$").statements().get(0);
        List<StatementKind> nested = f.nested().stream().map(StatementFacts::kind).toList();
        assertTrue(nested.contains(StatementKind.DROP), nested.toString());
        assertTrue(nested.contains(StatementKind.DELETE), nested.toString());
        assertFalse(f.dynamicSql());
    }

    @Test
    void computedExecuteIsDynamic() {
        StatementFacts f = analyzer.analyze("DO $$ BEGIN EXECUTE 'DROP TABLE ' || 'customers'; END $$")
                .statements().get(0);
        assertTrue(f.dynamicSql());
        StatementFacts python = analyzer.analyze("DO LANGUAGE plpython3u $$ plpy.execute('x') $$").statements()
                .get(0);
        assertTrue(python.dynamicSql());
    }

    @Test
    void sqlFunctionBodiesAreAnalysedLikeStatements() {
        Analyzer.RoutineAnalysis body = analyzer.analyzeRoutineBody("sql", "DELETE FROM customers; SELECT 1",
                true);
        assertEquals(List.of(StatementKind.DELETE, StatementKind.SELECT),
                body.statements().stream().map(StatementFacts::kind).toList());
        Analyzer.RoutineAnalysis plpgsql = analyzer.analyzeRoutineBody("plpgsql",
                "BEGIN IF true THEN DROP TABLE customers; END IF; RETURN 1; END", true);
        assertTrue(plpgsql.statements().stream().anyMatch(s -> s.kind() == StatementKind.DROP));
    }

    @Test
    void aBodysFetchIsListedOnlyWhenItReadsACursorTheBodyDidNotOpen() {
        // Own cursors: bound where declared (k), or opened by the body (o); their queries are listed instead.
        Analyzer.RoutineAnalysis own = analyzer.analyzeRoutineBody("plpgsql", "DECLARE k NO SCROLL CURSOR FOR "
                + "SELECT a FROM t; o refcursor; v text; BEGIN OPEN k; FETCH k INTO v; OPEN o FOR SELECT b FROM t; "
                + "FETCH NEXT FROM o INTO v; MOVE LAST IN o; RETURN v; END", true);
        assertEquals(List.of(), fetches(own), own.statements().toString());
        // An argument's cursor (r), even beside an own cursor whose name is a FETCH keyword, and a quoted name.
        Analyzer.RoutineAnalysis argument = analyzer.analyzeRoutineBody("plpgsql", "DECLARE forward refcursor; "
                + "v text; BEGIN OPEN forward FOR SELECT 1; FETCH FORWARD 1 FROM r INTO v; FETCH \"R\" INTO v; "
                + "RETURN v; END", true);
        assertEquals(List.of("FETCH FORWARD 1 FROM r INTO v", "FETCH \"R\" INTO v"), fetches(argument));
    }

    private static List<String> fetches(Analyzer.RoutineAnalysis body) {
        return body.statements().stream().filter(s -> s.kind() == StatementKind.FETCH).map(StatementFacts::text)
                .toList();
    }

    @Test
    void largeObjectWritersAreWrites() {
        assertTrue(analyzer.analyze("SELECT lo_from_bytea(0, 'x')").statements().get(0).writes());
        assertTrue(analyzer.analyze("SELECT pg_catalog.lo_put(1, 0, 'x')").statements().get(0).writes());
        assertFalse(analyzer.analyze("SELECT lower('x')").statements().get(0).writes());
    }

    @Test
    void executeOfAnEscapedConstantReadsTheTextItDenotes() {
        StatementFacts f = analyzer.analyze("DO $$ BEGIN EXECUTE E'DROP\\x20TABLE customers'; END $$").statements()
                .get(0);
        assertTrue(f.nested().stream().anyMatch(n -> n.kind() == StatementKind.DROP), f.nested().toString());
        StatementFacts octal = analyzer.analyze("DO $$ BEGIN EXECUTE E'DROP\\040TABLE customers'; END $$")
                .statements().get(0);
        assertTrue(octal.nested().stream().anyMatch(n -> n.kind() == StatementKind.DROP));
        assertTrue(analyzer.analyze("DO $$ BEGIN EXECUTE U&'DROP\\0020TABLE t'; END $$").statements().get(0)
                .dynamicSql());
    }

    @Test
    void mergeNeedsATargetColumnInItsCondition() {
        assertFalse(analyzer.analyze("MERGE INTO t USING (SELECT 1 AS id) s ON 'yes'::boolean "
                + "WHEN MATCHED THEN DELETE").statements().get(0).hasWhere());
        assertFalse(analyzer.analyze("MERGE INTO t USING s ON EXISTS (SELECT 1 FROM s WHERE s.id = 1) "
                + "WHEN MATCHED THEN DELETE").statements().get(0).hasWhere());
        assertTrue(analyzer.analyze("MERGE INTO public.t AS tt USING s ON tt.id = s.id "
                + "WHEN MATCHED THEN DELETE").statements().get(0).hasWhere());
    }

    @Test
    void aFunctionBodyIsJudgedWhereItIsWritten() {
        StatementFacts f = analyzer.analyze("CREATE OR REPLACE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql "
                + "AS $$BEGIN DELETE FROM customers; RETURN NEW; END$$").statements().get(0);
        assertTrue(f.nested().stream().anyMatch(n -> n.kind() == StatementKind.DELETE && !n.hasWhere()));
        assertTrue(analyzer.analyze("CREATE FUNCTION p() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$")
                .statements().get(0).dynamicSql());
        assertFalse(analyzer.analyze("CREATE FUNCTION c_fn() RETURNS int LANGUAGE c AS 'lib', 'sym'")
                .statements().get(0).dynamicSql());
    }

    @Test
    void definitionsNameTheFunctionsLaterStatementsCallImplicitly() {
        assertTrue(analyzer.analyze("CREATE AGGREGATE agg(int) (SFUNC = agg_s, STYPE = int)").statements().get(0)
                .functions().contains("agg_s"));
        assertTrue(analyzer.analyze("CREATE CAST (int AS mt) WITH FUNCTION to_mt(int)").statements().get(0)
                .functions().contains("to_mt"));
        assertTrue(analyzer.analyze("CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = s.f)")
                .statements().get(0).functions().contains("s.f"));
        assertFalse(analyzer.analyze("CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1))")
                .statements().get(0).functions().contains("also"));
    }
}
