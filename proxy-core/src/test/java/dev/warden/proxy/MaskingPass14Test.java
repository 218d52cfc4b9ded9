package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.io.IOException;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 14 over masking, in {@link MaskingRedTeamTest}'s manner: each test seeds distinctive PII in a table
 * of its own, runs the attack as a masked identity through Warden and searches every byte the client received
 * for the seeded values, in any case, without separators, reversed, and in the forms the attack decodes (a
 * character per statement, a number). Each test says what leaked before its fix, and checks that a harmless
 * neighbour of the attack still runs as it did.
 */
class MaskingPass14Test {

    static WardenHarness warden;
    /** Masks as {@link #warden} does, with {@code protect_filters} on. */
    static WardenHarness filtering;


    /** Seeds hide from value detection once {@code @}, {@code .} and {@code -} become spaces. */
    private static final String HIDE = "'@.-', '   '";

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        filtering = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  protect_filters: true
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
        filtering.close();
    }

    /** A table {@code name (id, email, ssn)} holding the seeded PII, readable by everyone. */
    private static void seed(String name) throws SQLException {
        seed(warden, name);
    }

    private static void seed(WardenHarness w, String name) throws SQLException {
        MaskedAttacker.seed(w, name);
    }

    private static void direct(String sql) throws SQLException {
        direct(warden, sql);
    }

    private static void direct(WardenHarness w, String sql) throws SQLException {
        try (Connection c = w.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static void assertNoSeed(String received) {
        assertEquals(List.of(), seedsIn(received), received);
    }

    private static List<String> leaksOf(String[][] attempts, String... cleanup) throws Exception {
        return MaskedAttacker.leaksOf(warden, attempts, cleanup);
    }



    /** Each character of the first seeded SSN, as the number of times EXPLAIN ANALYZE says a CASE ran its subplan. */
    private static String ssnByExplainAnalyze(MaskedAttacker a, String table) throws IOException {
        StringBuilder decoded = new StringBuilder();
        StringBuilder received = new StringBuilder();
        for (int k = 1; k <= SSNS.get(0).length(); k++) {
            String answer = a.query("EXPLAIN ANALYZE SELECT CASE WHEN g <= ascii(substr(p.ssn, " + k + ", 1)) "
                    + "THEN (SELECT g) END FROM " + table + " p, generate_series(1, 128) g WHERE p.id = 1");
            received.append(answer);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("SubPlan[^\\n]*\\n[^\\n]*loops=(\\d+)")
                    .matcher(answer);
            if (m.find()) {
                decoded.append((char) Integer.parseInt(m.group(1)));
            }
        }
        return decoded + "\n" + received;
    }

    /**
     * EXPLAIN ANALYZE runs the statement and reports what its rows did: how often a node ran ({@code loops}), how
     * many rows each returned or removed. A CASE over a sensitive value that runs its subplan only for some rows
     * makes the count of loops a number the value decides: the plan was kept as it holds no table value, and its
     * loops spelled the SSN one character at a time (536-22-8471) before EXPLAIN ANALYZE of a sensitive statement
     * was masked as the statement's rows would be.
     */
    @Test
    void explainAnalyzeDoesNotCountWhatASensitiveValueDecides() throws Exception {
        seed("xa_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertNoSeed(ssnByExplainAnalyze(a, "xa_people"));
            // What the plan says of a statement over nothing sensitive is kept, actual counts included.
            direct("CREATE TABLE xa_clear (id int primary key, v text)");
            direct("INSERT INTO xa_clear VALUES (1, 'x'), (2, 'y')");
            direct("GRANT ALL ON xa_clear TO PUBLIC");
            String clear = a.query("EXPLAIN ANALYZE SELECT * FROM xa_clear");
            assertTrue(clear.contains("actual time=") && clear.contains("rows=2 loops=1"), clear);
            // A plan without ANALYZE holds no table value and is kept over a sensitive table too.
            String plain = a.query("EXPLAIN SELECT email FROM xa_people WHERE id = 1");
            assertTrue(plain.contains("Index Scan using xa_people_pkey"), plain);
        }
    }

    /** The number of data rows in {@code answer} (as {@link MaskedAttacker#query} shows it). */
    private static int rows(String answer) {
        int n = 0;
        for (String line : answer.split("\n")) {
            n += line.startsWith("D") ? 1 : 0;
        }
        return n;
    }

    /**
     * The first seeded SSN as {@code form} decodes it, one character per position: {@code %K} is the position,
     * {@code %C} a candidate character, tried in ascending order; the first candidate whose answer satisfies
     * {@code match} is taken. Returns the decoded text followed by everything received.
     */
    private static String decodeSsn(MaskedAttacker a, String form, java.util.function.Predicate<String> match)
            throws IOException {
        StringBuilder decoded = new StringBuilder();
        StringBuilder received = new StringBuilder();
        for (int k = 1; k <= SSNS.get(0).length(); k++) {
            for (char c : "-0123456789".toCharArray()) {
                String answer = a.query(form.replace("%K", Integer.toString(k)).replace("%C", Character.toString(c)));
                received.append(answer);
                if (match.test(answer)) {
                    decoded.append(c);
                    break;
                }
            }
        }
        return decoded + "\n" + received;
    }

    /**
     * protect_filters followed a sensitive column by its name only. Compared under another name (a subquery's or
     * CTE's column, a LATERAL function's alias, a VALUES list's alias, the name PostgreSQL gives an unnamed
     * expression), by its position (ORDER BY 2, GROUP BY 1), by a set operation that compares rows (INTERSECT,
     * UNION, EXCEPT) or by DISTINCT, it decided which rows came back, and each of these forms spelled the SSN
     * 536-22-8471 one character at a time before the filter search followed what carries a sensitive value.
     */
    @Test
    void protectFiltersFollowsASensitiveValueUnderAnotherNameOrPosition() throws Exception {
        seed(filtering, "pf_people");
        String t = "pf_people";
        java.util.function.Predicate<String> oneRow = answer -> rows(answer) == 1;
        java.util.Map<String, java.util.function.Predicate<String>> forms = new java.util.LinkedHashMap<>();
        forms.put("SELECT 1 FROM (SELECT substr(ssn, %K, 1) AS c FROM " + t + " WHERE id = 1) s WHERE c = '%C'", oneRow);
        forms.put("SELECT 1 FROM (SELECT substr(ssn, %K, 1) c FROM " + t + " WHERE id = 1) s WHERE s.c = '%C'", oneRow);
        forms.put("WITH d(c) AS (SELECT substr(ssn, %K, 1) FROM " + t + " WHERE id = 1) SELECT 1 FROM d WHERE c = '%C'",
                oneRow);
        forms.put("WITH d AS (SELECT substr(ssn, %K, 1) AS x FROM " + t + " WHERE id = 1) "
                + "SELECT g FROM generate_series(1, 9) g, d WHERE g = 1 AND d.x = '%C'", oneRow);
        forms.put("SELECT 1 FROM (SELECT substr(ssn, %K, 1) FROM " + t + " WHERE id = 1) s WHERE substr = '%C'", oneRow);
        forms.put("SELECT 1 FROM " + t + ", LATERAL substr(ssn, %K, 1) AS d WHERE id = 1 AND d = '%C'", oneRow);
        forms.put("SELECT 1 FROM " + t + ", LATERAL (VALUES (substr(ssn, %K, 1))) v(x) WHERE id = 1 AND x = '%C'",
                oneRow);
        forms.put("SELECT 1 FROM " + t + ", unnest(ARRAY[substr(ssn, %K, 1)]) u WHERE id = 1 AND u = '%C'", oneRow);
        forms.put("SELECT 1 FROM " + t + " p JOIN LATERAL (SELECT substr(p.ssn, %K, 1) AS d) x ON x.d = '%C' "
                + "WHERE p.id = 1", oneRow);
        forms.put("SELECT substr(ssn, %K, 1) FROM " + t + " WHERE id = 1 INTERSECT SELECT '%C'", oneRow);
        forms.put("SELECT substr(ssn, %K, 1) FROM " + t + " WHERE id = 1 UNION SELECT '%C'", oneRow);
        forms.put("SELECT DISTINCT unnest(ARRAY[substr(ssn, %K, 1), '%C']) FROM " + t + " WHERE id = 1", oneRow);
        forms.put("SELECT max(v), k FROM (SELECT 1 AS v, substr(ssn, %K, 1) AS k FROM " + t + " WHERE id = 1 "
                + "UNION ALL SELECT 2, '%C') s GROUP BY 2", oneRow);
        // Sorted by the second column, the row of the SSN's character comes first until the candidate reaches it.
        forms.put("SELECT q.id, s.k FROM " + t + " q JOIN (SELECT 1 AS v, substr(ssn, %K, 1) AS k FROM " + t
                + " WHERE id = 1 UNION ALL SELECT 2, '%C') s ON s.v = q.id ORDER BY 2, 1",
                answer -> firstValue(answer).startsWith("1"));
        List<String> leaked = new ArrayList<>();
        try (MaskedAttacker a = new MaskedAttacker(filtering)) {
            for (var form : forms.entrySet()) {
                String decoded = decodeSsn(a, form.getKey(), form.getValue());
                if (!seedsIn(decoded).isEmpty()) {
                    leaked.add(form.getKey() + " -> " + decoded.substring(0, decoded.indexOf('\n')));
                }
                String answer = a.query(form.getKey().replace("%K", "1").replace("%C", "5"));
                if (!answer.contains("masking-protect-filters")) {
                    leaked.add(form.getKey() + " ran");
                }
            }
            assertEquals("", String.join("\n", leaked));
            // Clear values under other names, positions and set operations still filter, sort and group.
            for (String clear : List.of(
                    "SELECT 1 FROM (SELECT id AS c, ssn FROM " + t + ") s WHERE c = 1",
                    "WITH d(c, e) AS (SELECT id, email FROM " + t + ") SELECT e FROM d WHERE c = 2",
                    "SELECT 1 FROM " + t + ", LATERAL abs(id) AS d WHERE d = 1",
                    "SELECT id, ssn FROM " + t + " ORDER BY 1 DESC",
                    "SELECT id FROM " + t + " WHERE id = 1 UNION SELECT 2",
                    "SELECT id, ssn FROM " + t + " WHERE id = 1 UNION ALL SELECT 2, '5'",
                    "SELECT DISTINCT id FROM " + t,
                    "SELECT * FROM (SELECT id, ssn FROM " + t + ") s(i, k) WHERE i = 1",
                    "SELECT n FROM " + t + ", LATERAL (SELECT id + 1 AS n) x WHERE n = 2",
                    "SELECT id, count(*) FROM " + t + " GROUP BY 1")) {
                String answer = a.query(clear);
                assertTrue(!refused(answer) && rows(answer) > 0, clear + "\n" + answer);
            }
        }
    }

    /**
     * A NATURAL JOIN joins on every column name its two sides share, without writing one: joined with a one-row
     * list whose column bears the name of a column carrying the SSN's k-th character, the join kept the row only
     * for that character, and spelled 536-22-8471 under protect_filters before a NATURAL JOIN in a statement over
     * sensitive values was refused.
     */
    @Test
    void protectFiltersRefusesANaturalJoinOverSensitiveValues() throws Exception {
        seed(filtering, "nj_people");
        try (MaskedAttacker a = new MaskedAttacker(filtering)) {
            String decoded = decodeSsn(a, "SELECT 1 FROM (SELECT id, substr(ssn, %K, 1) AS c FROM nj_people) p "
                    + "NATURAL JOIN (VALUES (1, '%C')) v(id, c)", answer -> rows(answer) == 1);
            assertNoSeed(decoded);
            decoded = decodeSsn(a, "SELECT 1 FROM nj_people NATURAL JOIN (SELECT 1 AS id, "
                    + "overlay(ssn placing '%C' from %K for 1) AS ssn FROM nj_people WHERE id = 1) v", answer -> rows(answer) == 1);
            assertNoSeed(decoded);
            String answer = a.query("SELECT 1 FROM nj_people NATURAL JOIN (SELECT '536-22-8471' AS ssn) v");
            assertTrue(answer.contains("masking-protect-filters"), answer);
            // A NATURAL JOIN over nothing sensitive runs.
            direct(filtering, "CREATE TABLE nj_clear (id int, v text)");
            direct(filtering, "INSERT INTO nj_clear VALUES (1, 'x')");
            direct(filtering, "GRANT ALL ON nj_clear TO PUBLIC");
            answer = a.query("SELECT v FROM nj_clear NATURAL JOIN (VALUES (1)) w(id)");
            assertTrue(!refused(answer) && rows(answer) == 1, answer);
        }
    }

    /**
     * Open: whether a statement fails tells a comparison. {@code sqrt(ascii(substr(ssn, k, 1)) - ascii('c') - 0.5)}
     * in the select list fails (2201F) exactly when the SSN's k-th character is at most {@code c}; no filter clause
     * is involved and the result column is masked, but the error's presence spells 536-22-8471 under
     * protect_filters. Division by zero, a failing cast or an overflow do the same. Closing it means refusing, under
     * protect_filters, any function or operator that can fail over a sensitive value, a change to what every
     * masked statement may compute (its results are masked anyway) that this pass left for a decision.
     */
    @Test
    @Disabled("open: a data error's presence is a comparison oracle under protect_filters; see the javadoc")
    void protectFiltersDoesNotLetAnErrorTellAComparison() throws Exception {
        seed(filtering, "eo_people");
        try (MaskedAttacker a = new MaskedAttacker(filtering)) {
            assertNoSeed(decodeSsn(a, "SELECT sqrt(ascii(substr(ssn, %K, 1)) - ascii('%C') - 0.5) FROM eo_people "
                    + "WHERE id = 1", answer -> answer.contains("2201F")));
        }
    }

    /**
     * EXPLAIN ANALYZE EXECUTE runs a prepared statement that the text does not show: judged by its own text (an
     * EXPLAIN of an EXECUTE, naming nothing sensitive) its plan was kept, and the CASE's subplan loops spelled
     * 536-22-8471 before the statement an EXPLAIN executes was judged as the prepared one, as a plain EXECUTE is.
     */
    @Test
    void explainAnalyzeOfAPreparedStatementIsJudgedAsThatStatement() throws Exception {
        seed("xe_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            StringBuilder decoded = new StringBuilder();
            StringBuilder received = new StringBuilder();
            for (int k = 1; k <= SSNS.get(0).length(); k++) {
                received.append(a.query("PREPARE q" + k + " AS SELECT CASE WHEN g <= ascii(substr(p.ssn, " + k
                        + ", 1)) THEN (SELECT g) END FROM xe_people p, generate_series(1, 128) g WHERE p.id = 1"));
                String answer = a.query("EXPLAIN ANALYZE EXECUTE q" + k);
                received.append(answer);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("SubPlan[^\\n]*\\n[^\\n]*loops=(\\d+)")
                        .matcher(answer);
                if (m.find()) {
                    decoded.append((char) Integer.parseInt(m.group(1)));
                }
            }
            assertNoSeed(decoded + "\n" + received);
            // The plan of a prepared statement over nothing sensitive is kept, with or without ANALYZE.
            a.query("PREPARE clear AS SELECT g FROM generate_series(1, 3) g");
            String clear = a.query("EXPLAIN ANALYZE EXECUTE clear");
            assertTrue(clear.contains("rows=3 loops=1"), clear);
            String plain = a.query("EXPLAIN EXECUTE q1");
            assertTrue(plain.contains("Nested Loop"), plain);
        }
    }

    /**
     * CREATE TABLE ... AS EXECUTE copies what a prepared statement returns into a new table, and its text names
     * nothing sensitive: the SSNs and e-mail addresses a prepared {@code translate(email, ...)} computed were stored
     * in clear and read back ({@code zq_feather_quixmail_example}) before such a statement was judged by the
     * prepared statement it runs, for a SQL PREPARE and a protocol Parse alike, under EXPLAIN ANALYZE too.
     */
    @Test
    void createTableAsExecuteOfASensitivePreparedStatementIsRefused() throws Exception {
        seed("ce_people");
        String computed = "SELECT translate(email, '@.-', '___') AS v, translate(ssn, '-', '_') AS w FROM ce_people";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            StringBuilder received = new StringBuilder();
            received.append(a.query("PREPARE q AS " + computed));
            List<String> answers = new ArrayList<>();
            answers.add(a.query("CREATE TABLE ce_one AS EXECUTE q"));
            received.append(answers.get(0)).append(a.query("SELECT * FROM ce_one"));
            answers.add(a.query("EXPLAIN ANALYZE CREATE TABLE ce_two AS EXECUTE q"));
            received.append(answers.get(1)).append(a.query("SELECT * FROM ce_two"));
            a.prepare(computed);
            answers.add(a.query("CREATE TABLE ce_three (x, y) AS EXECUTE s1"));
            received.append(answers.get(2)).append(a.query("SELECT * FROM ce_three"));
            assertNoSeed(received.toString());
            for (String answer : answers) {
                assertTrue(answer.contains("masking-handoff"), answer);
            }
            String answer;
            // A prepared statement over nothing sensitive still fills a table.
            a.query("PREPARE ids AS SELECT id FROM ce_people");
            answer = a.query("CREATE TABLE ce_ids AS EXECUTE ids");
            assertTrue(!refused(answer) && answer.contains("SELECT 3"), answer);
            // And again after DDL dropped what Warden had read of its names (PostgreSQL's create_table.sql): the
            // server's own error, not a refusal for names Warden did not look up.
            a.query("PREPARE select1 AS SELECT 1 AS a");
            answer = a.query("CREATE TABLE ce_select1 AS EXECUTE select1");
            assertTrue(!refused(answer) && answer.contains("SELECT 1"), answer);
            answer = a.query("CREATE TABLE ce_select1 AS EXECUTE select1");
            assertTrue(!refused(answer) && answer.contains("already exists"), answer);
        }
    }
}
