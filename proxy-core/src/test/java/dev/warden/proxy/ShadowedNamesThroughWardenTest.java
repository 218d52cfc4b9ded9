package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A helper's pass (a124) read a table a block rule closes, and ran a view's write with no approval, by hiding the
 * table's name: behind a WITH query or an alias of the same name elsewhere in the statement, and behind {@code TABLE
 * name} in FROM, in ARRAY() or as an INSERT's source, and read its values from pg_stats. Through a real Warden,
 * each of those is refused, and the same shapes over names no rule closes still run (a WITH query named like the
 * table, used where it is in scope, is not the table).
 */
class ShadowedNamesThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, """
                guardrails:
                  rules:
                    - { name: sn-secret-closed, environments: [prod], match: { tables: [public.sn_secret] },
                        action: block }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE sn_secret (v text)");
            s.execute("INSERT INTO sn_secret VALUES ('the secret')");
            s.execute("CREATE TABLE sn_open (v text)");
            s.execute("INSERT INTO sn_open VALUES ('open')");
            s.execute("ANALYZE sn_secret");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    @Test
    void aHiddenNameIsStillTheTable() throws SQLException {
        List<String> hidden = List.of(
                "SELECT * FROM sn_secret WHERE EXISTS (WITH sn_secret AS (SELECT 1) SELECT 1 FROM sn_secret)",
                "WITH x AS (WITH sn_secret AS (SELECT 1 AS a) SELECT * FROM sn_secret) SELECT * FROM sn_secret",
                "WITH sn_secret AS (SELECT * FROM sn_secret) SELECT * FROM sn_secret",
                "SELECT * FROM sn_secret WHERE EXISTS (SELECT 1 FROM sn_open AS sn_secret)",
                "SELECT * FROM (TABLE sn_secret) x",
                "SELECT ARRAY(TABLE sn_secret)",
                "SELECT * FROM sn_open WHERE v <> ALL (ARRAY(TABLE sn_secret))",
                // The statistics carry the table's values (a124 F9): which table a row is of, only the run knows.
                "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'sn_secret'");
        List<String> wrong = new ArrayList<>();
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            for (String sql : hidden) {
                try (Statement s = alice.createStatement()) {
                    s.execute(sql);
                    wrong.add(sql + ": ran");
                } catch (SQLException e) {
                    if (!"42501".equals(e.getSQLState()) || !e.getMessage().contains("sn-secret-closed")) {
                        wrong.add(sql + ": " + e.getSQLState() + " " + e.getMessage());
                    }
                }
            }
            assertEquals(List.of(), wrong);
            // The same shapes where the name is a WITH query in scope, or a table no rule closes: they run.
            assertEquals("1", first(alice, "WITH sn_secret AS (SELECT 1 AS a) SELECT a FROM sn_secret"));
            assertEquals("open", first(alice, "SELECT v FROM (TABLE sn_open) x"));
            assertEquals("{open}", first(alice, "SELECT ARRAY(TABLE sn_open)"));
            assertEquals("sn_open", first(alice, "SELECT relname FROM pg_class WHERE relname = 'sn_open'"));
        }
    }

    private static String first(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
