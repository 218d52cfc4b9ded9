package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;

import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** pgJDBC through Warden to a real PostgreSQL: what an application does every day. */
class JdbcThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * Sessions append their records without waking the audit writer; their event loop wakes it once per pass.
     * Several sessions at once, simple and extended: every statement is answered, and the writer never had to
     * find a record on its own (a missed wake would hold each statement for the writer's longest wait).
     */
    @Test
    void concurrentSessionsWakeTheAuditWriterForEveryRecord() throws Exception {
        dev.warden.audit.AuditLog.Stats stats = runConcurrentSessions(warden);
        assertEquals(0, stats.inlineBatches(), "durability: fsync never writes on an event loop: " + stats);
    }

    /**
     * {@code durability: write}: the event loops write the queued records themselves. The same sessions, every
     * statement answered and audited, no late wake, many batches written inline, and the log verifies.
     */
    @Test
    void withDurabilityWriteTheEventLoopsWriteTheirOwnRecords() throws Exception {
        try (WardenHarness write = WardenHarness.start("", "", """
                audit:
                  sinks: [ { type: file, dir: "${AUDIT_DIR}" } ]
                  durability: write
                """)) {
            dev.warden.audit.AuditLog.Stats stats = runConcurrentSessions(write);
            // The loops stand aside while the file is fsync'd (every 200 ms): on a slow disk that is a good share.
            assertTrue(stats.inlineBatches() > stats.batches() / 4, "batches written inline: " + stats);
            write.assertAuditVerifies();
        }
    }

    /**
     * Six sessions, simple and extended protocol, 150 statements each: every answer is checked, there are a query
     * and a result record per statement, and the writer never had to find a record on its own (a missed wake
     * would hold each statement for the writer's longest wait). Returns the audit log's counters.
     */
    private static dev.warden.audit.AuditLog.Stats runConcurrentSessions(WardenHarness warden) throws Exception {
        // Relative to now: the class's other tests share this Warden, and their sessions' end records are not
        // what this measures (one such record was once found late at a session's end, before these started).
        dev.warden.audit.AuditLog.Stats before = warden.server().auditStats();
        long recordsBefore = before.records();
        int sessions = 6;
        int statements = 150;
        java.util.List<CompletableFuture<Void>> running = new java.util.ArrayList<>();
        for (int s = 0; s < sessions; s++) {
            String mode = s % 2 == 0 ? "preferQueryMode=simple" : "prepareThreshold=1";
            running.add(CompletableFuture.runAsync(() -> {
                try (Connection c = warden.connect(mode);
                     PreparedStatement p = c.prepareStatement("SELECT ?::int + 1")) {
                    for (int i = 0; i < statements; i++) {
                        p.setInt(1, i);
                        try (ResultSet rs = p.executeQuery()) {
                            assertTrue(rs.next());
                            assertEquals(i + 1, rs.getInt(1));
                        }
                    }
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        // Result records ride with later batches: give the last ones their 10 ms.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        dev.warden.audit.AuditLog.Stats stats = warden.server().auditStats();
        while (stats.records() - recordsBefore < 2L * sessions * statements && System.nanoTime() < deadline) {
            Thread.sleep(10);
            stats = warden.server().auditStats();
        }
        assertTrue(stats.records() - recordsBefore >= 2L * sessions * statements,
                "a query and a result record per statement: " + stats);
        assertEquals(0, stats.lateWakes() - before.lateWakes(), "the writer was woken for every record of these "
                + "sessions: " + stats + ", before them " + before);
        return stats;
    }

    @Test
    void simpleQueryReturnsRowsFromTheUpstream() throws SQLException {
        try (Connection c = warden.connect("preferQueryMode=simple");
             ResultSet rs = c.createStatement().executeQuery("SELECT current_database(), current_user, 6 * 7")) {
            assertTrue(rs.next());
            assertEquals(warden.database, rs.getString(1));
            assertEquals("warden_scram", rs.getString(2));
            assertEquals(42, rs.getInt(3));
        }
    }

    @Test
    void ddlDmlAndTransactionsWithErrorsAndRollbacks() throws SQLException {
        try (Connection c = warden.connect("")) {
            Statement s = c.createStatement();
            s.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric)");
            s.executeUpdate("INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'bob', 50)");
            c.setAutoCommit(false);
            s.executeUpdate("UPDATE accounts SET balance = balance - 10 WHERE id = 1");
            SQLException dup = assertThrows(SQLException.class,
                    () -> s.executeUpdate("INSERT INTO accounts VALUES (1, 'dup', 0)"));
            assertEquals("23505", dup.getSQLState());
            SQLException aborted = assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"));
            assertEquals("25P02", aborted.getSQLState(), "the transaction stays aborted until rollback");
            c.rollback();
            c.setAutoCommit(true);
            try (ResultSet rs = s.executeQuery("SELECT balance FROM accounts WHERE id = 1")) {
                assertTrue(rs.next());
                assertEquals(100, rs.getInt(1), "the rolled back update is gone");
            }
            s.execute("DROP TABLE accounts");
        }
    }

    @Test
    void serverSidePreparedStatementsWithBinaryTransfer() throws SQLException {
        try (Connection c = warden.connect("prepareThreshold=1&binaryTransfer=true")) {
            c.createStatement().execute("CREATE TABLE measures (id int, taken timestamptz, value float8, raw bytea)");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO measures VALUES (?, now(), ?, ?)")) {
                for (int i = 0; i < 20; i++) {
                    ins.setInt(1, i);
                    ins.setDouble(2, i * 1.5);
                    ins.setBytes(3, new byte[] {(byte) i, 0, (byte) 0xff});
                    ins.executeUpdate();
                }
            }
            try (PreparedStatement q = c.prepareStatement("SELECT id, value, raw FROM measures WHERE id = ?")) {
                for (int i = 0; i < 20; i++) {
                    q.setInt(1, i);
                    try (ResultSet rs = q.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals(i, rs.getInt(1));
                        assertEquals(i * 1.5, rs.getDouble(2));
                        assertArrayEquals(new byte[] {(byte) i, 0, (byte) 0xff}, rs.getBytes(3));
                    }
                }
            }
            c.createStatement().execute("DROP TABLE measures");
        }
    }

    @Test
    void copyFromStdinAndToStdout() throws Exception {
        try (Connection c = warden.connect("")) {
            c.createStatement().execute("CREATE TABLE items (id int, name text)");
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder rows = new StringBuilder();
            for (int i = 0; i < 5000; i++) {
                rows.append(i).append('\t').append("item-").append(i).append('\n');
            }
            long in = copy.copyIn("COPY items FROM STDIN", new StringReader(rows.toString()));
            assertEquals(5000, in);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            long copied = copy.copyOut("COPY (SELECT * FROM items ORDER BY id) TO STDOUT", out);
            assertEquals(5000, copied);
            assertEquals(rows.toString(), out.toString(StandardCharsets.UTF_8));
            c.createStatement().execute("DROP TABLE items");
        }
    }

    @Test
    void listenNotifyCrossesTheProxy() throws Exception {
        try (Connection listener = warden.connect(""); Connection notifier = warden.connect("")) {
            listener.createStatement().execute("LISTEN deployments");
            notifier.createStatement().execute("NOTIFY deployments, 'v2 is live'");
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(5000);
            assertNotNull(got);
            assertEquals(1, got.length);
            assertEquals("deployments", got[0].getName());
            assertEquals("v2 is live", got[0].getParameter());
        }
    }

    @Test
    void cancelledSleepReturns57014WithinASecond() throws Exception {
        try (Connection c = warden.connect("")) {
            Statement s = c.createStatement();
            CompletableFuture<SQLException> result = CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(500);
            long start = System.nanoTime();
            s.cancel();
            SQLException e = result.get(5, TimeUnit.SECONDS);
            long tookMs = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertNotNull(e, "pg_sleep(30) must have been cancelled");
            assertEquals("57014", e.getSQLState());
            assertTrue(tookMs < 1000, "cancel took " + tookMs + " ms");
            try (ResultSet rs = s.executeQuery("SELECT 'still usable'")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void clientStartupParametersReachTheUpstream() throws SQLException {
        try (Connection c = warden.connect("ApplicationName=billing-job&options=-c%20search_path%3Dcustom,public%20-c%20statement_timeout%3D12345");
             Statement s = c.createStatement()) {
            assertEquals("billing-job", scalar(s, "SHOW application_name"));
            assertEquals("custom,public", scalar(s, "SHOW search_path"));
            assertEquals("12345ms", scalar(s, "SHOW statement_timeout"));
            s.execute("SET statement_timeout = 1");
            s.execute("RESET statement_timeout");
            assertEquals("12345ms", scalar(s, "SHOW statement_timeout"), "RESET returns to the session default");
            c.createStatement().execute("SET TIME ZONE 'Asia/Tokyo'");
            assertEquals("Asia/Tokyo", scalar(s, "SHOW TimeZone"));
        }
    }

    @Test
    void backendKeyIsWardensOwnNotTheUpstreams() throws SQLException {
        try (Connection c = warden.connect("")) {
            int upstreamPid = Integer.parseInt(scalar(c.createStatement(), "SELECT pg_backend_pid()"));
            int clientPid = c.unwrap(PGConnection.class).getBackendPID();
            assertFalse(upstreamPid == clientPid, "clients must see Warden's key, not the upstream's");
        }
    }

    static String scalar(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
