package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A materialized view stores the rows its definition computed when it was made or last refreshed; Warden judges it by
 * what its definition reaches now, and masks every column of one whose rows may predate a change to what that
 * definition reaches (see {@code RelationCatalog#staleMaterializedViews}). Attempts to get around that rule (each a
 * masked session through Warden against the real server, every answer searched for the seeded PII), and cases where
 * Warden can tell the rows are current and must leave them clear.
 */
class MaterializedViewStaleRowsTest {

    private static final String T = "translate(email, '@.-', '   ')";
    private static final String MASKED = "Warden masked columns of this result";

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "ms_people");
        direct("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ms_owner') THEN CREATE ROLE ms_owner; "
                + "END IF; END$$");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * Runs each attempt on a masked session of its own ("direct: " runs a statement on a direct connection, as another
     * tool would); prints each transcript, returns the statements whose answers carried a seeded value.
     */
    private static List<String> leaks(String[][] attempts) throws Exception {
        List<String> leaked = new ArrayList<>();
        for (String[] attempt : attempts) {
            StringBuilder all = new StringBuilder();
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                for (String sql : attempt) {
                    String answer;
                    if (sql.startsWith("direct: ")) {
                        direct(sql.substring(8));
                        answer = "(run directly)\n";
                    } else {
                        answer = a.query(sql);
                    }
                    all.append(">>> ").append(sql).append('\n').append(answer);
                    if (!seedsIn(answer).isEmpty()) {
                        leaked.add(sql + " -> " + seedsIn(answer));
                    }
                }
            }
            System.out.println(all);
        }
        return leaked;
    }

    /** Runs the statements on one masked session, returns the last answer (the transcript is printed). */
    private static String last(String... sqls) throws Exception {
        StringBuilder all = new StringBuilder();
        String answer = "";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : sqls) {
                answer = a.query(sql);
                all.append(">>> ").append(sql).append('\n').append(answer);
            }
        }
        System.out.println(all);
        assertEquals(List.of(), seedsIn(all.toString()), all.toString());
        return answer;
    }

    /** A view {@code v} over the seeded e-mails and a materialized view {@code m} over it (holding them). */
    private static String[] viewAndMatview(String v, String m) {
        return new String[] {"CREATE VIEW " + v + " AS SELECT id, " + T + " AS x FROM ms_people",
            "CREATE MATERIALIZED VIEW " + m + " AS SELECT id, x FROM " + v};
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static String replacedClear(String v) {
        return "CREATE OR REPLACE VIEW " + v + " AS SELECT 1 AS id, 'kettle'::text AS x";
    }

    /**
     * LEAK before the fix, with each way of rewriting the materialized view's own catalog row (its pg_class xmin)
     * without recomputing its rows after the view it reads was replaced: the rows still hold the e-mails, so reading
     * it stays masked.
     */
    @Test
    void rewritingAMatviewsCatalogRowAfterItsViewWasReplacedKeepsItMasked() throws Exception {
        List<String[]> attempts = new ArrayList<>();
        String[][] tricks = {
            {"SELECT x FROM %m"},
            {"ALTER MATERIALIZED VIEW %m SET (fillfactor = 50)", "SELECT x FROM %m"},
            {"direct: ALTER MATERIALIZED VIEW %m OWNER TO ms_owner", "SELECT x FROM %m"},
            {"ALTER MATERIALIZED VIEW %m RENAME TO %m_renamed", "SELECT x FROM %m"},
            {"direct: ALTER MATERIALIZED VIEW %m RENAME TO %m_renamed", "SELECT x FROM %m_renamed"},
            {"CREATE UNIQUE INDEX ON %m (id)", "SELECT x FROM %m"},
            {"GRANT SELECT ON %m TO PUBLIC", "SELECT x FROM %m"},
            {"COMMENT ON MATERIALIZED VIEW %m IS 'fresh'", "SELECT x FROM %m"},
            {"CREATE INDEX %m_i ON %m (id)", "CLUSTER %m USING %m_i", "SELECT x FROM %m"},
            {"VACUUM FULL %m", "SELECT x FROM %m"},
            {"VACUUM FREEZE %m", "SELECT x FROM %m"},
        };
        for (int i = 0; i < tricks.length; i++) {
            String v = "ma_v" + i;
            String m = "ma_m" + i;
            List<String> steps = new ArrayList<>(List.of(viewAndMatview(v, m)));
            steps.add(replacedClear(v));
            for (String step : tricks[i]) {
                steps.add(step.replace("%m", m));
            }
            attempts.add(steps.toArray(new String[0]));
        }
        assertEquals(List.of(), leaks(attempts.toArray(new String[0][])));
    }

    /**
     * LEAK before the fix: the REFRESH and the replacement in one transaction, the replacement last (same
     * transaction id: a later command); a materialized view over one that was refreshed after the view the inner one
     * reads was replaced; a REFRESH CONCURRENTLY over a sensitive function, which then becomes clear.
     */
    @Test
    void refreshesAndReplacementsInOneTransactionOrNestedStayMasked() throws Exception {
        String[][] attempts = {
            concat(viewAndMatview("mb_v1", "mb_m1"), "BEGIN", "REFRESH MATERIALIZED VIEW mb_m1",
                    replacedClear("mb_v1"), "COMMIT", "SELECT x FROM mb_m1"),
            concat(viewAndMatview("mb_v2", "mb_m2"), "BEGIN", "SELECT 1", "REFRESH MATERIALIZED VIEW mb_m2",
                    "SELECT 2", replacedClear("mb_v2"), "COMMIT", "SELECT x FROM mb_m2"),
            // Nested: the outer one copied the inner one's e-mails; the inner one is refreshed (clear) after the
            // view it reads was replaced.
            concat(viewAndMatview("mb_v3", "mb_m3"), "CREATE MATERIALIZED VIEW mb_o3 AS SELECT x FROM mb_m3",
                    replacedClear("mb_v3"), "REFRESH MATERIALIZED VIEW mb_m3", "SELECT x FROM mb_m3",
                    "SELECT x FROM mb_o3"),
            {"CREATE FUNCTION mb_f4(i int) RETURNS text LANGUAGE sql AS $$SELECT 'kettle'::text$$",
             "CREATE MATERIALIZED VIEW mb_m4 AS SELECT id, mb_f4(id) AS x FROM generate_series(1, 3) id",
             "CREATE UNIQUE INDEX ON mb_m4 (id)",
             "CREATE OR REPLACE FUNCTION mb_f4(i int) RETURNS text LANGUAGE sql AS $$SELECT " + T
                     + " FROM public.ms_people WHERE id = i$$",
             "REFRESH MATERIALIZED VIEW CONCURRENTLY mb_m4",
             "CREATE OR REPLACE FUNCTION mb_f4(i int) RETURNS text LANGUAGE sql AS $$SELECT 'kettle'::text$$",
             "SELECT x FROM mb_m4"},
        };
        assertEquals(List.of(), leaks(attempts));
    }

    /**
     * LEAK before the fix: what a function the definition calls calls in turn, replaced after the REFRESH: a
     * function called from a PL/pgSQL body and from a SQL body (followed by name), one called from a SQL-standard body
     * (followed through pg_depend), and a view a function body names, dropped and made again.
     */
    @Test
    void aCalleeOfACalleeReplacedAfterTheRefreshKeepsTheMatviewMasked() throws Exception {
        String sensitive = "$$SELECT string_agg(" + T + ", ',') FROM public.ms_people$$";
        String clear = "$$SELECT 'kettle'::text$$";
        String[][] attempts = {
            {"CREATE FUNCTION mc_g1() RETURNS text LANGUAGE sql AS " + sensitive,
             "CREATE FUNCTION mc_f1() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN public.mc_g1(); END$$",
             "CREATE MATERIALIZED VIEW mc_m1 AS SELECT mc_f1() AS x",
             "CREATE OR REPLACE FUNCTION mc_g1() RETURNS text LANGUAGE sql AS " + clear,
             "SELECT x FROM mc_m1"},
            {"CREATE FUNCTION mc_g2() RETURNS text LANGUAGE sql AS " + clear,
             "CREATE FUNCTION mc_f2() RETURNS text LANGUAGE sql AS $$SELECT public.mc_g2()$$",
             "CREATE MATERIALIZED VIEW mc_m2 AS SELECT mc_f2() AS x",
             "CREATE OR REPLACE FUNCTION mc_g2() RETURNS text LANGUAGE sql AS " + sensitive,
             "REFRESH MATERIALIZED VIEW mc_m2",
             "CREATE OR REPLACE FUNCTION mc_g2() RETURNS text LANGUAGE sql AS " + clear,
             "SELECT x FROM mc_m2"},
            {"CREATE FUNCTION mc_g3() RETURNS text LANGUAGE sql AS " + sensitive,
             "CREATE FUNCTION mc_f3() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT public.mc_g3(); END",
             "CREATE MATERIALIZED VIEW mc_m3 AS SELECT mc_f3() AS x",
             "CREATE OR REPLACE FUNCTION mc_g3() RETURNS text LANGUAGE sql AS " + clear,
             "SELECT x FROM mc_m3"},
            {"CREATE VIEW mc_v4 AS SELECT " + T + " AS note FROM ms_people",
             "CREATE FUNCTION mc_f4() RETURNS text LANGUAGE sql AS $$SELECT string_agg(note, ',') FROM public.mc_v4$$",
             "CREATE MATERIALIZED VIEW mc_m4 AS SELECT mc_f4() AS x",
             "DROP VIEW mc_v4",
             "CREATE VIEW mc_v4 AS SELECT 'kettle'::text AS note",
             "SELECT x FROM mc_m4"},
        };
        assertEquals(List.of(), leaks(attempts));
    }

    /** Over clear tables only: nothing it reaches changed since its rows were computed, so it is not masked. */
    @Test
    void aMatviewOverClearTablesStaysClear() throws Exception {
        direct("CREATE TABLE mp_clear (id int, note text)");
        direct("INSERT INTO mp_clear VALUES (1, 'kettle')");
        direct("GRANT ALL ON mp_clear TO PUBLIC");
        String answer = last("CREATE VIEW mp_v1 AS SELECT id, upper(note) AS note FROM mp_clear",
                "CREATE MATERIALIZED VIEW mp_m1 AS SELECT note FROM mp_v1",
                "ALTER MATERIALIZED VIEW mp_m1 SET (fillfactor = 70)",
                "SELECT note FROM mp_m1");
        assertTrue(answer.contains("KETTLE") && !answer.contains(MASKED), answer);
    }

    /**
     * Refreshed after the view it reads was replaced (in a later transaction, or later in the same one): its rows are
     * what the clear definition computes, so it is not masked.
     */
    @Test
    void aMatviewRefreshedAfterItsViewWasReplacedIsClear() throws Exception {
        String answer = last(concat(viewAndMatview("mr_v1", "mr_m1"), replacedClear("mr_v1"),
                "REFRESH MATERIALIZED VIEW mr_m1", "SELECT x FROM mr_m1"));
        assertTrue(answer.contains("kettle") && !answer.contains(MASKED), answer);
        answer = last(concat(viewAndMatview("mr_v2", "mr_m2"), "BEGIN", replacedClear("mr_v2"),
                "REFRESH MATERIALIZED VIEW mr_m2", "COMMIT", "SELECT x FROM mr_m2"));
        assertTrue(answer.contains("kettle") && !answer.contains(MASKED), answer);
        // A CONCURRENTLY refresh that rewrites every row (each value changed) clears it too.
        answer = last(concat(viewAndMatview("mr_v3", "mr_m3"), "CREATE UNIQUE INDEX ON mr_m3 (id)",
                "CREATE OR REPLACE VIEW mr_v3 AS SELECT id, 'kettle'::text AS x FROM ms_people",
                "REFRESH MATERIALIZED VIEW CONCURRENTLY mr_m3", "SELECT x FROM mr_m3"));
        assertTrue(answer.contains("kettle") && !answer.contains(MASKED), answer);
    }

    /** An empty materialized view, and one made WITH NO DATA, hold nothing: reading them is not masked. */
    @Test
    void anEmptyMatviewIsNotMasked() throws Exception {
        String answer = last(concat(viewAndMatview("me_v1", "me_m1"),
                "CREATE MATERIALIZED VIEW me_m2 AS SELECT x FROM me_v1 WHERE false", replacedClear("me_v1"),
                "SELECT x FROM me_m2"));
        assertFalse(answer.contains(MASKED), answer);
        answer = last("CREATE VIEW me_v3 AS SELECT 'kettle'::text AS x",
                "CREATE MATERIALIZED VIEW me_m3 AS SELECT x FROM me_v3 WITH NO DATA",
                "CREATE OR REPLACE VIEW me_v3 AS SELECT 'pot'::text AS x", "SELECT x FROM me_m3");
        assertTrue(answer.contains("55000") && !answer.contains(MASKED), answer); // not populated
    }

    /** A plain view is judged by its definition as before: replaced clear, it is clear. */
    @Test
    void aPlainViewReplacedClearIsClear() throws Exception {
        String answer = last("CREATE VIEW mv_plain AS SELECT " + T + " AS x FROM ms_people",
                "CREATE OR REPLACE VIEW mv_plain AS SELECT 'kettle'::text AS x", "SELECT x FROM mv_plain");
        assertTrue(answer.contains("kettle") && !answer.contains(MASKED), answer);
    }

    /**
     * OPEN (README's limits): a REFRESH in a savepoint, then the replacement in the enclosing transaction. The rows
     * carry the savepoint's transaction id, which is newer than the enclosing transaction's, where the replacement
     * lands: Warden reads the replacement as older than the rows. (Likewise another session's transaction that took
     * its id before the REFRESH and replaced the view or a function after it.)
     */
    @Test
    @org.junit.jupiter.api.Disabled("open: transaction ids order when transactions began to write, not when they committed (see the README's limits)")
    void aRefreshInASavepointThenTheReplacementInTheEnclosingTransaction() throws Exception {
        assertEquals(List.of(), leaks(new String[][] {
            concat(viewAndMatview("mx_v1", "mx_m1"), "BEGIN", "SAVEPOINT s", "REFRESH MATERIALIZED VIEW mx_m1",
                    "RELEASE SAVEPOINT s", replacedClear("mx_v1"), "COMMIT", "SELECT x FROM mx_m1")}));
    }
}
