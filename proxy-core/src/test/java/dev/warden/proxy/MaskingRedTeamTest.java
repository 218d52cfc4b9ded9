package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.EMAILS;
import static dev.warden.proxy.MaskedAttacker.SSNS;
import static dev.warden.proxy.MaskedAttacker.firstValue;
import static dev.warden.proxy.MaskedAttacker.refused;
import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An attacker's pass over the masking decisions relaxed for transparency (catalog relations count only where a
 * rule names them, DDL is no laundering, views judged by definitions or by pg_depend when locked, the search_path
 * read between batches, a COPY of a table its own batch creates value-scanned). Each test seeds distinctive PII in
 * a table of its own, runs the attack as a masked identity through Warden and checks every byte the client
 * received: no seeded value may appear, case, separators and direction ignored (an attacker's {@code translate}
 * or {@code reverse} defeats value detection, not this check). A test that leaked before its fix says what
 * leaked; the others are attacks that were already stopped, kept so they stay stopped.
 */
class MaskingRedTeamTest {

    static WardenHarness warden;


    /** Seeds hide from value detection once {@code @}, {@code .} and {@code -} become spaces. */
    private static final String HIDE = "'@.-', '   '";

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** A table {@code name (id, email, ssn)} holding the seeded PII, readable by everyone. */
    private static void seed(String name) throws SQLException {
        MaskedAttacker.seed(warden, name);
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static void assertNoSeed(String received) {
        assertEquals(List.of(), seedsIn(received), received);
    }

    private static List<String> leaksOf(String[][] attempts, String... cleanup) throws Exception {
        return MaskedAttacker.leaksOf(warden, attempts, cleanup);
    }


    // ---- 1. catalog relations: statistics hold sample values of user tables ----

    @Test
    void statisticsOfASensitiveTableDoNotCarryItsValues() throws Exception {
        // Before: pg_stats is a pg_catalog view no rule names, so it was only value-scanned; histogram_bounds
        // with separators translated away came back in clear (every e-mail and SSN of the table).
        seed("st_people");
        direct("ANALYZE st_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String plain = a.query("SELECT attname, histogram_bounds::text FROM pg_stats WHERE schemaname = 'public' "
                    + "AND tablename LIKE 'st%'");
            assertTrue(plain.contains("histogram_bounds") || plain.contains("attname"), plain);
            assertNoSeed(plain);
            assertNoSeed(a.query("SELECT translate(histogram_bounds::text, " + HIDE + ") FROM pg_stats "
                    + "WHERE schemaname = 'public'"));
            assertNoSeed(a.query("SELECT translate(s.histogram_bounds::text, " + HIDE + ") FROM pg_catalog.pg_stats s"));
            assertNoSeed(a.query("SELECT translate(stavalues1::text, " + HIDE + "), translate(stavalues2::text, "
                    + HIDE + ") FROM pg_statistic"));
            assertNoSeed(a.query("SELECT translate(array_to_string(histogram_bounds, ','), " + HIDE + ") "
                    + "FROM pg_stats WHERE schemaname = 'public'"));
            assertNoSeed(a.query("SELECT translate(row_to_json(s)::text, " + HIDE + ") FROM pg_stats s "
                    + "WHERE schemaname = 'public'"));
            a.query("CREATE VIEW st_sampled AS SELECT tablename, histogram_bounds AS hb FROM pg_stats");
            assertNoSeed(a.query("SELECT translate(hb::text, " + HIDE + ") FROM st_sampled"));
        }
    }

