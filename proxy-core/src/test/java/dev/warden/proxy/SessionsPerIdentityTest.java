package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code budgets.sessions.per_identity}: a helper's pass (2026-12-05) opened 92 idle sessions as one user through the
 * demo, whose PostgreSQL allows 100 connections, and nobody else could log in ("remaining connection slots are
 * reserved"). Each session holds a server connection, so one identity's sessions are counted across environments.
 */
class SessionsPerIdentityTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", ParseFloodThroughWardenTest.PROD, """
                budgets:
                  sessions:
                    per_identity: 3
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void oneIdentityHoldsAtMostItsShareAndOthersStillLogIn() throws Exception {
        String bob = warden.issuer.token().email("bob@example.com").groups("eng").sign();
        List<Connection> alice = new ArrayList<>();
        try {
            alice.add(warden.connect(""));
            alice.add(warden.connect(""));
            alice.add(warden.connect("prod", WardenHarness.USER, warden.token(), "")); // across environments
            SQLException refused = assertThrows(SQLException.class, () -> alice.add(warden.connect("")));
            assertEquals("53300", refused.getSQLState(), refused.getMessage());
            assertTrue(refused.getMessage().contains("budgets.sessions.per_identity"), refused.getMessage());
            try (Connection b = warden.connect("dev", "bob@example.com", bob, ""); Statement s = b.createStatement()) {
                s.executeQuery("SELECT 1").close(); // another identity is not held back
            }
            alice.remove(0).close();
            Connection again = null;
            for (int i = 0; i < 50 && again == null; i++) { // the closed session's end reaches Warden shortly
                try {
                    again = warden.connect("");
                } catch (SQLException stillCounted) {
                    assertEquals("53300", stillCounted.getSQLState(), stillCounted.getMessage());
                    Thread.sleep(100);
                }
            }
            assertTrue(again != null, "a session's end gives its place back");
            alice.add(again);
            try (Statement s = again.createStatement()) {
                s.executeQuery("SELECT 1").close();
            }
        } finally {
            for (Connection c : alice) {
                c.close();
            }
        }
    }
}
