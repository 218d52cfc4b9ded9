package dev.warden.proxy;

import dev.warden.testkit.StoppedBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every session of an environment reads the catalog through one connection of Warden's login. When that connection
 * stops answering (here its backend is stopped with SIGSTOP: the same, on the wire, as a server or network that
 * drops packets without a reset), the sessions waiting on it must be answered within {@code upstream.query_timeout}
 * and a few seconds, and the next read must open a new connection. Before, they waited for good.
 */
class CatalogConnectionStallTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true, query_timeout: 2s }
                    allow: [ { groups: [eng] } ]
                """, "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void sessionsWaitingOnAStoppedCatalogConnectionAreAnsweredAndTheNextReadReconnects() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(warden.pg.embedded(), "stops a backend of a server run here");
        try (Connection direct = warden.direct(); Statement d = direct.createStatement()) {
            d.execute("DROP TABLE IF EXISTS stall_a, stall_b");
            d.execute("CREATE TABLE stall_a (id int)");
            d.execute("CREATE TABLE stall_b (id int)");
            d.execute("INSERT INTO stall_a VALUES (1)");
            d.execute("INSERT INTO stall_b VALUES (2)");
            try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "");
                 Connection other = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                assertEquals("1", first(alice, "SELECT id FROM stall_a"), "the catalog connection is open");
                long pid;
                try (StoppedBackend stopped = StoppedBackend.of(d, "warden-catalog")) {
                    pid = stopped.pid();
                    long started = System.nanoTime();
                    CompletableFuture<String> one = CompletableFuture.supplyAsync(() -> tryFirst(alice,
                            "SELECT id FROM stall_b"));
                    CompletableFuture<String> two = CompletableFuture.supplyAsync(() -> tryFirst(other,
                            "SELECT id FROM stall_b WHERE id > 0"));
                    // 2 s of query_timeout and 5 s of silence past it, then the driver gives up; 20 s is ample.
                    String first = one.get(20, TimeUnit.SECONDS);
                    String second = two.get(20, TimeUnit.SECONDS);
                    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                    System.out.println("stall answers: " + first + " / " + second + " in " + waited + " ms");
                    for (String answer : new String[] {first, second}) {
                        // Failing closed while the catalog cannot be read is right (an error, or the column masked
                        // as sensitive, with the notice saying so); the row is right too (a new connection read
                        // it); a value that is neither is not.
                        assertTrue(answer.equals("2") || answer.startsWith("error ") || answer.startsWith("masked: "),
                                answer);
                    }
                    assertTrue(!first.equals("2") || !second.equals("2") || waited >= 6_000,
                            "someone waited on the stopped connection: " + first + " / " + second + " in " + waited
                                    + " ms");
                }
                assertEquals("2", first(alice, "SELECT id FROM stall_b WHERE id = 2"), "the catalog is read again");
                try (ResultSet rs = d.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        + "'warden-catalog' AND datname = current_database() AND pid <> " + pid)) {
                    assertTrue(rs.next() && rs.getInt(1) > 0, "a new catalog connection");
                }
            }
        }
    }

    private static String first(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    /** The first row's value; "masked: " and the notice when it came masked; "error " and the error. */
    private static String tryFirst(Connection c, String sql) {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            String value = rs.getString(1);
            java.sql.SQLWarning notice = s.getWarnings();
            return value == null && notice != null ? "masked: " + notice.getMessage() : String.valueOf(value);
        } catch (SQLException e) {
            return "error " + e.getSQLState() + " " + e.getMessage();
        }
    }
}
