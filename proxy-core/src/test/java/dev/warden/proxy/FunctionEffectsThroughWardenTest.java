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
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  reviewed:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
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
    void aFunctionIsJudgedByItsBodyWhenItIsCreated() throws SQLException {
        // A function may run without being named (a trigger, a default, a view, an operator, an aggregate):
        // a body Warden would refuse is refused where it is written.
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT bump()")) {
                rs.next();
            }
            assertBlocked(c, "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'", "delete-without-where");
            assertBlocked(c, "CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM t; RETURN 1; END $$", "delete-without-where");
            c.createStatement().execute("CREATE OR REPLACE FUNCTION tidy(n int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t WHERE id = n; SELECT 1'");
        }
        assertEquals(10, rows());
    }

    @Test
    void anAggregateRunsItsSupportFunctions() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION agg_s(int, int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t RETURNING 1'");
            s.execute("DROP AGGREGATE IF EXISTS wipe_agg(int)");
            s.execute("CREATE AGGREGATE wipe_agg(int) (SFUNC = agg_s, STYPE = int)");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT wipe_agg(1)", "delete-without-where");
            assertBlocked(c, "CREATE AGGREGATE wipe_agg2(int) (SFUNC = agg_s, STYPE = int)",
                    "delete-without-where");
        }
        assertEquals(10, rows());
    }

    @Test
    void operatorsAndCastsRunTheirFunctions() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION wipe2(int, int) RETURNS int LANGUAGE sql AS "
                    + "'DELETE FROM t RETURNING 1'");
            s.execute("DROP OPERATOR IF EXISTS ### (int, int)");
            s.execute("CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = wipe2)");
            s.execute("DROP TYPE IF EXISTS mt CASCADE");
            s.execute("CREATE TYPE mt AS (x int)");
            s.execute("CREATE OR REPLACE FUNCTION wipe_cast(int) RETURNS mt LANGUAGE sql AS "
                    + "'DELETE FROM t; SELECT 1'");
            s.execute("CREATE CAST (int AS mt) WITH FUNCTION wipe_cast(int)");
        }
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertBlocked(c, "SELECT 1 ### 1", "delete-without-where");
            assertBlocked(c, "SELECT 1 OPERATOR(public.###) 1", "delete-without-where");
            assertBlocked(c, "SELECT 1::mt", "delete-without-where");
            assertBlocked(c, "SELECT CAST(1 AS mt)", "delete-without-where");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT 1 + 1, 2::text")) {
                rs.next();
                assertEquals(2, rs.getInt(1));
            }
        }
        assertEquals(10, rows());
    }
}
