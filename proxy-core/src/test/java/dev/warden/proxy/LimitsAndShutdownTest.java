package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connection limits, idle timeout, a lost upstream and graceful shutdown (last: it stops the proxy). */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LimitsAndShutdownTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("""
                  max_connections: 3
                  idle_timeout: 2s
                """, "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    @Order(1)
    void connectionsPastTheLimitGet53300() throws Exception {
        List<Connection> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                open.add(warden.connect(""));
            }
            SQLException e = assertThrows(SQLException.class, () -> warden.connect(""));
            assertEquals("53300", e.getSQLState());
            assertTrue(e.getMessage().contains("max_connections"), e.getMessage());
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
        awaitSessions(0);
    }

    @Test
    @Order(2)
    void anIdleSessionIsClosedWith57P05ButALongQueryIsNot() throws Exception {
        try (Connection busy = warden.connect(""); Connection idle = warden.connect("")) {
            try (ResultSet rs = busy.createStatement().executeQuery("SELECT pg_sleep(3), 'done'")) {
                assertTrue(rs.next(), "a 3 s statement outlives a 2 s idle timeout");
                assertEquals("done", rs.getString(2));
            }
            SQLException e = assertThrows(SQLException.class, () -> idle.createStatement().execute("SELECT 1"));
            assertTrue(e.getMessage().contains("idle timeout") || "08006".equals(e.getSQLState()), e.getMessage());
        }
        awaitSessions(0);
    }

    @Test
    @Order(3)
    void aLostUpstreamEndsTheClientSessionWithAnError() throws Exception {
        try (Connection c = warden.connect("")) {
            int pid;
            try (ResultSet rs = c.createStatement().executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            try (Connection admin = warden.direct()) {
                admin.createStatement().execute("SELECT pg_terminate_backend(" + pid + ")");
            }
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute("SELECT 1"));
            assertTrue(e.getSQLState().startsWith("08") || e.getSQLState().equals("57P01"), e.getSQLState());
        }
        awaitSessions(0);
    }

    @Test
    @Order(4)
    void shutdownLetsARunningTransactionFinishClosesIdleSessionsAndRefusesNewOnes() throws Exception {
        Connection inTx = warden.connect("");
        Connection idle = warden.connect("");
        inTx.setAutoCommit(false);
        Statement s = inTx.createStatement();
        s.execute("CREATE TABLE IF NOT EXISTS shutdown_probe (v int)");
        s.execute("INSERT INTO shutdown_probe VALUES (1)");
        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(
                () -> warden.server().shutdown(Duration.ofSeconds(10)));
        Thread.sleep(300);
        SQLException refused = assertThrows(SQLException.class, () -> warden.connect(""));
        assertEquals("08001", refused.getSQLState(), "the listener is closed: " + refused.getMessage());
        SQLException closed = assertThrows(SQLException.class, () -> idle.createStatement().execute("SELECT 1"));
        assertTrue(closed.getMessage().contains("shutting down") || "08006".equals(closed.getSQLState()),
                closed.getMessage());
        s.execute("INSERT INTO shutdown_probe VALUES (2)");
        inTx.commit();
        shutdown.get(15, TimeUnit.SECONDS);
        try (Connection direct = warden.direct();
             ResultSet rs = direct.createStatement().executeQuery("SELECT count(*) FROM shutdown_probe")) {
            rs.next();
            assertEquals(2, rs.getInt(1), "the transaction that was running at shutdown committed");
        }
        inTx.close();
        idle.close();
    }

    private static void awaitSessions(int expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5000;
        while (warden.server().openSessions() != expected && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, warden.server().openSessions());
    }
}
