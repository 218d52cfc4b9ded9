package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a126 (2026-12-07) over masking, in {@link MaskingPass14Test}'s manner: each attack runs as a masked
 * identity through Warden, and every byte the client received is searched for the seeded values. Each test says what
 * leaked before its fix and checks that a harmless neighbour still runs.
 */
class MaskingPass26Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                guardrails:
                  rules:
                    - { name: victim-kept, match: { statements: [DELETE], tables: [public.mp26_victim] }, action: block }
                """);
        MaskedAttacker.seed(warden, "mp26");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * H4: {@code c.f}, where {@code c}'s row has no column {@code f}, calls {@code f(c)} on the whole row. Before,
     * {@code translate(c.row_to_json::text, ...)} and {@code c.json_agg} returned every seeded value, named by no
     * column (only value detection was left, which the translation passes).
     */
    @Test
    void aFunctionCalledOnAWholeRowInAttributeNotationIsMasked() throws Exception {
        String[][] attempts = {
                {"SELECT translate(c.row_to_json::text, '@.-', '#,_') FROM mp26 c"},
                {"SELECT translate(c.json_agg::text, '@.-', '#,_') FROM mp26 AS c"},
                {"SELECT translate((c).to_jsonb::text, '@.-', '#,_') FROM mp26 c"},
                {"SELECT translate(mp26.concat, '@.-', '#,_') FROM mp26"},
                // a128 Q3: a parenthesised join's alias is the joined row.
                {"SELECT translate(j::text, '@.-', '#,_') FROM (mp26 c CROSS JOIN (SELECT 1) o) j"},
                {"SELECT translate(j.row_to_json::text, '@.-', '#,_') FROM (mp26 c JOIN mp26 d USING (id)) AS j"},
                {"SELECT translate(row_to_json(j)::text, '@.-', '#,_') FROM ((mp26 CROSS JOIN (SELECT 1) o)) j(a, b, e, x)"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A subquery's column named like a function, and a column of the table, stay as they are.
            assertEquals("3", MaskedAttacker.firstValue(a.query("SELECT s.count FROM (SELECT count(*) FROM mp26) s")));
            assertEquals("1", MaskedAttacker.firstValue(a.query("SELECT c.id FROM mp26 c ORDER BY 1")));
            assertEquals("3", MaskedAttacker.firstValue(a.query("SELECT count(mp26.id) AS n FROM mp26")));
        }
    }

    /**
     * H5: error texts that print a value unquoted, in templates the redaction did not list: a regclass of too many
     * dotted names, an invalid normalization form, an invalid encoding name.
     */
    @Test
    void unquotedValuesInMoreErrorTextsAreRedacted() throws Exception {
        String[][] attempts = {
                {"SELECT (translate(email, '@', '_') || '.x.y')::regclass FROM mp26 WHERE id = 1"},
                {"SELECT to_regclass(translate(ssn, '-', '.') || '.a.b') FROM mp26 WHERE id = 1"},
                {"SELECT pg_catalog.normalize('a', translate(email, '@.', '__')) FROM mp26 WHERE id = 1"},
                {"SELECT to_ascii('a', translate(email, '@.', '__')) FROM mp26 WHERE id = 1"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String own = a.query("SELECT 'a.b.c.d'::regclass");
            assertTrue(own.contains("a.b.c.d"), "a name of the statement's own stays: " + own);
        }
    }

    /**
     * H2, H1: what the server does at COMMIT answers the transaction's earlier statements. Before, a WITH HOLD
     * cursor's query, run to its end at COMMIT, failed a cast printing every seeded SSN, and a deferred exclusion
     * constraint's {@code Key (v)=(...)} quoted them at COMMIT and at SET CONSTRAINTS.
     */
    @Test
    void whatCommitRunsForEarlierStatementsIsMaskedAsTheirs() throws Exception {
        String agg = "(SELECT string_agg(translate(ssn, '-', ''), ' ') FROM mp26)";
        String table = "CREATE TEMP TABLE mp26d (v text, EXCLUDE USING hash (v WITH =) DEFERRABLE INITIALLY DEFERRED)";
        String insert = "INSERT INTO mp26d SELECT " + agg;
        String[][] attempts = {
                {"BEGIN", "DECLARE k CURSOR WITH HOLD FOR SELECT " + agg + "::int", "COMMIT"},
                {"BEGIN", "DECLARE k CURSOR WITH HOLD FOR SELECT " + agg + "::int", "END"},
                {table, "BEGIN", insert, insert, "COMMIT"},
                {table, "BEGIN", insert, insert, "SET CONSTRAINTS ALL IMMEDIATE"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
    }

    /**
     * H3: {@code (x).f} calls {@code f(x)}. Before, {@code (key).pg_advisory_lock} over the SSNs ran (pg_locks then
     * showed the keys), and {@code (1).mp26_bump}, a user function whose body deletes from a table a rule keeps,
     * ran though the same call written {@code mp26_bump(1)} is refused.
     */
    @Test
    void aCallInAttributeNotationIsJudgedAsTheCall() throws Exception {
        direct("CREATE TABLE mp26_victim (id int); INSERT INTO mp26_victim VALUES (1), (2); "
                + "GRANT ALL ON mp26_victim TO PUBLIC; CREATE FUNCTION mp26_bump(i int) RETURNS int LANGUAGE sql "
                + "AS 'DELETE FROM mp26_victim; SELECT 1'");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String lock = a.query("SELECT count((('1' || translate(ssn, '-', ''))::bigint).pg_advisory_lock) FROM mp26");
            assertTrue(MaskedAttacker.refused(lock), lock);
            String direct = a.query("SELECT mp26_bump(1)");
            assertTrue(MaskedAttacker.refused(direct), "the control, written as a call: " + direct);
            String attribute = a.query("SELECT (1).mp26_bump");
            assertTrue(MaskedAttacker.refused(attribute), attribute);
        } finally {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                assertEquals("2", WardenHarness.scalar(c, "SELECT count(*) FROM mp26_victim"), "nothing was deleted");
                s.execute("DROP FUNCTION mp26_bump(int); DROP TABLE mp26_victim");
            }
        }
    }

    /**
     * a127 (P2): COPY's text output escapes single bytes only. In Shift-JIS (and Big5, GBK, GB18030 ...) a character
     * may end in a byte that is a delimiter ({@code |}) or a backslash, which Warden's byte-wise split read as such:
     * the fields after it moved one column over, and the seeded values came out in clear integer columns. Such an
     * output encoding is refused for a masked identity (ENCODING, or client_encoding as reported); a change of
     * encoding Warden does not see (a SET in the same Query) fails the COPY, its rows not being UTF-8.
     */
    @Test
    void aCopyInAnEncodingThatEmbedsAsciiCannotShiftTheMaskedColumns() throws Exception {
        String query = "(SELECT chr(12509) AS a, ssn, id, email, id, chr(12477) AS b, id FROM mp26 ORDER BY id)";
        String[][] attempts = {
                {"COPY " + query + " TO STDOUT (DELIMITER '|', ENCODING 'SJIS')"},
                {"COPY " + query + " TO STDOUT (FORMAT csv, DELIMITER '|', ENCODING 'BIG5')"},
                {"SET client_encoding = 'SJIS'", "COPY " + query + " TO STDOUT (DELIMITER '|')"},
                // a128 Q1: an ENCODING the server reads with an escape (standard_conforming_strings off).
                {"SET standard_conforming_strings = off", "COPY " + query + " TO STDOUT (DELIMITER '|', ENCODING 'S\\x4aIS')"},
                // a128 Q2: from LATIN1, changed in the same Query, where no check of the rows can tell.
                {"SET client_encoding = 'LATIN1'", "SET client_encoding = 'SJIS'; COPY " + query + " TO STDOUT (DELIMITER '|')"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        // Set in the same Query, by SET (Warden's reading follows it) or set_config (it does not): the COPY fails and
        // the session ends, with no row relayed (for set_config: its rows are not UTF-8, as Warden knew the encoding).
        for (String set : List.of("SET client_encoding = 'SJIS'", "SELECT set_config('client_encoding', 'SJIS', false)")) {
            StringBuilder received = new StringBuilder();
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                a.send(new dev.warden.pg.message.FrontendMessage.Query(set + "; COPY " + query
                        + " TO STDOUT (DELIMITER '|')"));
                byte[] frame;
                do {
                    frame = a.client.readFrame();
                    received.append((char) frame[0]).append(new String(frame, 5, frame.length - 5,
                            java.nio.charset.StandardCharsets.ISO_8859_1)).append('\n');
                } while (frame[0] != 'Z');
            } catch (java.io.EOFException ended) {
                received.append("(the session ended)");
            }
            assertEquals(List.of(), seedsIn(received.toString()), set + ": " + received);
        }
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String refused = a.query("COPY " + query + " TO STDOUT (DELIMITER '|', ENCODING 'SJIS')");
            assertTrue(refused.contains("masking-copy-encoding"), refused);
            String utf8 = a.query("COPY " + query + " TO STDOUT (DELIMITER '|')");
            assertTrue(utf8.contains("CCOPY 3") || utf8.contains("COPY 3"), "in UTF-8 it runs, masked: " + utf8);
        }
    }

    /**
     * a129 (R1): a column named {@code format} in FORCE_QUOTE's list had Warden read the COPY's format as {@code )} and
     * split the server's CSV as text: a quoted SSN holding the delimiter came out in pieces in clear columns, values
     * ending in a backslash making the field count match. (Old syntax: {@code FORCE QUOTE format}.)
     */
    @Test
    void aCopysFormatIsReadWhereTheGrammarHasIt() throws Exception {
        String select = "SELECT 'a-b' AS d, ssn, id AS c1, id AS c2, id AS c3, 'x\\' AS e1, 'y\\' AS e2, 'z\\' AS e3, id AS format "
                + "FROM mp26 ORDER BY id";
        String[][] attempts = {
                {"COPY (" + select + ") TO STDOUT WITH (FORMAT csv, DELIMITER '-', FORCE_QUOTE (format))"},
                {"COPY (" + select + ") TO STDOUT CSV QUOTE '\"' DELIMITER '-' FORCE QUOTE format NULL ''"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String copied = a.query("COPY (" + select + ") TO STDOUT WITH (FORMAT csv, DELIMITER '-', FORCE_QUOTE (format))");
            assertTrue(copied.contains("COPY 3") && copied.contains("[redacted]"), "masked as CSV: " + copied);
        }
    }

    /**
     * COPY's options are read as the server reads them under the session's standard_conforming_strings. Before,
     * always as on: {@code DELIMITER '\x7c'}, which the server reads as {@code |} under off, was four characters to
     * Warden and the masked COPY was refused.
     */
    @Test
    void aCopysOptionsAreReadWithTheSessionsStringSetting() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("SET standard_conforming_strings = off");
            String copied = a.query("COPY (SELECT id, ssn, email FROM mp26 ORDER BY id) TO STDOUT (DELIMITER '\\x7c')");
            assertEquals(List.of(), seedsIn(copied));
            assertTrue(copied.contains("COPY 3") && copied.contains("1|"), "masked with the server's delimiter: "
                    + copied);
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
