package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SELECT that calls a user function runs the function's body: Warden reads the body from the catalog and
 * judges what it runs. {@code staging} keeps the baseline on; {@code reviewed} blocks every write.
 */
class FunctionEffectsThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require }
                    allow: [ { groups: [eng] } ]
                  reviewed:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require }
                    allow: [ { groups: [eng] } ]
                """, """
                guardrails:
                  - { name: no-writes-here, environments: [reviewed], match: { writes: true }, action: block }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS t CASCADE");
            s.execute("CREATE TABLE t (id int, a int)");
            s.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 10) g");
            s.execute("GRANT ALL ON t TO PUBLIC");
            s.execute("CREATE OR REPLACE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'");
            s.execute("CREATE OR REPLACE FUNCTION wipe_atomic() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                    + "DELETE FROM t; SELECT 1; END");
            s.execute("CREATE OR REPLACE FUNCTION wipe_later(n text) RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN EXECUTE 'DELETE FROM ' || n; RETURN 1; END $$");
            s.execute("CREATE OR REPLACE FUNCTION calls_wipe() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN PERFORM wipe(); RETURN 1; END $$");
            s.execute("CREATE OR REPLACE FUNCTION twice(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2'");
            s.execute("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS 'SELECT 1'");
        }
    }

    private static void assertBlocked(Connection c, String sql, String rule) {
        SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
        assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
        assertTrue(e.getMessage().contains("\"" + rule + "\""), sql + ": " + e.getMessage());
    }

    private static int rows() throws SQLException {
        try (Connection c = warden.direct(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM t")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aSelectCallingAFunctionThatDeletesIsADelete() throws SQLException {
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT wipe()", "delete-without-where");
            assertBlocked(c, "SELECT * FROM wipe_atomic()", "delete-without-where");
            assertBlocked(c, "SELECT calls_wipe()", "delete-without-where");
            assertBlocked(c, "SELECT wipe_later('t')", "dynamic-sql");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT twice(21), lower('X'), now() IS NOT NULL")) {
                rs.next();
                assertEquals(42, rs.getInt(1));
            }
        }
        assertEquals(10, rows());
    }

    @Test
    void aVolatileUserFunctionIsAWriteAndAnImmutableOneIsNot() throws SQLException {
        try (Connection c = warden.connect("reviewed", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT bump()", "no-writes-here");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT twice(2)")) {
                rs.next();
                assertEquals(4, rs.getInt(1));
            }
        }
    }

    @Test
    void aFunctionReplacedThroughWardenIsReadAgain() throws SQLException {
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT bump()")) {
                rs.next();
            }
            c.createStatement().execute("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'");
            assertBlocked(c, "SELECT bump()", "delete-without-where");
        }
        assertEquals(10, rows());
    }
}
