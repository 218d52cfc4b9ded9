package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SELECT that calls a user function runs the function's body: Warden reads the body from the catalog and
 * judges what it runs. {@code staging} keeps the baseline on; {@code reviewed} blocks every write; {@code kept}
 * blocks a DELETE of t (a rule that names a table: what a relation runs is judged by those).
 */
class FunctionEffectsThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  reviewed:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  kept:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """, """
                guardrails:
                  - { name: no-writes-here, environments: [reviewed], match: { writes: true }, action: block }
                  - { name: t-kept, environments: [kept], match: { statements: [DELETE], tables: [public.t] }, action: block }
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
            s.execute("CREATE TABLE t (id int, a int)");
            s.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 10) g");
            s.execute("GRANT ALL ON t TO PUBLIC");
            s.execute("CREATE OR REPLACE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'");
            s.execute("CREATE OR REPLACE FUNCTION wipe_atomic() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                    + "DELETE FROM t; SELECT 1; END");
            s.execute("CREATE OR REPLACE FUNCTION wipe_later(n text) RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN EXECUTE 'DELETE FROM ' || n; RETURN 1; END $$");
            s.execute("CREATE OR REPLACE FUNCTION calls_wipe() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN PERFORM wipe(); RETURN 1; END $$");
            s.execute("CREATE OR REPLACE FUNCTION twice(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2'");
            s.execute("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'SELECT 1'");
        }
    }

    private static void assertBlocked(Connection c, String sql, String rule) {
        SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("\"" + rule + "\""), sql + ": " + e.getMessage());
    }

    private static int rows() throws SQLException {
        try (Connection c = warden.direct(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM t")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aSelectCallingAFunctionThatDeletesIsADelete() throws SQLException {
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT wipe()", "delete-without-where");
            assertBlocked(c, "SELECT * FROM wipe_atomic()", "delete-without-where");
            assertBlocked(c, "SELECT calls_wipe()", "delete-without-where");
            assertBlocked(c, "SELECT wipe_later('t')", "dynamic-sql");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT twice(21), lower('X'), now() IS NOT NULL")) {
                rs.next();
                assertEquals(42, rs.getInt(1));
            }
        }
        assertEquals(10, rows());
    }

    @Test
    void aVolatileUserFunctionIsAWriteAndAnImmutableOneIsNot() throws SQLException {
        try (Connection c = warden.connect("reviewed", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT bump()", "no-writes-here");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT twice(2)")) {
                rs.next();
                assertEquals(4, rs.getInt(1));
            }
        }
    }

    @Test
    void aFunctionIsJudgedByItsBodyWhenItIsCreated() throws SQLException {
        // A function may run without being named (a trigger, a default, a view, an operator, an aggregate):
        // a body Warden would refuse is refused where it is written.
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT bump()")) {
                rs.next();
            }
            // Its own function (another role's bump() it may not replace at all: masking-handoff).
            c.createStatement().execute("CREATE OR REPLACE FUNCTION bump_own() RETURNS int LANGUAGE sql AS "
                    + "'SELECT 1'");
            assertBlocked(c, "CREATE OR REPLACE FUNCTION bump_own() RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'", "delete-without-where");
            assertBlocked(c, "CREATE OR REPLACE FUNCTION bump_own() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t; RETURN 1; END $$", "delete-without-where");
            assertBlocked(c, "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'", "masking-handoff");
            c.createStatement().execute("CREATE OR REPLACE FUNCTION tidy(n int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t WHERE id = n; SELECT 1'");
        }
        assertEquals(10, rows());
    }

    /**
     * a149 F3: a WHERE on a body's variables, parameters, loop variables or NEW alone changes every row or none, as
     * {@code WHERE $1} does; each was read as naming a column and emptied the table. Refused in a DO block, where a
     * function or rule is written, and at the call of a function made outside Warden (its parameters' names read from
     * the catalog). A WHERE that compares a column with one of them runs.
     */
    @Test
    void aWhereOnABodysVariablesAloneIsWithoutWhere() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION purge_if(p boolean) RETURNS void LANGUAGE sql AS "
                    + "'DELETE FROM public.t WHERE p'");
            s.execute("CREATE OR REPLACE FUNCTION purge_loop() RETURNS void LANGUAGE plpgsql AS "
                    + "$$ BEGIN FOR i IN 1..1 LOOP DELETE FROM public.t WHERE i = 1; END LOOP; END $$");
            s.execute("CREATE OR REPLACE FUNCTION tidy_one(k int) RETURNS void LANGUAGE sql AS "
                    + "'DELETE FROM public.t WHERE id = k'");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "DO $$DECLARE k int := 1; BEGIN DELETE FROM t WHERE k = 1; END$$",
                    "delete-without-where");
            assertBlocked(c, "DO $$DECLARE r record; BEGIN FOR r IN SELECT true AS k LOOP UPDATE t SET a = 0 "
                    + "WHERE r.k; END LOOP; END$$", "update-without-where");
            // a151 F1, F2: a bound cursor's parameter, a field of a variable in parentheses
            assertBlocked(c, "DO $$DECLARE c CURSOR (k int) FOR WITH d AS (DELETE FROM t WHERE k = 1 RETURNING 1) "
                    + "SELECT * FROM d; r record; BEGIN FOR r IN c(1) LOOP END LOOP; END$$", "delete-without-where");
            assertBlocked(c, "DO $$DECLARE r record; BEGIN SELECT 1 AS id INTO r; DELETE FROM t WHERE (r).id = 1; "
                    + "END$$", "delete-without-where");
            assertBlocked(c, "CREATE FUNCTION purge_own(p boolean) RETURNS void LANGUAGE sql AS "
                    + "'DELETE FROM public.t WHERE p'", "delete-without-where");
            assertBlocked(c, "CREATE FUNCTION purge_atomic(p boolean) RETURNS void LANGUAGE sql BEGIN ATOMIC "
                    + "DELETE FROM public.t WHERE p; END", "delete-without-where");
            assertBlocked(c, "SELECT purge_if(true)", "delete-without-where");
            assertBlocked(c, "SELECT purge_loop()", "delete-without-where");
            c.createStatement().execute("DO $$DECLARE k int := 1; BEGIN DELETE FROM t WHERE id = k; END$$");
            c.createStatement().execute("SELECT tidy_one(2)");
        }
        assertEquals(8, rows());
    }

    @Test
    void anAggregateRunsItsSupportFunctions() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION agg_s(int, int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t RETURNING 1'");
            s.execute("DROP AGGREGATE IF EXISTS wipe_agg(int)");
            s.execute("CREATE AGGREGATE wipe_agg(int) (SFUNC = agg_s, STYPE = int)");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT wipe_agg(1)", "delete-without-where");
            assertBlocked(c, "CREATE AGGREGATE wipe_agg2(int) (SFUNC = agg_s, STYPE = int)",
                    "delete-without-where");
        }
        assertEquals(10, rows());
    }

    @Test
    void operatorsAndCastsRunTheirFunctions() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION wipe2(int, int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t RETURNING 1'");
            s.execute("DROP OPERATOR IF EXISTS ### (int, int)");
            s.execute("CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = wipe2)");
            s.execute("DROP TYPE IF EXISTS mt CASCADE");
            s.execute("CREATE TYPE mt AS (x int)");
            s.execute("CREATE OR REPLACE FUNCTION wipe_cast(int) RETURNS mt LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'");
            s.execute("CREATE CAST (int AS mt) WITH FUNCTION wipe_cast(int)");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT 1 ### 1", "delete-without-where");
            assertBlocked(c, "SELECT 1 OPERATOR(public.###) 1", "delete-without-where");
            assertBlocked(c, "SELECT 1::mt", "delete-without-where");
            assertBlocked(c, "SELECT CAST(1 AS mt)", "delete-without-where");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT 1 + 1, 2::text")) {
                rs.next();
                assertEquals(2, rs.getInt(1));
            }
        }
        assertEquals(10, rows());
    }

    /**
     * Refused in {@code kept}: by the rule that keeps t (what a relation runs is judged by the rules that name
     * tables), or by the baseline where the text names the type whose cast or default runs.
     */
    private static void assertKept(Connection c, String sql) {
        SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("\"t-kept\"") || e.getMessage().contains("\"delete-without-where\""),
                sql + ": " + e.getMessage());
    }

    /**
     * A column without a default of its own takes its domain's DEFAULT: an INSERT that leaves the column out, and
     * SET col = DEFAULT, call the function the domain's default calls, and so do ADD COLUMN of the domain (over the
     * rows there) and a table made with it in the same text (attacker pass a109, H4: the last two ran here).
     */
    @Test
    void aDomainsDefaultRunsItsFunctionForAWriteThatLeavesTheColumnOut() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("DROP TABLE IF EXISTS dt CASCADE");
            s.execute("DROP DOMAIN IF EXISTS ddef CASCADE");
            s.execute("CREATE OR REPLACE FUNCTION delf() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t; RETURN 1; END $$");
            s.execute("CREATE DOMAIN ddef AS int DEFAULT delf()");
            s.execute("CREATE TABLE dt (x int, y ddef)");
            s.execute("INSERT INTO dt VALUES (1, 1)");
        }
        try (Connection c = warden.connect("kept", WardenHarness.USER, warden.token(), "")) {
            assertKept(c, "INSERT INTO dt(x) VALUES (1)");
            assertKept(c, "INSERT INTO dt DEFAULT VALUES");
            assertKept(c, "INSERT INTO dt(x) SELECT 1");
            assertKept(c, "UPDATE dt SET y = DEFAULT WHERE x = 1");
            assertKept(c, "ALTER TABLE dt ADD COLUMN z ddef");
            assertKept(c, "CREATE TABLE dt2 (a int, b ddef); INSERT INTO dt2(a) VALUES (1)");
        }
        assertEquals(10, rows());
    }

    private static void makeEnumWithCast(Statement s, String type, String target, String context, String body)
            throws SQLException {
        s.execute("DROP TYPE IF EXISTS " + type + " CASCADE");
        s.execute("CREATE TYPE " + type + " AS ENUM ('a', 'b')");
        s.execute("CREATE OR REPLACE FUNCTION " + type + "_to(" + type + ") RETURNS " + target
                + " LANGUAGE plpgsql AS $$ BEGIN " + body + "; RETURN '\"x\"'; END $$");
        s.execute("CREATE CAST (" + type + " AS " + target + ") WITH FUNCTION " + type + "_to(" + type + ")"
                + context);
        s.execute("CREATE TABLE " + type + "_tab (id int, c " + type + ")");
        s.execute("INSERT INTO " + type + "_tab VALUES (1, 'a')");
    }

    /**
     * Converting a value of a user's type to json or jsonb uses the type's cast to json (or jsonb) where there is
     * one, whatever its context, with no cast in the text: to_json, row_to_json, json_agg and the other builders
     * (json.c's categorizing; attacker pass a109, H5: all ran).
     */
    @Test
    void aTypesCastToJsonRunsForJsonBuilders() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            makeEnumWithCast(s, "enj", "json", "", "DELETE FROM t");
            makeEnumWithCast(s, "enjb", "jsonb", "", "DELETE FROM t");
        }
        try (Connection c = warden.connect("kept", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"SELECT to_json(c) FROM enj_tab", "SELECT row_to_json(enj_tab) FROM enj_tab",
                    "SELECT json_agg(x) FROM enj_tab x", "SELECT to_json('a'::enj)", "SELECT to_jsonb(x) FROM enjb_tab x",
                    "SELECT json_build_object('k', c) FROM enj_tab", "SELECT jsonb_build_array(c) FROM enjb_tab",
                    "SELECT JSON_ARRAYAGG(c) FROM enj_tab", "SELECT to_json(x.*) FROM enj_tab x"}) {
                assertKept(c, sql);
            }
        }
        assertEquals(10, rows());
    }

    /**
     * A value of a user's type taken where text is wanted is cast by the server with no cast in the text: an
     * implicit cast by argument coercion (upper(c), c LIKE ..., an assignment), and even an explicit-only cast that
     * a built-in SQL function's body writes (c || 'x' is textanycat, quote_literal casts $1::text). Attacker pass
     * a109, H6: all ran. A cast whose function only reads leaves plain reads alone.
     */
    @Test
    void castsOutOfAColumnsTypeRunForBuiltInsThatTakeText() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            makeEnumWithCast(s, "eni", "text", " AS IMPLICIT", "DELETE FROM t");
            makeEnumWithCast(s, "ene", "text", "", "DELETE FROM t");
            makeEnumWithCast(s, "enr", "text", " AS IMPLICIT", "PERFORM count(*) FROM t");
            s.execute("DROP TABLE IF EXISTS texts");
            s.execute("CREATE TABLE texts (id int, s text)");
        }
        try (Connection c = warden.connect("kept", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"SELECT upper(c) FROM eni_tab", "SELECT length(c) FROM eni_tab",
                    "SELECT string_agg(c, ',') FROM eni_tab", "SELECT * FROM eni_tab WHERE c LIKE 'a'",
                    "INSERT INTO texts(s) SELECT c FROM eni_tab", "UPDATE texts SET s = c FROM eni_tab WHERE texts.id = 1",
                    "SELECT c || 'x' FROM ene_tab", "SELECT 'x' || c FROM ene_tab",
                    "SELECT quote_literal(c) FROM ene_tab", "SELECT quote_nullable(c) FROM ene_tab"}) {
                assertKept(c, sql);
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT upper(c), length(c) FROM enr_tab")) {
                assertTrue(rs.next());
            }
        }
        assertEquals(10, rows());
    }

    /**
     * A read that runs a write is that write for every rule, not only those that name tables: a cast out of a
     * column's type, a view's function, a row security policy's function. Before, {@code SELECT upper(c) FROM t}
     * whose cast deleted every row passed the staging baseline and a rule holding every write (prod's
     * {@code writes: true} approval), where {@code SELECT f()} is refused. Controls: a read-only cast or view
     * function (volatile, as functions are by default) leaves the read alone, and a table whose trigger runs SQL
     * built at run time is still read (before, the unknown trigger made every read of it a possible write of t).
     */
    @Test
    void aReadThatRunsAWriteIsJudgedAsThatWriteByEveryRule() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            makeEnumWithCast(s, "enw", "text", " AS IMPLICIT", "DELETE FROM t");
            makeEnumWithCast(s, "enq", "text", " AS IMPLICIT", "PERFORM count(*) FROM t");
            s.execute("CREATE OR REPLACE FUNCTION wipes_quietly() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t WHERE id > 0; RETURN 1; END $$");
            s.execute("CREATE OR REPLACE FUNCTION counts() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN RETURN (SELECT count(*) FROM t); END $$");
            s.execute("CREATE OR REPLACE FUNCTION runs_later() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN EXECUTE 'DELETE FROM ' || 't'; RETURN 1; END $$");
            s.execute("CREATE OR REPLACE VIEW wiping_view AS SELECT wipes_quietly() AS w");
            s.execute("CREATE OR REPLACE VIEW counting_view AS SELECT counts() AS n");
            s.execute("CREATE OR REPLACE VIEW later_view AS SELECT runs_later() AS n");
            s.execute("DROP TABLE IF EXISTS guarded CASCADE");
            s.execute("CREATE TABLE guarded (id int)");
            s.execute("INSERT INTO guarded VALUES (1)");
            s.execute("CREATE POLICY p ON guarded USING (wipes_quietly() > 0)");
            s.execute("ALTER TABLE guarded ENABLE ROW LEVEL SECURITY");
            s.execute("DROP TABLE IF EXISTS routed CASCADE");
            s.execute("CREATE TABLE routed (id int)");
            s.execute("INSERT INTO routed VALUES (1)");
            s.execute("CREATE OR REPLACE FUNCTION route() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$ BEGIN EXECUTE 'INSERT INTO routed_' || NEW.id; RETURN NULL; END $$");
            s.execute("CREATE TRIGGER route BEFORE INSERT ON routed FOR EACH ROW EXECUTE FUNCTION route()");
            s.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT upper(c) FROM enw_tab", "delete-without-where");
            assertBlocked(c, "SELECT c || 'x' FROM enw_tab", "delete-without-where");
            assertBlocked(c, "SELECT * FROM later_view", "dynamic-sql");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT upper(c), n FROM enq_tab, counting_view")) {
                assertTrue(rs.next());
                assertEquals(10, rs.getInt(2));
            }
        }
        try (Connection c = warden.connect("reviewed", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"SELECT upper(c) FROM enw_tab", "SELECT * FROM wiping_view",
                    "SELECT count(*) FROM guarded",
                    "SELECT 1 FROM enq_tab WHERE id IN (SELECT w FROM wiping_view)"}) {
                assertBlocked(c, sql, "no-writes-here");
            }
            // SQL built at run time, as a direct call of its function is (the baseline is on here too).
            assertBlocked(c, "SELECT * FROM later_view", "dynamic-sql");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT upper(c) FROM enq_tab")) {
                assertTrue(rs.next());
                assertEquals("\"X\"", rs.getString(1)); // the cast's answer, upper-cased
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT n FROM counting_view")) {
                assertTrue(rs.next());
                assertEquals(10, rs.getInt(1));
            }
        }
        try (Connection c = warden.connect("kept", WardenHarness.USER, warden.token(), "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM routed")) {
                assertTrue(rs.next());
                assertEquals(1, rs.getInt(1));
            }
            assertKept(c, "INSERT INTO routed VALUES (2)");
        }
        assertEquals(10, rows());
    }

    /**
     * ALTER COLUMN ... TYPE ... USING an expression that names no column gives every row that value, as an UPDATE
     * without a WHERE would (attacker pass a109: it ran where the baseline refuses the UPDATE). Converting the
     * column's own value runs.
     */
    @Test
    void anAlterTypeUsingAValueOfItsOwnIsAnUpdateWithoutWhere() throws SQLException {
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "ALTER TABLE t ALTER COLUMN a TYPE text USING 'gone'", "update-without-where");
            assertBlocked(c, "ALTER TABLE t ALTER a SET DATA TYPE int USING 0, ALTER id DROP DEFAULT",
                    "update-without-where");
            c.createStatement().execute("ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint");
        }
        try (Connection d = warden.direct();
             ResultSet rs = d.createStatement().executeQuery("SELECT count(DISTINCT a), min(pg_typeof(a)::text) FROM t")) {
            assertTrue(rs.next());
            assertEquals(10, rs.getInt(1));
            assertEquals("bigint", rs.getString(2));
        }
    }

    /**
     * Attacker pass a112 on the rule above: a read-only step on the way stopped the search (a policy whose subquery
     * reads a table whose policy deletes; a view over a STABLE function reading such a table), a writing built-in in a
     * body did not count (a view whose function cancels backends), and a chain of views deeper than Warden followed let
     * the deleting function at its end run. Each ran on prod with no approval and past the staging baseline.
     */
    @Test
    void whatAReadRunsIsFollowedThroughReadOnlyStepsBuiltInsAndDeepChains() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION wipes_all() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t; RETURN 1; END $$");
            s.execute("DROP TABLE IF EXISTS pol_inner, pol_outer CASCADE");
            s.execute("CREATE TABLE pol_inner (id int)");
            s.execute("CREATE POLICY p ON pol_inner USING (wipes_all() > 0)");
            s.execute("ALTER TABLE pol_inner ENABLE ROW LEVEL SECURITY");
            s.execute("CREATE TABLE pol_outer (id int)");
            s.execute("INSERT INTO pol_outer VALUES (1)");
            s.execute("CREATE POLICY p ON pol_outer USING (EXISTS (SELECT 1 FROM pol_inner))");
            s.execute("ALTER TABLE pol_outer ENABLE ROW LEVEL SECURITY");
            s.execute("CREATE OR REPLACE FUNCTION reads_inner() RETURNS bigint STABLE LANGUAGE sql AS "
                    + "'SELECT count(*) FROM pol_inner'");
            s.execute("CREATE OR REPLACE VIEW via_stable AS SELECT reads_inner() AS n");
            s.execute("CREATE OR REPLACE FUNCTION cancels() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN PERFORM pg_cancel_backend(0); RETURN 1; END $$");
            s.execute("CREATE OR REPLACE VIEW via_cancel AS SELECT cancels() AS n");
            s.execute("CREATE OR REPLACE VIEW deep_16 AS SELECT wipes_all() AS n");
            for (int k = 15; k >= 0; k--) {
                s.execute("CREATE OR REPLACE VIEW deep_" + k + " AS SELECT * FROM deep_" + (k + 1));
            }
            s.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC");
        }
        try (Connection c = warden.connect("reviewed", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"SELECT * FROM pol_outer", "SELECT * FROM via_stable",
                    "SELECT * FROM via_cancel", "SELECT * FROM deep_10"}) {
                assertBlocked(c, sql, "no-writes-here");
            }
            assertBlocked(c, "SELECT * FROM deep_0", "dynamic-sql"); // the baseline is on here too
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"SELECT * FROM pol_outer", "SELECT * FROM via_stable",
                    "SELECT * FROM deep_10"}) {
                assertBlocked(c, sql, "delete-without-where");
            }
            // Sixteen views deep: further than the catalog loads (or Warden follows) from the name read.
            assertBlocked(c, "SELECT * FROM deep_0", "dynamic-sql");
        }
        assertEquals(10, rows());
    }

    /**
     * A plain EXPLAIN plans its statement and runs none of it: explaining a read whose view's function deletes is
     * not that delete (attacker pass a112, O2: refused on staging); EXPLAIN ANALYZE runs it, and is.
     */
    @Test
    void aPlainExplainOfAReadThatRunsAWriteRunsNothing() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION wipes_everything() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t; RETURN 1; END $$");
            s.execute("CREATE OR REPLACE VIEW explained_view AS SELECT wipes_everything() AS w");
            s.execute("GRANT ALL ON explained_view TO PUBLIC");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            for (String sql : new String[] {"EXPLAIN SELECT * FROM explained_view",
                    "EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM explained_view",
                    "EXPLAIN (ANALYZE false) SELECT * FROM explained_view"}) {
                try (ResultSet rs = c.createStatement().executeQuery(sql)) {
                    assertTrue(rs.next(), sql);
                }
            }
            assertBlocked(c, "EXPLAIN ANALYZE SELECT * FROM explained_view", "delete-without-where");
            assertBlocked(c, "EXPLAIN (ANALYZE) SELECT * FROM explained_view", "delete-without-where");
        }
        assertEquals(10, rows());
    }
}
