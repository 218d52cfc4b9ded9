package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With masking off for a non-exempt identity (no built-in detectors, no value detection, no rules), Warden
 * changes not one byte of what the server answers: every value, error and notice is what a direct connection
 * gets (issue 13, item 3).
 */
class MaskingOffThroughWardenTest {

    static WardenHarness warden;

    static final List<String> STATEMENTS = List.of(
            "SELECT true AS true, count(*) > 0 FROM customers",
            "SELECT e || 'x' FROM customers AS t(i, e, s) ORDER BY i",
            "SELECT row_to_json(c)::text FROM customers c ORDER BY id",
            "SELECT string_agg(email || '|' || ssn, ';' ORDER BY id)::int FROM customers",
            "SELECT (SELECT ssn FROM customers WHERE id = 1)::json",
            "SELECT query_to_xml('SELECT email FROM customers ORDER BY id', true, false, '')::text",
            "DO $$ BEGIN RAISE NOTICE '%', (SELECT string_agg(email, ',' ORDER BY id) FROM customers); END $$",
            "EXPLAIN (COSTS OFF) SELECT * FROM customers WHERE ssn LIKE '07%'");

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  defaults: off
                  value_detection: off
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int primary key, email text, ssn text)");
            s.execute("INSERT INTO customers VALUES (1, 'ann.lee@acme.com', '536-22-8471'),"
                    + " (2, 'bob.ray@acme.com', '412-90-3310')");
            s.execute("GRANT ALL ON customers TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** Every value, the error and the notices of one statement, as text. */
    private static String answer(Connection c, String sql) {
        StringBuilder out = new StringBuilder();
        try (Statement s = c.createStatement()) {
            if (s.execute(sql)) {
                try (ResultSet rs = s.getResultSet()) {
                    int n = rs.getMetaData().getColumnCount();
                    while (rs.next()) {
                        for (int i = 1; i <= n; i++) {
                            out.append(rs.getString(i)).append('|');
                        }
                        out.append('\n');
                    }
                }
            }
            for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                out.append("warning ").append(w.getMessage()).append('\n');
            }
        } catch (SQLException e) {
            out.append("error ").append(e.getSQLState()).append(' ').append(e.getMessage());
        }
        return out.toString();
    }

    @Test
    void notOneByteChangesWhenMaskingIsOff() throws SQLException {
        try (Connection direct = warden.direct(); Connection through = warden.connect("")) {
            for (String sql : STATEMENTS) {
                assertEquals(answer(direct, sql), answer(through, sql), sql);
            }
        }
    }
}
