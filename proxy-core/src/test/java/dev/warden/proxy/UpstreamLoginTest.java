package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Warden logs into the upstream with each method PostgreSQL offers, over TLS when asked. */
class UpstreamLoginTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        // Environments share the harness database; ${PG_PORT} and the password come from the harness.
        warden = WardenHarness.start("", """
                  md5:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: postgres, user: %s, password_env: UPSTREAM_PASSWORD, tls: disable, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  cleartext:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: postgres, user: %s, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  verified:
                    upstream: { host: localhost, port: "${PG_PORT}", database: postgres, user: %s, tls: verify-full, root_cert: "${PG_CERT}", allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  wrongpassword:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: postgres, user: %s, password_env: NOT_THE_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  down:
                    upstream: { host: 127.0.0.1, port: 1, database: postgres, user: nobody, tls: disable, connect_timeout: 2s, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  dbaonly:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: postgres, user: postgres, tls: disable, allow_superuser: true }
                    allow: [ { groups: [dba] }, { users: [root@example.com] } ]
                """.formatted(TestPostgres.MD5_USER, TestPostgres.CLEARTEXT_USER, TestPostgres.TLS_ONLY_USER,
                TestPostgres.SCRAM_USER));
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void scramSha256OverTls() throws SQLException {
        assertEquals("warden_scram|true", whoAndTls("dev"));
    }

    @Test
    void md5WithoutTls() throws SQLException {
        assertEquals("warden_md5|false", whoAndTls("md5"));
    }

    @Test
    void cleartextPasswordOverTls() throws SQLException {
        assertEquals("warden_clear|true", whoAndTls("cleartext"));
    }

    @Test
    void verifyFullChecksTheUpstreamCertificateAndHostName() throws SQLException {
        assertEquals("warden_tls|true", whoAndTls("verified"));
    }

    @Test
    void aWrongUpstreamPasswordIsReportedAs08001NamingTheEnvironment() {
        SQLException e = assertThrows(SQLException.class, () -> warden.connect("wrongpassword", WardenHarness.USER,
                warden.token(), ""));
        assertEquals("08001", e.getSQLState());
        assertTrue(e.getMessage().contains("environment \"wrongpassword\""), e.getMessage());
        assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
    }

    @Test
    void anUnreachableUpstreamGives08001NotAHang() {
        long start = System.nanoTime();
        SQLException e = assertThrows(SQLException.class, () -> warden.connect("down", WardenHarness.USER,
                warden.token(), ""));
        assertEquals("08001", e.getSQLState());
        assertTrue(e.getMessage().contains("cannot connect to environment \"down\""), e.getMessage());
        assertTrue(System.nanoTime() - start < 10_000_000_000L);
    }

    @Test
    void aUserOutsideTheAllowedGroupsIsRefusedWith28000() {
        SQLException e = assertThrows(SQLException.class, () -> warden.connect("dbaonly", WardenHarness.USER,
                warden.token(), ""));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("not allowed in environment \"dbaonly\""), e.getMessage());
    }

    @Test
    void anUnknownEnvironmentIsRefusedWith28000() {
        SQLException e = assertThrows(SQLException.class, () -> warden.connect("nosuchenv", WardenHarness.USER,
                warden.token(), ""));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("\"nosuchenv\" is not defined"), e.getMessage());
    }

    private static String whoAndTls(String environment) throws SQLException {
        try (Connection c = warden.connect(environment, WardenHarness.USER, warden.token(), "");
             ResultSet rs = c.createStatement().executeQuery(
                     "SELECT current_user || '|' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
