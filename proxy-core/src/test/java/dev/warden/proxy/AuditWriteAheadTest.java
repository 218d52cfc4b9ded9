package dev.warden.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.proxy.cli.WardenCommand;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
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
import java.util.TreeSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No record, no query, end to end through the real proxy: a statement whose audit record cannot be made durable
 * never reaches PostgreSQL, and a Warden killed with SIGKILL under load leaves a log that verifies and records
 * every statement PostgreSQL ran.
 */
class AuditWriteAheadTest {

    private static final String SESSION_LOGGER = "dev.warden.proxy.session.FrontendSession";

    /**
     * The file sink must open a new file after 1 KB; the tests then make its directory a regular file, which
     * even root cannot create a file inside.
     */
    private static String fileSinkRotatingAt1Kb(String onFailure) {
        return "audit:\n  on_failure: " + onFailure + "\n"
                + "  sinks: [ { type: file, dir: \"${AUDIT_DIR}\", rotate_bytes: 1KB } ]\n";
    }

    @Test
    void aFailingAuditSinkRefusesStatementsWith58030AndNothingReachesPostgres() throws Exception {
        ListAppender<ILoggingEvent> logged = captureSessionLog();
        try (WardenHarness warden = WardenHarness.start("", "", fileSinkRotatingAt1Kb("refuse"))) {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("CREATE TABLE payments (id int primary key)");
            }
            try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
                s.execute("INSERT INTO payments VALUES (1)");
                breakDirectory(warden.auditDir());

                // Records still go to the open file until it is full; from then on every statement is refused.
                int refusedId = -1;
                SQLException refused = null;
                for (int id = 2; id < 200 && refused == null; id++) {
                    try {
                        s.execute("INSERT INTO payments VALUES (" + id + ")");
                    } catch (SQLException e) {
                        refused = e;
                        refusedId = id;
                    }
                }
                assertNotNull(refused, "the sink never failed");
                assertEquals("58030", refused.getSQLState(), refused.getMessage());
                assertTrue(refused.getMessage().contains("audit sink file:" + warden.auditDir()), refused.getMessage());

                SQLException create = assertThrows(SQLException.class,
                        () -> s.execute("CREATE TABLE created_without_a_record (id int)"));
                assertEquals("58030", create.getSQLState(), create.getMessage());

                try (Connection direct = warden.direct(); Statement d = direct.createStatement()) {
                    Set<Integer> ids = ids(d, "SELECT id FROM payments");
                    assertFalse(ids.contains(refusedId), "the refused INSERT ran: " + ids);
                    assertEquals(refusedId - 1, ids.size(), "every INSERT before the failure ran: " + ids);
                    try (ResultSet rs = d.executeQuery("SELECT to_regclass('public.created_without_a_record')")) {
                        rs.next();
                        assertEquals(null, rs.getString(1), "the refused CREATE TABLE ran");
                    }
                }
            }
            assertTrue(messages(logged).stream()
                    .anyMatch(m -> m.startsWith("audit.unavailable") && m.contains("statement refused")),
                    "the refusal is logged");
        } finally {
            releaseSessionLog(logged);
        }
    }

    @Test
    void withOnFailureAllowStatementsRunAndTheFailureIsLogged() throws Exception {
        ListAppender<ILoggingEvent> logged = captureSessionLog();
        try (WardenHarness warden = WardenHarness.start("", "", fileSinkRotatingAt1Kb("allow"))) {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("CREATE TABLE payments (id int primary key)");
            }
            try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
                breakDirectory(warden.auditDir());
                for (int id = 1; id <= 30; id++) {
                    s.execute("INSERT INTO payments VALUES (" + id + ")");
                }
            }
            try (Connection direct = warden.direct(); Statement d = direct.createStatement()) {
                assertEquals(30, ids(d, "SELECT id FROM payments").size());
            }
            List<String> messages = messages(logged);
            assertTrue(messages.stream().anyMatch(m -> m.startsWith("audit.unavailable")
                    && m.contains("on_failure=allow") && m.contains("audit sink file:" + warden.auditDir())),
                    "the failure is logged: " + messages);
        } finally {
            releaseSessionLog(logged);
        }
    }

    @Test
    void killedWithSigkillUnderLoadTheLogVerifiesAndHoldsEveryStatementPostgresRan(@TempDir Path tmp)
            throws Exception {
        try (TestPostgres pg = TestPostgres.start(); TestOidcIssuer issuer = TestOidcIssuer.start()) {
            String database = pg.createDatabase("killed");
            try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE orders (id bigint primary key, worker int)");
            }
            Path auditDir = tmp.resolve("audit");
            Path policy = tmp.resolve("warden.yaml");
            Files.writeString(policy, """
                    listen: { address: "127.0.0.1:0" }
                    identity:
                      issuers: [ { issuer: "%s", audience: warden } ]
                    environments:
                      dev:
                        upstream: { host: 127.0.0.1, port: %d, database: %s, user: %s, password_env: WARDEN_TEST_UPSTREAM_PASSWORD, allow_superuser: true }
                        allow: [ { groups: [eng] } ]
                    audit:
                      sinks: [ { type: file, dir: "%s" } ]
                    """.formatted(issuer.issuer(), pg.port(), database, TestPostgres.SCRAM_USER, auditDir));

            WardenProcess first = WardenProcess.start(policy);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> workers = new ArrayList<>();
            try {
                for (int w = 0; w < 4; w++) {
                    int worker = w;
                    Connection c = connect(first.port, issuer);
                    Thread t = new Thread(() -> {
                        try (c; Statement s = c.createStatement()) {
                            for (long i = 0; !stop.get(); i++) {
                                s.execute("INSERT INTO orders VALUES (" + (worker * 1_000_000L + i) + ", " + worker + ")");
                            }
                        } catch (SQLException e) {
                            // Warden died under this connection
                        }
                    }, "load-" + w);
                    workers.add(t);
                    t.start();
                }
                Thread.sleep(1500);
                first.process.destroyForcibly(); // SIGKILL, mid-load
                assertTrue(first.process.waitFor(10, TimeUnit.SECONDS));
            } finally {
                stop.set(true);
                for (Thread t : workers) {
                    t.join(10_000);
                }
                first.process.destroyForcibly();
            }

            // One more start continues the chain (and names any torn bytes in a recovery record); then a clean stop.
            WardenProcess second = WardenProcess.start(policy);
            second.process.destroy();
            assertTrue(second.process.waitFor(20, TimeUnit.SECONDS));

            AuditCliTest.Run verify = AuditCliTest.warden("audit", "verify", auditDir.toString());
            assertEquals(0, verify.exit(), verify.all());

            Set<Long> recorded = new TreeSet<>();
            Pattern insert = Pattern.compile("INSERT INTO orders VALUES \\((\\d+), ");
            for (AuditReader.Line line : AuditReader.of(auditDir).search(AuditFilter.all())) {
                AuditRecord r = line.record();
                if (r.type().equals("query")) {
                    Matcher m = insert.matcher(r.get("statement").asText());
                    if (m.find()) {
                        recorded.add(Long.parseLong(m.group(1)));
                    }
                }
            }
            Set<Long> executed = new TreeSet<>();
            try (Connection c = pg.connect(database); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id FROM orders")) {
                while (rs.next()) {
                    executed.add(rs.getLong(1));
                }
            }
            assertTrue(executed.size() > 100, "the load ran: " + executed.size() + " rows");
            Set<Long> unrecorded = new TreeSet<>(executed);
            unrecorded.removeAll(recorded);
            assertEquals(Set.of(), unrecorded, "rows PostgreSQL has without a query record");
        }
    }

    // --- helpers

    private static void breakDirectory(Path dir) throws IOException {
        Files.move(dir, dir.resolveSibling(dir.getFileName() + "-moved"));
        Files.writeString(dir, "a regular file where the audit directory was\n");
    }

    private static Set<Integer> ids(Statement s, String query) throws SQLException {
        Set<Integer> ids = new TreeSet<>();
        try (ResultSet rs = s.executeQuery(query)) {
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
        }
        return ids;
    }

    /** The appender is written from event loops while the test reads: copy under its own lock. */
    private static List<String> messages(ListAppender<ILoggingEvent> logged) {
        synchronized (logged) {
            return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    private static ListAppender<ILoggingEvent> captureSessionLog() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((Logger) LoggerFactory.getLogger(SESSION_LOGGER)).addAppender(appender);
        return appender;
    }

    private static void releaseSessionLog(ListAppender<ILoggingEvent> appender) {
        ((Logger) LoggerFactory.getLogger(SESSION_LOGGER)).detachAppender(appender);
    }

    private static Connection connect(int port, TestOidcIssuer issuer) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", WardenHarness.USER);
        props.setProperty("password", issuer.token().email(WardenHarness.USER).groups("eng").sign());
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/dev?sslmode=require", props);
    }

    /** {@code warden serve} in its own JVM, as an operator runs it. */
    record WardenProcess(Process process, int port) {

        static WardenProcess start(Path policy) throws Exception {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), WardenCommand.class.getName(),
                    "serve", "--config", policy.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("WARDEN_TEST_UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
            Process process = pb.start();
            LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            }, "warden-output");
            reader.setDaemon(true);
            reader.start();
            Pattern listening = Pattern.compile("warden: listening on .*:(\\d+)");
            StringBuilder seen = new StringBuilder();
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                String line = lines.poll(500, TimeUnit.MILLISECONDS);
                if (line != null) {
                    seen.append(line).append('\n');
                    Matcher m = listening.matcher(line);
                    if (m.find()) {
                        return new WardenProcess(process, Integer.parseInt(m.group(1)));
                    }
                }
            }
            process.destroyForcibly();
            throw new AssertionError("warden did not start:\n" + seen);
        }
    }
}
