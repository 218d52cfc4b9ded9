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

/**
 * An attacker's pass on a live demo: built-ins that change something (set_config, lo_from_bytea) reached other than
 * by a call in a statement. PL/pgSQL evaluates every expression (IF, WHILE, ASSERT, RAISE, a DEFAULT, a FOR loop's
 * bounds) as a SELECT, and an aggregate or an operator runs its support function on every use; Warden judged none
 * of those calls. {@code staging} keeps the baseline (role changes refused); {@code prod} (production) and
 * {@code reviewed} (not production: it lets through what Warden cannot parse) refuse every write. All
 * log in as {@code bi_login}, which may SET ROLE {@code bi_rw}: each probe checks what the server did (the session's
 * current_user, the large objects that exist).
 */
class BuiltInEffectsThroughWardenTest {

    static WardenHarness warden;

    private static final String WRITES = "{ name: prod-writes-refused, environments: [prod, reviewed], "
            + "match: { writes: true }, action: block }";

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        WardenHarness.onCluster(pg, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bi_login') THEN "
                + "CREATE ROLE bi_login LOGIN; END IF; IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bi_rw') "
                + "THEN CREATE ROLE bi_rw NOLOGIN; END IF; END$$", "GRANT bi_rw TO bi_login");
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("staging", false, "bi_login")
                        + WardenHarness.environmentAs("prod", true, "bi_login")
                        + WardenHarness.environmentAs("reviewed", false, "bi_login"),
                WardenHarness.unmaskedWithRules(WRITES));
        // Made by another identity (the owner, directly): the call is what must be judged.
        warden.directly(
                "CREATE FUNCTION public.bi_peek(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ BEGIN "
                        + "IF lo_from_bytea(0, 'x') > 0 AND set_config('role', 'bi_rw', false) IS NOT NULL THEN "
                        + "RETURN i; END IF; RETURN i; END $$",
                "CREATE FUNCTION public.bi_role(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ BEGIN "
                        + "IF set_config('role', 'bi_rw', false) IS NOT NULL THEN RETURN i; END IF; RETURN i; END $$",
                "CREATE FUNCTION public.bi_lo(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ BEGIN "
                        + "ASSERT lo_from_bytea(0, 'x') > 0; RETURN i; END $$",
                "CREATE AGGREGATE public.bi_agg(text, boolean) (sfunc = set_config, stype = text, initcond = 'role')",
                "CREATE AGGREGATE public.bi_mklo(bytea) (sfunc = lo_from_bytea, stype = oid, initcond = '0')",
                "CREATE OPERATOR public.### (leftarg = oid, rightarg = bytea, function = lo_from_bytea)",
                "CREATE FUNCTION public.bi_opcall() RETURNS int STABLE LANGUAGE plpgsql AS $$ BEGIN "
                        + "IF 0::oid OPERATOR(public.###) 'in a condition'::bytea > 0 THEN RETURN 1; END IF; "
                        + "RETURN 0; END $$",
                "CREATE FUNCTION public.bi_fine(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ "
                        + "DECLARE n int DEFAULT length(format('%s', i)); BEGIN "
                        + "IF n > 0 AND coalesce(now(), now()) IS NOT NULL THEN RETURN i + n; END IF; "
                        + "WHILE n > 5 LOOP n := n - 1; END LOOP; RETURN i; END $$",
                "CREATE AGGREGATE public.bi_sum(int) (sfunc = int4pl, stype = int, initcond = '0')",
                "CREATE FUNCTION public.bi_mk() RETURNS int VOLATILE LANGUAGE sql AS $$ "
                        + "SELECT lo_from_bytea(0, 'made by a function')::int $$",
                "CREATE FUNCTION public.bi_xml() RETURNS int STABLE LANGUAGE plpgsql AS $$ BEGIN "
                        + "IF query_to_xml('select set_config(''role'', ''bi_rw'', false)', true, false, '') "
                        + "IS NOT NULL THEN RETURN 1; END IF; RETURN 0; END $$",
                "CREATE AGGREGATE public.bi_rewrite(text) (sfunc = ts_rewrite, stype = tsquery, initcond = 'a')",
                "CREATE OPERATOR public.@+@ (leftarg = int, rightarg = int, function = int4pl)");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /**
     * Runs {@code sql} in {@code c}; a failure when Warden let it run, refused it otherwise than with 42501 (and
     * {@code rule}, when not null), the session's role changed or a large object was made.
     */
    private static String refused(Connection c, String sql, String rule) throws SQLException {
        long before = warden.largeObjects();
        String error = run(c, sql);
        String user = scalar(c, "SELECT current_user");
        long made = warden.largeObjects() - before;
        if (error == null || !error.startsWith("42501") || (rule != null && !error.contains("\"" + rule + "\""))
                || !user.equals("bi_login") || made != 0) {
            return sql + ": Warden " + (error == null ? "let it run" : error) + "; current_user = " + user + ", "
                    + made + " large object(s) made";
        }
        return null;
    }

    private static void collect(List<String> failures, String failure) {
        if (failure != null) {
            failures.add(failure);
        }
    }

    /** Finding 2: set_config('role', ...) in every form of PL/pgSQL expression of a DO block (staging allows DO). */
    @Test
    void aRoleSwitchInAnyExpressionOfADoBlockIsRefused() throws SQLException {
        String call = "set_config('role', 'bi_rw', false)";
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.simpleSession("staging")) {
            for (String body : List.of("BEGIN IF " + call + " IS NOT NULL THEN NULL; END IF; END",
                    "DECLARE x text DEFAULT " + call + "; BEGIN END",
                    "BEGIN RAISE NOTICE '%', " + call + "; END",
                    "BEGIN ASSERT " + call + " IS NOT NULL; END",
                    "BEGIN WHILE " + call + " IS NULL LOOP END LOOP; END",
                    "BEGIN FOR i IN 1..length(" + call + ") LOOP NULL; END LOOP; END",
                    "BEGIN LOOP EXIT WHEN " + call + " IS NOT NULL; END LOOP; END",
                    "DECLARE x text; BEGIN x := " + call + "; END")) {
                collect(failures, refused(c, "DO $$ " + body + " $$", "role-escalation"));
            }
        }
        assertEquals(List.of(), failures);
    }

    /**
     * Finding 2 in production: a function whose IF condition calls lo_from_bytea and set_config, made by another
     * identity, then called in a SELECT. Before, the call ran unasked (audited as a SELECT writing nothing), made a
     * large object and switched the role.
     */
    @Test
    void aFunctionWhoseConditionWritesOrSwitchesTheRoleIsJudgedWhenCalled() throws SQLException {
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.simpleSession("prod")) {
            collect(failures, refused(c, "SELECT public.bi_peek(1)", null));
            collect(failures, refused(c, "SELECT public.bi_role(1)", null));
            collect(failures, refused(c, "SELECT public.bi_lo(1)", "prod-writes-refused"));
        }
        try (Connection c = warden.simpleSession("staging")) {
            collect(failures, refused(c, "SELECT public.bi_role(1)", "role-escalation"));
        }
        assertEquals(List.of(), failures);
    }

    /**
     * Finding 3: an aggregate whose transition function is set_config or lo_from_bytea, and an operator whose
     * function is lo_from_bytea (in a statement, and in a function's IF condition), run those built-ins on every use.
     */
    @Test
    void anAggregateOrOperatorRunningAWritingBuiltInIsJudgedAsThatCall() throws SQLException {
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.simpleSession("staging")) {
            collect(failures, refused(c, "SELECT public.bi_agg('bi_rw', false)", "role-escalation"));
            collect(failures, refused(c, "CREATE AGGREGATE pg_temp.agg(text, boolean) (sfunc = set_config, "
                    + "stype = text, initcond = 'role')", "role-escalation"));
        }
        try (Connection c = warden.simpleSession("prod")) {
            collect(failures, refused(c, "SELECT public.bi_agg('bi_rw', false)", null));
            collect(failures, refused(c, "SELECT public.bi_mklo('hidden write')", "prod-writes-refused"));
            collect(failures, refused(c, "SELECT public.bi_opcall()", "prod-writes-refused"));
        }
        try (Connection c = warden.simpleSession("reviewed")) {
            // (Production refuses this text before any of that: see anOperatorNamedWithItsSchemaIsJudgedAsTheOperator.)
            collect(failures, refused(c, "SELECT 0::oid OPERATOR(public.###) 'via operator'::bytea",
                    "prod-writes-refused"));
            collect(failures, refused(c, "SELECT public.bi_mklo('hidden write')", "prod-writes-refused"));
        }
        assertEquals(List.of(), failures);
    }

    /**
     * An attacker's pass (2026-12-06): built-ins that run SQL handed to them as text. query_to_xml, its xmlschema
     * forms, ts_stat and ts_rewrite switched the role in staging, and ran lo_create and a deleting function in
     * production without approval, while Warden judged (and audited) a read. Each text is now judged as the statement
     * it is; one computed at run time is dynamic SQL; an aggregate over ts_rewrite runs each value as a query.
     */
    @Test
    void sqlGivenAsTextToABuiltInIsJudgedAsTheStatementItRuns() throws SQLException {
        String role = "set_config(''role'', ''bi_rw'', false)";
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.simpleSession("staging")) {
            for (String sql : List.of("SELECT query_to_xml('select " + role + "', true, false, '')",
                    "SELECT query_to_xml_and_xmlschema('select " + role + "', true, false, '')",
                    "SELECT query_to_xmlschema('select " + role + "', true, false, '')",
                    "SELECT * FROM ts_stat('select to_tsvector(" + role + ")')",
                    "SELECT ts_rewrite('a'::tsquery, 'select ''a''::tsquery, " + role + "::tsquery')",
                    "SELECT public.bi_xml()")) {
                collect(failures, refused(c, sql, "role-escalation"));
            }
            collect(failures, refused(c, "SELECT query_to_xml('select ' || '" + role + "', true, false, '')", null));
            collect(failures, refused(c, "SELECT public.bi_rewrite(q) FROM (VALUES ('select ''a''::tsquery, " + role
                    + "::tsquery')) v(q)", null));
        }
        try (Connection c = warden.simpleSession("prod")) {
            collect(failures, refused(c, "SELECT query_to_xml('select lo_create(0)', true, false, '')",
                    "prod-writes-refused"));
            collect(failures, refused(c, "SELECT query_to_xml('select public.bi_mk()', true, false, '')",
                    "prod-writes-refused"));
            collect(failures, refused(c, "SELECT * FROM ts_stat('select to_tsvector(lo_create(0)::text)')",
                    "prod-writes-refused"));
            // No false refusal: a text that only reads runs, in production too.
            assertEquals("t", scalar(c, "SELECT query_to_xml('select 1 as x', true, false, '')::text "
                    + "LIKE '%<x>1</x>%'"));
        }
        assertEquals(List.of(), failures);
    }

    /**
     * {@code OPERATOR(public.@+@)} names an operator, as {@code 1 @+@ 2} does, and is judged by what the operators of
     * that name run. Before, it read as a call of a function {@code operator} no catalog has (a write: refused where
     * writes are), and production refused every such text as one Warden could not read.
     */
    @Test
    void anOperatorNamedWithItsSchemaIsJudgedAsTheOperator() throws SQLException {
        for (String environment : List.of("prod", "reviewed")) {
            try (Connection c = warden.simpleSession(environment)) {
                assertEquals("3", scalar(c, "SELECT 1 OPERATOR(public.@+@) 2"), environment);
                assertEquals("3", scalar(c, "SELECT 1 OPERATOR(pg_catalog.+) 2"), environment);
                assertEquals("1", scalar(c, "SELECT count(*) FROM generate_series(1, 3) x "
                        + "WHERE x OPERATOR(public.@+@) 1 > 3"), environment);
            }
        }
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.simpleSession("prod")) {
            // An operator of that name runs lo_from_bytea: Warden vouches for no such text, which stays unread.
            collect(failures, refused(c, "SELECT 0::oid OPERATOR(public.###) 'via operator'::bytea",
                    "unparsed-in-production"));
        }
        assertEquals(List.of(), failures);
    }

    /** No false refusals: harmless built-ins in conditions, and aggregates and operators over harmless built-ins. */
    @Test
    void harmlessBuiltInsInBodiesAggregatesAndOperatorsAreAllowed() throws SQLException {
        try (Connection c = warden.simpleSession("staging")) {
            assertEquals(null, run(c, "DO $$ DECLARE n int DEFAULT length('abc'); BEGIN "
                    + "IF now() IS NOT NULL AND coalesce(n, 0) > 0 THEN RAISE NOTICE '%', format('%s', n); END IF; "
                    + "FOR i IN 1..length('ab') LOOP ASSERT i > 0; END LOOP; "
                    + "PERFORM set_config('application_name', 'x', false); END $$"));
            assertEquals("bi_login", scalar(c, "SELECT current_user"));
        }
        try (Connection c = warden.simpleSession("prod")) {
            assertEquals("2", scalar(c, "SELECT public.bi_fine(1)"));
            assertEquals("6", scalar(c, "SELECT public.bi_sum(x) FROM generate_series(1, 3) x"));
            assertEquals("bi_login", scalar(c, "SELECT current_user"));
        }
        try (Connection c = warden.simpleSession("reviewed")) {
            assertEquals("3", scalar(c, "SELECT 1::int OPERATOR(public.@+@) 2"));
            assertEquals("6", scalar(c, "SELECT public.bi_sum(x) FROM generate_series(1, 3) x"));
        }
    }

    /**
     * Attacker pass a109: on prod, where every write is refused or held, NOTIFY ran while {@code pg_notify} was
     * refused, ANALYZE while VACUUM was, and brin_summarize_new_values (what VACUUM does to a BRIN index) as a read;
     * a112: SELECT ... FOR UPDATE locked rows while LOCK is a write.
     * Each is a write now; what the server did is read back (a listener's notifications, the table's last analyze,
     * the index's summarized ranges). LISTEN and reads still run.
     */
    @Test
    void notifyAnalyzeAndIndexMaintenanceAreWrites() throws SQLException {
        warden.directly("DROP TABLE IF EXISTS public.bi_stats",
                "CREATE TABLE public.bi_stats (id int) WITH (autovacuum_enabled = off)",
                "INSERT INTO public.bi_stats SELECT g FROM generate_series(1, 2000) g",
                "CREATE INDEX bi_brin ON public.bi_stats USING brin (id) WITH (pages_per_range = 1)",
                "GRANT SELECT ON public.bi_stats TO bi_login");
        List<String> failures = new ArrayList<>();
        try (Connection listener = warden.direct(); Connection c = warden.simpleSession("prod")) {
            listener.createStatement().execute("LISTEN bi_ch");
            collect(failures, refused(c, "NOTIFY bi_ch, 'sent past the rule'", "prod-writes-refused"));
            collect(failures, refused(c, "ANALYZE public.bi_stats", "prod-writes-refused"));
            collect(failures, refused(c, "ANALYZE", "prod-writes-refused"));
            collect(failures, refused(c, "SELECT brin_summarize_new_values('public.bi_brin')", "prod-writes-refused"));
            collect(failures, refused(c, "SELECT pg_catalog.brin_summarize_range('public.bi_brin', 0)",
                    "prod-writes-refused"));
            // SELECT ... FOR UPDATE / SHARE locks the rows it reads, as LOCK locks a table (attacker pass a112, H6).
            collect(failures, refused(c, "SELECT * FROM public.bi_stats WHERE id < 10 FOR UPDATE",
                    "prod-writes-refused"));
            collect(failures, refused(c, "SELECT id FROM public.bi_stats FOR KEY SHARE SKIP LOCKED",
                    "prod-writes-refused"));
            // CHECKPOINT forces the server's checkpoint, as pg_switch_wal switches its WAL (a112, H6).
            collect(failures, refused(c, "CHECKPOINT", "prod-writes-refused"));
            assertEquals(null, run(c, "LISTEN bi_other"));
            assertEquals("2000", scalar(c, "SELECT count(*) FROM public.bi_stats"));
            listener.createStatement().execute("SELECT 1");
            org.postgresql.PGNotification[] got = listener.unwrap(org.postgresql.PGConnection.class).getNotifications();
            assertEquals(0, got == null ? 0 : got.length, "notifications the listener got");
            assertEquals("t", scalar(listener, "SELECT last_analyze IS NULL FROM pg_stat_user_tables "
                    + "WHERE relid = 'public.bi_stats'::regclass"));
            assertEquals("0", scalar(listener, "SELECT count(*) FROM public.bi_stats WHERE xmax <> '0'::xid"));
        }
        assertEquals(List.of(), failures);
    }
}
