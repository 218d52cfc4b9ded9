package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 13 over the guardrails: code the server runs for a statement that names neither the code nor the
 * guarded table, found in catalogs earlier passes did not read: event triggers fired by DDL, a type's typmod_in
 * function run where the type is named with modifiers, and the support functions of operator classes (a type's
 * default btree class sorting ORDER BY, DISTINCT, GROUP BY and windows; a range type's subtype class comparing its
 * bounds; an index's classes placing and finding rows). Objects are made beforehand (as a migration would); the
 * session logs in as {@code gw_login}, no superuser, and asks only through Warden. Each test asserts what the
 * server did to {@code gw_ledger}.
 */
class GuardrailPass13Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION gw_evt() RETURNS event_trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN DELETE FROM public.gw_ledger WHERE id > 0; END$$");
            s.execute("CREATE FUNCTION gw_evt_fine() RETURNS event_trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN PERFORM 1; END$$");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /** A session in production. */
    private static Connection prod() throws SQLException {
        return warden.prod();
    }

    /** Each (setup, sql) pair kept ({@link WardenHarness#keptAgainst}); an event trigger it makes is dropped after. */
    private static void assertEachKept(String... setupAndSql) throws SQLException {
        assertEquals(List.of(), warden.failuresKeeping(setup -> setup != null && setup.contains("EVENT TRIGGER")
                ? "DROP EVENT TRIGGER IF EXISTS gw_evt" : null, setupAndSql));
    }

    private static final java.util.Set<String> MADE = new java.util.HashSet<>();

    /** Runs {@code setup} directly, once (tests share the types it makes). */
    private static void made(String setup) throws SQLException {
        if (MADE.add(setup)) {
            warden.directly(setup);
        }
    }

    /** Waits out what Warden read of the catalog before (it reads it again after a few seconds). */
    private static void forgetCatalog() {
        try {
            Thread.sleep(6_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * DDL fires the event triggers an owner made (ddl_command_start, ddl_command_end, sql_drop), whose functions
     * run as the session's user.
     */
    @Test
    void eventTriggersDdlFiresAreJudged() throws SQLException {
        forgetCatalog();
        assertEachKept("CREATE EVENT TRIGGER gw_evt ON ddl_command_end EXECUTE FUNCTION gw_evt()",
                "CREATE TABLE gw_evt_t1 (id int)",
                "CREATE EVENT TRIGGER gw_evt ON ddl_command_start WHEN TAG IN ('CREATE TABLE') "
                        + "EXECUTE FUNCTION gw_evt()", "CREATE TABLE gw_evt_t2 (id int)",
                "CREATE TABLE gw_evt_drop (id int, c int); ALTER TABLE gw_evt_drop OWNER TO gw_login; "
                        + "CREATE EVENT TRIGGER gw_evt ON sql_drop EXECUTE FUNCTION gw_evt()",
                "ALTER TABLE gw_evt_drop DROP COLUMN c",
                "CREATE EVENT TRIGGER gw_evt ON ddl_command_end EXECUTE FUNCTION gw_evt()",
                "COMMENT ON TABLE gw_evt_t1 IS 'x'",
                "CREATE FUNCTION gw_mk() RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN CREATE TABLE IF NOT EXISTS gw_mk_t (id int); RETURN 1; END$$; "
                        + "CREATE EVENT TRIGGER gw_evt ON ddl_command_end EXECUTE FUNCTION gw_evt()", "SELECT gw_mk()",
                "CREATE EVENT TRIGGER gw_evt ON ddl_command_end EXECUTE FUNCTION gw_evt()", "SELECT 1 AS x INTO gw_si");
    }

    /** A type's typmod_in function runs wherever the type is named with modifiers: a cast, a column. */
    @Test
    void aTypesModifierInputIsJudged() throws SQLException {
        warden.directly("DROP TYPE IF EXISTS gw_t CASCADE", "CREATE TYPE gw_t",
                "CREATE FUNCTION gw_t_in(cstring) RETURNS gw_t LANGUAGE internal IMMUTABLE STRICT AS 'int4in'",
                "CREATE FUNCTION gw_t_out(gw_t) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out'",
                "CREATE FUNCTION gw_t_tm(cstring[]) RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN DELETE FROM public.gw_ledger WHERE id > 0; RETURN 5; END$$",
                "CREATE TYPE gw_t (INPUT = gw_t_in, OUTPUT = gw_t_out, TYPMOD_IN = gw_t_tm, INTERNALLENGTH = 4, "
                        + "PASSEDBYVALUE, ALIGNMENT = int4)");
        assertEachKept(null, "SELECT NULL::gw_t(5)", null, "SELECT CAST(NULL AS public.gw_t(5))",
                null, "CREATE TABLE gw_tm_tab (c gw_t(5))");
    }

    static final String PAIR = "CREATE TYPE gw_pair AS (x int); "
            + "CREATE FUNCTION gw_pair_lt(gw_pair, gw_pair) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4lt(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pair_le(gw_pair, gw_pair) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4le(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pair_eq(gw_pair, gw_pair) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4eq(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pair_ge(gw_pair, gw_pair) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4ge(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pair_gt(gw_pair, gw_pair) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4gt(($1).x, ($2).x)'; "
            + "CREATE OPERATOR < (leftarg = gw_pair, rightarg = gw_pair, function = gw_pair_lt); "
            + "CREATE OPERATOR <= (leftarg = gw_pair, rightarg = gw_pair, function = gw_pair_le); "
            + "CREATE OPERATOR = (leftarg = gw_pair, rightarg = gw_pair, function = gw_pair_eq); "
            + "CREATE OPERATOR >= (leftarg = gw_pair, rightarg = gw_pair, function = gw_pair_ge); "
            + "CREATE OPERATOR > (leftarg = gw_pair, rightarg = gw_pair, function = gw_pair_gt); "
            + "CREATE FUNCTION gw_pair_cmp(gw_pair, gw_pair) RETURNS int LANGUAGE plpgsql AS "
            + "$$BEGIN DELETE FROM public.gw_ledger WHERE id IS NOT NULL; RETURN btint4cmp(($1).x, ($2).x); END$$; "
            + "CREATE OPERATOR CLASS gw_pair_ops DEFAULT FOR TYPE gw_pair USING btree AS OPERATOR 1 <, "
            + "OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gw_pair_cmp(gw_pair, gw_pair); "
            + "CREATE TABLE gw_pairs (p gw_pair); INSERT INTO gw_pairs VALUES (ROW(2)), (ROW(1)); "
            + "GRANT SELECT ON gw_pairs TO gw_login";

    static final String INT_OPS = "CREATE FUNCTION gw_cmp(int, int) RETURNS int LANGUAGE plpgsql AS "
            + "$$BEGIN DELETE FROM public.gw_ledger WHERE id IS NOT NULL; RETURN btint4cmp($1, $2); END$$; "
            + "CREATE OPERATOR CLASS gw_int_ops FOR TYPE int USING btree AS OPERATOR 1 <, OPERATOR 2 <=, "
            + "OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gw_cmp(int, int); "
            + "CREATE TYPE gw_rng AS RANGE (SUBTYPE = int, SUBTYPE_OPCLASS = gw_int_ops); "
            + "CREATE TABLE gw_rng_tab (r gw_rng); INSERT INTO gw_rng_tab VALUES ('[1,2]'), ('[2,3]'); "
            + "GRANT INSERT, SELECT ON gw_rng_tab TO gw_login; "
            + "CREATE TABLE gw_ix (id int); INSERT INTO gw_ix VALUES (1), (2); CREATE INDEX ON gw_ix (id gw_int_ops); "
            + "GRANT INSERT, SELECT ON gw_ix TO gw_login";

    /**
     * The support functions of a type's default btree operator class sort and compare its values where no
     * expression names an operator: ORDER BY, GROUP BY, a window's ORDER BY, max over an array of it.
     */
    @Test
    void aDefaultOperatorClassesSupportFunctionsAreJudged() throws SQLException {
        made(PAIR);
        assertEachKept(null, "SELECT p FROM gw_pairs ORDER BY p",
                null, "SELECT p, count(*) FROM gw_pairs GROUP BY p", null, "SELECT rank() OVER (ORDER BY p) FROM gw_pairs",
                null, "SELECT x FROM (VALUES (ROW(2)::gw_pair), (ROW(1)::gw_pair)) v (x) ORDER BY x",
                null, "SELECT max(ARRAY[p]) FROM gw_pairs");
    }

    /**
     * A range type's subtype operator class compares its bounds whenever a range is made or compared; an index's
     * operator class places each row written and finds rows for a read.
     */
    @Test
    void rangeSubtypeAndIndexOperatorClassesAreJudged() throws SQLException {
        made(INT_OPS);
        assertEachKept(null, "SELECT gw_rng(1, 2)", null, "SELECT '[1,2]'::gw_rng",
                null, "INSERT INTO gw_rng_tab VALUES ('[1,2]')", null, "SELECT r && r FROM gw_rng_tab",
                null, "INSERT INTO gw_ix VALUES (1)");
    }

    /** Precise: DDL runs where the event triggers run nothing harmful, take other commands, or are disabled. */
    @Test
    void ddlUnderHarmlessOrUnfiredEventTriggersRuns() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
                "CREATE EVENT TRIGGER gw_evt_fine ON ddl_command_end EXECUTE FUNCTION gw_evt_fine()",
                "CREATE EVENT TRIGGER gw_evt_drops ON ddl_command_end WHEN TAG IN ('DROP TABLE') "
                        + "EXECUTE FUNCTION gw_evt()",
                "CREATE EVENT TRIGGER gw_evt_off ON ddl_command_end EXECUTE FUNCTION gw_evt()",
                "ALTER EVENT TRIGGER gw_evt_off DISABLE");
        forgetCatalog();
        try (Connection c = prod()) {
            for (String sql : List.of("CREATE TABLE gw_fine_made (id int)", "COMMENT ON TABLE gw_fine_made IS 'fine'",
                    "SELECT id FROM gw_ledger ORDER BY id")) {
                assertEquals(null, run(c, sql), sql);
            }
        } finally {
            warden.directly("DROP EVENT TRIGGER gw_evt_fine", "DROP EVENT TRIGGER gw_evt_drops", "DROP EVENT TRIGGER gw_evt_off");
        }
        assertEquals("3/3", warden.ledger());
    }

    /** Precise: built-in types' modifiers, calls with constants, a type whose typmod_in is harmless. */
    @Test
    void harmlessTypeModifiersRun() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
                "DROP TYPE IF EXISTS gw_t2 CASCADE", "CREATE TYPE gw_t2",
                "CREATE FUNCTION gw_t2_in(cstring) RETURNS gw_t2 LANGUAGE internal IMMUTABLE STRICT AS 'int4in'",
                "CREATE FUNCTION gw_t2_out(gw_t2) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out'",
                "CREATE FUNCTION gw_t2_tm(cstring[]) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$BEGIN RETURN 5; END$$",
                "CREATE TYPE gw_t2 (INPUT = gw_t2_in, OUTPUT = gw_t2_out, TYPMOD_IN = gw_t2_tm, INTERNALLENGTH = 4, "
                        + "PASSEDBYVALUE, ALIGNMENT = int4)");
        try (Connection c = prod()) {
            for (String sql : List.of("CREATE TABLE gw_fine_mods (id int, n numeric(10, 2), v varchar(3))",
                    "SELECT 'a'::varchar(5), abs(5), round(1.5, 1)", "SELECT NULL::gw_t2(5)",
                    "CREATE TABLE gw_fine_tm (c gw_t2(5))")) {
                assertEquals(null, run(c, sql), sql);
            }
        }
        assertEquals("3/3", warden.ledger());
    }

    /**
     * Precise: sorting, grouping and indexing where the operator classes are built in (a composite type without a
     * class of its own, a range over int's default class, a plain index).
     */
    @Test
    void orderingWithBuiltInOperatorClassesRuns() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
                "CREATE TYPE gw_fine_pair AS (x int)", "CREATE TABLE gw_fine_pairs (p gw_fine_pair, id int)",
                "INSERT INTO gw_fine_pairs VALUES (ROW(2), 2), (ROW(1), 1)", "CREATE INDEX ON gw_fine_pairs (id)",
                "GRANT SELECT, INSERT ON gw_fine_pairs TO gw_login",
                "CREATE TYPE gw_fine_rng AS RANGE (SUBTYPE = int)", "CREATE TABLE gw_fine_rngs (r gw_fine_rng)",
                "GRANT SELECT, INSERT ON gw_fine_rngs TO gw_login");
        try (Connection c = prod()) {
            for (String sql : List.of("SELECT p FROM gw_fine_pairs ORDER BY p",
                    "SELECT id, count(*) FROM gw_fine_pairs GROUP BY id", "SELECT DISTINCT id FROM gw_fine_pairs ORDER BY id",
                    "SELECT rank() OVER (ORDER BY id) FROM gw_fine_pairs", "SELECT sum(id) FROM gw_fine_pairs",
                    "INSERT INTO gw_fine_pairs VALUES (ROW(3), 3)", "SELECT gw_fine_rng(1, 2), '[1,2]'::gw_fine_rng",
                    "INSERT INTO gw_fine_rngs VALUES ('[1,2]')", "SELECT r && r FROM gw_fine_rngs",
                    "SELECT id FROM gw_ledger ORDER BY id", "EXPLAIN SELECT * FROM gw_ledger ORDER BY total")) {
                assertEquals(null, run(c, sql), sql);
            }
        }
        assertEquals("3/3", warden.ledger());
    }

    /**
     * Building an index sorts or places every row there with its operator classes' support functions: a column's
     * default class (CREATE INDEX, ADD UNIQUE), or a class the index names.
     */
    @Test
    void indexBuildsAreJudgedWithTheirOperatorClasses() throws SQLException {
        made(PAIR);
        made(INT_OPS);
        String owned = "DROP TABLE IF EXISTS gw_own_pairs; CREATE TABLE gw_own_pairs (p gw_pair); "
                + "INSERT INTO gw_own_pairs VALUES (ROW(2)), (ROW(1)); ALTER TABLE gw_own_pairs OWNER TO gw_login";
        String plain = "DROP TABLE IF EXISTS gw_plain; CREATE TABLE gw_plain (id int); "
                + "INSERT INTO gw_plain VALUES (1), (2); ALTER TABLE gw_plain OWNER TO gw_login";
        assertEachKept(owned, "CREATE INDEX ON gw_own_pairs (p)", owned, "ALTER TABLE gw_own_pairs ADD UNIQUE (p)",
                owned, "ANALYZE gw_own_pairs",
                plain, "CREATE INDEX ON gw_plain (id gw_int_ops)",
                plain, "CREATE INDEX ON gw_plain USING btree (id public.gw_int_ops DESC)");
    }

    /** Precise: indexes built with built-in operator classes. */
    @Test
    void indexBuildsWithBuiltInOperatorClassesRun() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
                "CREATE TYPE gw_fine_pair2 AS (x int)", "CREATE TABLE gw_fine_own (p gw_fine_pair2, id int, r int4range)",
                "INSERT INTO gw_fine_own VALUES (ROW(1), 1, '[1,2]')", "ALTER TABLE gw_fine_own OWNER TO gw_login");
        try (Connection c = prod()) {
            for (String sql : List.of("CREATE INDEX ON gw_fine_own (id)", "CREATE INDEX ON gw_fine_own (p)",
                    "CREATE INDEX ON gw_fine_own (id int4_ops DESC)", "CREATE INDEX ON gw_fine_own USING gist (r)",
                    "ALTER TABLE gw_fine_own ADD UNIQUE (id)", "ANALYZE gw_fine_own")) {
                assertEquals(null, run(c, sql), sql);
            }
        }
        assertEquals("3/3", warden.ledger());
    }

    /** {@code sql} parsed, bound with binary results and executed through Warden in production: the errors. */
    private static List<String> binaryResults(String sql) throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Parse("", sql, List.of()));
            c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "", List.of(), List.of(), List.of((short) 1)));
            c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            return RawClient.errors(c.untilReady());
        }
    }

    /** A base type over int4's I/O whose send function is {@code send} (set after the type exists, as PL/pgSQL needs). */
    private static void sendingType(String type, String sendBody) throws SQLException {
        warden.directly("DROP TYPE IF EXISTS " + type + " CASCADE", "CREATE TYPE " + type,
                "CREATE FUNCTION " + type + "_in(cstring) RETURNS " + type
                        + " LANGUAGE internal IMMUTABLE STRICT AS 'int4in'",
                "CREATE FUNCTION " + type + "_out(" + type + ") RETURNS cstring LANGUAGE internal IMMUTABLE STRICT "
                        + "AS 'int4out'",
                "CREATE TYPE " + type + " (INPUT = " + type + "_in, OUTPUT = " + type + "_out, INTERNALLENGTH = 4, "
                        + "PASSEDBYVALUE, ALIGNMENT = int4)",
                "CREATE FUNCTION " + type + "_send(" + type + ") RETURNS bytea LANGUAGE plpgsql STRICT AS $$BEGIN "
                        + sendBody + " RETURN int4send(1); END$$",
                "ALTER TYPE " + type + " SET (SEND = " + type + "_send)",
                "CREATE TABLE " + type + "_tab (c " + type + ")", "INSERT INTO " + type + "_tab VALUES ('1')",
                "GRANT SELECT ON " + type + "_tab TO gw_login");
    }

    /**
     * A type's send function runs for each value the server sends in binary: a Bind asking for binary results,
     * array_send and record_send over it.
     */
    @Test
    void aTypesSendFunctionIsJudged() throws Exception {
        sendingType("gw_s", "DELETE FROM public.gw_ledger WHERE id IS NOT NULL;");
        List<String> failures = new ArrayList<>();
        for (String sql : List.of("SELECT c FROM gw_s_tab", "SELECT '1'::gw_s")) {
            warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
            List<String> errors = binaryResults(sql);
            if (!warden.ledger().equals("3/3") || errors.isEmpty() || !errors.get(0).contains("gw-ledger-kept")) {
                failures.add(sql + " (binary results): ledger " + warden.ledger() + ", errors " + errors);
            }
        }
        assertEquals(List.of(), failures);
        assertEachKept(null, "SELECT array_send(ARRAY[c]) FROM gw_s_tab", null, "SELECT record_send(ROW(c)) FROM gw_s_tab");
    }

    /** Precise: binary results of built-in types, and of a type whose send function is harmless. */
    @Test
    void binaryResultsOfHarmlessSendFunctionsRun() throws Exception {
        sendingType("gw_fine_s", "PERFORM 1;");
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        for (String sql : List.of("SELECT c FROM gw_fine_s_tab", "SELECT 1, 'a'::text, now()",
                "SELECT id, total FROM gw_ledger")) {
            assertEquals(List.of(), binaryResults(sql), sql);
        }
        assertEquals("3/3", warden.ledger());
    }

    /**
     * The = of a type's default operator class compares its values where the text names no operator: GROUP BY,
     * UNION, a window's PARTITION BY, array_position and array_remove.
     */
    @Test
    void aDefaultOperatorClassesOperatorsAreJudged() throws SQLException {
        warden.directly("CREATE TYPE gw_pq AS (x int); "
            + "CREATE FUNCTION gw_pq_lt(gw_pq, gw_pq) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4lt(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pq_le(gw_pq, gw_pq) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4le(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pq_eq(gw_pq, gw_pq) RETURNS bool LANGUAGE plpgsql AS "
            + "$$BEGIN DELETE FROM public.gw_ledger WHERE id IS NOT NULL; RETURN int4eq(($1).x, ($2).x); END$$; "
            + "CREATE FUNCTION gw_pq_ge(gw_pq, gw_pq) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4ge(($1).x, ($2).x)'; "
            + "CREATE FUNCTION gw_pq_gt(gw_pq, gw_pq) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT int4gt(($1).x, ($2).x)'; "
            + "CREATE OPERATOR < (leftarg = gw_pq, rightarg = gw_pq, function = gw_pq_lt); "
            + "CREATE OPERATOR <= (leftarg = gw_pq, rightarg = gw_pq, function = gw_pq_le); "
            + "CREATE OPERATOR = (leftarg = gw_pq, rightarg = gw_pq, function = gw_pq_eq); "
            + "CREATE OPERATOR >= (leftarg = gw_pq, rightarg = gw_pq, function = gw_pq_ge); "
            + "CREATE OPERATOR > (leftarg = gw_pq, rightarg = gw_pq, function = gw_pq_gt); "
            + "CREATE FUNCTION gw_pq_cmp(gw_pq, gw_pq) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT btint4cmp(($1).x, ($2).x)'; "
            + "CREATE OPERATOR CLASS gw_pq_ops DEFAULT FOR TYPE gw_pq USING btree AS OPERATOR 1 <, "
            + "OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gw_pq_cmp(gw_pq, gw_pq); "
            + "CREATE TABLE gw_pqs (p gw_pq); INSERT INTO gw_pqs VALUES (ROW(2)), (ROW(1)), (ROW(1)); "
            + "GRANT SELECT ON gw_pqs TO gw_login");
        try {
            assertEachKept(null, "SELECT p, count(*) FROM gw_pqs GROUP BY p",
                    null, "SELECT p FROM gw_pqs UNION SELECT p FROM gw_pqs",
                    null, "SELECT count(*) OVER (PARTITION BY p) FROM gw_pqs",
                    null, "SELECT array_position(ARRAY[p], p) FROM gw_pqs",
                    null, "SELECT array_remove(ARRAY[p], p) FROM gw_pqs");
        } finally {
            // (An = that deletes refuses every DISTINCT, IN and USING, which look up = by name: not for the others.)
            warden.directly("DROP TYPE gw_pq CASCADE");
            forgetCatalog();
        }
    }

    /** Precise: a user's default operator class whose functions and operators are harmless sorts and groups. */
    @Test
    void harmlessUserOperatorClassesRun() throws SQLException {
        String ops = "";
        for (String[] o : new String[][] {{"<", "lt"}, {"<=", "le"}, {"=", "eq"}, {">=", "ge"}, {">", "gt"}}) {
            ops += "CREATE FUNCTION gw_hq_" + o[1] + "(gw_hq, gw_hq) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4" + o[1] + "(($1).x, ($2).x)'; CREATE OPERATOR " + o[0]
                    + " (leftarg = gw_hq, rightarg = gw_hq, function = gw_hq_" + o[1] + "); ";
        }
        warden.directly("TRUNCATE gw_ledger; INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g; "
                + "CREATE TYPE gw_hq AS (x int); " + ops
                + "CREATE FUNCTION gw_hq_cmp(gw_hq, gw_hq) RETURNS int LANGUAGE sql IMMUTABLE AS "
                + "'SELECT btint4cmp(($1).x, ($2).x)'; "
                + "CREATE OPERATOR CLASS gw_hq_ops DEFAULT FOR TYPE gw_hq USING btree AS OPERATOR 1 <, "
                + "OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gw_hq_cmp(gw_hq, gw_hq); "
                + "CREATE TABLE gw_hqs (q gw_hq); INSERT INTO gw_hqs VALUES (ROW(2)), (ROW(1)); "
                + "ALTER TABLE gw_hqs OWNER TO gw_login");
        try (Connection c = prod()) {
            for (String sql : List.of("SELECT q FROM gw_hqs ORDER BY q", "SELECT q, count(*) FROM gw_hqs GROUP BY q",
                    "SELECT q FROM gw_hqs UNION SELECT q FROM gw_hqs", "SELECT array_position(ARRAY[q], q) FROM gw_hqs",
                    "CREATE INDEX ON gw_hqs (q)", "ANALYZE gw_hqs", "INSERT INTO gw_hqs VALUES (ROW(3))")) {
                assertEquals(null, run(c, sql), sql);
            }
        }
        assertEquals("3/3", warden.ledger());
    }
}
