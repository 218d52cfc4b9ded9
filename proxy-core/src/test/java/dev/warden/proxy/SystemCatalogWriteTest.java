package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The baseline's {@code system-catalog-write} rule, with a superuser upstream login ({@code allow_superuser}), which
 * is the only login that can write the system catalogs. Each probe checks the catalog on the server afterwards.
 * Environment {@code sup} has the baseline on; {@code off} turns only this rule off, to show the probes would work.
 */
class SystemCatalogWriteTest {

    static WardenHarness warden;

    static String environment(String name, String extra) {
        return "  " + name + ":\n" + extra
                + "    upstream: { host: 127.0.0.1, port: \"${PG_PORT}\", database: \"${DATABASE}\", user: "
                + TestPostgres.SCRAM_USER + ", password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }\n"
                + "    allow: [ { groups: [eng] } ]\n";
    }

    @BeforeAll
    static void start() throws SQLException {
        // Masking exempts group eng here: masking refuses such writes for masked identities on its own (see
        // MaskingPass15Test), and this test is about the guardrail.
        warden = WardenHarness.start("", environment("sup", "") + environment("off", "    baseline_guardrails: false\n"),
                "masking:\n  unmasked_for: { groups: [eng], agents: never }\n");
        warden.directly("CREATE TABLE sc_people (id int, email text)",
                "CREATE FUNCTION sc_f() RETURNS text LANGUAGE sql AS $$SELECT 'judged'::text$$");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    static Connection as(String environment) throws SQLException {
        return warden.connect(environment, WardenHarness.USER, warden.token(),
                "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /** The catalog as the server has it: sc_people's column names and sc_f's body. */
    static String catalogState() throws SQLException {
        try (Connection d = warden.direct()) {
            return scalar(d, "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute "
                    + "WHERE attrelid = 'sc_people'::regclass AND attnum > 0") + " | "
                    + scalar(d, "SELECT prosrc FROM pg_proc WHERE proname = 'sc_f'");
        }
    }

    static final String[] WRITES = {
        "UPDATE pg_attribute SET attname = 'zz' || 'a' WHERE attrelid = ('sc_' || 'people')::regclass "
                + "AND attname = 'em' || 'ail'",
        "UPDATE pg_catalog.pg_proc SET prosrc = 'SELECT ''swapped''::text' WHERE proname = 'sc_f'",
        "UPDATE PG_CATALOG.PG_ATTRIBUTE SET attname = 'zb' WHERE attrelid = 'sc_people'::regclass AND attname = 'email'",
        "WITH u AS (UPDATE pg_attribute SET attname = 'zc' WHERE attrelid = 'sc_people'::regclass AND attname = 'email' "
                + "RETURNING 1) SELECT count(*) FROM u",
        "CREATE FUNCTION sc_g() RETURNS int LANGUAGE sql AS $$UPDATE pg_attribute SET attname = 'zd' "
                + "WHERE attrelid = 'sc_people'::regclass AND attname = 'email'; SELECT 1$$",
        "DELETE FROM pg_description WHERE objoid = 'sc_people'::regclass",
        "UPDATE pg_class SET reltuples = 1, relname = 'sc_moved' WHERE relname = 'sc_people'",
        "UPDATE pg_toast.pg_toast_1255 SET chunk_seq = chunk_seq WHERE chunk_id < 0",
    };

    @Test
    void writesToTheSystemCatalogAreRefused() throws SQLException {
        String before = catalogState();
        List<String> failures = new ArrayList<>();
        try (Connection c = as("sup")) {
            for (String sql : WRITES) {
                String error = run(c, sql);
                if (error == null || !error.startsWith("42501") || !error.contains("system-catalog-write")) {
                    failures.add(sql + ": " + (error == null ? "ran" : error));
                }
            }
            assertEquals("0", scalar(c, "SELECT count(*) FROM pg_proc WHERE proname = 'sc_g'"));
        }
        assertEquals(List.of(), failures);
        assertEquals(before, catalogState());
    }

    /** Without the rule (the environment's baseline off), the first two probes change the catalog: they can fail. */
    @Test
    void withoutTheRuleTheProbesChangeTheCatalog() throws SQLException {
        warden.directly("CREATE TABLE sc_other (id int, email text)");
        try (Connection c = as("off")) {
            assertNull(run(c, "UPDATE pg_attribute SET attname = 'zz' || 'a' WHERE attrelid = ('sc_' || 'other')"
                    + "::regclass AND attname = 'em' || 'ail'"));
            assertEquals("id,zza", scalar(c, "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute "
                    + "WHERE attrelid = 'sc_other'::regclass AND attnum > 0"));
        }
    }

    /**
     * Held: reads of the catalog, and a user table whose name begins with pg_, are not writes of the catalog. (The
     * first statement of a new Warden: its catalog's table names are read as its first session starts.)
     */
    @Test
    void catalogReadsAndAUserTableNamedPgAreAllowed() throws Exception {
        try (WardenHarness fresh = WardenHarness.start("", environment("sup", ""),
                "masking:\n  unmasked_for: { groups: [eng], agents: never }\n");
             Connection c = fresh.connect("sup", WardenHarness.USER, fresh.token(),
                     "preferQueryMode=simple&assumeMinServerVersion=12")) {
            fresh.directly("CREATE TABLE pg_notes (note text)");
            Thread.sleep(500); // the names are read on the catalog's own connection, once
            assertNull(run(c, "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_notes'::regclass"));
            assertNull(run(c, "INSERT INTO pg_notes VALUES ('a user table')"));
            assertNull(run(c, "UPDATE public.pg_notes SET note = 'kept' WHERE true"));
            // The planner's estimates only (the regression suite sets them to shape plans).
            assertNull(run(c, "UPDATE pg_class SET reltuples = 1000, relpages = 10 WHERE relname = 'pg_notes'"));
            assertTrue(scalar(c, "SELECT note FROM pg_notes").equals("kept"));
        }
    }
}
