package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Red-team findings against Warden's reading of statements (issue 11). Each test plays an attacker who can
 * only talk to Warden, and asserts what must hold: table {@code t} and its 10 rows survive, or Warden blocks
 * (42501). Each FAILS on main at the time of writing, because PostgreSQL ran a DELETE of every row or a DROP
 * TABLE that no baseline guardrail blocked. {@code prod} is production with the baseline on (the default);
 * {@code staging} keeps the baseline on but is not production (DO blocks and unparsed statements may run).
 * See FINDINGS.md at the root of branch {@code redteam}.
 */
class RedTeamTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS t CASCADE");
            s.execute("DROP TABLE IF EXISTS src CASCADE");
            s.execute("DROP TABLE IF EXISTS audit_log CASCADE");
            s.execute("DROP TYPE IF EXISTS t_shape CASCADE");
            s.execute("DROP TYPE IF EXISTS t_box CASCADE");
            s.execute("CREATE TABLE t (id int, a int)");
            s.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 10) g");
            s.execute("GRANT ALL ON t TO PUBLIC");
            // A function that deletes every row of t, already in the database (any engineer may create one
            // through Warden: CREATE FUNCTION is declarative DDL and passes the baseline).
            s.execute("CREATE OR REPLACE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'");
            s.execute("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'SELECT 1'");
            s.execute("DROP FUNCTION IF EXISTS public.lower(int)");
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static Connection prod() throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple");
    }

    private static Connection staging() throws SQLException {
        return warden.connect("staging", WardenHarness.USER, warden.token(), "preferQueryMode=simple");
    }

    /**
     * Runs the attack's steps in order through Warden. A Warden block (42501) ends the attack (that is the
     * fixed behaviour); any other error is a broken test and is rethrown. Returns the steps Warden allowed.
     */
    private static List<String> attack(Connection c, String... steps) throws SQLException {
        List<String> ran = new ArrayList<>();
        for (String sql : steps) {
            try (Statement s = c.createStatement()) {
                s.execute(sql);
                ran.add(sql);
            } catch (SQLException e) {
                if ("42501".equals(e.getSQLState())) {
                    return ran;
                }
                if (!c.getAutoCommit()) {
                    c.rollback();
                }
                throw e;
            }
        }
        return ran;
    }

    private static void assertBlocked(Connection c, String sql, String rule) {
        SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("\"" + rule + "\""), sql + ": " + e.getMessage());
    }

    private static void assertTableIntact(List<String> ran) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT to_regclass('public.t') IS NOT NULL")) {
                rs.next();
                assertTrue(rs.getBoolean(1), "table t was DROPPED by PostgreSQL although Warden allowed: " + ran);
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                rs.next();
                assertEquals(10, rs.getInt(1), "rows of t were DELETED by PostgreSQL although Warden allowed: "
                        + ran);
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t WHERE a IS DISTINCT FROM id")) {
                rs.next();
                assertEquals(0, rs.getInt(1), "every row of t was UPDATED by PostgreSQL although Warden allowed: "
                        + ran);
            }
        }
    }

    @Test
    void controlTheBaselineBlocksTheObviousForms() throws SQLException {
        try (Connection c = prod()) {
            assertBlocked(c, "DELETE FROM t", "delete-without-where");
            assertBlocked(c, "SELECT wipe()", "delete-without-where");
            assertBlocked(c, "DROP TABLE t", "drop-table-or-schema");
        }
        try (Connection c = staging()) {
            assertBlocked(c, "DO $$ BEGIN DELETE FROM t; END $$", "delete-without-where");
        }
        assertTableIntact(List.of());
    }

    // ------------------------------------------------------------------------------------------ findings

    @Test
    void f1FunctionInsideAnArraySubscript() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c, "SELECT a[wipe()] FROM (SELECT ARRAY[1] a) s"));
        }
    }

    @Test
    void f1FunctionInsideAnArraySlice() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c, "SELECT (ARRAY[1])[1:wipe()]"));
        }
    }

    @Test
    void f1FieldExpansionOfAFunctionResult() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION wipe_rec(OUT x int, OUT y int) LANGUAGE sql AS 'DELETE FROM t; SELECT 1, 2'",
                    "SELECT (wipe_rec()).*"));
        }
    }

    @Test
    void f2AttributeNotationCallsAFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION wipe_row(t) RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "SELECT t.wipe_row FROM t"));
        }
    }

    @Test
    void f3OperatorCallsADeletingFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION wipe_plus(int, text) RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "CREATE OPERATOR + (leftarg = int, rightarg = text, function = wipe_plus)",
                    "SELECT 1 + 'x'::text"));
        }
    }

    @Test
    void f3TriggerFunctionReplacedAfterTheTriggerWasCreated() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE TABLE audit_log (x int)",
                    "CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
                    "CREATE TRIGGER log_it AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION log_it()",
                    "CREATE OR REPLACE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS "
                            + "$$ BEGIN DELETE FROM t; RETURN NEW; END $$",
                    "INSERT INTO audit_log VALUES (1)"));
        }
    }

    @Test
    void f3AggregateWithADeletingTransitionFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION wipe_sf(int, int) RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "CREATE AGGREGATE wipe_agg(int) (sfunc = wipe_sf, stype = int)",
                    "SELECT wipe_agg(id) FROM t"));
        }
    }

    @Test
    void f3CastWithADeletingFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE TYPE t_box AS (x int)",
                    "CREATE FUNCTION to_box(int) RETURNS t_box LANGUAGE sql AS "
                            + "'DELETE FROM t; SELECT ROW($1)::t_box'",
                    "CREATE CAST (int AS t_box) WITH FUNCTION to_box(int)",
                    "SELECT 1::t_box"));
        }
    }

    @Test
    void f12QuotedFunctionNameWithADot() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION \"a.bump\"() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "SELECT \"a.bump\"()"));
        }
    }

    @Test
    void f13UpsertOfTheTableIntoItselfUpdatesEveryRow() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE UNIQUE INDEX t_id ON t (id)",
                    "INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET a = 0"));
        }
    }

    @Test
    void f4FunctionReplacedInTheSameText() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'; "
                            + "SELECT bump()"));
        }
    }

    @Test
    void f4FunctionReplacedInTheSameTransaction() throws SQLException {
        try (Connection c = prod()) {
            c.setAutoCommit(false);
            List<String> ran = attack(c,
                    "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "SELECT bump()");
            c.commit();
            assertTableIntact(ran);
        }
    }

    @Test
    void f4NamedStatementExecutedAfterTheFunctionWasReplaced() throws Exception {
        List<String> ran = new ArrayList<>();
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // Parse S1 while bump() is harmless; Warden judges it here and only here.
            c.send(new dev.warden.pg.message.FrontendMessage.Parse("s1", "SELECT bump()", List.of()));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            c.expect(dev.warden.pg.message.BackendMessage.ParseComplete.class);
            c.expect(dev.warden.pg.message.BackendMessage.ReadyForQuery.class);
            ran.add("Parse s1: SELECT bump()");
            c.send(new dev.warden.pg.message.FrontendMessage.Query(
                    "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'"));
            dev.warden.pg.message.BackendMessage m;
            boolean replaced = true;
            while (!((m = c.read()) instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery)) {
                replaced &= !(m instanceof dev.warden.pg.message.BackendMessage.ErrorResponse);
            }
            if (replaced) {
                ran.add("CREATE OR REPLACE FUNCTION bump() ... DELETE FROM t ...");
                // Bind and Execute the statement parsed before: no new Parse, so no new judgement.
                c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "s1", List.of(), List.of(), List.of()));
                c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
                c.send(new dev.warden.pg.message.FrontendMessage.Sync());
                while (!((m = c.read()) instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery)) {
                    if (m instanceof dev.warden.pg.message.BackendMessage.ErrorResponse e) {
                        ran.add("Bind/Execute s1 failed: " + e.sqlState());
                    }
                }
                ran.add("Bind/Execute s1");
            }
        }
        assertTableIntact(ran);
    }

    @Test
    void f4SqlPrepareThenReplaceThenExecute() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "PREPARE p AS SELECT bump()",
                    "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'",
                    "EXECUTE p"));
        }
    }

    @Test
    void f5PlpgsqlReturnExpressionCallsADeletingFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION via_return() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN wipe(); END $$",
                    "SELECT via_return()"));
        }
    }

    @Test
    void f5OpenCursorForDeleteInADoBlock() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO $$ DECLARE c refcursor; r record; BEGIN "
                    + "OPEN c FOR DELETE FROM t RETURNING *; FETCH c INTO r; CLOSE c; END $$"));
        }
    }

    /** Attacker's pass a120: OPEN takes a variable named by its block's label, or a parameter. */
    @Test
    void f5OpenOfALabelledOrParameterCursorForDelete() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO $$ <<c>> DECLARE c refcursor; r record; BEGIN "
                    + "OPEN c.c FOR DELETE FROM t RETURNING *; FETCH c INTO r; CLOSE c; END $$"));
        }
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE OR REPLACE FUNCTION pop_arg(k refcursor) RETURNS int LANGUAGE plpgsql AS $$ DECLARE r record; "
                            + "BEGIN OPEN $1 FOR DELETE FROM t RETURNING id; FETCH $1 INTO r; RETURN r.id; END $$",
                    "SELECT pop_arg('k')"));
            assertTableIntact(attack(c,
                    "CREATE OR REPLACE FUNCTION pop_lbl() RETURNS int LANGUAGE plpgsql AS $$ <<blk>> DECLARE cur "
                            + "refcursor; r record; BEGIN OPEN blk.cur FOR UPDATE t SET a = 0 RETURNING id; FETCH cur "
                            + "INTO r; RETURN r.id; END $$",
                    "CREATE OR REPLACE VIEW pop_view AS SELECT pop_lbl() AS popped", "SELECT * FROM pop_view"));
        }
    }

    /** Attacker's pass a120: a CTE named loop ended the body's statement in Warden's reading (not in PL/pgSQL's). */
    @Test
    void f5ACteNamedLoopInABody() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO $$ BEGIN WITH loop AS (SELECT 1) DELETE FROM t; END $$"));
        }
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE OR REPLACE FUNCTION loop_cte() RETURNS int LANGUAGE plpgsql AS $$ BEGIN WITH loop AS "
                            + "(SELECT 1 AS id) UPDATE t SET a = 0; RETURN 1; END $$",
                    "SELECT loop_cte()"));
        }
    }

    @Test
    void f6EscapedDoBody() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO E'BEGIN \\x44ELETE FROM t; END'"));
        }
    }

    @Test
    void f6EscapedExecuteStringInAFunction() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    // Warden decodes \x27 as "x27": it reads SELECT ' x27 ; DELETE ... -- ' (one string);
                    // PostgreSQL decodes it as a quote and runs SELECT ' '; DELETE FROM t; -- '
                    "CREATE FUNCTION esc() RETURNS int LANGUAGE plpgsql AS "
                            + "$$ BEGIN EXECUTE E'SELECT \\' \\x27 ; DELETE FROM t ; -- \\''; RETURN 1; END $$",
                    "SELECT esc()"));
        }
    }

    @Test
    void f6UnicodeEscapedExecuteString() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO $$ BEGIN EXECUTE U&'\\0044ROP TABLE t'; END $$"));
        }
    }

    @Test
    void f6UnicodeStringBodiesAndUescapeNamesAreReadAsTheServerDecodesThem() throws SQLException {
        // An attacker's pass (2026-12-05), each step seen to run on the demo: a U&'' body was read as written, so
        // \002A/ ended no comment and the DROP or TRUNCATE inside ran as a DO of nothing; \000A ended no -- comment
        // in a function body; and a UESCAPE clause after a U&"" name hid the call from every function check.
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "DO U&'BEGIN /* \\002A/ DROP TABLE t; /\\002A */ END'"));
            assertTableIntact(attack(c, "DO U&'BEGIN /* !002A/ TRUNCATE t; /!002A */ END' UESCAPE '!'"));
        }
        try (Connection c = prod()) {
            assertTableIntact(attack(c, "SELECT U&\"wipe\" UESCAPE '!' ()"));
            assertTableIntact(attack(c, "SELECT public.U&\"w!0069pe\" UESCAPE '!' ()"));
            assertTableIntact(attack(c, "CREATE FUNCTION pg_temp.d1() RETURNS void LANGUAGE sql AS "
                    + "U&'SELECT 1 --\\000A;DROP TABLE t'", "SELECT pg_temp.U&\"d!0031\" UESCAPE '!' ()"));
        }
    }

    @Test
    void f7SqlFunctionBodyRunsUnderTheSessionsStringSetting() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION quiet() RETURNS void LANGUAGE sql AS "
                            + "$f$SELECT 'a\\' , ' ; DELETE FROM t; -- '$f$",
                    "SET standard_conforming_strings = off",
                    "SELECT quiet()"));
        }
    }

    @Test
    void f7FunctionSetClauseChangesHowItsBodyIsRead() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION quiet2() RETURNS void LANGUAGE sql SET standard_conforming_strings = off AS "
                            + "$f$SELECT 'a\\' , ' ; DELETE FROM t; -- '$f$",
                    "SELECT quiet2()"));
        }
    }

    @Test
    void f7SettingChangedEarlierInTheSameTextForADoBlock() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c,
                    "SET standard_conforming_strings = off; DO $$ BEGIN EXECUTE $q$SELECT 'a\\' , ' ; "
                            + "DELETE FROM t; -- '$q$; END $$"));
        }
    }

    @Test
    void f8DropTypeCascadeDropsTheTable() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE TYPE t_shape AS (id int, a int)",
                    "ALTER TABLE t OF t_shape",
                    "DROP TYPE t_shape CASCADE"));
        }
    }

    @Test
    void f9RuleActionHiddenBehindAColumnNamedDo() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c,
                    "CREATE TABLE src (\"do\" int)",
                    "CREATE RULE hide AS ON INSERT TO src WHERE new.do IS NULL DO ALSO DELETE FROM t",
                    "INSERT INTO src VALUES (NULL)"));
        }
    }

    @Test
    void f10DoBlockAfterABeginAtomicBodyWithAsCase() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION f10() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; "
                            + "DO $$ BEGIN DELETE FROM t; END $$"));
        }
    }

    @Test
    void f11QuadraticDoBodyAnalysis() throws Exception {
        // Every SQL word after THEN starts a "statement" that RoutineBodies copies up to the next semicolon:
        // k starts and no semicolon make k copies of O(k) characters, twice, then k cold analyses.
        String attackText = "DO $$ BEGIN " + "IF x THEN SELECT 1 ".repeat(4000) + "END $$";
        try (Connection a = staging(); Statement s = a.createStatement()) {
            long start = System.nanoTime();
            try {
                s.execute(attackText);
            } catch (SQLException refusedOrFailed) {
                // PostgreSQL rejects the body; what matters is how long Warden took before it could answer
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 5_000, "Warden spent " + ms + " ms analysing one 76 KB DO text (one analysis thread "
                    + "of " + Runtime.getRuntime().availableProcessors() + ", and the session's event loop for "
                    + "part of it)");
        }
    }

    @Test
    void f14CallHiddenFromTheLexicalFallback() throws SQLException {
        // JSqlParser cannot parse "AS true", so the lexical fallback reads the statement; it records name( only
        // after a fixed list of words, and TO is not one of them.
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "SELECT true AS true, 'a' SIMILAR TO wipe()::text"));
        }
    }

    @Test
    void f15SetConfigRoleEscalates() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ops_admin') THEN "
                    + "CREATE ROLE ops_admin; END IF; END $$");
        }
        try (Connection c = prod()) {
            assertBlocked(c, "SET ROLE ops_admin", "role-escalation");
            attack(c, "SELECT set_config('role', 'ops_admin', false)");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT current_user")) {
                rs.next();
                assertEquals(TestPostgresUser.NAME, rs.getString(1),
                        "the session now acts as another database role although SET ROLE is blocked");
            }
        }
    }

    @Test
    void f16SqlBodyStartingWithCreateIsNotAnalysed() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION sneak() RETURNS int LANGUAGE sql AS "
                            + "'CREATE TEMP TABLE IF NOT EXISTS scratch (a int); DELETE FROM t; SELECT 1'",
                    "SELECT sneak()"));
        }
    }

    @Test
    void f17PltclFunctionIsNotDynamic() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            try {
                s.execute("CREATE EXTENSION IF NOT EXISTS pltcl"); // a trusted language: no superuser needed
            } catch (SQLException e) {
                org.junit.jupiter.api.Assumptions.assumeTrue(false, "pltcl cannot load here: " + e.getMessage());
            }
        }
        try (Connection c = prod()) {
            assertBlocked(c, "DO LANGUAGE pltcl $$ spi_exec \"SELECT 1\" $$", "dynamic-sql");
            assertTableIntact(attack(c,
                    "CREATE FUNCTION tw() RETURNS int LANGUAGE pltcl AS $$ spi_exec \"DELETE FROM t\"; return 1 $$",
                    "SELECT tw()"));
        }
    }

    @Test
    void f4OverloadOfABuiltInCreatedInTheSameText() throws SQLException {
        try (Connection c = prod()) {
            assertTableIntact(attack(c,
                    "CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'; "
                            + "SELECT lower(1)"));
        }
    }

    @Test
    void f18BuiltInEffectIsCachedForever() throws SQLException {
        try (Connection c = prod()) {
            List<String> ran = attack(c,
                    "CREATE FUNCTION mk_lower() RETURNS void LANGUAGE sql AS "
                            + "'CREATE FUNCTION public.lower(int) RETURNS int LANGUAGE sql AS "
                            + "''DELETE FROM t; SELECT 1''; SELECT NULL::void'",
                    "SELECT lower('X')",    // caches lower as built-in, for good
                    "SELECT mk_lower()");   // DDL inside a SELECT: nothing is invalidated
            try {
                Thread.sleep(6_000);      // longer than FunctionEffects.TTL_NANOS: does not matter
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try (Connection other = prod()) {
                ran.addAll(attack(other, "SELECT lower(1)"));
            } catch (SQLException e) {
                // Warden refused mk_lower where it was written, so public.lower(int) was never created.
                assertEquals("42883", e.getSQLState(), e.getMessage());
            }
            assertTableIntact(ran);
        }
    }

    @Test
    void f19MergeNotMatchedBySourceDeletesEveryRow() throws SQLException {
        // PostgreSQL 17: with an empty source every target row is "not matched by source".
        try (Connection c = prod()) {
            assertTableIntact(attack(c, "MERGE INTO t USING (SELECT 1 AS id WHERE false) s ON t.id = s.id "
                    + "WHEN NOT MATCHED BY SOURCE THEN DELETE"));
        }
    }

    @Test
    void f19MergeInsideWithDeletesEveryRow() throws SQLException {
        try (Connection c = staging()) {
            assertTableIntact(attack(c, "WITH m AS (MERGE INTO t USING (SELECT 1 AS id) s ON true "
                    + "WHEN MATCHED THEN DELETE RETURNING t.*) SELECT count(*) FROM m"));
        }
    }

    @Test
    void f20FunctionEffectTreeExplodes() throws SQLException {
        // Four bodies of k statements each calling the next: k^4 nested statements if expanded naively. The
        // functions are created directly on the database (through Warden the deleting body would be refused
        // where it is written); the call through Warden must be judged, and refused, quickly.
        int k = Integer.getInteger("redteam.k", 40);
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION e4() RETURNS int LANGUAGE sql AS $$DELETE FROM t; "
                    + "SELECT 1;".repeat(k) + "$$");
            for (int level = 3; level >= 1; level--) {
                s.execute("CREATE OR REPLACE FUNCTION e" + level + "() RETURNS int LANGUAGE sql AS $$"
                        + ("SELECT e" + (level + 1) + "();").repeat(k) + "$$");
            }
        }
        long start = System.nanoTime();
        try (Connection c = prod()) {
            assertBlocked(c, "SELECT e1()", "delete-without-where");
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 5_000, "Warden spent " + ms + " ms judging SELECT e1() (four bodies of " + k
                + " statements, " + (long) Math.pow(k, 4) + " nested statement nodes if expanded)");
        assertTableIntact(List.of());
    }

    @Test
    void f21AnalyzerExceptionHidesADropTable() throws SQLException {
        // COPY () ... makes LexicalAnalysis.copy() analyse an empty token list: IndexOutOfBoundsException; the
        // string is never run (IF false), so PostgreSQL never parses it.
        try (Connection c = staging()) {
            assertTableIntact(attack(c,
                    "DO $$ BEGIN IF false THEN EXECUTE 'COPY () TO STDOUT'; END IF; DROP TABLE t; END $$"));
        }
    }

    @Test
    void sideNoteAnyIsNotAFunction() throws SQLException {
        try (Connection c = prod(); ResultSet rs = c.createStatement().executeQuery(
                "SELECT count(*) FROM t WHERE id = ANY('{1,2}'::int[]) AND t.a = a")) {
            rs.next();
            assertEquals(2, rs.getInt(1));
        }
    }

    /** The upstream role of the environments above. */
    private static final class TestPostgresUser {
        static final String NAME = dev.warden.testkit.TestPostgres.SCRAM_USER;
    }
}
