package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a140 (2026-12-07, on 49b63ddc): the channels other than function bodies. Each value is moved out
 * of the value detectors' shapes (digits to letters, {@code @} and {@code .} to letters) and mapped back.
 */
class MaskingPass34Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp34");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** The seeded SSNs and e-mails as the attacks spell them: digits as a..j, '-' as k, '@' as Q and '.' as Z. */
    private static List<String> spelled() {
        List<String> out = new ArrayList<>();
        for (String v : MaskedAttacker.SSNS) {
            out.add(translate(v));
        }
        for (String v : MaskedAttacker.EMAILS) {
            out.add(translate(v));
        }
        return out;
    }

    private static String translate(String v) {
        StringBuilder b = new StringBuilder();
        for (char c : v.toLowerCase(Locale.ROOT).toCharArray()) {
            b.append(c >= '0' && c <= '9' ? (char) ('a' + c - '0') : c == '-' ? 'k' : c == '@' ? 'Q' : c == '.' ? 'Z' : c);
        }
        return b.toString();
    }

    private static final String SPELL = "translate(lower(%s), '0123456789-@.', 'abcdefghijkQZ')";

    /** Everything an error carries, for a leak check. */
    private static String whole(SQLException e) {
        ServerErrorMessage m = e instanceof PSQLException p ? p.getServerErrorMessage() : null;
        return m == null ? String.valueOf(e.getMessage()) : m + " | " + m.getDetail() + " | " + m.getHint() + " | "
                + m.getWhere() + " | " + m.getInternalQuery();
    }

    private static void assertNoSpelledValue(String received) {
        for (String s : spelled()) {
            assertFalse(received.contains(s), "leaked " + s + ": " + received);
        }
    }

    /** F1: libxml's message names the tag and entity it read, unquoted. */
    @Test
    void anXmlErrorDoesNotNameWhatItRead() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            for (String sql : new String[] {
                    "SELECT xmlparse(content '<' || string_agg(" + SPELL.formatted("ssn") + ", '' ORDER BY id) "
                            + "|| '>x</b>') FROM mp34",
                    "SELECT xmlparse(document '<a>&' || " + SPELL.formatted("email") + " || ';</a>') FROM mp34"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.executeQuery(sql).next());
                assertNoSpelledValue(whole(e));
            }
        }
    }

    /** F2: the position of an error in a type name built at run time counted the SSN's digits. */
    @Test
    void aPositionInsideWhatTheStatementBuiltIsDropped() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            String sql = "SELECT (repeat(' ', substr(regexp_replace(ssn, '[^0-9]', '', 'g'), 1, 4)::int) || 'x y')"
                    + "::regtype FROM mp34 WHERE id = 1";
            PSQLException e = assertThrows(PSQLException.class, () -> s.executeQuery(sql).next());
            ServerErrorMessage m = e.getServerErrorMessage();
            assertNotNull(m);
            assertEquals(0, m.getPosition(), m.toString());
            assertEquals(0, m.getInternalPosition(), m.toString());
            // A syntax error in the statement's own text keeps its position (psql's caret).
            PSQLException own = assertThrows(PSQLException.class,
                    () -> s.executeQuery("SELECT ssn FROM mp34 WHERE id = = 1").next());
            assertTrue(own.getServerErrorMessage().getPosition() > 0, own.getServerErrorMessage().toString());
        }
    }

    /** F3: a unique violation on an index expression nested two calls deep echoed the key. */
    @Test
    void aKeyOfANestedIndexExpressionIsRedacted() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE tu (id int, email text)");
            s.execute("CREATE UNIQUE INDEX tu_e ON tu ((" + SPELL.formatted("email") + "))");
            s.execute("INSERT INTO tu (id, email) SELECT id, email FROM mp34 WHERE id = 2");
            SQLException e = assertThrows(SQLException.class,
                    () -> s.execute("INSERT INTO tu (id, email) SELECT id, email FROM mp34 WHERE id = 2"));
            assertTrue(whole(e).contains("23505") || e.getSQLState().equals("23505"), whole(e));
            assertNoSpelledValue(whole(e));
        }
    }

    /** F4: a NULL relayed as NULL beside [redacted] gave one bit a column, every row, in one statement. */
    @Test
    void anExpressionOverASensitiveReadShowsNoNulls() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            Set<String> shown = new HashSet<>();
            int nulls = 0;
            try (ResultSet rs = s.executeQuery("SELECT id, CASE WHEN substr(ssn, 1, 1) < '6' THEN 'x' END AS b, "
                    + "nullif(substr(ssn, 1, 1), '5') AS ssn FROM mp34 ORDER BY id")) {
                while (rs.next()) {
                    for (int col = 2; col <= 3; col++) {
                        String v = rs.getString(col);
                        if (v == null) {
                            nulls++;
                        } else {
                            shown.add(v);
                        }
                    }
                }
            }
            // The seeded SSNs start 5, 6, 7: before, column b was [redacted] / NULL / NULL.
            assertEquals(0, nulls);
            assertEquals(Set.of("[redacted]"), shown);
            // COPY too, in text and binary.
            org.postgresql.copy.CopyManager copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            java.io.StringWriter out = new java.io.StringWriter();
            copy.copyOut("COPY (SELECT id, CASE WHEN substr(ssn, 1, 1) < '6' THEN 'x' END AS b FROM mp34 ORDER BY id) "
                    + "TO STDOUT", out);
            assertFalse(out.toString().contains("\\N"), out.toString());
            // A table's masked column too (a141 F3: the bit stored into a temporary table's ssn), and a view's column
            // named like a masked one (a141 F1).
            s.execute("CREATE TEMP TABLE nulls34 (id int, ssn text)");
            s.execute("INSERT INTO nulls34 SELECT id, CASE WHEN substr(ssn, 1, 1) < '6' THEN 'x' END FROM mp34");
            s.execute("CREATE TEMP VIEW nulls34v AS SELECT id, CASE WHEN substr(ssn, 1, 1) < '6' THEN 'x' END AS ssn "
                    + "FROM mp34");
            for (String read : new String[] {"SELECT ssn FROM nulls34", "SELECT ssn FROM nulls34v"}) {
                try (ResultSet rs = s.executeQuery(read)) {
                    while (rs.next()) {
                        assertEquals("[redacted]", rs.getString(1), read);
                    }
                }
            }
        }
    }

    /** F5: a text COPY's NULL string equal to a value kept that value in clear. */
    @Test
    void aCopyNullStringEqualToAValueDoesNotKeepIt() throws Exception {
        try (Connection c = warden.connect("")) {
            org.postgresql.copy.CopyManager copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            java.io.StringWriter out = new java.io.StringWriter();
            copy.copyOut("COPY (SELECT id, ssn FROM mp34 ORDER BY id) TO STDOUT (NULL '" + MaskedAttacker.SSNS.get(0)
                    + "')", out);
            assertTrue(MaskedAttacker.seedsIn(out.toString()).isEmpty(), out.toString());
            java.io.StringWriter digits = new java.io.StringWriter();
            copy.copyOut("COPY (SELECT id, substr(ssn, 1, 1) FROM mp34 ORDER BY id) TO STDOUT (NULL '5')", digits);
            assertFalse(digits.toString().contains("\t5"), digits.toString());
        }
    }

    /** F7: a statement padded with every candidate of a short piece named that piece back in its error. */
    @Test
    void aStatementPaddedWithCandidatesDoesNotHaveItsPieceNamed() throws Exception {
        StringBuilder words = new StringBuilder(" /*");
        for (int i = 0; i < 1000; i++) {
            String w = String.format("%03d", i);
            words.append(' ');
            for (char ch : w.toCharArray()) {
                words.append((char) ('a' + ch - '0'));
            }
        }
        words.append(" */");
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT substr(translate("
                    + "regexp_replace(ssn, '[^0-9]', '', 'g'), '0123456789', 'abcdefghij'), 1, 3)::regclass FROM mp34 "
                    + "WHERE id = 1" + words).next());
            String first = translate(MaskedAttacker.SSNS.get(0).replace("-", "").substring(0, 3));
            assertFalse(whole(e).contains("\"" + first + "\""), whole(e));
            // A short statement still has its own words named back.
            SQLException named = assertThrows(SQLException.class,
                    () -> s.executeQuery("SELECT ssn FROM mp34 WHERE 'nosuchrel'::regclass IS NOT NULL").next());
            assertTrue(whole(named).contains("nosuchrel"), whole(named));
        }
    }

    /** F6: a masked bytea was sent as an empty bytea, a plausible value. */
    @Test
    void aMaskedByteaIsNull() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT convert_to(ssn, 'UTF8') AS b FROM mp34 ORDER BY id")) {
            while (rs.next()) {
                assertEquals(null, rs.getBytes(1));
            }
        }
    }

    /**
     * a139 F6: two COPY ... TO STDOUT in one Query; the second was masked with the first's columns (id, email), so
     * its computed SSNs came through. Now a masked identity's text with two is refused; one alone is masked.
     */
    @Test
    void twoCopiesInOneQueryAreRefused() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String both = a.query("COPY (SELECT id, id AS n FROM mp34 WHERE id < 3) TO STDOUT; "
                    + "COPY (SELECT id, replace(ssn, '-', 'x') FROM mp34 WHERE id < 3) TO STDOUT");
            assertTrue(both.contains("masking-copy"), both);
            assertTrue(MaskedAttacker.seedsIn(both.replace('x', '-')).isEmpty(), both);
            String one = a.query("COPY (SELECT id, replace(ssn, '-', 'x') FROM mp34 WHERE id < 3) TO STDOUT");
            assertFalse(one.contains("masking-copy"), one);
            assertTrue(MaskedAttacker.seedsIn(one.replace('x', '-')).isEmpty(), one);
        }
    }

    /** F8: random()'s state moved as often as a bit said; setseed before, a clear random() after read it back. */
    @Test
    void randomIsAHandoffInAStatementOverSensitiveValues() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String moved = a.query("SELECT CASE WHEN substr(ssn, 1, 1) < '6' THEN (SELECT count(random()) FROM "
                    + "generate_series(1, 4)) END FROM mp34 WHERE id = 1");
            assertTrue(MaskedAttacker.refused(moved) && moved.contains("random"), moved);
            // A statement that reads nothing sensitive may still call it.
            assertFalse(MaskedAttacker.refused(a.query("SELECT id, random() FROM mp34 ORDER BY id")));
        }
    }

    /** F9: a statement over sensitive values scanned a table as often as a bit said; the counters kept the count. */
    @Test
    void theActivityCountersAreMasked() throws Exception {
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.executeQuery("SELECT CASE WHEN substr(ssn, 1, 1) < '6' THEN (SELECT count(*) FROM (SELECT 1 FROM mp34 "
                    + "LIMIT 3) x) END FROM mp34 WHERE id = 1").close();
            try (ResultSet rs = s.executeQuery("SELECT relname, seq_scan, seq_tup_read FROM pg_stat_xact_user_tables "
                    + "WHERE relname = 'mp34'")) {
                assertTrue(rs.next());
                assertEquals("mp34", rs.getString(1));
                assertEquals(null, rs.getString(2));
                assertEquals(null, rs.getString(3));
            }
            try (ResultSet rs = s.executeQuery("SELECT pg_stat_get_xact_tuples_returned('mp34'::regclass)")) {
                assertTrue(rs.next());
                assertEquals(null, rs.getString(1));
            }
            c.rollback();
        }
    }

    /** a141 F2, F4, F5: time, another session's end and an EXPLAIN ANALYZE's lines, chosen by a value. */
    @Test
    void timeSessionsAndPlanLinesAreNotChosenByAValue() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : new String[] {
                    "SELECT pg_sleep((ascii(substr(ssn, 1, 1)) - 48) * 0.01) FROM mp34 WHERE id = 1",
                    "SELECT pg_cancel_backend((array[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])[ascii(substr(ssn, 2, 1)) - 47]) "
                            + "FROM mp34 WHERE id = 1",
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT CASE WHEN ascii(substr(ssn, 1, 1)) "
                            + "- 48 > 4 THEN (SELECT 1 FROM mp34 o WHERE o.id < 0 LIMIT 1) END FROM mp34 WHERE id = 1"}) {
                String answer = a.query(sql);
                assertTrue(MaskedAttacker.refused(answer), sql + ": " + answer);
            }
            assertFalse(MaskedAttacker.refused(a.query("EXPLAIN SELECT ssn FROM mp34")));
            assertFalse(MaskedAttacker.refused(a.query("EXPLAIN ANALYZE SELECT id FROM mp34")));
            assertFalse(MaskedAttacker.refused(a.query("SELECT pg_sleep(0.01)")));
        }
    }
}