    @Test
    void extendedStatisticsAndExpressionIndexesDoNotCarryValues() throws Exception {
        // Before: CREATE STATISTICS and CREATE INDEX on an expression are DDL (no laundering); after ANALYZE
        // pg_stats_ext and the index's pg_stats row held the values (translated: in clear).
        seed("sx_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE STATISTICS sx_mcv (mcv) ON email, ssn FROM sx_people");
            a.query("CREATE INDEX sx_hidden ON sx_people ((translate(email, " + HIDE + ")))");
            a.query("INSERT INTO sx_people SELECT 10 + g, 'zq.feather@quixmail.example', '536-22-8471' "
                    + "FROM generate_series(1, 20) g");
            a.query("ANALYZE sx_people");
            assertNoSeed(a.query("SELECT translate(most_common_vals::text, " + HIDE + ") FROM pg_stats_ext "
                    + "WHERE statistics_name = 'sx_mcv'"));
            assertNoSeed(a.query("SELECT translate(most_common_vals::text, " + HIDE + "), "
                    + "translate(histogram_bounds::text, " + HIDE + ") FROM pg_stats WHERE tablename = 'sx_hidden'"));
        }
    }

    /**
     * Attacker pass of 2026-12-05 (F2): PostgreSQL 17's {@code pg_stats} has columns beyond the three that were
     * masked. A range computed from each customer's values, stored in the attacker's own column named {@code ssn}
     * (a redacted column may hold any computed value), came back from {@code range_bounds_histogram} after ANALYZE:
     * all 200 customers of the demo. {@code range_length_histogram} gave the SSNs as numbers,
     * {@code elem_count_histogram} the lengths of arrays chosen by them, {@code avg_width} the length of a value.
     */
    @Test
    void everyStatisticComputedFromStoredValuesIsMasked() throws Exception {
        seed("sgx_people");
        String digits = "replace(ssn, '-', '')::int8";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String out = "";
            for (String sql : List.of(
                    "CREATE TYPE pg_temp.sr_range AS RANGE (subtype = text, collation = \"C\")",
                    "CREATE TEMP TABLE sr_text (ssn pg_temp.sr_range)",
                    "INSERT INTO sr_text SELECT pg_temp.sr_range(v, v, '[]') FROM (SELECT translate(email || ' ' || "
                            + "ssn, " + HIDE + ") v FROM sgx_people) s",
                    "CREATE TEMP TABLE sr_bounds (ssn int8range)",
                    "INSERT INTO sr_bounds SELECT int8range(" + digits + ", " + digits + " + 1) FROM sgx_people",
                    "CREATE TEMP TABLE sr_length (ssn int8range)",
                    "INSERT INTO sr_length SELECT int8range(0, " + digits + ") FROM sgx_people",
                    // Arrays as long as each SSN's last four digits: 8471, 9235, 3346 elements.
                    "CREATE TEMP TABLE sr_count (ssn int[])",
                    "INSERT INTO sr_count SELECT array_fill(0, ARRAY[substr(ssn, 8, 4)::int]) FROM sgx_people",
                    // One row: its width is the length of the value stored.
                    "CREATE TEMP TABLE sr_width (ssn text)",
                    "INSERT INTO sr_width SELECT repeat('x', substr(ssn, 1, 3)::int) FROM sgx_people WHERE id = 1",
                    "CREATE TEMP TABLE sr_expr (ssn text)",
                    "INSERT INTO sr_expr SELECT ssn FROM sgx_people",
                    "CREATE STATISTICS sr_x ON (int8range(" + digits + ", " + digits + " + 1)), "
                            + "(array_fill(0, ARRAY[substr(ssn, 8, 4)::int])) FROM sr_expr")) {
                out += a.query(sql);
            }
            for (String t : List.of("sr_text", "sr_bounds", "sr_length", "sr_count", "sr_width", "sr_expr")) {
                String analyzed = a.query("ANALYZE " + t);
                assertTrue(analyzed.contains("ANALYZE") && !refused(analyzed), analyzed); // ordinary use
            }
            String stats = a.query("SELECT tablename, range_bounds_histogram::text, range_length_histogram::text, "
                    + "translate(range_bounds_histogram::text, " + HIDE + "), elem_count_histogram::text, "
                    + "avg_width, n_distinct, correlation, most_common_freqs::text, range_empty_frac "
                    + "FROM pg_stats WHERE tablename LIKE 'sr\\_%'");
            String exprs = a.query("SELECT elem_count_histogram::text, avg_width, "
                    + "n_distinct, most_common_vals::text, histogram_bounds::text FROM pg_stats_ext_exprs "
                    + "WHERE statistics_name = 'sr_x'");
            String width = a.query("SELECT 'width=' || avg_width FROM pg_stats WHERE tablename = 'sr_width'");
            assertTrue(width.contains("SELECT 1") && !width.contains("width=540"), width); // 536 characters stored
            String whole = a.query("SELECT translate(row_to_json(s)::text, " + HIDE + ") FROM pg_stats s "
                    + "WHERE tablename LIKE 'sr\\_%'")
                    + a.query("SELECT translate(row_to_json(s)::text, " + HIDE + ") FROM pg_stats_ext_exprs s")
                    + a.query("SELECT translate(row_to_json(s)::text, " + HIDE + ") FROM pg_stats_ext s");
            String all = out + stats + exprs + width + whole;
            System.out.println(all);
            assertNoSeed(all);
            for (String group : List.of("8471", "9235", "3346")) {
                assertTrue(!all.contains(group), group + " (an array's length) in " + all);
            }
            // What describes the statistics stays readable: names, and a column's share of NULLs.
            String names = a.query("SELECT tablename, attname, null_frac, inherited FROM pg_stats "
                    + "WHERE tablename = 'sr_bounds'");
            assertTrue(names.contains("sr_bounds") && names.contains("ssn") && !names.contains("[redacted]")
                    && !names.contains("Warden masked"), names);
            String ext = a.query("SELECT statistics_name, tablename, expr FROM pg_stats_ext_exprs "
                    + "WHERE statistics_name = 'sr_x'");
            assertTrue(ext.contains("sr_expr") && ext.contains("int8range") && !ext.contains("Warden masked"), ext);
        }
    }

    /**
     * Attacker pass of 2026-12-05 (F3): statements that have the server evaluate expressions over the rows a table
     * already holds name no masked column, so they were judged clear and what they raise was only value-scanned.
     * ANALYZE after {@code CREATE STATISTICS ... ((ssn::int))} quoted each stored value in {@code invalid input
     * syntax for type integer}; a function that RAISEs its argument did the same as a statistics object's
     * expression, a partition key (ATTACH PARTITION, CREATE TABLE ... PARTITION OF beside a default partition) and a
     * range type's {@code subtype_diff} (ANALYZE). The values were the attacker's copies, in columns named ssn, of
     * the seeded e-mails with their separators translated away (value detection misses them; {@code seedsIn} does
     * not). A {@code subtype_diff} that hands its argument to {@code set_config} held (kept as a probe).
     */
    @Test
    void whatTheServerRaisesOverStoredRowsIsMaskedAsTheirRead() throws Exception {
        seed("ev_people");
        String spill = "CREATE FUNCTION pg_temp.ev_spill(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS "
                + "$$ BEGIN RAISE NOTICE 'spilled %', $1; RETURN $1; END $$";
        String copy = " SELECT translate(email, " + HIDE + ") FROM ev_people";
        String[][] attempts = {
                {"CREATE TEMP TABLE ev_c (ssn text)", "INSERT INTO ev_c (ssn)" + copy,
                        "CREATE STATISTICS ev_cs ON ((ssn::int)) FROM ev_c", "ANALYZE ev_c"},
                {"CREATE TEMP TABLE ev_v (ssn text)", "INSERT INTO ev_v (ssn)" + copy,
                        "CREATE STATISTICS ev_vs ON ((ssn::int)) FROM ev_v", "VACUUM ANALYZE ev_v"},
                {spill, "CREATE TEMP TABLE ev_s (ssn text)", "INSERT INTO ev_s (ssn)" + copy,
                        "CREATE STATISTICS ev_ss ON (pg_temp.ev_spill(ssn)) FROM ev_s", "ANALYZE ev_s"},
                {spill, "CREATE TEMP TABLE ev_p (ssn text) PARTITION BY LIST (pg_temp.ev_spill(ssn))",
                        "CREATE TEMP TABLE ev_px (ssn text)", "INSERT INTO ev_px (ssn)" + copy,
                        "ALTER TABLE ev_p ATTACH PARTITION ev_px FOR VALUES IN ('x')"},
                {spill, "CREATE TEMP TABLE ev_d (ssn text) PARTITION BY LIST (pg_temp.ev_spill(ssn))",
                        "CREATE TEMP TABLE ev_dd PARTITION OF ev_d DEFAULT", "INSERT INTO ev_dd (ssn)" + copy,
                        "CREATE TEMP TABLE ev_dx PARTITION OF ev_d FOR VALUES IN ('x')"},
                {"CREATE FUNCTION pg_temp.ev_diff(text, text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS "
                        + "$$ BEGIN RAISE NOTICE 'diff %', $1; RETURN 1; END $$",
                        "CREATE TYPE pg_temp.ev_range AS RANGE (subtype = text, subtype_diff = pg_temp.ev_diff, "
                                + "collation = \"C\")",
                        "CREATE TEMP TABLE ev_r (ssn pg_temp.ev_range)",
                        "INSERT INTO ev_r SELECT pg_temp.ev_range(v, v, '[]') FROM (" + copy + ") s (v)",
                        "ANALYZE ev_r"},
                // A subtype_diff that keeps what it is given where no result masking follows (a probe).
                {"CREATE FUNCTION pg_temp.ev_keep(text, text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS "
                        + "$$ BEGIN PERFORM set_config('ev.kept', $1, false); RETURN 1; END $$",
                        "CREATE TYPE pg_temp.ev_range2 AS RANGE (subtype = text, subtype_diff = pg_temp.ev_keep, "
                                + "collation = \"C\")",
                        "CREATE TEMP TABLE ev_r2 (ssn pg_temp.ev_range2)",
                        "INSERT INTO ev_r2 SELECT pg_temp.ev_range2(v, v, '[]') FROM (" + copy + ") s (v)",
                        "ANALYZE ev_r2", "SHOW ev.kept"},
                // The same rows rewritten by an ALTER that names no masked column (an index's cast recomputed).
                {"CREATE TEMP TABLE ev_i (n int, ssn text)", "INSERT INTO ev_i (ssn)" + copy,
                        "CREATE INDEX ev_ii ON ev_i ((CASE WHEN n IS NOT NULL THEN ssn::int END))",
                        "ALTER TABLE ev_i ALTER COLUMN n TYPE bigint USING 1"},
        };
        assertEquals(List.of(), leaksOf(attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query(spill);
            a.query("CREATE TEMP TABLE ev_own (email text, ssn text)");
            a.query("INSERT INTO ev_own SELECT email, ssn FROM ev_people");
            // The rule CREATE INDEX follows: no function a user made in a statistics object's expressions.
            String made = a.query("CREATE STATISTICS ev_own_f ON (pg_temp.ev_spill(ssn)) FROM ev_own");
            assertTrue(refused(made) && made.contains("statistics object"), made);
            // Ordinary use: statistics over the columns and built-in expressions, and ANALYZE of the table.
            for (String sql : List.of("CREATE STATISTICS ev_own_m (mcv, ndistinct) ON email, ssn FROM ev_own",
                    "CREATE STATISTICS ev_own_e ON (lower(email)) FROM ev_own", "ANALYZE ev_own",
                    "VACUUM ANALYZE ev_own")) {
                String ran = a.query(sql);
                assertTrue(!refused(ran) && !ran.contains("\nE"), sql + ": " + ran);
            }
            // A table holding no masked value keeps its notices: the key's RAISE shows what it was given.
            a.query("CREATE TEMP TABLE ev_clear (n text) PARTITION BY LIST (pg_temp.ev_spill(n))");
            a.query("CREATE TEMP TABLE ev_clear_x (n text)");
            a.query("INSERT INTO ev_clear_x VALUES ('plain words')");
            String attached = a.query("ALTER TABLE ev_clear ATTACH PARTITION ev_clear_x FOR VALUES IN ('plain words')");
            assertTrue(attached.contains("spilled plain words") && !refused(attached), attached);
        }
    }

    /**
     * Attacker pass of 2026-12-05 (F5), with {@code protect_filters} on: a table partitioned by
     * {@code substr(ssn, k, 1)}, one partition per digit, an INSERT of one customer's SSN (filtered on the id only),
     * and {@code tableoid::regclass} named the partition, so the digit: nine inserts gave the SSN. Writes of values
     * from a sensitive read into a table whose partition key or bound computes over a masked column are refused,
     * as are an UPDATE that moves such a row, and the same through a partition's own bound.
     */
    @Test
    void partitionRoutingDoesNotTellASensitiveValue() throws Exception {
        seed("pr_people");
        StringBuilder found = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            StringBuilder all = new StringBuilder();
            for (int k : new int[] {1, 2, 3, 5, 6, 8, 9, 10, 11}) {
                all.append(a.query("CREATE TEMP TABLE pr_" + k + " (ssn text) PARTITION BY LIST (substr(ssn, " + k
                        + ", 1))"));
                for (int d = 0; d <= 9; d++) {
                    all.append(a.query("CREATE TEMP TABLE pr_" + k + "_" + d + " PARTITION OF pr_" + k
                            + " FOR VALUES IN ('" + d + "')"));
                }
                String inserted = a.query("INSERT INTO pr_" + k + " SELECT ssn FROM pr_people WHERE id = 1");
                assertTrue(refused(inserted), inserted);
                String landed = a.query("SELECT tableoid::regclass FROM pr_" + k);
                all.append(inserted).append(landed);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("pr_" + k + "_(\\d)").matcher(landed);
                found.append(m.find() ? m.group(1) : "");
            }
            all.append(a.query("CREATE TEMP TABLE pr_r (ssn text) PARTITION BY RANGE (ssn)"));
            all.append(a.query("CREATE TEMP TABLE pr_r_lo PARTITION OF pr_r FOR VALUES FROM (MINVALUE) TO ('6')"));
            all.append(a.query("CREATE TEMP TABLE pr_r_hi PARTITION OF pr_r FOR VALUES FROM ('6') TO (MAXVALUE)"));
            String ranged = a.query("INSERT INTO pr_r SELECT ssn FROM pr_people WHERE id = 1");
            assertTrue(refused(ranged), ranged);
            // A row written first with a value of the writer's own, then moved by an UPDATE.
            all.append(a.query("INSERT INTO pr_r VALUES ('000')"));
            String moved = a.query("UPDATE pr_r SET ssn = (SELECT ssn FROM pr_people WHERE id = 1)");
            assertTrue(refused(moved), moved);
            // Straight into a partition: its bound accepts the row or refuses it.
            String direct = a.query("INSERT INTO pr_r_lo SELECT ssn FROM pr_people WHERE id = 1");
            assertTrue(refused(direct), direct);
            all.append(ranged).append(moved).append(direct);
            all.append(a.query("SELECT tableoid::regclass, count(*) FROM pr_r GROUP BY 1"));
            assertNoSeed(all.toString());
            assertTrue(!found.toString().equals(SSNS.get(0).replace("-", "")), found + " " + all);
            assertEquals("", found.toString(), all.toString());

            // Ordinary use: a table partitioned by a clear column takes the sensitive values (masked where read),
            // and a table partitioned over a masked column takes values of the writer's own.
            a.query("CREATE TEMP TABLE pr_by_id (id int, ssn text) PARTITION BY RANGE (id)");
            a.query("CREATE TEMP TABLE pr_by_id_lo PARTITION OF pr_by_id FOR VALUES FROM (0) TO (2)");
            a.query("CREATE TEMP TABLE pr_by_id_hi PARTITION OF pr_by_id FOR VALUES FROM (2) TO (100)");
            String copied = a.query("INSERT INTO pr_by_id (id, ssn) SELECT id, ssn FROM pr_people");
            assertTrue(copied.contains("INSERT 0 3"), copied);
            String where = a.query("SELECT tableoid::regclass, id FROM pr_by_id ORDER BY id");
            assertTrue(where.contains("pr_by_id_lo") && where.contains("pr_by_id_hi"), where);
            String own = a.query("INSERT INTO pr_1 VALUES ('123-45-6789')");
            assertTrue(own.contains("INSERT 0 1"), own);
        }
    }

    // ---- 1b. DDL of the open transaction: Warden reads the catalog as committed ----

    @Test
    void whatTheOpenTransactionMadeOrRenamedIsNotTakenAsClear() throws Exception {
        // Before: a view made in the transaction, a function replaced or renamed in it, were judged by the catalog
        // as committed (absent, or the old body): each returned the e-mails in clear, or copied them into a clear
        // table that any later read returned in clear.
        seed("tx_people");
        direct("CREATE TABLE tx_copy (e text)");
        direct("GRANT ALL ON tx_copy TO PUBLIC");
        String[][] attempts = {
                {"BEGIN", "CREATE VIEW tx_v AS SELECT id, translate(email, " + HIDE + ") AS e FROM tx_people",
                        "SELECT e FROM tx_v"},
                {"CREATE VIEW tx_v AS SELECT translate(email, " + HIDE + ") AS e FROM tx_people; SELECT e FROM tx_v"},
                {"CREATE FUNCTION tx_f() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$", "SELECT tx_f()", "BEGIN",
                        "CREATE OR REPLACE FUNCTION tx_f() RETURNS text LANGUAGE sql AS $$SELECT translate("
                                + "string_agg(email, ','), " + HIDE + ") FROM tx_people$$", "SELECT tx_f()"},
                {"CREATE FUNCTION tx_g() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$",
                        "CREATE FUNCTION tx_h() RETURNS text LANGUAGE sql AS $$SELECT translate(string_agg(email, "
                                + "','), " + HIDE + ") FROM tx_people$$", "SELECT tx_g()", "BEGIN",
                        "ALTER FUNCTION tx_g() RENAME TO tx_g_old", "ALTER FUNCTION tx_h() RENAME TO tx_g",
                        "SELECT tx_g()"},
                {"BEGIN", "CREATE VIEW tx_v AS SELECT translate(email, " + HIDE + ") AS e FROM tx_people",
                        "INSERT INTO tx_copy SELECT e FROM tx_v", "COMMIT", "SELECT e FROM tx_copy"},
        };
        assertEquals(List.of(), leaksOf(attempts,
                "DROP VIEW IF EXISTS tx_v",
                "DROP FUNCTION IF EXISTS tx_f(), tx_g(), tx_g_old(), tx_h()",
                "TRUNCATE tx_copy"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // What names nothing the transaction changed reads as before; a view or function it made whose
            // definition reads nothing sensitive reads in clear, and may be copied; so does the view once committed.
            a.query("BEGIN");
            a.query("CREATE VIEW tx_ids AS SELECT id FROM tx_people");
            assertTrue(a.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM tx_people").contains("1,2,3"));
            String ids = a.query("SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM tx_ids");
            assertTrue(ids.contains("1,2,3"), ids);
            a.query("CREATE FUNCTION tx_answer() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 41 + 1; END$$");
            String answer = a.query("SELECT tx_answer()");
            assertTrue(answer.contains("42"), answer);
            String copied = a.query("INSERT INTO tx_copy SELECT id::text FROM tx_ids");
            assertTrue(copied.contains("INSERT 0 3"), copied);
            a.query("COMMIT");
            assertTrue(a.query("SELECT string_agg(id::text, ',' ORDER BY id) FROM tx_ids").contains("1,2,3"));
        }
        direct("DROP FUNCTION tx_answer()");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // An aggregate made over a built-in function, a schema made with a view, and a statement's own error
            // about what it changes: nothing sensitive, all in clear.
            a.query("BEGIN");
            a.query("CREATE AGGREGATE tx_total(int) (SFUNC = int4pl, STYPE = int)");
            String total = a.query("SELECT tx_total(id) AS total FROM tx_people");
            assertTrue(total.contains("6\nCSELECT 1") && !total.contains("redacted"), total);
            a.query("CREATE SCHEMA tx_s CREATE VIEW tx_sv AS SELECT 1 AS one");
            String path = a.query("SHOW search_path");
            assertTrue(path.contains("public"), path);
            a.query("CREATE TABLE tx_pk (a int PRIMARY KEY)");
            a.query("CREATE TABLE tx_fk (a int REFERENCES tx_pk) PARTITION BY LIST (a)");
            a.query("CREATE TABLE tx_fk1 (a int)");
            a.query("INSERT INTO tx_fk1 VALUES (50)");
            String attach = a.query("ALTER TABLE tx_fk ATTACH PARTITION tx_fk1 FOR VALUES IN (50)");
            assertTrue(attach.contains("(a)=(50)"), attach);
            a.query("ROLLBACK");
        }
    }

    @Test
    void aTriggerThatCopiesSensitiveValuesIntoAClearTableDoesNotRun() throws Exception {
        // Found by an attacker's pass: a trigger function made while the view it copies from was clear, the view
        // then replaced by one over e-mails; an INSERT that names nothing sensitive fired the trigger, which filled
        // a clear table that any later read returned in clear.
        seed("tr_people");
        direct("CREATE TABLE tr_copy (e text)");
        direct("GRANT ALL ON tr_copy TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE VIEW tr_v AS SELECT 'x'::text AS e");
            a.query("CREATE TABLE tr_own (id int)");
            a.query("CREATE FUNCTION tr_f() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN INSERT INTO tr_copy SELECT e FROM tr_v; RETURN NEW; END$$");
            // Made by the owner: a masked identity's own trigger whose function reads a relation is refused where
            // it is made (aMaskedIdentityCannotPlantATriggerThatRunsInAnExemptWritersSession).
            direct("CREATE TRIGGER tr_t AFTER INSERT ON tr_own FOR EACH ROW EXECUTE FUNCTION tr_f()");
            // Refused where the view is replaced since a137: the trigger function's body reads its name.
            String replaced = a.query("CREATE OR REPLACE VIEW tr_v AS SELECT translate(email, " + HIDE + ") AS e "
                    + "FROM tr_people");
            String fired = a.query("INSERT INTO tr_own VALUES (1)");
            assertNoSeed(a.query("SELECT string_agg(e, ',') FROM tr_copy"));
            assertTrue(refused(replaced) || refused(fired), replaced + fired);
            // A trigger that copies clear values still fires.
            a.query("CREATE OR REPLACE VIEW tr_v AS SELECT id::text AS e FROM tr_people");
            String clear = a.query("INSERT INTO tr_own VALUES (2)");
            assertTrue(clear.contains("INSERT 0 1"), clear);
        }
    }

    @Test
    void whatTheOpenTransactionReplacedIsFollowedThroughCommittedViewsAndTriggers() throws Exception {
        // Attacker pass 4: the view replaced in the open transaction, reached only through what the catalog holds
        // as committed (a view over it, a trigger function that reads it).
        seed("ta_people");
        direct("CREATE TABLE ta_copy (e text)");
        direct("GRANT ALL ON ta_copy TO PUBLIC");
        String[][] attempts = {
                {"CREATE VIEW ta_v AS SELECT 'x'::text AS e", "CREATE VIEW ta_w AS SELECT e FROM ta_v", "BEGIN",
                        "CREATE OR REPLACE VIEW ta_v AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM ta_w"},
                {"CREATE VIEW ta_v AS SELECT 'x'::text AS e", "CREATE TABLE ta_own (id int)",
                        "CREATE FUNCTION ta_f() RETURNS trigger LANGUAGE plpgsql AS "
                                + "$$BEGIN INSERT INTO ta_copy SELECT e FROM ta_v; RETURN NEW; END$$",
                        "CREATE TRIGGER ta_t AFTER INSERT ON ta_own FOR EACH ROW EXECUTE FUNCTION ta_f()", "BEGIN",
                        "CREATE OR REPLACE VIEW ta_v AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "INSERT INTO ta_own VALUES (1)", "COMMIT", "SELECT string_agg(e, ',') FROM ta_copy"},
                {"CREATE VIEW ta_v AS SELECT 'x'::text AS e", "CREATE MATERIALIZED VIEW ta_m AS SELECT e FROM ta_v",
                        "BEGIN", "CREATE OR REPLACE VIEW ta_v AS SELECT translate(email, " + HIDE + ") AS e "
                        + "FROM ta_people", "REFRESH MATERIALIZED VIEW ta_m", "SELECT e FROM ta_m"},
                {"BEGIN", "CREATE VIEW public.ta_v AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM ta_v"},
                {"BEGIN", "CREATE VIEW ta_v AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM public.ta_v"},
                {"BEGIN", "CREATE VIEW ta_v AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM \"ta_v\""},
                {"BEGIN", "CREATE TABLE ta_t2 AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM ta_t2"},
                {"BEGIN", "CREATE MATERIALIZED VIEW ta_m AS SELECT translate(email, " + HIDE + ") AS e FROM ta_people",
                        "SELECT e FROM ta_m"},
        };
        assertEquals(List.of(), leaksOf(attempts,
                "DROP VIEW IF EXISTS ta_v CASCADE",
                "DROP MATERIALIZED VIEW IF EXISTS ta_m",
                "DROP TABLE IF EXISTS ta_own, ta_t2",
                "DROP FUNCTION IF EXISTS ta_f()",
                "TRUNCATE ta_copy"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A materialized view the transaction made over clear columns reads in clear.
            a.query("BEGIN");
            a.query("CREATE MATERIALIZED VIEW ta_ids AS SELECT id FROM ta_people");
            String ids = a.query("SELECT string_agg(id::text, ',' ORDER BY id) AS ids FROM ta_ids");
            assertTrue(ids.contains("1,2,3") && !ids.contains("redacted"), ids);
            a.query("ROLLBACK");
        }
    }

    @Test
    void whatTheOpenTransactionWroteInOtherFormsIsJudgedAsWritten() throws Exception {
        // Attacker pass 4, stopped already: recursive and quoted views, SQL-standard function bodies, whole rows,
        // a rule made in the transaction, statements prepared before the view they read was replaced.
        seed("tb_people");
        direct("CREATE TABLE tb_copy (e text)");
        direct("GRANT ALL ON tb_copy TO PUBLIC");
        String email = "translate(email, " + HIDE + ")";
        String[][] attempts = {
                {"BEGIN", "CREATE RECURSIVE VIEW tb_v (e) AS SELECT " + email + " FROM tb_people", "SELECT e FROM tb_v"},
                {"BEGIN", "CREATE TEMP RECURSIVE VIEW tb_v (e) AS SELECT " + email + " FROM tb_people",
                        "SELECT e FROM tb_v"},
                {"BEGIN", "CREATE VIEW tb_v AS SELECT translate(p::text, " + HIDE + ") AS e FROM tb_people p",
                        "SELECT e FROM tb_v"},
                {"BEGIN", "CREATE VIEW \"Tb_V\" AS SELECT " + email + " AS e FROM tb_people",
                        "SELECT e FROM \"Tb_V\""},
                {"BEGIN", "CREATE FUNCTION tb_f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT string_agg(" + email
                        + ", ',') FROM tb_people; END", "SELECT tb_f()"},
                {"BEGIN", "CREATE FUNCTION tb_f() RETURNS text LANGUAGE sql RETURN (SELECT string_agg(" + email
                        + ", ',') FROM tb_people)", "SELECT tb_f()"},
                {"BEGIN", "CREATE FUNCTION \"Tb_F\"() RETURNS text LANGUAGE sql AS $$SELECT string_agg(" + email
                        + ", ',') FROM tb_people$$", "SELECT \"Tb_F\"()"},
                {"BEGIN", "CREATE FUNCTION tb_f() RETURNS SETOF tb_people LANGUAGE sql AS $$SELECT * FROM tb_people$$",
                        "SELECT translate(x::text, " + HIDE + ") FROM tb_f() x"},
                {"BEGIN", "CREATE VIEW tb_v AS SELECT 'x'::text AS e", "PREPARE tb_p AS SELECT e FROM tb_v",
                        "CREATE OR REPLACE VIEW tb_v AS SELECT " + email + " AS e FROM tb_people", "EXECUTE tb_p"},
                {"CREATE TABLE tb_own (id int)", "BEGIN", "CREATE RULE tb_r AS ON INSERT TO tb_own DO ALSO INSERT INTO "
                        + "tb_copy SELECT " + email + " FROM tb_people", "INSERT INTO tb_own VALUES (1)", "COMMIT",
                        "SELECT string_agg(e, ',') FROM tb_copy"},
                {"CREATE TABLE tb_own (id int)", "CREATE RULE tb_r AS ON INSERT TO tb_own DO ALSO INSERT INTO "
                        + "tb_copy SELECT " + email + " FROM tb_people", "INSERT INTO tb_own VALUES (1)",
                        "SELECT string_agg(e, ',') FROM tb_copy"},
        };
        List<String> leaked = new ArrayList<>(leaksOf(attempts,
                "DROP VIEW IF EXISTS tb_v, \"Tb_V\" CASCADE",
                "DROP TABLE IF EXISTS tb_own",
                "DROP FUNCTION IF EXISTS tb_f(), \"Tb_F\"()",
                "TRUNCATE tb_copy"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("BEGIN");
            a.query("CREATE VIEW tb_v AS SELECT 'x'::text AS e");
            a.prepare("SELECT e FROM tb_v");
            a.query("CREATE OR REPLACE VIEW tb_v AS SELECT " + email + " AS e FROM tb_people");
            for (boolean describe : new boolean[] {true, false}) {
                List<String> seeds = seedsIn(a.runPrepared(describe));
                if (!seeds.isEmpty()) {
                    leaked.add("protocol prepared before the view was replaced, describe " + describe + ": " + seeds);
                }
            }
        }
        assertEquals(List.of(), leaked);
    }

    @Test
    void aTriggerOrRuleCopiesNeitherTheRowsOfASensitiveTableNorAViewTheTransactionReplaced() throws Exception {
        // Attacker pass 4: a row trigger on the seeded table copied NEW::text (its body names no sensitive column)
        // into a clear table; a committed rule copied from a view the open transaction replaced.
        seed("tc_people");
        direct("CREATE TABLE tc_copy (e text)");
        direct("GRANT ALL ON tc_copy TO PUBLIC");
        String[][] attempts = {
                {"CREATE FUNCTION tc_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tc_copy VALUES "
                        + "(translate(NEW::text, " + HIDE + ")); RETURN NEW; END$$",
                        "CREATE TRIGGER tc_t AFTER UPDATE ON tc_people FOR EACH ROW EXECUTE FUNCTION tc_f()",
                        "UPDATE tc_people SET id = id", "SELECT string_agg(e, ',') FROM tc_copy"},
                {"BEGIN", "CREATE FUNCTION tc_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tc_copy VALUES "
                        + "(translate(NEW::text, " + HIDE + ")); RETURN NEW; END$$",
                        "CREATE TRIGGER tc_t AFTER UPDATE ON tc_people FOR EACH ROW EXECUTE FUNCTION tc_f()",
                        "UPDATE tc_people SET id = id", "COMMIT", "SELECT string_agg(e, ',') FROM tc_copy"},
                {"CREATE FUNCTION tc_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tc_copy VALUES "
                        + "(translate(OLD.email, " + HIDE + ")); RETURN NEW; END$$",
                        "CREATE TRIGGER tc_t BEFORE DELETE ON tc_people FOR EACH ROW EXECUTE FUNCTION tc_f()",
                        "BEGIN", "DELETE FROM tc_people", "SELECT string_agg(e, ',') FROM tc_copy"},
                {"CREATE FUNCTION tc_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tc_copy SELECT "
                        + "translate(n::text, " + HIDE + ") FROM n; RETURN NULL; END$$",
                        "CREATE TRIGGER tc_t AFTER UPDATE ON tc_people REFERENCING NEW TABLE AS n FOR EACH STATEMENT "
                                + "EXECUTE FUNCTION tc_f()",
                        "UPDATE tc_people SET id = id", "SELECT string_agg(e, ',') FROM tc_copy"},
                {"CREATE VIEW tc_v AS SELECT 'x'::text AS e", "CREATE TABLE tc_own (id int)",
                        "CREATE RULE tc_r AS ON INSERT TO tc_own DO ALSO INSERT INTO tc_copy SELECT e FROM tc_v",
                        "BEGIN", "CREATE OR REPLACE VIEW tc_v AS SELECT translate(email, " + HIDE + ") AS e FROM tc_people",
                        "INSERT INTO tc_own VALUES (1)", "COMMIT", "SELECT string_agg(e, ',') FROM tc_copy"},
                {"CREATE VIEW tc_v AS SELECT 'x'::text AS e",
                        "CREATE FUNCTION tc_g() RETURNS text LANGUAGE sql AS $$SELECT string_agg(e, ',') FROM tc_v$$",
                        "BEGIN", "CREATE OR REPLACE VIEW tc_v AS SELECT translate(email, " + HIDE + ") AS e FROM tc_people",
                        "SELECT tc_g()"},
        };
        assertEquals(List.of(), leaksOf(attempts,
                "DROP TRIGGER IF EXISTS tc_t ON tc_people",
                "DROP VIEW IF EXISTS tc_v CASCADE",
                "DROP TABLE IF EXISTS tc_own",
                "DROP FUNCTION IF EXISTS tc_f(), tc_g()",
                "TRUNCATE tc_copy"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A trigger of the sensitive table that copies a clear column of the row still fires.
            a.query("CREATE FUNCTION tc_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tc_copy VALUES "
                    + "(NEW.id::text); RETURN NEW; END$$");
            a.query("CREATE TRIGGER tc_t AFTER UPDATE ON tc_people FOR EACH ROW EXECUTE FUNCTION tc_f()");
            String updated = a.query("UPDATE tc_people SET id = id");
            assertTrue(updated.contains("UPDATE 3"), updated);
            String copied = a.query("SELECT string_agg(e, ',' ORDER BY e) AS ids FROM tc_copy");
            assertTrue(copied.contains("1,2,3"), copied);
        }
        direct("DROP TRIGGER tc_t ON tc_people");
        direct("DROP FUNCTION tc_f()");
    }

    /** Sensitive reads a generated PL/pgSQL body puts in an expression; {@code ~} stands for HIDE's arguments. */
    private static final List<String> BODY_READS = List.of(
            "(SELECT string_agg(translate(email, ~), ',') FROM tp_people)",
            "(SELECT string_agg(translate(ssn, ~), ',') FROM tp_people p)",
            "(SELECT translate(string_agg(p::text, ','), ~) FROM tp_people p)",
            "(WITH w AS (SELECT email FROM tp_people) SELECT translate(string_agg(email, ','), ~) FROM w)",
            "translate((SELECT string_agg(email, ',') FROM tp_people), ~)",
            "array_to_string(ARRAY(SELECT translate(email, ~) FROM tp_people), ',')",
            "(SELECT translate(string_agg(x.e, ','), ~) FROM (SELECT email AS e FROM tp_people) x)");
    /** Where a generated body puts the read ({@code {x}}): each PL/pgSQL place that evaluates an expression. */
    private static final List<String> BODY_PLACES = List.of(
            "RETURN {x};",
            "v := {x}; RETURN v;",
            "v = {x}; RAISE NOTICE '%', v; RETURN 'ok';",
            "RAISE NOTICE '%', {x}; RETURN 'ok';",
            "RAISE NOTICE 'a % b', {x}; RETURN 'ok';",
            "RAISE NOTICE USING MESSAGE = {x}; RETURN 'ok';",
            "RAISE WARNING 'w' USING DETAIL = {x}; RETURN 'ok';",
            "RAISE EXCEPTION 'e' USING HINT = {x};",
            "RAISE EXCEPTION 'e' USING COLUMN = {x};",
            "RAISE EXCEPTION 'e' USING CONSTRAINT = {x}, TABLE = {x};",
            "ASSERT false, {x}; RETURN 'ok';",
            "ASSERT {x} IS NULL, {x}; RETURN 'ok';",
            "IF length({x}) > 0 THEN RETURN {x}; END IF; RETURN 'none';",
            "CASE WHEN {x} IS NOT NULL THEN RETURN {x}; END CASE;",
            "CASE {x} WHEN '' THEN RETURN ''; ELSE RETURN {x}; END CASE;",
            "EXECUTE 'SELECT $1' INTO v USING {x}; RETURN v;",
            "FOR v IN SELECT {x} LOOP RETURN v; END LOOP; RETURN 'none';",
            "PERFORM set_config('tp.x', {x}, false); RETURN current_setting('tp.x');",
            "PERFORM pg_notify('tp', {x}); RETURN 'ok';",
            "DECLARE w text := {x}; BEGIN RETURN w; END;",
            "WHILE v IS NULL LOOP v := {x}; END LOOP; RETURN v;",
            "v := format('%s', {x}); RETURN v;",
            "RETURN coalesce(NULL, {x});",
            "v := 'x'; v := v || {x}; RAISE NOTICE '%', v; RETURN 'ok';",
            "<<l>> BEGIN RETURN {x}; END l;",
            "BEGIN PERFORM 1 / 0; EXCEPTION WHEN OTHERS THEN RETURN {x}; END;");
    /** How a generated function is called. */
    private static final List<String> BODY_CALLS = List.of("SELECT tp_f()", "SELECT * FROM tp_f()",
            "SELECT tp_f() AS x", "SELECT upper(tp_f())", "SELECT x FROM (SELECT tp_f() AS x) s",
            "COPY (SELECT tp_f()) TO STDOUT");

    /**
     * Generated PL/pgSQL bodies (seed printed; {@code -Dwarden.fuzz.bodies=N -Dwarden.fuzz.seed=S} for a longer
     * run): a sensitive read in each place PL/pgSQL evaluates an expression, spelt with comments and line breaks
     * between its words, called in several forms. Nothing the masked client receives (rows, notices, errors with
     * every field, notifications, parameter reports, COPY data) carries a seeded value.
     */
    @Test
    void aSensitiveReadInAnyExpressionOfAGeneratedPlpgsqlBodyIsMasked() throws Exception {
        seed("tp_people");
        int bodies = Integer.getInteger("warden.fuzz.bodies", 80);
        long seed = Long.getLong("warden.fuzz.seed", 20261202L);
        java.util.Random random = new java.util.Random(seed);
        List<String> leaked = new ArrayList<>();
        int created = 0;
        int answered = 0;
        try (MaskedAttacker a = new MaskedAttacker(warden);
             MaskedAttacker exempt = new MaskedAttacker(warden, "dev", MaskedAttacker.exemptToken(warden))) {
            a.query("LISTEN tp");
            for (int i = 0; i < bodies && leaked.size() < 10; i++) {
                String read = BODY_READS.get(random.nextInt(BODY_READS.size())).replace("~", HIDE);
                String place = BODY_PLACES.get(random.nextInt(BODY_PLACES.size())).replace("{x}", read);
                StringBuilder body = new StringBuilder();
                for (String word : place.split(" ")) {
                    int gap = random.nextInt(8);
                    body.append(word).append(gap == 0 ? " /* c */ " : gap == 1 ? "\n" : " ");
                }
                // Made by an exempt identity through Warden (which sees the DDL at once): a masked identity may not
                // make a function with a body that reads what it sees masked (a118: stored code calling its name
                // would run it in others' writes); it calls them.
                String create = "CREATE FUNCTION tp_f() RETURNS text LANGUAGE plpgsql AS $b$DECLARE v text; "
                        + "BEGIN " + body + " END$b$";
                String call = BODY_CALLS.get(random.nextInt(BODY_CALLS.size()));
                exempt.query("DROP FUNCTION IF EXISTS tp_f()");
                String made = exempt.query(create);
                created += made.contains("ERROR") ? 0 : 1;
                made = "";
                String answer = a.query(call);
                answered += answer.contains("\nD") || answer.startsWith("D") || answer.startsWith("d")
                        || answer.contains("\nd") ? 1 : 0;
                List<String> seeds = seedsIn(made + answer);
                if (!seeds.isEmpty()) {
                    leaked.add(create + " / " + call + ": " + seeds);
                }
            }
            leaked.addAll(seedsIn(a.query("SELECT 1")).stream().map(s -> "a late notification: " + s).toList());
        } finally {
            direct("DROP FUNCTION IF EXISTS tp_f()");
        }
        System.out.printf("generated PL/pgSQL bodies: seed=%d bodies=%d created=%d answered with rows=%d%n", seed,
                bodies, created, answered);
        assertEquals(List.of(), leaked, "seed " + seed);
        // Not refused wholesale: the functions are made (but for hand-offs), and most calls answer (masked) rows.
        assertTrue(created == bodies && answered > bodies / 3, created + " made, " + answered + " answered");
    }

    @Test
    void theRowATriggerIsGivenIsNotCopiedOrRaisedUnderAnySpelling() throws Exception {
        // NEW and OLD as PL/pgSQL and rules spell them: quoted, behind a comment, handed to EXECUTE ... USING, and
        // raised as a notice or an error's detail rather than written.
        seed("tn_people");
        direct("CREATE TABLE tn_copy (e text)");
        direct("GRANT ALL ON tn_copy TO PUBLIC");
        String trigger = "CREATE TRIGGER tn_t AFTER UPDATE ON tn_people FOR EACH ROW EXECUTE FUNCTION tn_f()";
        String[] bodies = {
                "INSERT INTO tn_copy VALUES (translate(\"new\".email, " + HIDE + "))",
                "INSERT INTO tn_copy VALUES (translate(NEW/**/.email, " + HIDE + "))",
                "INSERT INTO tn_copy VALUES (translate(\"new\"/**/./**/\"email\", " + HIDE + "))",
                "EXECUTE 'INSERT INTO tn_copy VALUES (translate($1, ''@.-'', ''   ''))' USING NEW.email",
                "EXECUTE 'INSERT INTO tn_copy VALUES (translate($1, ''@.-'', ''   ''))' USING \"new\".email",
                "RAISE NOTICE '%', translate(\"new\".email, " + HIDE + ")",
                "RAISE NOTICE USING MESSAGE = translate(\"new\".email, " + HIDE + ")",
                "IF NEW.id = 3 THEN RAISE EXCEPTION 'no' USING DETAIL = translate(\"new\".email, " + HIDE + "); END IF",
                "RAISE NOTICE '%', translate(NEW.email, " + HIDE + ")",
                "PERFORM pg_notify('tn', translate(NEW.email, " + HIDE + "))",
                "EXECUTE 'INSERT INTO tn_copy VALUES (' || quote_literal(translate(NEW.email, " + HIDE + ")) || ')'",
                "EXECUTE format('INSERT INTO tn_copy VALUES (%L)', translate(NEW.email, " + HIDE + "))",
        };
        List<String[]> attempts = new ArrayList<>();
        for (String body : bodies) {
            attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN " + body
                    + "; RETURN NEW; END$$", trigger, "UPDATE tn_people SET id = id",
                    "SELECT string_agg(e, ',') FROM tn_copy"});
        }
        attempts.add(new String[] {"CREATE TABLE tn_own (id int)",
                "CREATE RULE tn_r AS ON UPDATE TO tn_people DO ALSO INSERT INTO tn_copy VALUES "
                        + "(translate(\"new\".email, " + HIDE + "))",
                "UPDATE tn_people SET id = id", "SELECT string_agg(e, ',') FROM tn_copy"});
        // A function's expressions are run as SELECTs too: a subquery in a RETURN or an assignment reads.
        String all = "(SELECT string_agg(translate(email, " + HIDE + "), ',') FROM tn_people)";
        attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN " + all
                + "; END$$", "SELECT tn_f()"});
        attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS void LANGUAGE plpgsql AS $$DECLARE v text; "
                + "BEGIN v := " + all + "; RAISE NOTICE '%', v; END$$", "SELECT tn_f()"});
        attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS int LANGUAGE plpgsql AS $$BEGIN ASSERT false, "
                + all + "; RETURN 1; END$$", "SELECT tn_f()"});
        attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                + "ASSERT NEW.id < 0, translate(NEW.email, " + HIDE + "); RETURN NEW; END$$", trigger,
                "UPDATE tn_people SET id = id"});
        for (String field : new String[] {"COLUMN", "CONSTRAINT", "DATATYPE", "TABLE", "SCHEMA"}) {
            attempts.add(new String[] {"CREATE FUNCTION tn_f() RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE "
                    + "EXCEPTION 'no' USING " + field + " = " + all + "; RETURN 1; END$$", "SELECT tn_f()"});
        }
        attempts.add(new String[] {"LISTEN tn", "CREATE FUNCTION tn_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                + "PERFORM pg_notify('tn', translate(NEW.email, " + HIDE + ")); RETURN NEW; END$$", trigger,
                "UPDATE tn_people SET id = id", "SELECT 1"});
        assertEquals(List.of(), leaksOf(attempts.toArray(new String[0][]),
                "DROP TRIGGER IF EXISTS tn_t ON tn_people",
                "DROP RULE IF EXISTS tn_r ON tn_people",
                "DROP TABLE IF EXISTS tn_own",
                "DROP FUNCTION IF EXISTS tn_f()",
                "TRUNCATE tn_copy"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a trigger that raises a clear column of the row, and a RETURN of a count, stay clear.
            a.query("CREATE FUNCTION tn_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'row %', "
                    + "NEW.id + 100; RETURN NEW; END$$");
            a.query(trigger);
            String updated = a.query("UPDATE tn_people SET id = id WHERE id = 2");
            assertTrue(updated.contains("row 102") && updated.contains("UPDATE 1"), updated);
            a.query("CREATE FUNCTION tn_g() RETURNS bigint LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT count(*) + 40 "
                    + "FROM tn_people); END$$");
            String counted = a.query("SELECT tn_g()");
            assertTrue(counted.contains("43"), counted);
        }
        direct("DROP TRIGGER tn_t ON tn_people");
        direct("DROP FUNCTION tn_f(), tn_g()");
    }

    @Test
    void theRowATriggerIsGivenIsNotCopiedThroughAVariableAnAliasAViewOrADeferredTrigger() throws Exception {
        // Attacker pass 4, stopped: the row of a write handed on through a variable or an ALIAS (refused where the
        // trigger is made), an INSTEAD OF trigger of a view over the seeded table, a deferred constraint trigger.
        seed("td_people");
        direct("CREATE TABLE td_copy (e text)");
        direct("GRANT ALL ON td_copy TO PUBLIC");
        String copyRow = "INSERT INTO td_copy VALUES (translate(r::text, " + HIDE + "))";
        String[][] attempts = {
                {"CREATE FUNCTION td_f() RETURNS trigger LANGUAGE plpgsql AS $$DECLARE r record; BEGIN r := NEW; "
                        + copyRow + "; RETURN NEW; END$$",
                        "CREATE TRIGGER td_t AFTER UPDATE ON td_people FOR EACH ROW EXECUTE FUNCTION td_f()",
                        "UPDATE td_people SET id = id", "SELECT string_agg(e, ',') FROM td_copy"},
                {"CREATE FUNCTION td_f() RETURNS trigger LANGUAGE plpgsql AS $$DECLARE r ALIAS FOR new; BEGIN "
                        + copyRow + "; RETURN NULL; END$$",
                        "CREATE TRIGGER td_t AFTER UPDATE ON td_people FOR EACH ROW EXECUTE FUNCTION td_f()",
                        "UPDATE td_people SET id = id", "SELECT string_agg(e, ',') FROM td_copy"},
                {"CREATE FUNCTION td_f() RETURNS trigger LANGUAGE plpgsql AS $$DECLARE r record; BEGIN "
                        + "SELECT NEW.* INTO r; " + copyRow + "; RETURN NEW; END$$",
                        "CREATE TRIGGER td_t AFTER UPDATE ON td_people FOR EACH ROW EXECUTE FUNCTION td_f()",
                        "UPDATE td_people SET id = id", "SELECT string_agg(e, ',') FROM td_copy"},
                {"CREATE VIEW td_v AS SELECT * FROM td_people",
                        "CREATE FUNCTION td_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO td_copy VALUES "
                                + "(translate(OLD::text, " + HIDE + ")); RETURN NEW; END$$",
                        "CREATE TRIGGER td_t INSTEAD OF UPDATE ON td_v FOR EACH ROW EXECUTE FUNCTION td_f()",
                        "UPDATE td_v SET id = id", "SELECT string_agg(e, ',') FROM td_copy"},
                {"CREATE FUNCTION td_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO td_copy VALUES "
                        + "(translate(row_to_json(NEW)::text, " + HIDE + ")); RETURN NEW; END$$",
                        "CREATE CONSTRAINT TRIGGER td_t AFTER UPDATE ON td_people DEFERRABLE INITIALLY DEFERRED "
                                + "FOR EACH ROW EXECUTE FUNCTION td_f()",
                        "UPDATE td_people SET id = id", "SELECT string_agg(e, ',') FROM td_copy"},
        };
        assertEquals(List.of(), leaksOf(attempts,
                "DROP TRIGGER IF EXISTS td_t ON td_people",
                "DROP VIEW IF EXISTS td_v CASCADE",
                "DROP FUNCTION IF EXISTS td_f() CASCADE",
                "TRUNCATE td_copy"));
    }

    @Test
    void aMaterializedViewMadeInAPipelineIsReadMaskedByRowsCopyAndWholeRows() throws Exception {
        // Attacker pass 4: the materialized view made and read in one pipeline (one Sync), then by COPY and as rows.
        seed("tq_people");
        List<String> leaked = new ArrayList<>();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("BEGIN");
            a.send(new FrontendMessage.Parse("", "CREATE MATERIALIZED VIEW tq_m AS SELECT translate(email, " + HIDE
                    + ") AS e FROM tq_people", List.of()));
            a.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            a.send(new FrontendMessage.Execute("", 0));
            a.send(new FrontendMessage.Parse("", "SELECT e FROM tq_m", List.of()));
            a.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            a.send(new FrontendMessage.Describe('P', ""));
            a.send(new FrontendMessage.Execute("", 0));
            a.send(new FrontendMessage.Sync());
            leaked.addAll(seedsIn(a.untilReady()));
            leaked.addAll(seedsIn(a.query("COPY (SELECT e FROM tq_m) TO STDOUT")));
            leaked.addAll(seedsIn(a.query("SELECT translate(m::text, " + HIDE + ") FROM tq_m m")));
        }
        assertEquals(List.of(), leaked);
    }

    // ---- 2. views ----

    @Test
    void aViewRedefinedInTheSessionsOpenTransactionIsJudgedByItsNewDefinition() throws Exception {
        // Before: the view is held exclusively by the attacker's own transaction, so Warden judged it by the
        // pg_depend rows it can see: the committed (clear) definition's, not the one the transaction just wrote.
        seed("lv_people");
        direct("CREATE TABLE lv_things (id int, label text)");
        direct("INSERT INTO lv_things VALUES (1, 'kettle')");
        direct("CREATE VIEW lv_view AS SELECT id, label FROM lv_things");
        direct("GRANT ALL ON lv_things, lv_view TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("SELECT label FROM lv_view"); // the clear definition, cached
            a.query("BEGIN");
            String redefined = a.query("CREATE OR REPLACE VIEW lv_view AS SELECT id, translate(email, " + HIDE
                    + ") AS label FROM lv_people");
            String read = a.query("SELECT label FROM lv_view");
            a.query("ROLLBACK");
            assertNoSeed(redefined + read);
        }
    }

    @Test
    void viewsNestedDeeperThanFollowedAreMasked() throws Exception {
        // Before: nine views deep is past the depth the catalog loads; the view at the limit was judged too deep,
        // but its columns' origin (a view not looked up) counted as clear, so every view above it was clear.
        seed("dv_people");
        direct("CREATE VIEW dv_0 AS SELECT id, translate(email, " + HIDE + ") AS v FROM dv_people");
        for (int i = 1; i <= 9; i++) {
            direct("CREATE VIEW dv_" + i + " AS SELECT id, v FROM dv_" + (i - 1));
        }
        direct("GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertNoSeed(a.query("SELECT v FROM dv_9"));
            assertNoSeed(a.query("SELECT v || '' FROM dv_9"));
        }
    }

    // ---- 3. DDL that is no longer laundering ----

    @Test
    void aGeneratedColumnOverASensitiveColumnIsMasked() throws Exception {
        // Before: ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS (translate(email ...)) STORED is DDL on a
        // table that has masked columns; the new column, named "tag", was relayed in clear.
        seed("gc_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String added = a.query("ALTER TABLE gc_people ADD COLUMN tag text GENERATED ALWAYS AS (translate(email, "
                    + HIDE + ")) STORED");
            assertTrue(refused(added) && added.contains("GENERATED"), added);
            assertNoSeed(added + a.query("SELECT tag FROM gc_people"));
        }
    }

    @Test
    void renamingASensitiveColumnDoesNotUnmaskIt() throws Exception {
        // Before: ALTER TABLE ... RENAME COLUMN email TO contact is DDL; masking by column name no longer knew it.
        seed("rn_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String renamed = a.query("ALTER TABLE rn_people RENAME COLUMN email TO contact");
            assertTrue(refused(renamed) && renamed.contains("RENAME"), renamed);
            // Renaming a clear column of the same table stays allowed.
            assertTrue(a.query("ALTER TABLE rn_people RENAME COLUMN id TO person_id").contains("ALTER TABLE"));
            assertNoSeed(renamed + a.query("SELECT translate(contact, " + HIDE + ") FROM rn_people"));
        }
    }

    @Test
    void aMaterializedViewOverASensitiveColumnIsMasked() throws Exception {
        // Control: CREATE MATERIALIZED VIEW is DDL, but reading it is judged by its definition.
        seed("mv_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE MATERIALIZED VIEW mv_hidden AS SELECT id, translate(email, " + HIDE + ") AS v "
                    + "FROM mv_people");
            assertNoSeed(a.query("SELECT v FROM mv_hidden"));
            assertNoSeed(a.query("COPY mv_hidden TO STDOUT"));
        }
    }

    @Test
    void aTriggerCannotCopySensitiveValuesIntoAClearTable() throws Exception {
        // Leaked before: CREATE FUNCTION and CREATE TRIGGER were DDL; the INSERT names only the clear table, and
        // the trigger filled it from the sensitive one. Now the trigger function itself is refused.
        seed("tg_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TABLE tg_sink (v text)");
            a.query("CREATE FUNCTION tg_grab() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "NEW.v := (SELECT string_agg(translate(email, " + HIDE + "), ',') FROM tg_people); "
                    + "RETURN NEW; END$$");
            a.query("CREATE TRIGGER tg_fill BEFORE INSERT ON tg_sink FOR EACH ROW EXECUTE FUNCTION tg_grab()");
            a.query("INSERT INTO tg_sink VALUES ('x')");
            assertNoSeed(a.query("SELECT v FROM tg_sink"));
        }
    }

    /** The same trigger function, its return type written as the server also reads it. */
    @Test
    void aTriggerFunctionIsKnownHoweverItsReturnTypeIsWritten() throws Exception {
        seed("tw_people");
        List<String> returns = List.of("RETURNS /* it */ trigger", "RETURNS pg_catalog.trigger",
                "RETURNS \"trigger\"", "RETURNS\n-- row trigger\ntrigger");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (int i = 0; i < returns.size(); i++) {
                a.query("CREATE TABLE tw_sink" + i + " (v text)");
                a.query("CREATE FUNCTION tw_grab" + i + "() " + returns.get(i) + " LANGUAGE plpgsql AS $$BEGIN "
                        + "NEW.v := (SELECT string_agg(translate(email, " + HIDE + "), ',') FROM tw_people); "
                        + "RETURN NEW; END$$");
                a.query("CREATE TRIGGER tw_fill" + i + " BEFORE INSERT ON tw_sink" + i + " FOR EACH ROW "
                        + "EXECUTE FUNCTION tw_grab" + i + "()");
                a.query("INSERT INTO tw_sink" + i + " VALUES ('x')");
                assertNoSeed(returns.get(i) + ": " + a.query("SELECT v FROM tw_sink" + i));
            }
        }
    }

    @Test
    void aRuleCannotCopySensitiveValuesIntoAClearTable() throws Exception {
        // A rule's action is a statement over the sensitive table writing a clear one.
        seed("ru_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TABLE ru_trigger (id int)");
            a.query("CREATE TABLE ru_sink (v text)");
            String rule = a.query("CREATE RULE ru_copy AS ON INSERT TO ru_trigger DO ALSO INSERT INTO ru_sink "
                    + "SELECT translate(email, " + HIDE + ") FROM ru_people");
            a.query("INSERT INTO ru_trigger VALUES (1)");
            assertNoSeed(rule + a.query("SELECT v FROM ru_sink"));
        }
    }

    @Test
    void aColumnDefaultCallingASensitiveFunctionIsNotAWayOut() throws Exception {
        // A default that calls a function reading the sensitive table, filled by an INSERT naming neither.
        seed("df_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE FUNCTION df_pick() RETURNS text LANGUAGE sql AS $$SELECT string_agg(translate(email, "
                    + HIDE + "), ',') FROM df_people$$");
            a.query("CREATE TABLE df_sink (id int, v text)");
            String set = a.query("ALTER TABLE df_sink ALTER COLUMN v SET DEFAULT df_pick()");
            a.query("INSERT INTO df_sink (id) VALUES (1)");
            assertNoSeed(set + a.query("SELECT v FROM df_sink"));
        }
    }

    @Test
    void largeObjectsDoNotCarrySensitiveValuesOut() throws Exception {
        // A large object written from a sensitive read, read back by a statement that names nothing sensitive.
        seed("lo_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String written = a.query("SELECT lo_from_bytea(424242, convert_to(string_agg(translate(email, " + HIDE
                    + "), ','), 'UTF8')) FROM lo_people");
            assertNoSeed(written + a.query("SELECT convert_from(lo_get(424242), 'UTF8')"));
        }
    }

    // ---- 6. search_path ----

    @Test
    void aPreparedStatementReplannedUnderAnotherSearchPathIsMasked() throws Exception {
        // Before: Parse judged "SELECT label FROM sp_things" with public.sp_things (clear); SET search_path then
        // made the server re-plan it over a view of the sensitive table, and the Execute kept the Parse's
        // (clear) judgement.
        seed("sp_people");
        direct("CREATE TABLE sp_things (id int, label text)");
        direct("INSERT INTO sp_things VALUES (1, 'kettle')");
        direct("CREATE SCHEMA sp_evil");
        direct("CREATE VIEW sp_evil.sp_things AS SELECT id, translate(email, " + HIDE + ") AS label FROM public.sp_people");
        direct("GRANT ALL ON SCHEMA sp_evil TO PUBLIC");
        direct("GRANT ALL ON ALL TABLES IN SCHEMA sp_evil, public TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.prepare("SELECT label FROM sp_things");
            a.query("SET search_path = sp_evil, public");
            assertNoSeed(a.runPrepared(true));
        }
    }

    @Test
    void aPreparedStatementRunAfterItsViewIsRedefinedIsMasked() throws Exception {
        // Before: Parse judged "SELECT label FROM pv_view" clear; CREATE OR REPLACE VIEW made it read the sensitive
        // table, the server re-planned the prepared statement, and its Execute kept the Parse's judgement.
        seed("pv_people");
        direct("CREATE TABLE pv_things (id int, label text)");
        direct("INSERT INTO pv_things VALUES (1, 'kettle')");
        direct("CREATE VIEW pv_view AS SELECT id, label FROM pv_things");
        direct("GRANT ALL ON pv_things, pv_view TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.prepare("SELECT label FROM pv_view");
            a.query("CREATE OR REPLACE VIEW pv_view AS SELECT id, translate(email, " + HIDE
                    + ") AS label FROM pv_people");
            assertNoSeed(a.runPrepared(true));
        }
    }

    @Test
    void aClearPreparedStatementStaysClearAfterDdlAndAnotherSearchPath() throws Exception {
        // Precision: re-judging a prepared statement after DDL or a SET must not mask what no rule covers.
        direct("CREATE TABLE pc_things (id int, label text)");
        direct("INSERT INTO pc_things VALUES (1, 'kettle')");
        direct("GRANT ALL ON pc_things TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.prepare("SELECT upper(label) FROM pc_things");
            a.query("CREATE TABLE pc_other (id int)");
            a.query("SET search_path = pg_catalog, public");
            String got = a.runPrepared(false);
            assertTrue(got.contains("KETTLE"), got);
            // DDL on the very table it reads: the first run after it is masked whole (the table is not looked up
            // again yet; fail closed), a later one is judged with the table read again.
            a.query("ALTER TABLE pc_things ADD COLUMN extra int");
            for (int i = 0; i < 20 && !got.contains("KETTLE") || i == 0; i++) {
                got = a.runPrepared(false);
                Thread.sleep(50);
            }
            assertTrue(got.contains("KETTLE"), got);
        }
    }

    @Test
    void aSearchPathSetInTheSameBatchIsFollowed() throws Exception {
        seed("sb_people");
        direct("CREATE TABLE sb_things (id int, label text)");
        direct("CREATE SCHEMA sb_evil");
        direct("CREATE VIEW sb_evil.sb_things AS SELECT id, translate(email, " + HIDE + ") AS label FROM public.sb_people");
        direct("GRANT ALL ON SCHEMA sb_evil TO PUBLIC");
        direct("GRANT ALL ON ALL TABLES IN SCHEMA sb_evil, public TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertNoSeed(a.query("SET search_path = sb_evil, public; SELECT label FROM sb_things"));
            assertNoSeed(a.query("SELECT set_config('search_path', 'sb_evil, public', false); "
                    + "SELECT label FROM sb_things"));
            a.query("RESET search_path");
        }
    }

    @Test
    void aTemporaryViewShadowingAClearTableIsMasked() throws Exception {
        seed("tv_people");
        direct("CREATE TABLE tv_things (id int, label text)");
        direct("GRANT ALL ON tv_things TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("SELECT label FROM tv_things");
            a.query("CREATE TEMP VIEW tv_things AS SELECT id, translate(email, " + HIDE + ") AS label FROM tv_people");
            assertNoSeed(a.query("SELECT label FROM tv_things"));
            assertNoSeed(a.query("SELECT label FROM pg_temp.tv_things"));
        }
    }

    // ---- 7. COPY of a table the same Query creates ----

    @Test
    void aTableCreatedAndCopiedInOneQueryCannotCarrySensitiveValues() throws Exception {
        // The COPY's columns are only value-scanned; what fills the table must be screened.
        seed("cp_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE FUNCTION cp_pick() RETURNS text LANGUAGE sql AS $$SELECT string_agg(translate(email, "
                    + HIDE + "), ',') FROM cp_people$$");
            assertNoSeed(a.query("CREATE TABLE cp_a (v text DEFAULT cp_pick()); INSERT INTO cp_a DEFAULT VALUES; "
                    + "COPY cp_a TO STDOUT"));
            assertNoSeed(a.query("CREATE TABLE cp_b (LIKE cp_people); INSERT INTO cp_b SELECT * FROM cp_people; "
                    + "COPY cp_b TO STDOUT"));
            assertNoSeed(a.query("CREATE TABLE cp_c (id int, v text GENERATED ALWAYS AS (cp_pick()) STORED); "
                    + "INSERT INTO cp_c (id) VALUES (1); COPY cp_c TO STDOUT"));
        }
    }

    // ---- 8. attacker pass 5: COPY FROM into triggers, NEW set by a trigger, text queries, two sessions ----

    @Test
    void aTriggerFiredByCopyFromStdinOrSettingNewCarriesNoSensitiveValue() throws Exception {
        // Attacker pass 5: a trigger made while what it reads was clear (a view, a function), that read then
        // replaced; the write that fires it is a COPY FROM STDIN, or the trigger hands the value on by setting
        // the row being written (NEW.v := ...), which writes no table of its own.
        seed("cf_people");
        String email = "translate(email, " + HIDE + ")";
        String clearView = "CREATE VIEW cf_v AS SELECT 'x'::text AS e";
        String sensitiveView = "CREATE OR REPLACE VIEW cf_v AS SELECT " + email + " AS e FROM cf_people";
        String sink = "CREATE TABLE cf_sink (v text)";
        String setNew = "CREATE FUNCTION cf_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                + "NEW.v := (SELECT string_agg(e, ',') FROM cf_v); RETURN NEW; END$$";
        String beforeInsert = "CREATE TRIGGER cf_t BEFORE INSERT ON cf_sink FOR EACH ROW EXECUTE FUNCTION cf_f()";
        String[][] attempts = {
                {clearView, sink, setNew, beforeInsert, sensitiveView, "INSERT INTO cf_sink VALUES ('x')",
                        "SELECT v FROM cf_sink"},
                {clearView, sink, setNew, beforeInsert, sensitiveView, "COPY cf_sink FROM STDIN",
                        "SELECT v FROM cf_sink"},
                {clearView, "CREATE TABLE cf_own (id text)", "CREATE TABLE cf_copy (e text)",
                        "CREATE FUNCTION cf_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO cf_copy "
                                + "SELECT e FROM cf_v; RETURN NEW; END$$",
                        "CREATE TRIGGER cf_t AFTER INSERT ON cf_own FOR EACH ROW EXECUTE FUNCTION cf_f()",
                        sensitiveView, "COPY cf_own FROM STDIN", "SELECT string_agg(e, ',') FROM cf_copy"},
                {clearView, "BEGIN", sink, setNew, beforeInsert, sensitiveView, "COPY cf_sink FROM STDIN", "COMMIT",
                        "SELECT v FROM cf_sink"},
                {clearView, sink, setNew, "BEGIN", beforeInsert, sensitiveView, "COPY cf_sink FROM STDIN",
                        "SELECT v FROM cf_sink"},
                {"CREATE FUNCTION cf_g() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$", sink,
                        "CREATE FUNCTION cf_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := cf_g(); "
                                + "RETURN NEW; END$$", beforeInsert,
                        "CREATE OR REPLACE FUNCTION cf_g() RETURNS text LANGUAGE sql AS $$SELECT string_agg(" + email
                                + ", ',') FROM cf_people$$", "COPY cf_sink FROM STDIN", "SELECT v FROM cf_sink"},
                {"ALTER TABLE cf_people ADD COLUMN note text",
                        "CREATE FUNCTION cf_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                                + "NEW.note := translate(OLD.email, " + HIDE + "); RETURN NEW; END$$",
                        "CREATE TRIGGER cf_t BEFORE UPDATE ON cf_people FOR EACH ROW EXECUTE FUNCTION cf_f()",
                        "UPDATE cf_people SET id = id", "SELECT note FROM cf_people"},
        };
        List<String> leaked = leaksOf(attempts,
                "DROP TRIGGER IF EXISTS cf_t ON cf_people",
                "ALTER TABLE cf_people DROP COLUMN IF EXISTS note",
                "DROP VIEW IF EXISTS cf_v CASCADE",
                "DROP TABLE IF EXISTS cf_sink, cf_own, cf_copy",
                "DROP FUNCTION IF EXISTS cf_f(), cf_g() CASCADE");
        assertEquals(List.of(), leaked);
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A trigger that sets the row from clear values still fires, for INSERT and COPY FROM; one of the
            // sensitive table that sets a clear column from clear values too.
            a.query("CREATE VIEW cf_v AS SELECT 'kettle'::text AS e");
            a.query(sink);
            a.query(setNew);
            direct(beforeInsert); // the owner's: a masked identity's own that reads a relation is refused
            String inserted = a.query("INSERT INTO cf_sink VALUES ('x')");
            assertTrue(inserted.contains("INSERT 0 1"), inserted);
            String copied = a.query("COPY cf_sink FROM STDIN");
            assertTrue(copied.contains("COPY 1"), copied);
            String read = a.query("SELECT string_agg(v, ',') AS v FROM cf_sink");
            assertTrue(read.contains("kettle,kettle"), read);
            a.query("ALTER TABLE cf_people ADD COLUMN note text");
            a.query("CREATE FUNCTION cf_n() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "NEW.note := 'id ' || NEW.id; RETURN NEW; END$$");
            a.query("CREATE TRIGGER cf_tn BEFORE UPDATE ON cf_people FOR EACH ROW EXECUTE FUNCTION cf_n()");
            String updated = a.query("UPDATE cf_people SET id = id");
            assertTrue(updated.contains("UPDATE 3"), updated);
            String notes = a.query("SELECT string_agg(note, ',' ORDER BY id) AS notes FROM cf_people");
            assertTrue(notes.contains("id 1,id 2,id 3"), notes);
        }
    }

    @Test
    void aQueryGivenAsTextToAnXmlFunctionIsJudgedOrRefused() throws Exception {
        // Attacker pass 5: query_to_xml and its kin with the query as a literal in every spelling the server reads
        // (escapes, Unicode escapes, dollar quotes), built by concatenation or format(), a relation named by a
        // literal the server folds or trims, a cursor, xpath over the XML, and a parameter bound at run time.
        seed("xq_people");
        String q = "SELECT translate(email, " + HIDE + ") AS e FROM xq_people";
        String[][] attempts = {
                {"SELECT query_to_xml('" + q + "', true, false, '')"},
                {"SELECT query_to_xml(E'SELECT translate(\\x65mail, " + HIDE.replace("'", "\\'")
                        + ") AS e FROM xq_people', true, false, '')"},
                {"SELECT query_to_xml(E'SELECT * FROM \\x78q_people', true, false, '')"},
                {"SELECT query_to_xml(U&'SELECT * FROM \\0078q_people', true, false, '')"},
                {"SELECT query_to_xml($q$" + q + "$q$, true, false, '')"},
                {"SELECT query_to_xml('SELECT * FROM xq_' || 'people', true, false, '')"},
                {"SELECT query_to_xml('SELECT * FROM xq_'\n'people', true, false, '')"},
                {"SELECT query_to_xml(format('SELECT %s FROM xq_people', 'email'), true, false, '')"},
                {"SELECT \"query_to_xml\"('" + q + "', true, false, '')"},
                {"SELECT pg_catalog.query_to_xml_and_xmlschema('SELECT * FROM xq_people', true, false, '')"},
                {"SELECT table_to_xml('xq_people', true, false, '')"},
                {"SELECT table_to_xml('XQ_PEOPLE', true, false, '')"},
                {"SELECT table_to_xml(' public . \"xq_people\" ', true, false, '')"},
                {"SELECT table_to_xml('xq_people'::regclass, true, false, '')"},
                {"SELECT table_to_xml((SELECT oid FROM pg_class WHERE relname = 'xq_people'), true, false, '')"},
                {"SELECT xpath('//e/text()', query_to_xml('" + q + "', true, false, ''))::text"},
                {"SELECT translate(query_to_xml('SELECT * FROM xq_people', true, false, '')::text, " + HIDE + ")"},
                {"BEGIN", "DECLARE xq_c CURSOR FOR " + q, "SELECT cursor_to_xml('xq_c', 10, true, false, '')"},
                {"BEGIN", "DECLARE xq_c CURSOR FOR SELECT 1", "CLOSE xq_c", "DECLARE xq_c CURSOR FOR " + q,
                        "SELECT cursor_to_xml('xq_c', 10, true, false, '')"},
                {"BEGIN", "CREATE VIEW xq_v AS " + q, "SELECT query_to_xml('SELECT e FROM xq_v', true, false, '')"},
                {"CREATE VIEW xq_w AS SELECT 'x'::text AS e", "BEGIN", "CREATE OR REPLACE VIEW xq_w AS " + q,
                        "SELECT query_to_xml('SELECT e FROM xq_w', true, false, '')"},
        };
        List<String> leaked = new ArrayList<>(leaksOf(attempts, "DROP VIEW IF EXISTS xq_v, xq_w"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.unnamed("SELECT query_to_xml($1, true, false, '')", q.getBytes(StandardCharsets.UTF_8));
            a.send(new FrontendMessage.Sync());
            List<String> seeds = seedsIn(a.untilReady());
            if (!seeds.isEmpty()) {
                leaked.add("query_to_xml($1) bound to the query: " + seeds);
            }
        }
        assertEquals(List.of(), leaked);
        direct("CREATE TABLE xq_things (id int, label text)");
        direct("INSERT INTO xq_things VALUES (1, 'kettle')");
        direct("GRANT ALL ON xq_things TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A text query over a table with no sensitive column reads in clear.
            String labels = a.query("SELECT query_to_xml('SELECT label FROM xq_things', true, false, '')");
            assertTrue(labels.contains("<label>kettle</label>"), labels);
        }
    }

    @Test
    void aReadWaitingOnAnotherSessionsViewReplacementIsMasked() throws Exception {
        // Attacker pass 5: session A replaces a clear view in an open transaction; session B reads it, is judged by
        // the catalog as committed (clear), waits for A's lock, and runs over the new definition once A commits
        // (COMMIT, COMMIT AND CHAIN, END); then B reads it again.
        seed("ts_people");
        List<String> leaked = new ArrayList<>();
        for (String commit : List.of("COMMIT", "COMMIT AND CHAIN", "END")) {
            try (MaskedAttacker a = new MaskedAttacker(warden); MaskedAttacker b = new MaskedAttacker(warden)) {
                a.query("CREATE VIEW ts_v AS SELECT 'x'::text AS e");
                b.query("SELECT e FROM ts_v"); // the clear definition, read and judged
                a.query("BEGIN");
                a.query("CREATE OR REPLACE VIEW ts_v AS SELECT translate(email, " + HIDE + ") AS e FROM ts_people");
                b.send(new FrontendMessage.Query("SELECT string_agg(e, ',') FROM ts_v"));
                Thread.sleep(500);
                a.query(commit);
                List<String> seeds = seedsIn(b.untilReady());
                if (!seeds.isEmpty()) {
                    leaked.add(commit + ", B's read waiting on A: " + seeds);
                }
                seeds = seedsIn(b.query("SELECT string_agg(e, ',') FROM ts_v"));
                if (!seeds.isEmpty()) {
                    leaked.add(commit + ", B's read after it: " + seeds);
                }
                a.query("COMMIT");
            }
            direct("DROP VIEW ts_v");
        }
        assertEquals(List.of(), leaked);
    }

    @Test
    void savepointsAndTransactionControlDoNotEndWhatTheTransactionChangedEarly() throws Exception {
        // Attacker pass 5: savepoints rolled back to or released around the replacement, transaction control
        // written with comments and synonyms, a pipeline with BEGIN, DDL, read and COMMIT under one Sync.
        seed("sv_people");
        String clearView = "CREATE VIEW sv_v AS SELECT 'x'::text AS e";
        String sensitiveView = "CREATE OR REPLACE VIEW sv_v AS SELECT translate(email, " + HIDE + ") AS e "
                + "FROM sv_people";
        String read = "SELECT string_agg(e, ',') FROM sv_v";
        String[][] attempts = {
                {clearView, "BEGIN", "SAVEPOINT s", sensitiveView, "RELEASE SAVEPOINT s", read},
                {clearView, "BEGIN", "SAVEPOINT s", sensitiveView, "ROLLBACK /* x */ TO SAVEPOINT s", sensitiveView,
                        read},
                {clearView, "BEGIN", "SAVEPOINT s", "SAVEPOINT t", sensitiveView, "ROLLBACK TO t", "RELEASE s", read},
                {clearView, "BEGIN", sensitiveView, "SAVEPOINT s", "ROLLBACK TO SAVEPOINT s", read},
                {clearView, "BEGIN", sensitiveView, "COMMIT AND CHAIN", read},
                {clearView, "BEGIN", sensitiveView, "COMMIT /* AND NO CHAIN */ AND CHAIN", read},
                {clearView, "START TRANSACTION", sensitiveView, "END", read},
                {clearView, "BEGIN", sensitiveView, "SAVEPOINT s", "SELECT 1/0", "ROLLBACK TO s", read},
                {clearView, "BEGIN", "SAVEPOINT s", sensitiveView, "SELECT 1/0", "ROLLBACK TO s", sensitiveView,
                        read},
                {clearView, "BEGIN", sensitiveView, "PREPARE TRANSACTION 'sv_x'", "COMMIT PREPARED 'sv_x'", read},
                {clearView, "BEGIN; " + sensitiveView + "; COMMIT; " + read},
                {clearView, sensitiveView + "; " + read},
                {clearView, "BEGIN", sensitiveView + "; COMMIT AND CHAIN; " + read},
        };
        List<String> leaked = new ArrayList<>(leaksOf(attempts, "DROP VIEW IF EXISTS sv_v"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query(clearView);
            a.query(read);
            for (String sql : List.of("BEGIN", sensitiveView, read, "COMMIT", read)) {
                a.unnamed(sql);
            }
            a.send(new FrontendMessage.Sync());
            List<String> seeds = seedsIn(a.untilReady());
            if (!seeds.isEmpty()) {
                leaked.add("pipeline BEGIN, replace, read, COMMIT, read: " + seeds);
            }
        }
        direct("DROP VIEW sv_v");
        assertEquals(List.of(), leaked);
    }

    // ---- 9. attacker pass 7: error texts that quote a value outside the echo patterns, PL/pgSQL expressions ----

    @Test
    void anErrorOrNoticeOfAStatementOverSensitiveDataQuotesNoValue() throws Exception {
        // Attacker pass 7: the server quotes its input in many messages the echo patterns do not know (a name
        // looked up, a unit, a time zone, an encoding, a setting); separators become underscores, which value
        // detection does not see through.
        seed("ee_people");
        String e = "translate(email, '@.-', '___')";
        String one = " FROM ee_people WHERE id = 1";
        String[][] attempts = {
                {"SELECT " + e + "::regclass" + one},
                {"SELECT " + e + "::regproc" + one},
                {"SELECT " + e + "::regtype" + one},
                {"SELECT " + e + "::regrole" + one},
                {"SELECT " + e + "::regnamespace" + one},
                {"SELECT nextval(" + e + ")" + one},
                {"SELECT has_table_privilege(" + e + ", 'select')" + one},
                {"SELECT current_setting(" + e + ")" + one},
                {"SELECT set_config(" + e + ", 'x', false)" + one},
                {"SELECT date_trunc(" + e + ", now())" + one},
                {"SELECT date_part(" + e + ", now())" + one},
                {"SELECT timezone(" + e + ", now())" + one},
                {"SELECT convert_to('x', " + e + ")" + one},
                {"SELECT to_tsvector(" + e + "::regconfig, 'x')" + one},
                {"SELECT to_tsvector(" + e + ", 'x')" + one},
                {"SELECT " + e + "::regoper" + one},
                {"SELECT jsonb_path_query('{}', " + e + "::jsonpath)" + one},
                {"SELECT to_date(" + e + ", 'YYYYMMDD')" + one},
                {"SELECT (" + e + ")::interval" + one},
        };
        List<String> leaked = new ArrayList<>(leaksOf(attempts));
        // The same errors raised inside a function body or a DO block, with the body's statement as CONTEXT.
        leaked.addAll(leaksOf(new String[][] {
                {"CREATE FUNCTION ee_f() RETURNS void LANGUAGE plpgsql AS $$BEGIN PERFORM " + e + "::regclass" + one
                        + "; END$$", "SELECT ee_f()"},
                {"CREATE FUNCTION ee_f() RETURNS text LANGUAGE sql AS $$SELECT timezone(" + e + ", now())::text" + one
                        + "$$", "SELECT ee_f()"},
                {"DO $$BEGIN PERFORM " + e + "::regtype" + one + "; END$$"},
        }, "DROP FUNCTION IF EXISTS ee_f()"));
        assertEquals(List.of(), leaked);
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: an error of a statement over nothing sensitive names what it names, in clear.
            String missing = a.query("SELECT 'ee_nothing_here'::regclass");
            assertTrue(missing.contains("relation \"ee_nothing_here\" does not exist"), missing);
            String column = a.query("SELECT email, no_such_column FROM ee_people");
            assertTrue(column.contains("no_such_column"), column);
            String duplicate = a.query("UPDATE ee_people SET id = 2 WHERE id = 1 AND email IS NOT NULL");
            assertTrue(duplicate.contains("constraint \"ee_people_pkey\""), duplicate);
        }
    }

    @Test
    void aPlpgsqlExpressionWithAFromClauseIsReadWhereverItStands() throws Exception {
        // Attacker pass 7: PL/pgSQL runs every expression as a SELECT, FROM clause and all, not only assignments and
        // RETURN: RAISE's arguments and USING options, ASSERT's message, RETURN NEXT, FOREACH's array, EXECUTE's
        // USING values.
        seed("pe_people");
        String e = "translate(email, " + HIDE + ")";
        String from = " FROM pe_people WHERE id = 1";
        String fn = "CREATE FUNCTION pe_f() RETURNS ";
        String[] bodies = {
                "void LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE '%', " + e + from + "; END$$",
                "void LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'x %',\n  " + e + "\n  -- the one\n " + from + "; END$$",
                "void LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE USING MESSAGE = " + e + from + "; END$$",
                "void LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'no' USING DETAIL = " + e + from + "; END$$",
                "void LANGUAGE plpgsql AS $$BEGIN ASSERT false, " + e + from + "; END$$",
                "SETOF text LANGUAGE plpgsql AS $$BEGIN RETURN NEXT " + e + from + "; END$$",
                "SETOF text LANGUAGE plpgsql AS $$DECLARE x text; BEGIN FOREACH x IN ARRAY array_agg(" + e
                        + ") FROM pe_people LOOP RETURN NEXT x; END LOOP; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE v text; BEGIN EXECUTE 'SELECT $1' INTO v USING " + e + from
                        + "; RETURN v; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE v text; BEGIN <<l>> FOR i IN 1..1 LOOP EXECUTE 'SELECT $1' "
                        + "INTO v USING " + e + from + "; END LOOP; RETURN v; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE c refcursor; v text; BEGIN OPEN c FOR EXECUTE "
                        + "$x$SELECT translate(email, '@.-', '   ') FROM pe_people$x$; FETCH c INTO v; RETURN v; END$$",
                "SETOF text LANGUAGE plpgsql AS $$BEGIN RETURN QUERY EXECUTE 'SELECT translate(email, ''@.-'', "
                        + "''   '') FROM pe_people'; END$$",
                "TABLE (v text) LANGUAGE plpgsql AS $$BEGIN v := " + e + from + "; RETURN NEXT; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE v text DEFAULT " + e + from + "; BEGIN RETURN v; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE w int; c CURSOR (k int) FOR SELECT " + e + " FROM pe_people "
                        + "WHERE id = k; v text; BEGIN OPEN c(1); FETCH c INTO v; RETURN v; END$$",
                "text LANGUAGE plpgsql AS $$DECLARE r record; BEGIN r := (SELECT p FROM pe_people p LIMIT 1); "
                        + "RETURN translate(r::text, " + HIDE + "); END$$",
        };
        List<String[]> attempts = new ArrayList<>();
        for (String body : bodies) {
            attempts.add(new String[] {fn + body, "SELECT * FROM pe_f()"});
        }
        attempts.add(new String[] {"DO $$BEGIN RAISE NOTICE '%', " + e + from + "; END$$"});
        attempts.add(new String[] {"DO $$DECLARE x text; BEGIN FOREACH x IN ARRAY array_agg(" + e
                + ") FROM pe_people LOOP RAISE NOTICE '%', x; END LOOP; END$$"});
        assertEquals(List.of(), leaksOf(attempts.toArray(new String[0][]), "DROP FUNCTION IF EXISTS pe_f()"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: an expression with a FROM clause over clear columns stays clear.
            a.query("CREATE FUNCTION pe_n() RETURNS void LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'ids %', "
                    + "string_agg(id::text, ',' ORDER BY id) FROM pe_people; END$$");
            String ids = a.query("SELECT pe_n()");
            assertTrue(ids.contains("ids 1,2,3"), ids);
        }
    }

    @Test
    void aNumberOrBytesAMessageEchoesUnquotedAreRedacted() throws Exception {
        // Attacker pass 9: many server messages print a number they were given without quotes (a code point, a bit
        // index, a PID, a large object, a date field) or the bytes of invalid input as hex; an SSN as one integer
        // came back in clear in the message or a warning of a statement that reads it.
        seed("nm_people");
        String n = "replace(ssn, '-', '')::int";
        String one = " FROM nm_people WHERE id = 1";
        String[][] attempts = {
                {"SELECT chr(" + n + ")" + one},
                {"SELECT set_bit('\\x00'::bytea, " + n + ", 1)" + one},
                {"SELECT get_byte('\\x00'::bytea, " + n + ")" + one},
                {"SELECT pg_terminate_backend(" + n + ")" + one},
                {"SELECT lo_get(" + n + "::oid)" + one},
                {"SELECT make_date(2000, 1, " + n + ")" + one},
                {"SELECT make_date(split_part(ssn, '-', 1)::int, split_part(ssn, '-', 2)::int, "
                        + "split_part(ssn, '-', 3)::int)" + one},
        };
        List<String> leaked = new ArrayList<>(leaksOf(attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // "zq" of the first e-mail, as the bytes after an invalid lead byte.
            String bytes = a.query("SELECT convert_from('\\xf0'::bytea || convert_to(email, 'UTF8'), 'UTF8')" + one);
            if (bytes.contains("0x7a 0x71")) {
                leaked.add("invalid byte sequence: " + bytes);
            }
            // Precise: the same messages of statements over nothing sensitive keep their numbers.
            String clear = a.query("SELECT chr(536228471)");
            assertTrue(clear.contains("536228471"), clear);
            String date = a.query("SELECT make_date(2000, 1, id + 40)" + one);
            assertTrue(date.contains("2000-01-41"), date);
        }
        assertEquals(List.of(), leaked);
    }

    @Test
    void aDomainsCheckThatReadsSensitiveDataIsFollowedWhereAValueBecomesTheDomain() throws Exception {
        // Attacker pass 9: a domain's CHECK calls a function whose body casts the e-mails to int; a statement that
        // names only the domain (a cast, a typed literal, a parameter of the domain's type) ran the check, and
        // the cast error quoted the e-mails in clear.
        seed("dm_people");
        String fails = "CREATE FUNCTION dm_f() RETURNS int LANGUAGE sql STABLE AS $$SELECT string_agg(translate(email, "
                + HIDE + "), ',')::int FROM dm_people$$";
        String domain = "CREATE DOMAIN dm_d AS text CHECK (dm_f() > 0)";
        String[][] attempts = {
                {fails, domain, "SELECT 'x'::dm_d"},
                {fails, domain, "SELECT CAST('x' AS public.dm_d)"},
                {fails, domain, "SELECT dm_d 'x'"},
                {fails, domain, "CREATE DOMAIN dm_e AS dm_d", "SELECT 'x'::dm_e"},
                {"CREATE FUNCTION dm_f() RETURNS int LANGUAGE sql STABLE AS $$SELECT 1$$", domain,
                        "CREATE OR REPLACE FUNCTION dm_f() RETURNS int LANGUAGE sql STABLE AS $$SELECT string_agg("
                                + "translate(email, " + HIDE + "), ',')::int FROM dm_people$$", "SELECT 'x'::dm_d"},
                {fails, domain, "CREATE FUNCTION dm_g(dm_d) RETURNS int LANGUAGE sql AS $$SELECT 1$$",
                        "SELECT dm_g('x')"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP DOMAIN IF EXISTS dm_d CASCADE",
                "DROP FUNCTION IF EXISTS dm_f(), dm_g(dm_d) CASCADE"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a domain whose check reads nothing sensitive still says what it rejects.
            a.query("CREATE DOMAIN dm_short AS text CHECK (length(VALUE) < 3)");
            String rejected = a.query("SELECT 'kettle'::dm_short");
            assertTrue(rejected.contains("violates check constraint \"dm_short_check\""), rejected);
        }
    }

    @Test
    void aFunctionCalledInAttributeNotationIsReadLikeACall() throws Exception {
        // Attacker pass 9: t.f is f(t) when t has no column f; the statement names no function, only a "column"
        // of a clear table, and the function's read of the e-mails came back in clear.
        seed("an_people");
        direct("CREATE TABLE an_own (id int)");
        direct("INSERT INTO an_own VALUES (1)");
        direct("GRANT ALL ON an_own TO PUBLIC");
        String read = " LANGUAGE sql STABLE AS $$SELECT string_agg(translate(email, " + HIDE + "), ',') FROM an_people$$";
        String[][] attempts = {
                {"CREATE FUNCTION an_f(an_own) RETURNS text" + read, "SELECT o.an_f FROM an_own o"},
                {"CREATE FUNCTION an_f(an_own) RETURNS text" + read, "SELECT (o).an_f FROM an_own o"},
                {"CREATE FUNCTION an_f(an_own) RETURNS text" + read, "SELECT an_own.\"an_f\" FROM an_own"},
                {"CREATE FUNCTION an_f(an_own) RETURNS text" + read, "SELECT public.an_own.an_f FROM an_own"},
                {"CREATE FUNCTION an_f(anyelement) RETURNS text" + read, "SELECT o.an_f FROM an_own o"},
                {"CREATE FUNCTION an_f(record) RETURNS text" + read, "SELECT (o).an_f FROM an_own o"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP FUNCTION IF EXISTS an_f(an_own), an_f(anyelement), "
                + "an_f(record)"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a qualified column, and a function in attribute notation over clear data, stay clear.
            a.query("CREATE FUNCTION an_twice(an_own) RETURNS int LANGUAGE sql STABLE AS $$SELECT $1.id * 2$$");
            String got = a.query("SELECT (o.id + 40) || '/' || o.an_twice AS v FROM an_own o");
            assertTrue(got.contains("41/2"), got);
        }
    }

    @Test
    void aRowNoPartitionTakesIsNotEchoedInClear() throws Exception {
        // Attacker pass 9: the attacker's own table, partitioned by a column named email (masked, so sensitive
        // values may be written there), and no partition for them: "Partition key of the failing row contains
        // (email) = (...)" quoted the e-mails in clear; no echo pattern knew it.
        seed("pk_people");
        String e = "translate(email, " + HIDE + ")";
        String[][] attempts = {
                {"CREATE TABLE pk_own (email text) PARTITION BY LIST (email)",
                        "INSERT INTO pk_own SELECT " + e + " FROM pk_people"},
                {"CREATE TABLE pk_own (email text, id int) PARTITION BY RANGE (id, email)",
                        "CREATE TABLE pk_own1 PARTITION OF pk_own FOR VALUES FROM (0, 'a') TO (0, 'b')",
                        "INSERT INTO pk_own SELECT " + e + ", 0 FROM pk_people"},
                {"CREATE TABLE pk_own (email text) PARTITION BY LIST (lower(email))",
                        "CREATE TABLE pk_own1 PARTITION OF pk_own FOR VALUES IN ('x')", "INSERT INTO pk_own VALUES ('x')",
                        "UPDATE pk_own SET email = (SELECT " + e + " FROM pk_people WHERE id = 1)"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP TABLE IF EXISTS pk_own"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: over nothing sensitive the key is shown.
            a.query("CREATE TABLE pk_things (label text) PARTITION BY LIST (label)");
            String missing = a.query("INSERT INTO pk_things VALUES ('kettle')");
            assertTrue(missing.contains("(label) = (kettle)"), missing);
        }
    }

    @Test
    void aViewColumnThatCallsAFunctionReadingSensitiveDataIsMasked() throws Exception {
        // Attacker pass 9: a view's column is a call of a function whose body reads the e-mails (sql with quotes or
        // RETURN, plpgsql); reading the view named neither the function nor the table, and came back in clear.
        seed("vf_people");
        String all = "(SELECT string_agg(translate(email, " + HIDE + "), ',') FROM vf_people)";
        String view = "CREATE VIEW vf_v AS SELECT vf_f() AS x";
        String[][] attempts = {
                {"CREATE FUNCTION vf_f() RETURNS text LANGUAGE sql STABLE AS $$SELECT " + all + "$$", view,
                        "SELECT x FROM vf_v"},
                {"CREATE FUNCTION vf_f() RETURNS text LANGUAGE sql RETURN " + all, view, "SELECT x || '' FROM vf_v"},
                {"CREATE FUNCTION vf_f() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN " + all + "; END$$", view,
                        "SELECT x FROM vf_v"},
                {"CREATE FUNCTION vf_f() RETURNS text LANGUAGE sql RETURN 'x'", view,
                        "CREATE OR REPLACE FUNCTION vf_f() RETURNS text LANGUAGE sql RETURN " + all,
                        "COPY vf_v TO STDOUT"},
                {"CREATE FUNCTION vf_f() RETURNS text LANGUAGE sql RETURN " + all,
                        "CREATE MATERIALIZED VIEW vf_m AS SELECT vf_f() AS x", "SELECT x FROM vf_m"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP FUNCTION IF EXISTS vf_f() CASCADE"));
        // Precise: a view over a function that reads clear columns stays clear.
        assertAnswered("1,2,3", "SELECT ids FROM vf_clear", "CREATE FUNCTION vf_ids() RETURNS text LANGUAGE sql STABLE "
                + "RETURN (SELECT string_agg(id::text, ',' ORDER BY id) FROM vf_people)",
                "CREATE VIEW vf_clear AS SELECT vf_ids() AS ids");
    }

    @Test
    void aViewColumnThatUsesAnOperatorWhoseFunctionReadsSensitiveDataIsMasked() throws Exception {
        // The view's definition names an operator; the catalog ties the view to the operator, not to its function,
        // whose body reads the e-mails.
        seed("vo_people");
        String all = "(SELECT string_agg(translate(email, " + HIDE + "), ',') FROM vo_people)";
        String operator = "CREATE OPERATOR #~# (RIGHTARG = int, FUNCTION = vo_f)";
        String[][] attempts = {
                {"CREATE FUNCTION vo_f(int) RETURNS text LANGUAGE sql STABLE RETURN " + all, operator,
                        "CREATE VIEW vo_v AS SELECT #~# 1 AS x", "SELECT x FROM vo_v"},
                {"CREATE FUNCTION vo_f(int) RETURNS text LANGUAGE sql STABLE RETURN " + all, operator,
                        "CREATE VIEW vo_v AS SELECT #~# 1 AS x", "COPY vo_v TO STDOUT"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP FUNCTION IF EXISTS vo_f(int) CASCADE"));
    }

    /** Runs {@code setup}, then {@code query}, on a masked session: its answer must hold {@code expected}. */
    private static void assertAnswered(String expected, String query, String... setup) throws IOException {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : setup) {
                a.query(sql);
            }
            String answer = a.query(query);
            assertTrue(answer.contains(expected), answer);
        }
    }

    @Test
    void cursorsWritesThatReturnAndRowsEchoedByConstraintsHeld() throws Exception {
        // Attacker pass 9, stopped already: a cursor held past its transaction, a refcursor, writes that return
        // from a sensitive read, constraints that echo the failing row, replaced functions behind a generated
        // column, a row security policy or a type change, SQL-standard routines that hand a read on.
        seed("hd_people");
        direct("CREATE TABLE hd_own (id int, w text)");
        direct("INSERT INTO hd_own VALUES (1, 'a')");
        direct("GRANT ALL ON hd_own TO PUBLIC");
        String e = "translate(email, " + HIDE + ")";
        String all = "(SELECT string_agg(" + e + ", ',') FROM hd_people)";
        String clearF = "CREATE FUNCTION hd_f() RETURNS text LANGUAGE sql STABLE AS $$SELECT 'x'::text$$";
        String sensF = "CREATE OR REPLACE FUNCTION hd_f() RETURNS text LANGUAGE sql STABLE AS $$SELECT " + all + "$$";
        String[][] attempts = {
                {"BEGIN", "DECLARE hd_c CURSOR WITH HOLD FOR SELECT " + e + " FROM hd_people", "COMMIT", "BEGIN",
                        "MOVE 1 IN hd_c", "FETCH ALL IN hd_c"},
                {"CREATE FUNCTION hd_r() RETURNS refcursor LANGUAGE plpgsql AS $$DECLARE c refcursor := 'hd_rc'; "
                        + "BEGIN OPEN c FOR SELECT " + e + " FROM hd_people; RETURN c; END$$", "BEGIN", "SELECT hd_r()",
                        "FETCH ALL FROM hd_rc"},
                {"WITH x AS (UPDATE hd_people SET id = id RETURNING " + e + " AS v) SELECT v FROM x"},
                {"UPDATE hd_own o SET id = o.id FROM hd_people p WHERE p.id = o.id RETURNING translate(p.email, "
                        + HIDE + ")"},
                {"CREATE TABLE hd_t (email text CHECK (email = 'x'))", "INSERT INTO hd_t SELECT " + e + " FROM hd_people"},
                {"CREATE TABLE hd_t (email text, EXCLUDE USING btree (email WITH =))",
                        "INSERT INTO hd_t SELECT " + e + " FROM hd_people", "INSERT INTO hd_t SELECT " + e
                        + " FROM hd_people"},
                {"SELECT ('{\"a\": ' || " + e + " || '}')::jsonb FROM hd_people"},
                {"SELECT xmlparse(document " + e + ") FROM hd_people"},
                {"CREATE FUNCTION hd_g(int) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'x'::text$$",
                        "CREATE TABLE hd_t (id int, v text GENERATED ALWAYS AS (hd_g(id)) STORED)",
                        "CREATE OR REPLACE FUNCTION hd_g(int) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT " + e
                                + " FROM hd_people WHERE id = $1$$", "INSERT INTO hd_t (id) VALUES (1)",
                        "SELECT v FROM hd_t"},
                {clearF, "CREATE TABLE hd_t (id int)", "INSERT INTO hd_t VALUES (1)",
                        "ALTER TABLE hd_t ENABLE ROW LEVEL SECURITY", "ALTER TABLE hd_t FORCE ROW LEVEL SECURITY",
                        "CREATE POLICY hd_p ON hd_t USING (hd_f()::int > 0)", sensF, "SELECT id FROM hd_t"},
                {sensF, "ALTER TABLE hd_own ALTER COLUMN w TYPE text USING hd_f()", "SELECT w FROM hd_own"},
                {"CREATE PROCEDURE hd_q(INOUT x text) LANGUAGE sql BEGIN ATOMIC SELECT " + all + "; END",
                        "CALL hd_q(NULL)"},
                {"CREATE FUNCTION hd_s() RETURNS text LANGUAGE sql RETURN set_config('application_name', " + all
                        + ", false)", "SELECT 1 WHERE hd_s() IS NOT NULL", "SHOW application_name"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP TABLE IF EXISTS hd_t",
                "DROP FUNCTION IF EXISTS hd_r(), hd_g(int), hd_f(), hd_s() CASCADE", "DROP PROCEDURE IF EXISTS hd_q(text)",
                "TRUNCATE hd_own", "INSERT INTO hd_own VALUES (1, 'a')"));
    }

    // ---- 5. value detectors: recall on realistic forms after the precision changes ----

    /** Values a statement naming nothing sensitive returns unchanged, out of {@code values}. */
    private static List<String> unmasked(List<String> values) throws Exception {
        List<String> kept = new ArrayList<>();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String v : values) {
                String got = a.query("SELECT 'x ' || '" + v + "' || ' y' AS v");
                if (got.contains(v)) {
                    kept.add(v);
                }
            }
        }
        return kept;
    }

    @Test
    void realisticPiiFormsAreStillDetectedByValue() throws Exception {
        // Cards now need an issuer digit 2-6 and printed grouping; signed decimals are no phone; periodic tokens
        // no secret. These common forms must still be caught.
        assertEquals(List.of(), unmasked(List.of(
                "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
                "6011000990139424", "378282246310005", "3782 822463 10005",
                "536-22-8471", "536 22 8471",
                "+14155552671", "+1-415-555-2671", "+1.415.555.2671",
                "ANN.LEE@ACME.COM", "ann.lee+tag@acme.co.uk",
                "DE89370400440532013000", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")));
    }

    @Test
    void aPhoneGroupedBySpacesInsideTextIsDetected() throws Exception {
        // The value scan splits text at spaces, which cut such a number into groups too short to be anything; a
        // phone number is now looked for from each '+' across its groups.
        assertEquals(List.of(), unmasked(List.of("+1 415 555 2671", "+44 20 7946 0958", "+1 (415) 555-2671")));
    }
    // ---- 10. attacker pass 9: SQL-standard bodies, numbers in messages, domains, attribute notation ----

    @Test
    void aSqlStandardReturnBodyIsReadWhereverTheFunctionRuns() throws Exception {
        // Attacker pass 9: a LANGUAGE sql function whose body is RETURN expr (no quotes, no BEGIN ATOMIC) was read
        // as reading nothing, made and called outside a transaction: its value came back in clear from a SELECT,
        // a FROM, a column default, a CHECK's failing row and a unique key's DETAIL.
        seed("sr_people");
        String all = "(SELECT string_agg(translate(email, " + HIDE + "), ',') FROM sr_people)";
        String make = "CREATE FUNCTION sr_f() RETURNS text LANGUAGE sql RETURN " + all;
        String clear = "CREATE FUNCTION sr_f() RETURNS text LANGUAGE sql RETURN 'x'";
        String replace = "CREATE OR REPLACE FUNCTION sr_f() RETURNS text LANGUAGE sql RETURN " + all;
        String[][] attempts = {
                {make, "SELECT sr_f()"},
                {make, "SELECT * FROM sr_f()"},
                {"CREATE FUNCTION sr_f() RETURNS text LANGUAGE sql\nRETURN\n" + all, "SELECT v FROM sr_f() v"},
                {"CREATE FUNCTION sr_f() RETURNS text LANGUAGE sql BEGIN ATOMIC RETURN " + all + "; END",
                        "SELECT sr_f()"},
                {make, "SELECT sr_f()::int"},
                {clear, "CREATE TABLE sr_own (id int, v text DEFAULT sr_f())", replace,
                        "INSERT INTO sr_own (id) VALUES (1)", "SELECT v FROM sr_own"},
                {clear, "CREATE TABLE sr_own (id int CHECK (id > 0), v text DEFAULT sr_f())", replace,
                        "INSERT INTO sr_own (id) VALUES (-1)"},
                {clear, "CREATE TABLE sr_own (id int CHECK (id > 0), v text DEFAULT sr_f())", replace,
                        "COPY sr_own (id) FROM STDIN"},
                {"CREATE TABLE sr_own (v text UNIQUE)", make, "INSERT INTO sr_own VALUES (sr_f())",
                        "INSERT INTO sr_own VALUES (sr_f())"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP TABLE IF EXISTS sr_own", "DROP FUNCTION IF EXISTS sr_f()"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a RETURN body over clear columns reads in clear.
            a.query("CREATE FUNCTION sr_ids() RETURNS text LANGUAGE sql RETURN (SELECT string_agg(id::text, ',' "
                    + "ORDER BY id) FROM sr_people)");
            String ids = a.query("SELECT sr_ids() AS ids");
            assertTrue(ids.contains("1,2,3"), ids);
        }
    }

    // ---- 11. attacker pass 12: server state a statement stores a number in ----

    @Test
    void anAdvisoryLockKeyDoesNotCarryASensitiveValue() throws Exception {
        // Attacker pass 12: an advisory lock's key is shown by pg_locks (classid, objid) to any session; a key
        // computed from an SSN, or one character of an e-mail per lock, came back in clear from a later read of
        // pg_locks that names nothing sensitive.
        seed("al_people");
        String n = "replace(ssn, '-', '')::bigint";
        String locks = "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory'";
        String[][] attempts = {
                {"SELECT pg_advisory_lock(" + n + ") FROM al_people WHERE id = 1", locks},
                {"SELECT 1 FROM al_people WHERE pg_try_advisory_lock(" + n + ")", locks},
                {"BEGIN", "SELECT pg_advisory_xact_lock(" + n + ") FROM al_people WHERE id = 1", locks},
                {"BEGIN", "SELECT pg_try_advisory_xact_lock_shared(" + n + ") FROM al_people", locks},
                {"SELECT pg_catalog.pg_advisory_lock_shared(" + n + ") FROM al_people", locks},
                {"SELECT pg_advisory_lock(i, ascii(substr(email, i, 1))) FROM al_people, "
                        + "generate_series(1, length(email)) i WHERE id = 1",
                        "SELECT translate(string_agg(chr(objid::int), '' ORDER BY classid), " + HIDE + ") "
                                + "FROM pg_locks WHERE locktype = 'advisory'"},
                {"CREATE FUNCTION al_lock(bigint) RETURNS void LANGUAGE sql AS 'SELECT pg_advisory_lock($1)'",
                        "SELECT al_lock(" + n + ") FROM al_people", locks},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP FUNCTION IF EXISTS al_lock(bigint)"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a lock keyed by a clear value, or taken beside nothing sensitive, is still taken.
            assertTrue(a.query("SELECT pg_advisory_lock(id) FROM al_people WHERE id = 2").contains("\nC"));
            String held = a.query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
            assertTrue(held.contains("2"), held);
            assertTrue(a.query("SELECT pg_advisory_unlock_all()").contains("\nC"));
        }
    }

    @Test
    void aLargeObjectsOidOffsetOrSizeDoesNotCarryASensitiveValue() throws Exception {
        // Attacker pass 12: lo_create(oid) makes a large object under the OID it is given (pg_largeobject_metadata
        // lists it to anyone), lo_lseek stores a descriptor's position (lo_tell returns it) and lo_truncate its
        // size (lo_lseek to the end returns it): each stored an SSN that a later read naming nothing sensitive
        // returned in clear.
        seed("lq_people");
        String n = "replace(ssn, '-', '')";
        String[][] attempts = {
                {"SELECT lo_create(" + n + "::bigint::oid) FROM lq_people WHERE id = 1",
                        "SELECT oid FROM pg_largeobject_metadata"},
                {"SELECT 1 FROM lq_people WHERE pg_catalog.lo_create(" + n + "::oid) > 0",
                        "SELECT oid FROM pg_largeobject_metadata"},
                {"BEGIN", "SELECT lo_open(lo_creat(-1), 131072)",
                        "SELECT lo_lseek(0, " + n + "::int, 0) FROM lq_people WHERE id = 1", "SELECT lo_tell(0)"},
                {"BEGIN", "SELECT lo_open(lo_creat(-1), 131072)",
                        "SELECT lo_lseek64(0, " + n + "::bigint, 0) FROM lq_people WHERE id = 1", "SELECT lo_tell64(0)"},
                {"BEGIN", "SELECT lo_open(lo_creat(-1), 131072)",
                        "SELECT lo_truncate(0, " + n + "::int) FROM lq_people WHERE id = 1", "SELECT lo_lseek(0, 0, 2)"},
                {"BEGIN", "SELECT lo_open(lo_creat(-1), 131072)",
                        "SELECT lo_truncate64(0, " + n + "::bigint) FROM lq_people WHERE id = 1",
                        "SELECT lo_lseek64(0, 0, 2)"},
                {"CREATE FUNCTION lq_keep(oid) RETURNS oid LANGUAGE sql AS 'SELECT lo_create($1)'",
                        "SELECT lq_keep(" + n + "::oid) FROM lq_people", "SELECT oid FROM pg_largeobject_metadata"},
        };
        assertEquals(List.of(), leaksOf(attempts, "SELECT lo_unlink(oid) FROM pg_largeobject_metadata",
                "DROP FUNCTION IF EXISTS lq_keep(oid)"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: large objects over nothing sensitive work as before.
            String made = a.query("SELECT lo_create(424242)");
            assertTrue(made.contains("424242"), made);
            assertTrue(a.query("SELECT lo_unlink(424242)").contains("\nC"));
        }
    }

    // ---- 12. attacker pass 12: strategies that keep part of a value, writes that hide where a value lands ----

    @Test
    void anExpressionNamedLikeAnEmailOrPhoneColumnIsNotMaskedByWhatThatStrategyKeeps() throws Exception {
        // Attacker pass 12: the email strategy keeps what follows the last @ (the domain) and partial keeps the
        // last characters. An expression over a sensitive read given such a name (AS email, AS phone1) took that
        // strategy instead of lineage's redaction, and the attacker chose what lands in the part kept:
        // 'a@' || translate(email, '@', '-') came back as a***@zq.feather-quixmail.example, an SSN four digits a
        // column behind a partial mask. Views with a computed column of such a name, subqueries and UNIONs too.
        seed("ae_people");
        String enc = "'a@' || translate(email, '@', '-')";
        String[][] attempts = {
                {"SELECT " + enc + " AS email FROM ae_people"},
                {"SELECT " + enc + " AS \"E-Mail\" FROM ae_people"},
                {"SELECT x AS email FROM (SELECT " + enc + " AS x FROM ae_people) s"},
                {"SELECT (SELECT " + enc + ") AS email FROM ae_people"},
                {"SELECT email FROM ae_people WHERE false UNION ALL SELECT " + enc + " FROM ae_people"},
                {"WITH w AS (SELECT " + enc + " AS email FROM ae_people) SELECT email FROM w"},
                {"CREATE VIEW ae_v AS SELECT " + enc + " AS email FROM ae_people", "SELECT email FROM ae_v"},
                {"SELECT '#' || substr(x, 1, 4) AS phone1, '#' || substr(x, 5, 4) AS phone2, '####' || substr(x, 9) "
                        + "AS phone3 FROM (SELECT replace(ssn, '-', '') AS x FROM ae_people) s"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP VIEW IF EXISTS ae_v"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: the column itself, and a view passing it through, keep the email strategy.
            assertTrue(a.query("SELECT email FROM ae_people WHERE id = 1").contains("z***@quixmail.example"));
            a.query("CREATE VIEW ae_plain AS SELECT id, email FROM ae_people");
            assertTrue(a.query("SELECT email FROM ae_plain WHERE id = 1").contains("z***@quixmail.example"));
            a.query("DROP VIEW ae_plain");
        }
    }

    @Test
    void aComputedValueStoredInAnEmailColumnIsNotShownByWhatTheStrategyKeeps() throws Exception {
        // Attacker pass 12: the same strategies on a table column. A value computed from e-mails written into a
        // column masked by the email strategy (the sensitive table itself in a transaction rolled back after, or a
        // temporary table of the attacker's with a column named email) was read back as a***@<the e-mail>.
        seed("ac_people");
        String enc = "'a@' || translate(email, '@', '-')";
        String[][] attempts = {
                {"BEGIN", "UPDATE ac_people SET email = " + enc, "SELECT email FROM ac_people"},
                {"BEGIN", "UPDATE ac_people SET email = " + enc + " RETURNING email"},
                {"BEGIN", "UPDATE ac_people SET id = id + 10, email = upper(" + enc + ")", "SELECT email FROM ac_people"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp SELECT " + enc + " FROM ac_people",
                        "SELECT email FROM ac_tmp"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp (email) SELECT " + enc
                        + " FROM ac_people", "SELECT email FROM ac_tmp"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp SELECT " + enc + " FROM ac_people "
                        + "RETURNING email"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp VALUES ((SELECT min(" + enc
                        + ") FROM ac_people))", "SELECT email FROM ac_tmp"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp VALUES ('a@b')",
                        "UPDATE ac_tmp t SET email = 'a@' || translate(p.email, '@', '-') FROM ac_people p",
                        "SELECT email FROM ac_tmp"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "MERGE INTO ac_tmp t USING ac_people p ON false WHEN NOT "
                        + "MATCHED THEN INSERT VALUES ('a@' || translate(p.email, '@', '-'))", "SELECT email FROM ac_tmp"},
                {"CREATE TEMP TABLE ac_tmp (email text)", "INSERT INTO ac_tmp (email) SELECT email FROM (SELECT " + enc
                        + " AS email FROM ac_people) s", "SELECT email FROM ac_tmp"},
                {"CREATE VIEW ac_v AS SELECT " + enc + " AS email FROM ac_people", "CREATE TEMP TABLE ac_tmp (email text)",
                        "INSERT INTO ac_tmp (email) SELECT email FROM ac_v", "SELECT email FROM ac_tmp"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP VIEW IF EXISTS ac_v"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: an e-mail changed in place by lower() or copied as it is still runs, read with its strategy.
            a.query("BEGIN");
            String lowered = a.query("UPDATE ac_people SET email = lower(email) WHERE id = 1 RETURNING email");
            assertTrue(lowered.contains("z***@quixmail.example"), lowered);
            a.query("ROLLBACK");
            a.query("CREATE TEMP TABLE ac_copy (id int, email text)");
            String copied = a.query("INSERT INTO ac_copy (id, email) SELECT id, email FROM ac_people");
            assertTrue(copied.contains("INSERT 0 3"), copied);
            assertTrue(a.query("SELECT email FROM ac_copy WHERE id = 2").contains("m***@quixmail.example"));
        }
    }

    @Test
    void aValueParkedInARedactedColumnIsNotCopiedIntoOneWhoseStrategyShowsPart() throws Exception {
        // Attacker pass of 2026-12-05: a value computed from a sensitive read may be stored in a redacted column (ssn
        // shows nothing of it), and a copy as it is was let into any masked column. So 'x@' || <e-mail, SSN, card>
        // parked in ssn, then copied into email, came back whole after the x***@; a plain copy of an SSN into a
        // phone column (partial) showed its last four digits. A copy now keeps its value only into a column masked
        // the same way as the one it is read from.
        seed("ah_people");
        String enc = "'x@' || translate(email, " + HIDE + ")";
        String parked = "CREATE TEMP TABLE ah_tmp (id int, ssn text, email text)";
        String[][] attempts = {
                {"BEGIN", "UPDATE ah_people SET ssn = " + enc + " WHERE id > 0", "UPDATE ah_people SET email = ssn "
                        + "WHERE id > 0", "SELECT email FROM ah_people"},
                {"BEGIN", "UPDATE ah_people SET ssn = " + enc + " WHERE id > 0", "UPDATE ah_people SET email = "
                        + "lower(ah_people.ssn) WHERE id > 0 RETURNING email"},
                {parked, "INSERT INTO ah_tmp (id, ssn) SELECT id, " + enc + " FROM ah_people",
                        "UPDATE ah_tmp SET email = ssn WHERE id > 0", "SELECT email FROM ah_tmp"},
                {parked, "INSERT INTO ah_tmp (id, ssn) SELECT id, " + enc + " FROM ah_people",
                        "INSERT INTO ah_tmp (email) SELECT ssn FROM ah_tmp", "SELECT email FROM ah_tmp"},
                {parked, "INSERT INTO ah_tmp SELECT id, " + enc + ", NULL FROM ah_people",
                        "INSERT INTO ah_tmp SELECT id, NULL, ssn FROM ah_tmp", "SELECT email FROM ah_tmp"},
        };
        assertEquals(List.of(), leaksOf(attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE ah_part (id int, ssn text, phone text, email text)");
            String same = a.query("INSERT INTO ah_part (id, ssn, email) SELECT id, ssn, email FROM ah_people");
            assertTrue(same.contains("INSERT 0 3"), same); // precise: copies between columns masked alike still run
            String copied = a.query("UPDATE ah_part SET phone = ssn WHERE id = 1");
            String shown = a.query("SELECT phone FROM ah_part WHERE id = 1");
            assertTrue(refused(copied), copied + shown);
            assertTrue(!shown.contains(SSNS.get(0).substring(7)), shown);
            String mine = a.query("UPDATE ah_part SET email = email, ssn = upper(ssn) WHERE id = 1 RETURNING email");
            assertTrue(mine.contains("z***@quixmail.example"), mine);
        }
    }

    @Test
    void anIndexDoesNotKeepWhatAFunctionReadBeforeItsBodyWasReplaced() throws Exception {
        // Attacker pass of 2026-12-05: an index over pg_temp.f(id), whose body read the e-mails, stored them; the body
        // was then replaced by a harmless one, and an index-only scan of f(id) returned the stored e-mails, judged by
        // the harmless body. Or the index was built over the harmless body, which was swapped for the reading one
        // while rows were written (or the index rebuilt), and back.
        seed("aj_people");
        String reads = "CREATE FUNCTION pg_temp.aj_f(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT "
                + "translate(email || ssn, " + HIDE + ") FROM public.aj_people WHERE id = i $$";
        String readsNow = reads.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION");
        String harmless = "CREATE OR REPLACE FUNCTION pg_temp.aj_f(i int) RETURNS text LANGUAGE sql IMMUTABLE AS "
                + "$$ SELECT 'x' || i $$";
        String table = "CREATE TEMP TABLE aj_t (id int)";
        String rows = "INSERT INTO aj_t SELECT generate_series(1, 3)";
        String index = "CREATE INDEX aj_i ON aj_t (pg_temp.aj_f(id), id)";
        String[] read = {"VACUUM aj_t", "SET enable_seqscan = off", "SET enable_bitmapscan = off",
                "SELECT id, pg_temp.aj_f(id) FROM aj_t WHERE pg_temp.aj_f(id) > '' ORDER BY id"};
        String[][] attempts = {
                concat(new String[] {reads, table, rows, index, harmless}, read),
                concat(new String[] {harmless.replace("OR REPLACE ", ""), table, index, readsNow, rows, harmless}, read),
                concat(new String[] {harmless.replace("OR REPLACE ", ""), table, rows, index, readsNow, "REINDEX TABLE "
                        + "aj_t", harmless}, read),
                concat(new String[] {harmless.replace("OR REPLACE ", ""), table, rows, index, readsNow, "VACUUM FULL "
                        + "aj_t", harmless}, read),
        };
        assertEquals(List.of(), leaksOf(attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: an index over the sensitive column itself is judged as a read of it whenever it is read.
            a.query("CREATE TEMP TABLE aj_own (id int, email text)");
            a.query("INSERT INTO aj_own SELECT id, email FROM aj_people");
            String own = a.query("CREATE INDEX aj_own_i ON aj_own (lower(email))");
            assertTrue(!refused(own), own);
            // A masked identity may not make a function that reads what it sees masked (a118): the owner makes it.
            assertTrue(refused(a.query(reads)));
            direct(reads.replace("pg_temp.aj_f", "public.aj_f"));
            String indexed = a.query("CREATE INDEX aj_own_f ON aj_own (public.aj_f(id))");
            assertTrue(refused(indexed) && indexed.contains("index"), indexed);
            String excluded = a.query("ALTER TABLE aj_own ADD CONSTRAINT aj_x EXCLUDE USING btree "
                    + "((public.aj_f(id)) WITH =)");
            assertTrue(refused(excluded) && excluded.contains("exclusion constraint"), excluded);
            String word = a.query("CREATE FUNCTION pg_temp.aj_w(i int) RETURNS text LANGUAGE sql AS $$ SELECT "
                    + "'x' || i || 'exclude' $$");
            assertTrue(!refused(word), word); // a function's body that says "exclude" builds no index
            for (String plain : List.of("CREATE INDEX ON aj_own USING btree (id)", "CREATE INDEX ON aj_own USING hash "
                    + "(email)", "CREATE INDEX ON aj_own USING gin (to_tsvector('english', email))",
                    "ALTER TABLE aj_own ADD CONSTRAINT aj_ex EXCLUDE USING btree (id WITH =)")) {
                String made = a.query(plain); // pg_dump's form of every index: no function a user made
                assertTrue(!refused(made), plain + ": " + made);
            }
            // A function named like the table it indexes is a function all the same (a third helper's pass).
            a.query("CREATE TEMP TABLE aj_t2 (id int)");
            direct(reads.replace("pg_temp.aj_f(", "public.aj_t2("));
            String named = a.query("CREATE INDEX ON aj_t2 (public.aj_t2(id)) INCLUDE (id)");
            assertTrue(refused(named), named);
            // ... and so is one made in the same text, not in the catalog yet when Warden judges the index (the table's
            // name before the parenthesis read as a call of it, passed over as the table).
            a.query("CREATE TEMP TABLE aj_t3 (id int)");
            String sameText = a.query("CREATE FUNCTION aj_t3(i int) RETURNS text LANGUAGE sql IMMUTABLE AS "
                    + "$$ SELECT 'x' || i $$; CREATE INDEX ON aj_t3 ((aj_t3(id)))");
            assertTrue(refused(sameText) && sameText.contains("index") && !sameText.contains("CREATE INDEX"), sameText);
            String element = a.query("CREATE SCHEMA aj_s CREATE TABLE aj_x (id int) CREATE INDEX aj_xi ON aj_x "
                    + "(public.aj_t2(id))");
            assertTrue(refused(element) && element.contains("index"), element); // a schema's element
            // A schema's element indexing a plain column, and rtree (PostgreSQL's old name for gist): no call.
            String plainElement = a.query("CREATE SCHEMA aj_s2 CREATE TABLE aj_y (id int) CREATE INDEX aj_yi ON "
                    + "aj_s2.aj_y (id)");
            assertTrue(!refused(plainElement), plainElement);
            a.query("CREATE TEMP TABLE aj_box (b box)");
            String rtree = a.query("CREATE INDEX ON aj_box USING rtree (b)");
            assertTrue(!refused(rtree) && !rtree.contains("ERROR"), rtree);
            String partitioned = a.query("CREATE TEMP TABLE aj_r (a int4range, EXCLUDE USING gist (a WITH &&)) "
                    + "PARTITION BY RANGE (a)"); // the server refuses it (its own error), Warden does not
            assertTrue(!refused(partitioned), partitioned);
            // A call of a function named like a method or strategy (made in the same text, or not yet read) is a call.
            String listCall = a.query("CREATE INDEX ON aj_box (list(b))");
            assertTrue(refused(listCall), listCall);
        }
    }

    /**
     * PostgreSQL's create_am.sql as a masked identity: {@code CREATE INDEX ... USING gist2 (home_base)}, over an access
     * method an administrator made, was refused as an index over a function a user made (the name after USING read as
     * a call). An access method runs no function of its name, whatever it is called; the index's expressions and
     * predicate are still judged.
     */
    @Test
    void anIndexOfAnAccessMethodAUserMadeCallsNoFunctionOfItsName() throws Exception {
        direct("CREATE ACCESS METHOD am_gist2 TYPE INDEX HANDLER gisthandler");
        direct("CREATE OPERATOR CLASS am_box_ops DEFAULT FOR TYPE box USING am_gist2 AS OPERATOR 1 <<, OPERATOR 2 &<, "
                + "OPERATOR 3 &&, OPERATOR 4 &>, OPERATOR 5 >>, OPERATOR 6 ~=, OPERATOR 7 @>, OPERATOR 8 <@, "
                + "OPERATOR 9 &<|, OPERATOR 10 <<|, OPERATOR 11 |>>, OPERATOR 12 |&>, "
                + "FUNCTION 1 gist_box_consistent(internal, box, smallint, oid, internal), "
                + "FUNCTION 2 gist_box_union(internal, internal), FUNCTION 5 gist_box_penalty(internal, internal, "
                + "internal), FUNCTION 6 gist_box_picksplit(internal, internal), "
                + "FUNCTION 7 gist_box_same(box, box, internal)");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE am_box (id int, b box)");
            a.query("INSERT INTO am_box VALUES (1, box '(1,1),(0,0)'), (2, box '(5,5),(4,4)')");
            // A function named like the access method: the name after USING is the method all the same.
            String named = a.query("CREATE FUNCTION pg_temp.am_gist2(b box) RETURNS box LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT b'");
            assertTrue(!refused(named), named);
            for (String plain : List.of("CREATE INDEX am_i ON am_box USING am_gist2 (b)",
                    "CREATE INDEX ON ONLY am_box USING am_gist2 (b am_box_ops) WHERE id > 0",
                    "ALTER TABLE am_box ADD CONSTRAINT am_x EXCLUDE USING am_gist2 (b WITH &&)")) {
                String made = a.query(plain);
                assertTrue(!refused(made) && !made.contains("ERROR"), plain + ": " + made);
            }
            for (String over : List.of("CREATE INDEX ON am_box USING am_gist2 ((pg_temp.am_gist2(b)))",
                    "CREATE INDEX ON am_box USING am_gist2 (b) WHERE pg_temp.am_gist2(b) IS NOT NULL",
                    "ALTER TABLE am_box ADD CONSTRAINT am_y EXCLUDE USING am_gist2 ((pg_temp.am_gist2(b)) WITH &&)")) {
                String made = a.query(over);
                assertTrue(refused(made) && made.contains("index"), over + ": " + made);
            }
        }
    }

    @Test
    void twoRulesOfOneTableAreEachJudgedForWhatTheyReturn() throws Exception {
        // Attacker pass of 2026-12-05: a temporary table with two rules, one selecting sensitive columns directly, the
        // other calling a function that returns a value computed from one; an INSERT returned both rules' rows in
        // clear (audit: masked false). Each rule alone was masked.
        seed("ak_people");
        String table = "CREATE TEMP TABLE ak_t (id int)";
        String function = "CREATE FUNCTION pg_temp.ak_f(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT "
                + "translate(ssn, " + HIDE + ") FROM public.ak_people WHERE id = i $$";
        String callRule = "CREATE RULE ak_a2 AS ON INSERT TO ak_t DO ALSO SELECT pg_temp.ak_f(new.id)";
        String directRule = "CREATE RULE ak_a1 AS ON INSERT TO ak_t DO INSTEAD SELECT translate(email, " + HIDE
                + ") AS e FROM public.ak_people WHERE id <= new.id ORDER BY id";
        String[][] attempts = {
                {table, function, callRule, directRule, "INSERT INTO ak_t VALUES (3)"},
                {table, function, directRule, callRule, "INSERT INTO ak_t VALUES (3)"},
                {table, function, callRule, directRule.replace("translate(email", "translate(ssn"),
                        "INSERT INTO ak_t VALUES (2)"},
                // A rule whose function runs SQL built at run time: what writing the table runs cannot be read, and
                // what the rule returns is masked as a sensitive read's (it counted as running nothing).
                {table, "CREATE FUNCTION pg_temp.ak_d(i int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r text; "
                        + "BEGIN EXECUTE 'SELECT translate(email, ''@.-'', ''   '') FROM public.ak_' || 'people "
                        + "WHERE id = $1' INTO r USING i; RETURN r; END $$",
                        "CREATE RULE ak_d AS ON INSERT TO ak_t DO INSTEAD SELECT pg_temp.ak_d(new.id)",
                        "INSERT INTO ak_t VALUES (1)"},
        };
        assertEquals(List.of(), leaksOf(attempts));
    }

    @Test
    void aWriteInsideAWithQueryIsJudgedAsThePlainWrite() throws Exception {
        // A second helper's pass (2026-12-05): masking followed the triggers, rules and indexes of a statement's own
        // write only, so the same INSERT inside a WITH query under a SELECT returned what a BEFORE trigger set from a
        // replaced function (and stored it), and what a rule's RETURNING computed. And an index built over a function
        // while its body was harmless kept what a replaced body read through a rule, a trigger, a partition's own
        // index, or a CREATE INDEX sent with the replacement in one message.
        seed("am_people");
        String harmless = "CREATE FUNCTION pg_temp.am_g(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'x' || i $$";
        String reads = "CREATE OR REPLACE FUNCTION pg_temp.am_g(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT "
                + "translate(email, " + HIDE + ") FROM public.am_people WHERE id = i $$";
        String[][] attempts = {
                {harmless, "CREATE TEMP TABLE am_w (id int, e text)", "CREATE FUNCTION pg_temp.am_tf() RETURNS trigger "
                        + "LANGUAGE plpgsql AS $$ BEGIN NEW.e := pg_temp.am_g(NEW.id); RETURN NEW; END $$",
                        "CREATE TRIGGER am_tb BEFORE INSERT ON am_w FOR EACH ROW EXECUTE FUNCTION pg_temp.am_tf()", reads,
                        "WITH x AS (INSERT INTO am_w (id) SELECT generate_series(1, 3) RETURNING id, e) SELECT * FROM x",
                        "SELECT * FROM am_w"},
                {harmless, "CREATE TEMP TABLE am_w (id int, e text)", "CREATE TEMP TABLE am_u (id int, e text)",
                        "CREATE RULE am_ru AS ON INSERT TO am_u DO INSTEAD INSERT INTO am_w (id) VALUES (new.id) "
                        + "RETURNING am_w.id, pg_temp.am_g(am_w.id)", reads,
                        "WITH x AS (INSERT INTO am_u SELECT generate_series(1, 3) RETURNING *) SELECT * FROM x"},
                {harmless.replace("STABLE", "IMMUTABLE"), "CREATE TEMP TABLE am_t (id int)",
                        "CREATE INDEX am_i ON am_t (pg_temp.am_g(id), id)", reads.replace("STABLE", "IMMUTABLE"),
                        "WITH x AS (INSERT INTO am_t SELECT generate_series(1, 3) RETURNING id) SELECT count(*) FROM x",
                        harmless.replace("STABLE", "IMMUTABLE").replace("CREATE", "CREATE OR REPLACE"), "VACUUM am_t",
                        "SET enable_seqscan = off", "SET enable_bitmapscan = off",
                        "SELECT id, pg_temp.am_g(id) FROM am_t WHERE pg_temp.am_g(id) > '' ORDER BY id"},
                {harmless.replace("STABLE", "IMMUTABLE"), "CREATE TEMP TABLE am_t (id int)",
                        "INSERT INTO am_t SELECT generate_series(1, 3)", reads.replace("STABLE", "IMMUTABLE")
                        + "; CREATE INDEX am_i ON am_t (pg_temp.am_g(id), id); "
                        + harmless.replace("STABLE", "IMMUTABLE").replace("CREATE", "CREATE OR REPLACE"),
                        "VACUUM am_t", "SET enable_seqscan = off", "SET enable_bitmapscan = off",
                        "SELECT id, pg_temp.am_g(id) FROM am_t WHERE pg_temp.am_g(id) > '' ORDER BY id"},
        };
        assertEquals(List.of(), leaksOf(attempts));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void columnsReadUnderAnAliasListAreNotStoredWhereMaskingDoesNotReach() throws Exception {
        // A second helper's pass over the copy rule above: an alias or WITH query with a column list reads the
        // sensitive columns under plain names (customers AS u(i, e)), so the statement, sensitive all the same, used
        // no sensitive name as a value, and neither write check looked at what it stored: the parked value went
        // into email again, and e-mails and SSNs into a clear note column.
        seed("ai_people");
        String sink = "CREATE TEMP TABLE ai_s (id int, phone text, note text)";
        String parked = "CREATE TEMP TABLE ai_p (id int, ssn text, email text)";
        String hide = "translate(e, " + HIDE + ")";
        String[][] attempts = {
                {parked, "INSERT INTO ai_p (id, ssn) SELECT id, 'x@' || translate(email, " + HIDE + ") FROM ai_people",
                        "UPDATE ai_p SET email = u.x FROM ai_p AS u(i, x) WHERE ai_p.id = u.i", "SELECT email FROM ai_p"},
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM ai_people AS u(i, e)",
                        "SELECT note FROM ai_s"},
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM ai_people u(i, e)",
                        "SELECT note FROM ai_s"},
                {sink, "WITH c(i, e) AS (TABLE ai_people) INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM c",
                        "SELECT note FROM ai_s"},
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM (TABLE ai_people) AS s(i, e)",
                        "SELECT note FROM ai_s"},
                {sink, "MERGE INTO ai_s USING ai_people AS u(i, e) ON ai_s.id = u.i WHEN NOT MATCHED THEN INSERT "
                        + "(id, note) VALUES (u.i, translate(u.e, " + HIDE + "))", "SELECT note FROM ai_s"},
                // A third pass: quoted or unreserved alias names, a qualified relation, and a statement Warden cannot
                // parse (INSERT ... TABLE), which reads every column by no name.
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM (TABLE ai_people) AS \"filter\"(i, e)",
                        "SELECT note FROM ai_s"},
                {sink, "WITH filter(i, e) AS (TABLE ai_people) INSERT INTO ai_s (id, note) SELECT i, " + hide
                        + " FROM filter", "SELECT note FROM ai_s"},
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM public.ai_people u(i, e)",
                        "SELECT note FROM ai_s"},
                {"CREATE TEMP TABLE ai_t (id int, phone text, note text)", "INSERT INTO ai_t TABLE ai_people",
                        "SELECT reverse(note) FROM ai_t"},
                // A fourth: an unreserved word as the alias, without AS.
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM ai_people filter(i, e)",
                        "SELECT note FROM ai_s"},
                {sink, "INSERT INTO ai_s (id, note) SELECT i, " + hide + " FROM ai_people cube(i, e)",
                        "SELECT note FROM ai_s"},
                // A fifth: one name renames a first column holding SSNs; a whole row of a TABLE subquery.
                {"CREATE TEMP TABLE ai_q (ssn text, id int)", "INSERT INTO ai_q (id, ssn) SELECT id, ssn FROM ai_people",
                        sink, "INSERT INTO ai_s (id, note) SELECT 1, reverse(x) FROM (TABLE ai_q) filter(x)",
                        "SELECT note FROM ai_s"},
                {sink, "INSERT INTO ai_s (id, note) SELECT 1, reverse(t::text) FROM (TABLE ai_people) t",
                        "SELECT note FROM ai_s"},
        };
        assertEquals(List.of(), leaksOf(attempts));
    }

    @Test
    void anUpdateFromASubqueryOverSensitiveValuesCannotFillAClearColumn() throws Exception {
        // Attacker pass 12: SET note = s.e names nothing sensitive in the SET list; the e-mails come from a subquery
        // or LATERAL in FROM (or a CTE). The UPDATE stored them, translated, in a clear column of the table whose
        // email is masked, and a later SELECT note returned them in clear.
        seed("au_people");
        direct("ALTER TABLE au_people ADD COLUMN note text");
        String h = "translate(email, " + HIDE + ")";
        String[][] attempts = {
                {"UPDATE au_people p SET note = s.e FROM (SELECT id, " + h + " AS e FROM au_people) s WHERE s.id = p.id",
                        "SELECT note FROM au_people"},
                {"UPDATE au_people p SET note = s.e FROM au_people q, LATERAL (SELECT " + h.replace("email", "q.email")
                        + " AS e) s WHERE q.id = p.id", "SELECT note FROM au_people"},
                {"WITH s AS (SELECT id, " + h + " AS e FROM au_people) UPDATE au_people p SET note = s.e FROM s "
                        + "WHERE s.id = p.id", "SELECT note FROM au_people"},
        };
        assertEquals(List.of(), leaksOf(attempts, "UPDATE au_people SET note = NULL"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a clear value from such a subquery still lands.
            String set = a.query("UPDATE au_people p SET note = s.n FROM (SELECT id, 'n' || id AS n FROM au_people) s "
                    + "WHERE s.id = p.id");
            assertTrue(set.contains("UPDATE 3"), set);
        }
    }

    @Test
    void aFunctionReadingSensitiveValuesCannotFillAClearColumnOfATableWithMaskedOnes() throws Exception {
        // Attacker pass 12: the write names no sensitive column, the function it calls reads them. INSERT ... VALUES
        // (10, f()), SET note = f() and INSERT ... SELECT 10, f() stored translated e-mails in a clear column of
        // the table whose email is masked (or of a temporary table with an email column), and
        // 'a@' || translate(email, '@', '-') in a column the email strategy masks; later reads returned them.
        seed("af_people");
        direct("ALTER TABLE af_people ADD COLUMN note text");
        String all = "CREATE FUNCTION af_f() RETURNS text LANGUAGE sql AS $$SELECT string_agg(translate(email, " + HIDE
                + "), ',') FROM af_people$$";
        String one = "CREATE FUNCTION af_g() RETURNS text LANGUAGE sql AS $$SELECT 'a@' || translate(min(email), '@', "
                + "'-') FROM af_people$$";
        String[][] attempts = {
                {all, "INSERT INTO af_people (id, note) VALUES (10, af_f())", "SELECT note FROM af_people"},
                {all, "UPDATE af_people SET note = af_f()", "SELECT note FROM af_people"},
                {all, "INSERT INTO af_people (id, note) SELECT 10, af_f()", "SELECT note FROM af_people"},
                {all, "CREATE TEMP TABLE af_t (id int, email text, note text)",
                        "INSERT INTO af_t (id, note) VALUES (1, af_f())", "SELECT note FROM af_t"},
                {one, "CREATE TEMP TABLE af_t (email text)", "INSERT INTO af_t (email) VALUES (af_g())",
                        "SELECT email FROM af_t"},
                {one, "CREATE TEMP TABLE af_t (email text)", "INSERT INTO af_t VALUES (af_g()) RETURNING email"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DELETE FROM af_people WHERE id > 3",
                "UPDATE af_people SET note = NULL", "DROP FUNCTION IF EXISTS af_f()", "DROP FUNCTION IF EXISTS af_g()"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a function over clear columns still fills one.
            a.query("CREATE FUNCTION af_ids() RETURNS text LANGUAGE sql AS $$SELECT string_agg(id::text, ',') "
                    + "FROM af_people$$");
            String set = a.query("UPDATE af_people SET note = af_ids() WHERE id = 1");
            assertTrue(set.contains("UPDATE 1"), set);
            a.query("DROP FUNCTION af_ids()");
        }
    }

    // ---- 13. attacker pass 12: session state a sensitive statement leaves for a clear one ----

    @Test
    void theRandomSeedDoesNotCarryASensitiveValue() throws Exception {
        // Attacker pass 12: setseed stores its argument as the session's random() state; random() then returns a
        // function of it that a statement naming nothing sensitive returns in clear, and trying candidates (here
        // a thousand around the first SSN; offline, all of them) finds the SSN.
        seed("sd_people");
        String crack = "CREATE FUNCTION sd_crack(obs float8, lo int, hi int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                + "FOR n IN lo..hi LOOP PERFORM setseed(n / 1e9); IF random() = obs THEN RETURN n; END IF; END LOOP; "
                + "RETURN NULL; END$$";
        String[][] attempts = {
                {crack, "SELECT setseed(replace(ssn, '-', '')::float8 / 1e9) FROM sd_people WHERE id = 1",
                        "SELECT sd_crack(random(), 536228000, 536229000)"},
                {crack, "SELECT 1 FROM sd_people WHERE id = 1 AND setseed(replace(ssn, '-', '')::float8 / 1e9) IS NULL",
                        "SELECT sd_crack(random(), 536228000, 536229000)"},
        };
        assertEquals(List.of(), leaksOf(attempts, "DROP FUNCTION IF EXISTS sd_crack(float8, int, int)"));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: a seed over nothing sensitive is set.
            assertTrue(a.query("SELECT setseed(0.5)").contains("\nC"));
        }
    }

    @Test
    void aCursorsPositionDoesNotCarryASensitiveValue() throws Exception {
        // Attacker pass 12: a PL/pgSQL MOVE takes its count from an expression; a function given a cursor the
        // session declared over generate_series moved it by three digits of an SSN, and a FETCH RELATIVE 0 (the
        // cursor's query names nothing sensitive) returned them in clear, three at a time.
        seed("cm_people");
        String mv = "CREATE FUNCTION cm_mv(c refcursor, n int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                + "MOVE ABSOLUTE n FROM c; RETURN 0; END$$";
        StringBuilder received = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query(mv);
            a.query("BEGIN");
            for (int chunk = 0; chunk < 3; chunk++) {
                a.query("DECLARE c" + chunk + " SCROLL CURSOR FOR SELECT g - 1 FROM generate_series(1, 1000) g");
                a.query("SELECT cm_mv('c" + chunk + "', substr(replace(ssn, '-', ''), " + (1 + 3 * chunk)
                        + ", 3)::int + 1) FROM cm_people WHERE id = 1");
                received.append(firstValue(a.query("FETCH RELATIVE 0 FROM c" + chunk)));
            }
            a.query("ROLLBACK");
            a.query("DROP FUNCTION cm_mv(refcursor, int)");
        }
        assertNoSeed(received.toString());
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: moving a cursor by a clear value still works.
            a.query(mv);
            a.query("BEGIN");
            a.query("DECLARE k SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10) g");
            a.query("SELECT cm_mv('k', id + 4) FROM cm_people WHERE id = 1");
            String row = a.query("FETCH RELATIVE 0 FROM k");
            assertTrue(row.contains("\nD") && row.contains("5"), row);
            a.query("ROLLBACK");
        }
    }

    @Test
    void aLargeObjectReadDoesNotMoveItsDescriptorByASensitiveValue() throws Exception {
        // Attacker pass 12: loread(fd, n) moves the descriptor's position by n (up to the object's size, set by a
        // clear lo_truncate before); lo_tell then returned three digits of an SSN per read, in clear.
        seed("lr_people");
        StringBuilder received = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("BEGIN");
            for (int chunk = 0; chunk < 3; chunk++) {
                a.query("SELECT lo_open(lo_creat(-1), 393216)");
                a.query("SELECT lo_truncate(" + chunk + ", 2000)");
                a.query("SELECT length(loread(" + chunk + ", substr(replace(ssn, '-', ''), " + (1 + 3 * chunk)
                        + ", 3)::int + 1000)) FROM lr_people WHERE id = 1");
                received.append(firstValue(a.query("SELECT lo_tell(" + chunk + ") - 1000")));
            }
            a.query("ROLLBACK");
        }
        assertNoSeed(received.toString());
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Precise: loread over nothing sensitive reads.
            a.query("BEGIN");
            a.query("SELECT lo_from_bytea(424243, 'abc')");
            a.query("SELECT lo_open(424243, 262144)");
            assertTrue(a.query("SELECT encode(loread(0, 3), 'escape')").contains("abc"));
            a.query("ROLLBACK");
        }
    }

    // ---- a migration made outside Warden, between a statement's Parse and its execution ----

    private static String plpgsqlFunction(String name, String body) {
        return "CREATE OR REPLACE FUNCTION " + name + "() RETURNS text LANGUAGE plpgsql AS $$BEGIN " + body
                + " END$$";
    }

    /** Binds the named statement to the unnamed portal, describes and runs it. */
    private static String runNamed(MaskedAttacker a, String statement) throws IOException {
        return a.runNamed(statement);
    }

    private static void parseNamed(MaskedAttacker a, String statement, String sql) throws IOException {
        a.send(new FrontendMessage.Parse(statement, sql, List.of()));
        a.send(new FrontendMessage.Sync());
        a.untilReady();
    }

    /**
     * A migration run outside Warden (a direct connection) replaces a function that a masked session's prepared
     * statements call, after Warden judged them clear: the server runs the new body at their next execution. Before,
     * masking kept what it judged at Parse (or at SQL PREPARE) for as long as the session lived: the new body's
     * e-mail addresses came back in clear at every later execution, while the same text sent afresh was masked, and
     * a body that now handed them to {@code set_config} ran; a cursor's FETCH, judged by its DECLARE, returned them
     * too. Warden sees DDL made outside it when its catalog entries expire (5 s), which the test waits out.
     */
    @Test
    void aPreparedStatementRunsWithTheBodiesItCallsNowAndIsMaskedByThem() throws Exception {
        seed("mm_people");
        String clear = "RETURN 'x';";
        for (String f : List.of("mm_f", "mm_g", "mm_h", "mm_j", "mm_k", "mm_c")) {
            direct(plpgsqlFunction(f, clear));
        }
        String read = "(SELECT translate(string_agg(email, ','), " + HIDE + ") FROM mm_people)";
        try (MaskedAttacker a = new MaskedAttacker(warden); MaskedAttacker b = new MaskedAttacker(warden)) {
            b.query("BEGIN");
            b.query("DECLARE c CURSOR FOR SELECT mm_c() AS v FROM generate_series(1, 3)");
            assertEquals("x", firstValue(b.query("FETCH 1 FROM c")));
            parseNamed(a, "f", "SELECT mm_f() AS v");
            parseNamed(a, "h", "SELECT mm_h() AS v");
            a.query("PREPARE g AS SELECT mm_g() AS v");
            a.query("PREPARE j AS SELECT mm_j() AS v");
            a.query("PREPARE k AS SELECT mm_k() AS v");
            // Judged clear, and answered in clear.
            assertEquals("x", firstValue(runNamed(a, "f")));
            assertEquals("x", firstValue(runNamed(a, "h")));
            assertEquals("x", firstValue(a.query("EXECUTE g")));
            assertEquals("x", firstValue(a.query("EXECUTE j")));
            assertEquals("x", firstValue(runNamed(a, "k")));

            direct(plpgsqlFunction("mm_f", "RETURN " + read + ";"));
            direct(plpgsqlFunction("mm_g", "RETURN " + read + ";"));
            direct(plpgsqlFunction("mm_h", "PERFORM set_config('mm.carried', " + read + ", false); RETURN 'y';"));
            direct(plpgsqlFunction("mm_j", "PERFORM set_config('mm.kept', " + read + ", false); RETURN 'y';"));
            direct(plpgsqlFunction("mm_c", "RETURN " + read + ";"));
            Thread.sleep(5_500); // past the catalog's entries (see the class comment)

            String protocol = runNamed(a, "f");
            String sql = a.query("EXECUTE g");
            String handedOff = runNamed(a, "h");
            String handedOffBySql = a.query("EXECUTE j");
            String carried = a.query("SELECT current_setting('mm.carried', true) AS v, current_setting('mm.kept', true) AS w");
            // The cursor's plan is its DECLARE's, but its next row calls the new body (once the backend has taken
            // the catalog's invalidation, which a lock does).
            b.query("LOCK TABLE mm_people IN ACCESS SHARE MODE");
            String fetched = b.query("FETCH 1 FROM c");
            // The cursor's portal run by name, as a protocol Execute.
            b.send(new FrontendMessage.Execute("c", 1));
            b.send(new FrontendMessage.Sync());
            fetched += b.untilReady();
            String received = protocol + sql + handedOff + handedOffBySql + carried + fetched;
            assertEquals(List.of(), seedsIn(received), received);
            assertTrue(protocol.contains("[redacted]") && sql.contains("[redacted]")
                    && fetched.split("\\[redacted]", -1).length == 3, protocol + sql + fetched);
            assertTrue(handedOff.contains("masking-handoff") && handedOffBySql.contains("masking-handoff"),
                    handedOff + handedOffBySql);
            // A statement whose function the migration left alone still answers in clear; the text sent afresh
            // is masked as its prepared form is.
            assertEquals("x", firstValue(runNamed(a, "k")));
            assertTrue(a.query("SELECT mm_f() AS v").contains("[redacted]"));
        } finally {
            direct("DROP FUNCTION IF EXISTS mm_f(), mm_g(), mm_h(), mm_j(), mm_k(), mm_c()");
        }
    }

    /**
     * Generated migrations (seed printed; {@code -Dwarden.fuzz.migrations=N -Dwarden.fuzz.seed=S} for a longer run):
     * each case prepares a call of a function of its own that returns a constant, by Parse or by SQL PREPARE, in one
     * of {@link #BODY_CALLS}' forms, runs it (clear), and has the function replaced outside Warden by one of
     * {@link #BODY_READS}. After the catalog's entries expire, no execution returns a seeded value.
     */
    @Test
    void generatedMigrationsOutsideWardenLeakNothingThroughPreparedStatements() throws Exception {
        int cases = Integer.getInteger("warden.fuzz.migrations", 8);
        long seed = Long.getLong("warden.fuzz.seed", 20261203L);
        java.util.Random random = new java.util.Random(seed);
        seed("mg_people");
        List<String> calls = BODY_CALLS.stream().filter(c -> !c.startsWith("COPY")).toList();
        List<String> leaked = new ArrayList<>();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            List<String> runs = new ArrayList<>();
            List<String> reads = new ArrayList<>();
            for (int i = 0; i < cases; i++) {
                String function = "mg_f" + i;
                direct(plpgsqlFunction(function, "RETURN 'x';"));
                String call = calls.get(random.nextInt(calls.size())).replace("tp_f", function);
                String run;
                if (random.nextBoolean()) {
                    parseNamed(a, "g" + i, call);
                    run = "protocol:g" + i;
                } else {
                    a.query("PREPARE g" + i + " AS " + call);
                    run = "EXECUTE g" + i;
                }
                runs.add(run + " / " + call);
                String first = run.startsWith("protocol:") ? runNamed(a, "g" + i) : a.query(run);
                // Answered in clear: a row, nothing redacted, nothing refused.
                assertTrue(first.contains("\nD") && !first.contains("[redacted]") && !refused(first),
                        call + ": " + first);
                reads.add(BODY_READS.get(random.nextInt(BODY_READS.size())).replace("tp_people", "mg_people")
                        .replace("~", HIDE));
            }
            for (int i = 0; i < cases; i++) {
                direct(plpgsqlFunction("mg_f" + i, "RETURN " + reads.get(i) + ";"));
            }
            Thread.sleep(5_500); // past the catalog's entries
            for (int i = 0; i < cases; i++) {
                String answer = runs.get(i).startsWith("protocol:") ? runNamed(a, "g" + i) : a.query("EXECUTE g" + i);
                List<String> seeds = seedsIn(answer);
                if (!seeds.isEmpty()) {
                    leaked.add(runs.get(i) + " after RETURN " + reads.get(i) + ": " + seeds);
                }
            }
        } finally {
            for (int i = 0; i < cases; i++) {
                direct("DROP FUNCTION IF EXISTS mg_f" + i + "()");
            }
        }
        System.out.printf("generated migrations: seed=%d cases=%d%n", seed, cases);
        assertEquals(List.of(), leaked, "seed " + seed);
    }

    /**
     * The same migration, on a table a masked session's prepared INSERT writes: its trigger's function, harmless when
     * the INSERT was prepared, is replaced to copy e-mail addresses into a table no rule masks, which the session then
     * reads. Before, both executions (protocol and SQL EXECUTE) ran and the copy held every address; a fresh INSERT was
     * refused. The write is now screened again, with what its table runs then, whenever the catalog moved on.
     */
    @Test
    void aPreparedWriteWhoseTriggerAMigrationReplacedLaundersNothing() throws Exception {
        seed("mt_people");
        direct("CREATE TABLE mt_own (v text)");
        direct("CREATE TABLE mt_copy (e text)");
        direct("GRANT ALL ON mt_own, mt_copy TO PUBLIC");
        direct("CREATE FUNCTION mt_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
        direct("CREATE TRIGGER mt_t AFTER INSERT ON mt_own FOR EACH ROW EXECUTE FUNCTION mt_f()");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            parseNamed(a, "w", "INSERT INTO mt_own VALUES ('x')");
            a.query("PREPARE wq AS INSERT INTO mt_own VALUES ('y')");
            String first = runNamed(a, "w") + a.query("EXECUTE wq");
            assertTrue(first.split("INSERT 0 1", -1).length == 3, first);
            direct("CREATE OR REPLACE FUNCTION mt_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO mt_copy "
                    + "SELECT translate(email, " + HIDE + ") FROM mt_people; RETURN NEW; END$$");
            Thread.sleep(5_500); // past the catalog's entries
            String protocol = runNamed(a, "w");
            String sql = a.query("EXECUTE wq");
            String copied = a.query("SELECT count(*) AS n FROM mt_copy");
            assertNoSeed(protocol + sql + copied);
            assertTrue(protocol.contains("masking-handoff") && sql.contains("masking-handoff"), protocol + sql);
            assertEquals("0", firstValue(copied), copied);
        } finally {
            direct("DROP TABLE mt_own, mt_copy");
            direct("DROP FUNCTION mt_f()");
        }
    }

    /**
     * The same migration, on a view a masked session's prepared statements read: replaced outside Warden to compute
     * e-mail addresses where it returned a constant. Before, both executions (protocol and SQL EXECUTE) returned them
     * in clear while the same text sent afresh was masked; a prepared statement is now judged again by the
     * definitions the catalog holds when it moved on (with the search_path it was judged with), the stricter kept.
     */
    @Test
    void aPreparedReadOfAViewAMigrationReplacedIsMasked() throws Exception {
        seed("mr_people");
        direct("CREATE VIEW mr_v AS SELECT 'x'::text AS e");
        direct("GRANT ALL ON mr_v TO PUBLIC");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            parseNamed(a, "v", "SELECT e FROM mr_v");
            a.query("PREPARE vq AS SELECT e FROM mr_v");
            assertEquals("x", firstValue(runNamed(a, "v")));
            assertEquals("x", firstValue(a.query("EXECUTE vq")));
            direct("CREATE OR REPLACE VIEW mr_v AS SELECT translate(string_agg(email, ','), " + HIDE + ") AS e "
                    + "FROM mr_people");
            Thread.sleep(5_500); // past the catalog's entries
            String protocol = runNamed(a, "v");
            String sql = a.query("EXECUTE vq");
            assertNoSeed(protocol + sql);
            assertTrue(protocol.contains("[redacted]") && sql.contains("[redacted]"), protocol + sql);
        } finally {
            direct("DROP VIEW mr_v");
        }
    }

    /** The statements of {@code plants} that {@code a} ran without a masking-handoff refusal, with the answer. */
    private static List<String> notRefusedAsHandoff(MaskedAttacker a, List<String> plants) throws Exception {
        List<String> notRefused = new ArrayList<>();
        for (String plant : plants) {
            String answer = a.query(plant);
            if (!answer.contains("42501") || !answer.contains("masking-handoff")) {
                notRefused.add(plant + " -> " + answer);
            }
        }
        return notRefused;
    }

    /** Runs {@code sql} as an identity the policy exempts from masking (group pii-readers). */
    private static void asExempt(String sql) throws SQLException {
        String token = MaskedAttacker.exemptToken(warden);
        try (Connection c = warden.connect("dev", WardenHarness.USER, token, "");
             Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    // ---- a115 F1: a masked identity's trigger runs inside an exempt identity's writes ----

    /**
     * Attacker pass of 2026-12-06 (a115, F1): a masked identity with the TRIGGER privilege put a trigger on a table
     * whose function copied {@code NEW::text} (translated past value detection) into a table of its own; an exempt
     * identity's ordinary UPDATE then copied the whole row, in clear, where the masked identity read it. Warden
     * judged a trigger's copying only for masked writers.
     */
    @Test
    void aMaskedIdentityCannotPlantATriggerThatRunsInAnExemptWritersSession() throws Exception {
        seed("p23_people");
        directAll("CREATE TABLE p23_copy (e text)", "GRANT ALL ON p23_copy TO PUBLIC",
                "CREATE TABLE p23_other (id int)", "GRANT ALL ON p23_other TO PUBLIC",
                "CREATE SEQUENCE p23_seq MINVALUE 0", "GRANT ALL ON SEQUENCE p23_seq TO PUBLIC",
                "INSERT INTO p23_other VALUES (1)",
                // Made by the owner: a masked identity's own trigger function that reads the masked table is
                // refused where it is defined (it hands what it reads to the firing rows).
                "CREATE FUNCTION p23_g() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO p23_copy SELECT "
                        + "translate(reverse(email || ssn), " + HIDE + ") FROM p23_people; RETURN NEW; END$$",
                // Reads only a clear view now; its owner may replace the view with one over p23_people later.
                "CREATE VIEW p23_view AS SELECT 'x'::text AS e", "GRANT ALL ON p23_view TO PUBLIC",
                "CREATE FUNCTION p23_v() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO p23_copy SELECT e "
                        + "FROM p23_view; RETURN NEW; END$$");
        String copyRow = "CREATE FUNCTION p23_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO p23_copy "
                + "VALUES (translate(reverse(NEW::text), " + HIDE + ")); RETURN NEW; END$$";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Defining a trigger function attaches it nowhere: still allowed.
            assertFalse(refused(a.query(copyRow)));
            assertFalse(refused(a.query("CREATE FUNCTION p23_id() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "INSERT INTO p23_copy VALUES (NEW.id::text); RETURN NEW; END$$")));
            assertFalse(refused(a.query("CREATE FUNCTION p23_cond(text) RETURNS boolean LANGUAGE sql AS "
                    + "$$SELECT true$$")));
            assertFalse(refused(a.query("CREATE FUNCTION p23_l() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "INSERT INTO p23_copy VALUES (translate(reverse(p23_l.new::text), " + HIDE + ")); RETURN NEW; "
                    + "END$$")));
            assertFalse(refused(a.query("CREATE TABLE p23_nt (x int)")));
            assertFalse(refused(a.query("CREATE FUNCTION p23_quiet() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "RETURN NULL; END$$")));
            assertEquals(List.of(), notRefusedAsHandoff(a, List.of(
                    // the helper's statement: a trigger of the masked table, copying the row it is given
                    "CREATE TRIGGER p23_t BEFORE UPDATE ON p23_people FOR EACH ROW EXECUTE FUNCTION p23_f()",
                    "CREATE OR REPLACE TRIGGER p23_t AFTER UPDATE ON p23_people FOR EACH ROW EXECUTE FUNCTION p23_f()",
                    "CREATE CONSTRAINT TRIGGER p23_t AFTER UPDATE ON p23_people DEFERRABLE FOR EACH ROW "
                            + "EXECUTE FUNCTION p23_f()",
                    // a trigger of a clear table whose function reads the masked one, or a name that may come to
                    // mean it (CREATE OR REPLACE VIEW p23_view AS SELECT email AS e FROM p23_people)
                    "CREATE TRIGGER p23_t AFTER UPDATE ON p23_other FOR EACH ROW EXECUTE FUNCTION p23_g()",
                    "CREATE TRIGGER p23_t AFTER UPDATE ON p23_other FOR EACH ROW EXECUTE FUNCTION p23_v()",
                    // a116 B1: PL/pgSQL's label named like the function holds the row (p23_l.new)
                    "CREATE TRIGGER p23_t AFTER UPDATE ON p23_people FOR EACH ROW EXECUTE FUNCTION p23_l()",
                    // a116 B2: a transition table, under a name that also names a clear table (the body could be
                    // replaced with INSERT ... SELECT * FROM p23_nt afterwards)
                    "CREATE TRIGGER p23_t AFTER UPDATE ON p23_people REFERENCING NEW TABLE AS p23_nt FOR EACH "
                            + "STATEMENT EXECUTE FUNCTION p23_quiet()",
                    // a116 B4: a function the catalog Warden reads does not have yet (one text, one transaction)
                    "BEGIN; CREATE FUNCTION p23_tx() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO p23_copy "
                            + "VALUES (translate(reverse(NEW::text), " + HIDE + ")); RETURN NEW; END$$; CREATE TRIGGER "
                            + "p23_t AFTER UPDATE ON p23_people FOR EACH ROW EXECUTE FUNCTION p23_tx(); COMMIT",
                    // the trigger's own condition runs over the row, with the writer's values
                    "CREATE TRIGGER p23_w AFTER UPDATE ON p23_people FOR EACH ROW WHEN "
                            + "(pg_notify('p23', NEW.email) IS NULL) EXECUTE FUNCTION p23_id()",
                    "CREATE TRIGGER p23_w AFTER UPDATE ON p23_people FOR EACH ROW WHEN "
                            + "(p23_cond(NEW.email)) EXECUTE FUNCTION p23_id()",
                    // a117: a built-in in the condition that keeps what it is given (setval), over the whole row
                    "CREATE TRIGGER p23_w BEFORE UPDATE ON p23_people FOR EACH ROW WHEN (setval('p23_seq', "
                            + "regexp_replace(split_part(NEW::text, ',', 3), '\\D', '', 'g')::bigint) IS NOT NULL) "
                            + "EXECUTE FUNCTION p23_id()",
                    "CREATE RULE p23_r AS ON UPDATE TO p23_people DO ALSO INSERT INTO p23_copy VALUES "
                            + "(translate(reverse(NEW.email), " + HIDE + "))",
                    "CREATE SCHEMA p23_s CREATE TABLE x (a int) CREATE TRIGGER x_t BEFORE INSERT ON x FOR EACH ROW "
                            + "EXECUTE FUNCTION p23_g()",
                    // in a routine's body: its statements are judged where it is defined (and where it is called)
                    "CREATE FUNCTION p23_plant() RETURNS void LANGUAGE plpgsql AS $$BEGIN CREATE TRIGGER p23_t "
                            + "BEFORE UPDATE ON p23_people FOR EACH ROW EXECUTE FUNCTION p23_f(); END$$")));
        }
        // Nothing was installed: an exempt identity's writes copy nothing.
        asExempt("UPDATE p23_people SET id = id");
        asExempt("UPDATE p23_other SET id = id");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String copied = a.query("SELECT count(*) FROM p23_copy");
            assertTrue(copied.contains("\nD") && copied.contains("0"), copied);
            // An audit trigger that keeps only the clear id, on a condition over clear columns: made, and it runs.
            String audit = a.query("CREATE TRIGGER p23_ok AFTER UPDATE ON p23_people FOR EACH ROW WHEN "
                    + "(OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION p23_id()");
            assertFalse(audit.contains("ERROR"), audit);
        }
        asExempt("UPDATE p23_people SET id = id + 10 WHERE id = 1");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String copied = a.query("SELECT string_agg(e, ',') FROM p23_copy");
            assertTrue(copied.contains("11"), copied);
            assertEquals(List.of(), seedsIn(copied));
        }
    }

    @Test
    void aMaskedIdentityKeepsTriggersOnWhatItReadsInClear() throws Exception {
        seed("p23c_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : List.of("CREATE TABLE p23c_own (id int, note text)",
                    "CREATE FUNCTION p23c_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := 'seen'; "
                            + "RETURN NEW; END$$",
                    "CREATE TRIGGER p23c_t BEFORE INSERT ON p23c_own FOR EACH ROW EXECUTE FUNCTION p23c_touch()",
                    "ALTER TABLE p23c_own DISABLE TRIGGER p23c_t", "ALTER TABLE p23c_own ENABLE TRIGGER p23c_t",
                    "CREATE RULE p23c_r AS ON DELETE TO p23c_own DO INSTEAD NOTHING",
                    "INSERT INTO p23c_own (id) VALUES (1)")) {
                String answer = a.query(sql);
                assertFalse(answer.contains("ERROR"), sql + " -> " + answer);
            }
            assertTrue(a.query("SELECT note FROM p23c_own").contains("seen"));
            // The masked table's own: refused, with the relation named.
            String refused = a.query("CREATE TRIGGER p23c_t2 BEFORE INSERT ON public.p23c_people FOR EACH ROW "
                    + "EXECUTE FUNCTION p23c_touch()");
            assertTrue(refused.contains("42501") && refused.contains("p23c_people"), refused);
        }
    }

    @Test
    void aMaskedIdentityCannotSwitchOnOrReplaceTheCodeOfATriggerAnotherMade() throws Exception {
        seed("p23b_people");
        // The owner's audit trigger, disabled for now, and a harmless trigger function the masked identity made
        // (a new trigger function attaches to nothing), which the owner's trigger runs.
        directAll("CREATE TABLE p23b_copy (e text)", "GRANT ALL ON p23b_copy TO PUBLIC",
                "CREATE FUNCTION p23b_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO p23b_copy VALUES "
                        + "(translate(reverse(NEW::text), " + HIDE + ")); RETURN NEW; END$$",
                "CREATE TRIGGER p23b_t AFTER UPDATE ON p23b_people FOR EACH ROW EXECUTE FUNCTION p23b_f()",
                "ALTER TABLE p23b_people DISABLE TRIGGER p23b_t");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertFalse(refused(a.query("CREATE FUNCTION p23b_quiet() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN RETURN NEW; END$$")));
        }
        direct("CREATE TRIGGER p23b_q AFTER UPDATE ON p23b_people FOR EACH ROW EXECUTE FUNCTION p23b_quiet()");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertEquals(List.of(), notRefusedAsHandoff(a, List.of("ALTER TABLE p23b_people ENABLE TRIGGER p23b_t",
                    // another role's routine, even with an inert body: its callers' values are not this identity's
                    "CREATE OR REPLACE FUNCTION p23b_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                    "ALTER TABLE p23b_people ENABLE ALWAYS TRIGGER p23b_t",
                    "ALTER TABLE p23b_people ENABLE /* x */ REPLICA TRIGGER p23b_t",
                    "CREATE OR REPLACE FUNCTION p23b_quiet() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO "
                            + "p23b_copy VALUES (translate(reverse(NEW::text), " + HIDE + ")); RETURN NEW; END$$",
                    // a value of one column set into another of the row the writer stores
                    "CREATE OR REPLACE FUNCTION p23b_quiet() RETURNS pg_catalog.trigger LANGUAGE plpgsql AS $$BEGIN "
                            + "NEW.id := length(NEW.email); RETURN NEW; END$$",
                    "CREATE OR REPLACE FUNCTION p23b_quiet() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                            + "SELECT NEW.ssn INTO NEW.email; RETURN NEW; END$$")));
            // Switching one off takes nothing from anyone, and an inert body hands nothing on: allowed.
            assertFalse(refused(a.query("ALTER TABLE p23b_people DISABLE TRIGGER p23b_q")));
            assertFalse(refused(a.query("CREATE OR REPLACE FUNCTION p23b_quiet() RETURNS trigger "
                    + "LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$")));
        }
        asExempt("UPDATE p23b_people SET id = id");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertEquals(List.of(), seedsIn(a.query("SELECT string_agg(e, ',') FROM p23b_copy")));
        }
        // The same statements from an exempt identity run: the rule is for masked identities only.
        asExempt("ALTER TABLE p23b_people ENABLE TRIGGER p23b_t");
        asExempt("UPDATE p23b_people SET id = id WHERE id = 1");
        try (Connection c = warden.direct(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT count(*) FROM p23b_copy")) {
            assertTrue(rs.next());
            assertEquals(1, rs.getInt(1));
        }
    }
    @Test
    void aMaskedIdentityCannotReplaceAFunctionThatStoredCodeCallsWithOneThatReadsMaskedValues() throws Exception {
        // Found after a116 (same class as F1): a column DEFAULT calling the masked identity's function, made while
        // the function returned 'x'; the function then replaced to read the seeded e-mails. An exempt identity's
        // INSERT stored them in clear in the masked identity's table (value detection missed them reversed).
        seed("p24_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : List.of("CREATE FUNCTION p24_v() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$",
                    "CREATE TABLE p24_own (id int, x text DEFAULT p24_v())", "GRANT ALL ON p24_own TO PUBLIC",
                    "CREATE OR REPLACE FUNCTION p24_v() RETURNS text LANGUAGE sql AS $$SELECT 'y'::text$$")) {
                String answer = a.query(sql);
                assertFalse(answer.contains("ERROR"), sql + " -> " + answer);
            }
            assertEquals(List.of(), notRefusedAsHandoff(a, List.of("CREATE OR REPLACE FUNCTION p24_v() RETURNS text "
                    + "LANGUAGE sql AS $$SELECT translate(reverse(string_agg(email, ',')), " + HIDE + ") FROM "
                    + "p24_people$$", "/* x */ create or replace function p24_v() returns text language plpgsql as "
                    + "$$BEGIN RETURN (SELECT reverse(string_agg(ssn, ',')) FROM p24_people); END$$")));
        }
        asExempt("INSERT INTO p24_own (id) VALUES (1)");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String stored = a.query("SELECT x FROM p24_own");
            assertTrue(stored.contains("\nD") && stored.contains("y"), stored);
            assertEquals(List.of(), seedsIn(stored));
        }
    }

    /**
     * Attacker pass a118. (1) A masked identity's {@code public.concat(VARIADIC text[])} took over an exempt
     * identity's own {@code SELECT concat(email, ssn) ...} (PostgreSQL picks the better-matching argument types over
     * {@code pg_catalog.concat(VARIADIC "any")}) and stored every value in the masked identity's table; an operator
     * named {@code =} refused every statement with {@code =} for everyone. (2) Stored code calls a name, resolved
     * when it runs: a function made (not replaced) under a name a DEFAULT's function calls, after the old one was
     * dropped or renamed, read the masked table in the masked identity's own INSERT.
     */
    @Test
    void aMaskedIdentityCannotShadowABuiltInOrSwapTheCodeStoredCodeCalls() throws Exception {
        seed("p25_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : List.of("CREATE TABLE p25_loot (v text)", "GRANT ALL ON p25_loot TO PUBLIC",
                    "CREATE FUNCTION p25_keep(t text) RETURNS text LANGUAGE sql AS $$INSERT INTO p25_loot VALUES "
                            + "(translate(reverse(t), " + HIDE + ")) RETURNING t$$",
                    "CREATE FUNCTION p25_helper() RETURNS text LANGUAGE sql AS $$SELECT 'ok'::text$$",
                    "CREATE FUNCTION p25_note() RETURNS text LANGUAGE sql AS $$SELECT p25_helper()$$",
                    "CREATE TABLE p25_notes (id int, note text DEFAULT p25_note())",
                    // in the temporary schema: never found by an unqualified call
                    "CREATE FUNCTION pg_temp.concat(VARIADIC a text[]) RETURNS text LANGUAGE sql AS "
                            + "$$SELECT 'x'::text$$")) {
                String answer = a.query(sql);
                assertFalse(answer.contains("ERROR"), sql + " -> " + answer);
            }
            assertEquals(List.of(), notRefusedAsHandoff(a, List.of(
                    "CREATE FUNCTION public.concat(VARIADIC a text[]) RETURNS text LANGUAGE sql AS "
                            + "$$SELECT p25_keep(array_to_string(a, ''))$$",
                    "create or replace function \"concat_ws\"(sep text, variadic a text[]) returns text language sql "
                            + "as $$SELECT p25_keep(array_to_string(a, sep))$$",
                    "CREATE FUNCTION p25_lower(text) RETURNS text LANGUAGE sql AS $$SELECT p25_keep($1)$$; "
                            + "ALTER FUNCTION p25_lower(text) RENAME TO lower",
                    "CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = texteq)",
                    "CREATE AGGREGATE public.max(text) (SFUNC = textcat, STYPE = text)",
                    // (2): made again, or made to be renamed, under the name stored code calls
                    "CREATE FUNCTION p25_dump() RETURNS text LANGUAGE sql AS $$SELECT translate(string_agg(email "
                            + "|| ssn, ','), " + HIDE + ") FROM p25_people$$",
                    "DROP FUNCTION p25_helper(); CREATE FUNCTION p25_helper() RETURNS text LANGUAGE sql AS "
                            + "$$SELECT translate(string_agg(email || ssn, ','), " + HIDE + ") FROM p25_people$$")));
            a.query("INSERT INTO p25_notes (id) VALUES (1)");
        }
        asExempt("SELECT concat(email, ' ', ssn), concat_ws(',', email, ssn), lower(email) FROM p25_people");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            StringBuilder stored = new StringBuilder();
            for (String q : List.of("SELECT coalesce(string_agg(v, ','), '') FROM p25_loot",
                    "SELECT coalesce(string_agg(note, ','), '') FROM p25_notes")) {
                try (var rs = s.executeQuery(q)) {
                    rs.next();
                    stored.append(rs.getString(1)).append('\n');
                }
            }
            assertEquals(List.of(), seedsIn(stored.toString()), stored.toString());
        }
    }

    /**
     * After a118: the rule against taking over pg_catalog's names knew only pg_catalog's. An extension installs its
     * functions in {@code public} (pgcrypto's {@code digest(text, text)}); a masked identity's {@code
     * public.digest(varchar, text)} matches a varchar argument better, and an exempt identity's {@code digest(...)}
     * over a masked table then ran it. The extension is made after Warden first read the names (through Warden,
     * and the names are read again).
     */
    @Test
    void aMaskedIdentityCannotOverloadAnExtensionsFunction() throws Exception {
        seed("p27_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Warden reads the names once before this (a routine made by a masked identity), without pgcrypto.
            for (String sql : List.of("CREATE TABLE p27_loot (v text)", "GRANT ALL ON p27_loot TO PUBLIC",
                    "CREATE FUNCTION p27_keep(t text) RETURNS text LANGUAGE sql AS $$INSERT INTO p27_loot VALUES "
                            + "(translate(reverse(t), " + HIDE + ")) RETURNING t$$")) {
                String answer = a.query(sql);
                assertFalse(answer.contains("ERROR"), sql + " -> " + answer);
            }
            asExempt("CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public");
            try {
                assertEquals(List.of(), notRefusedAsHandoff(a, List.of(
                        "CREATE FUNCTION public.digest(t varchar, alg text) RETURNS bytea LANGUAGE sql AS "
                                + "$$SELECT convert_to(p27_keep(t), 'UTF8')$$",
                        "CREATE FUNCTION p27_hmac(t varchar, k text, alg text) RETURNS bytea LANGUAGE sql AS "
                                + "$$SELECT convert_to(p27_keep(t), 'UTF8')$$; "
                                + "ALTER FUNCTION p27_hmac(varchar, text, text) RENAME TO hmac")));
                asExempt("SELECT digest(email::varchar, 'sha256'), hmac(ssn::varchar, 'k', 'sha256') FROM p27_people");
                assertNoSeedStoredIn("p27_loot");
            } finally {
                directAll("DROP FUNCTION IF EXISTS public.digest(varchar, text)",
                        "DROP FUNCTION IF EXISTS public.hmac(varchar, text, text)", "DROP EXTENSION IF EXISTS pgcrypto");
            }
        }
    }

    /**
     * Not only pg_catalog's and extensions' names: a routine another role owns (here a migration's, made outside
     * Warden) is taken over the same way by a masked identity's overload with a better-matching argument type, or
     * by its replacement where the login may replace it. Its own routines' names stay its own (an overload and a
     * replacement of one the session's login owns).
     */
    @Test
    void aMaskedIdentityCannotOverloadAnotherRolesFunction() throws Exception {
        seed("p28_people");
        direct("CREATE FUNCTION public.p28_fmt(t text) RETURNS text LANGUAGE sql AS $$SELECT upper(t)$$");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : List.of("CREATE TABLE p28_loot (v text)", "GRANT ALL ON p28_loot TO PUBLIC",
                    "CREATE FUNCTION p28_keep(t text) RETURNS text LANGUAGE sql AS $$INSERT INTO p28_loot VALUES "
                            + "(translate(reverse(t), " + HIDE + ")) RETURNING t$$",
                    "CREATE FUNCTION p28_keep(t int) RETURNS text LANGUAGE sql AS $$SELECT t::text$$",
                    "CREATE OR REPLACE FUNCTION p28_keep(t int) RETURNS text LANGUAGE sql AS $$SELECT (t + 1)::text$$")) {
                String answer = a.query(sql);
                assertFalse(answer.contains("ERROR"), sql + " -> " + answer);
            }
            try {
                assertEquals(List.of(), notRefusedAsHandoff(a, List.of(
                        "CREATE FUNCTION public.p28_fmt(t varchar) RETURNS text LANGUAGE sql AS "
                                + "$$SELECT p28_keep(t)$$",
                        // replaced in place (the login may: here a superuser; elsewhere a member of the owner)
                        "CREATE OR REPLACE FUNCTION public.p28_fmt(t text) RETURNS text LANGUAGE sql AS "
                                + "$$SELECT p28_keep(t)$$",
                        "CREATE FUNCTION p28_other(t varchar) RETURNS text LANGUAGE sql AS $$SELECT p28_keep(t)$$; "
                                + "ALTER FUNCTION p28_other(varchar) RENAME TO p28_fmt")));
                asExempt("SELECT p28_fmt(email::varchar), p28_fmt(ssn::varchar) FROM p28_people");
                assertNoSeedStoredIn("p28_loot");
            } finally {
                directAll("DROP FUNCTION IF EXISTS public.p28_fmt(varchar)", "DROP FUNCTION IF EXISTS p28_other(varchar)",
                        "DROP FUNCTION public.p28_fmt(text)");
            }
        }
    }

    /** No seed in the values of {@code table}'s column {@code v}, read as the superuser. */
    private static void assertNoSeedStoredIn(String table) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT coalesce(string_agg(v, ','), '') FROM " + table)) {
            rs.next();
            assertEquals(List.of(), seedsIn(rs.getString(1)), rs.getString(1));
        }
    }

    private static void directAll(String... sql) throws SQLException {
        for (String q : sql) {
            direct(q);
        }
    }
}
