package dev.warden.testkit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TestPostgresTest {

    static TestPostgres pg;

    @BeforeAll
    static void start() {
        pg = TestPostgres.start();
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    @Test
    void scramRoleLogsInOverTlsWithItsPassword() throws SQLException {
        String url = "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/postgres?sslmode=require";
        try (Connection c = DriverManager.getConnection(url, TestPostgres.SCRAM_USER, TestPostgres.PASSWORD);
             ResultSet rs = c.createStatement().executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            assertTrue(rs.next());
            assertTrue(rs.getBoolean(1), "the embedded cluster must speak TLS");
        }
    }

    @Test
    void md5RoleIsRefusedWithAWrongPassword() {
        String url = "jdbc:postgresql://" + pg.host() + ":" + pg.port() + "/postgres?sslmode=disable";
        SQLException e = assertThrows(SQLException.class,
                () -> DriverManager.getConnection(url, TestPostgres.MD5_USER, "wrong"));
        assertEquals("28P01", e.getSQLState());
    }

    @Test
    void eachTestGetsItsOwnDatabase() throws SQLException {
        String db = pg.createDatabase("kit");
        try (Connection c = pg.connect(db); ResultSet rs = c.createStatement().executeQuery("SELECT current_database()")) {
            assertTrue(rs.next());
            assertEquals(db, rs.getString(1));
        }
    }
}
