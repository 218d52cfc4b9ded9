package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.BackendMessage.DataRow;
import dev.warden.pg.message.BackendMessage.ReadyForQuery;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.server.BufferAllocator;
import dev.warden.proxy.server.Transport;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The relay on each I/O transport Warden can run on ({@link Transport}): io_uring is the default where the kernel
 * allows it, so every other test runs on it here; epoll and NIO are what Warden falls back to elsewhere. Each
 * transport gets the relay's hard cases with real clients: TLS, masking, a guardrail refusal, a pipeline of
 * extended-protocol requests, a pgJDBC batch, a CancelRequest (a second connection made from the client's own
 * channel class) and a result far larger than any buffer sent to a client that reads slowly (autoRead turned off
 * and on again, which each transport implements its own way).
 */
class TransportsThroughWardenTest {

    @ParameterizedTest
    @EnumSource(Transport.class)
    void theRelayKeepsEveryRuleOnEachTransport(Transport transport) throws Exception {
        // io_uring depends on the kernel's settings (io_uring_disabled, seccomp); epoll and NIO are always here.
        assumeTrue(transport != Transport.IO_URING || transport.available(),
                "io_uring is not allowed on this machine");
        String before = System.getProperty(Transport.PROPERTY);
        WardenHarness warden;
        System.setProperty(Transport.PROPERTY, transport.label());
        try {
            warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                    guardrails:
                      rules:
                        - { name: no-drop, environments: [dev], match: { statements: [DROP] }, action: block }
                    """);
        } finally {
            if (before == null) {
                System.clearProperty(Transport.PROPERTY);
            } else {
                System.setProperty(Transport.PROPERTY, before);
            }
        }
        try (warden) {
            assertEquals(transport, warden.server().transport());
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE people (id int primary key, name text, email text)");
                s.execute("INSERT INTO people SELECT i, 'name' || i, 'user' || i || '@example.com' "
                        + "FROM generate_series(1, 100) i");
                s.execute("CREATE TABLE sink (id int, note text)");
            }
            overJdbcWithTls(warden);
            pipelined(warden);
            toASlowReader(warden);
            warden.assertAuditVerifies();
        }
    }

    private static void overJdbcWithTls(WardenHarness warden) throws Exception {
        try (Connection c = warden.connect("")) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT id, email FROM people WHERE id <= 3 ORDER BY id")) {
                for (int i = 1; i <= 3; i++) {
                    assertTrue(rs.next());
                    assertEquals(i, rs.getInt(1));
                    String email = rs.getString(2);
                    assertFalse(email.contains("user" + i + "@"), "masked: " + email);
                }
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO sink VALUES (?, ?)")) {
                for (int i = 0; i < 500; i++) {
                    p.setInt(1, i);
                    p.setString(2, "n" + i);
                    p.addBatch();
                }
                int[] counts = p.executeBatch();
                int[] ones = new int[500];
                java.util.Arrays.fill(ones, 1);
                assertArrayEquals(ones, counts);
            }
            SQLException drop = assertThrows(SQLException.class, () -> c.createStatement().execute("DROP TABLE sink"));
            assertEquals("42501", drop.getSQLState(), drop.getMessage());
            assertEquals("500", WardenHarness.scalar(c, "SELECT count(*) FROM sink"), "the table is still there");

            Statement sleeper = c.createStatement();
            CompletableFuture<SQLException> result = CompletableFuture.supplyAsync(() -> {
                try {
                    sleeper.execute("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(500);
            sleeper.cancel();
            SQLException cancelled = result.get(10, TimeUnit.SECONDS);
            assertNotNull(cancelled, "pg_sleep(30) was not cancelled");
            assertEquals("57014", cancelled.getSQLState(), cancelled.getMessage());
            assertEquals("still usable", WardenHarness.scalar(c, "SELECT 'still usable'"));
        }
    }

    /** psycopg 3's pipeline mode: 50 Parse/Bind/Execute of the unnamed statement, one Sync at the end. */
    private static void pipelined(WardenHarness warden) throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            for (int i = 1; i <= 50; i++) {
                c.send(new FrontendMessage.Parse("", "SELECT id, email FROM people WHERE id = $1", List.of()));
                c.send(new FrontendMessage.Bind("", "", List.of(),
                        List.of(Integer.toString(i).getBytes(StandardCharsets.UTF_8)), List.of()));
                c.send(new FrontendMessage.Execute("", 0));
            }
            c.send(new FrontendMessage.Sync());
            List<DataRow> rows = new ArrayList<>();
            BackendMessage m;
            do {
                m = c.read();
                if (m instanceof DataRow row) {
                    rows.add(row);
                } else if (m instanceof BackendMessage.ErrorResponse e) {
                    throw new AssertionError(e.message());
                }
            } while (!(m instanceof ReadyForQuery));
            assertEquals(50, rows.size());
            for (int i = 1; i <= 50; i++) {
                DataRow row = rows.get(i - 1);
                assertEquals(Integer.toString(i), new String(row.values().get(0), StandardCharsets.UTF_8));
                assertFalse(new String(row.values().get(1), StandardCharsets.UTF_8).contains("user" + i + "@"));
            }
        }
    }

    /** 300,000 rows of 200 bytes (60 MB) to a client that reads slowly: Warden holds a few MB at most. */
    private static void toASlowReader(WardenHarness warden) throws Exception {
        ByteBufAllocatorMetric allocator = ((ByteBufAllocatorMetricProvider) BufferAllocator.forServing()).metric();
        long baseline = allocator.usedDirectMemory() + allocator.usedHeapMemory();
        long peak = 0;
        long rows = 0;
        try (RawClient c = new RawClient(warden.port(), 16 * 1024)) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Query("SELECT g, repeat('x', 200) FROM generate_series(1, 300000) g"));
            BackendMessage m;
            do {
                m = c.read();
                if (m instanceof DataRow row) {
                    rows++;
                    assertEquals(200, row.values().get(1).length);
                    if (rows % 5000 == 0) {
                        Thread.sleep(5);
                        peak = Math.max(peak, allocator.usedDirectMemory() + allocator.usedHeapMemory() - baseline);
                    }
                } else if (m instanceof BackendMessage.ErrorResponse e) {
                    throw new AssertionError(e.message());
                }
            } while (!(m instanceof ReadyForQuery));
        }
        assertEquals(300_000, rows);
        assertTrue(peak < 32L * 1024 * 1024, "Warden buffered " + (peak >> 20) + " MB for a slow reader");
    }
}
