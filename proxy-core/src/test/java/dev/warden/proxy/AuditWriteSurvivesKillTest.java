package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit.durability: write} as a user runs it: Warden in its own JVM, clients running statements, then
 * {@code kill -9}. Every statement a client got an answer for has its {@code query} record in the log, and the
 * log verifies. The sync interval is longer than the run, so the records survive only because they reached
 * the operating system before the statements were relayed, not because an fsync happened to come first.
 */
class AuditWriteSurvivesKillTest {

    private static final int CLIENTS = 4;

    @Test
    void killNineUnderLoadLosesNoAcknowledgedStatement(@TempDir Path dir) throws Exception {
        try (TestPostgres pg = TestPostgres.start(); TestOidcIssuer issuer = TestOidcIssuer.start()) {
            Path auditDir = dir.resolve("audit");
            Path policy = dir.resolve("warden.yaml");
            Files.writeString(policy, """
                    listen: { address: "127.0.0.1:0" }
                    identity:
                      issuers: [ { issuer: "%s", audience: warden } ]
                    environments:
                      dev:
                        upstream: { host: 127.0.0.1, port: %d, database: postgres, user: %s, password_env: WARDEN_TEST_UPSTREAM_PASSWORD, allow_superuser: true }
                        allow: [ { groups: [eng] } ]
                    audit:
                      sinks: [ { type: file, dir: "%s" } ]
                      durability: write
                      sync_interval: 10s
                      checkpoint_interval: 0
                    """.formatted(issuer.issuer(), pg.port(), TestPostgres.SCRAM_USER, auditDir));
            AuditWriteAheadTest.WardenProcess warden = AuditWriteAheadTest.WardenProcess.start(policy);
            Process process = warden.process();

            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            try {
                int port = warden.port();
                String token = issuer.token().email("alice@example.com").groups("eng").sign();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    Connection connection = connect(port, token);
                    Thread t = new Thread(() -> runUntilKilled(connection, client, stop, acknowledged));
                    t.start();
                    clients.add(t);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (acknowledged.size() < 400 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                process.destroyForcibly(); // SIGKILL: no shutdown hook, no final checkpoint, no fsync
                assertTrue(process.waitFor(20, TimeUnit.SECONDS), "warden died");
                assertEquals(137, process.exitValue(), "killed by SIGKILL");
            } finally {
                stop.set(true);
                process.destroyForcibly();
                for (Thread t : clients) {
                    t.join(20_000);
                }
            }
            assertTrue(acknowledged.size() >= 100, "load ran: " + acknowledged.size() + " statements answered");

            String log = readLog(auditDir);
            List<String> missing = new ArrayList<>();
            for (String marker : acknowledged) {
                if (!log.contains("\"statement\":\"SELECT '" + marker + "'\"")) {
                    missing.add(marker);
                }
            }
            assertEquals(List.of(), missing, "answered statements without a query record, of " + acknowledged.size());

            VerifyReport report = AuditVerifier.verify(auditDir, null);
            assertTrue(report.passed(), report.summary());
            assertTrue(report.records() >= acknowledged.size(), report.summary());
        }
    }

    private static void runUntilKilled(Connection connection, int client, AtomicBoolean stop, Set<String> acknowledged) {
        try (connection; Statement s = connection.createStatement()) {
            for (int i = 0; !stop.get(); i++) {
                String marker = "c" + client + "-" + i;
                try (ResultSet rs = s.executeQuery("SELECT '" + marker + "'")) {
                    rs.next();
                    if (marker.equals(rs.getString(1))) {
                        acknowledged.add(marker);
                    }
                }
            }
        } catch (SQLException e) {
            // Warden was killed: the statement in flight got no answer, so it is not counted.
        }
    }

    private static Connection connect(int port, String token) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "alice@example.com");
        props.setProperty("password", token);
        props.setProperty("sslmode", "require");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/dev", props);
    }

    private static String readLog(Path auditDir) throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(auditDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                all.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        }
        return all.toString();
    }
}
