package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
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
 * guarded table, found in catalogs earlier passes did not read: event triggers fired by DDL, and a type's
 * typmod_in function run where the type is named with modifiers. Objects are made beforehand (as a migration would); the
 * session logs in as {@code gw_login}, no superuser, and asks only through Warden. Each test asserts what the
 * server did to {@code gw_ledger}.
 */
class GuardrailPass13Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "gw_login"), WardenHarness.unmaskedWithRules(
                        "{ name: gw-ledger-kept, environments: [prod], match: { statements: [DELETE, UPDATE], "
                                + "tables: [public.gw_ledger] }, action: block }"));
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO gw_login");
            s.execute("CREATE TABLE gw_ledger (id int, total int)");
            s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON gw_ledger TO gw_login");
            s.execute("CREATE FUNCTION gw_wipe(int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id = $1; RETURN $1; END$$");
            s.execute("CREATE FUNCTION gw_key(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT public.gw_wipe($1)'");
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

    private static String ledger() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT count(*) || '/' || count(*) FILTER (WHERE total = id) FROM gw_ledger");
        }
    }

    private static void direct(String... sqls) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        }
    }


    /** A session in production. */
    private static Connection prod() throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(),
                "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /**
     * Runs {@code setup} directly (after the session logged in; an event trigger is dropped afterwards), then {@code sql} through Warden in production; returns why it failed the
     * attack's expectation (refused by gw-ledger-kept, gw_ledger intact), or null.
     */
    private static String keptAgainst(String setup, String sql) throws SQLException {
        String error;
        try (Connection c = prod()) {
            if (setup != null) {
                direct(setup);
            }
            // (After the setup: building an index over the rows there computes its function once already.)
            direct("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
            error = run(c, sql);
        } finally {
            if (setup != null && setup.contains("EVENT TRIGGER")) {
                direct("DROP EVENT TRIGGER IF EXISTS gw_evt");
            }
        }
        String l = ledger();
        if (!l.equals("3/3")) {
            return sql + ": PostgreSQL changed gw_ledger (rows/unchanged " + l + "), Warden: "
                    + (error == null ? "let it run" : error);
        }
        if (error == null || !error.startsWith("42501") || !error.contains("gw-ledger-kept")) {
            return sql + ": not refused by gw-ledger-kept: " + error;
        }
        return null;
    }

    private static void assertEachKept(String... setupAndSql) throws SQLException {
        List<String> failures = new ArrayList<>();
        for (int k = 0; k < setupAndSql.length; k += 2) {
            String f = keptAgainst(setupAndSql[k], setupAndSql[k + 1]);
            if (f != null) {
                failures.add(f);
            }
        }
        assertEquals(List.of(), failures);
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
        direct("DROP TYPE IF EXISTS gw_t CASCADE", "CREATE TYPE gw_t",
                "CREATE FUNCTION gw_t_in(cstring) RETURNS gw_t LANGUAGE internal IMMUTABLE STRICT AS 'int4in'",
                "CREATE FUNCTION gw_t_out(gw_t) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out'",
                "CREATE FUNCTION gw_t_tm(cstring[]) RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN DELETE FROM public.gw_ledger WHERE id > 0; RETURN 5; END$$",
                "CREATE TYPE gw_t (INPUT = gw_t_in, OUTPUT = gw_t_out, TYPMOD_IN = gw_t_tm, INTERNALLENGTH = 4, "
                        + "PASSEDBYVALUE, ALIGNMENT = int4)");
        assertEachKept(null, "SELECT NULL::gw_t(5)", null, "SELECT CAST(NULL AS public.gw_t(5))",
                null, "CREATE TABLE gw_tm_tab (c gw_t(5))");
    }

    /** Precise: DDL runs where the event triggers run nothing harmful, take other commands, or are disabled. */
    @Test
    void ddlUnderHarmlessOrUnfiredEventTriggersRuns() throws SQLException {
        direct("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
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
            direct("DROP EVENT TRIGGER gw_evt_fine", "DROP EVENT TRIGGER gw_evt_drops", "DROP EVENT TRIGGER gw_evt_off");
        }
        assertEquals("3/3", ledger());
    }

    /** Precise: built-in types' modifiers, calls with constants, a type whose typmod_in is harmless. */
    @Test
    void harmlessTypeModifiersRun() throws SQLException {
        direct("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
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
        assertEquals("3/3", ledger());
    }
}
