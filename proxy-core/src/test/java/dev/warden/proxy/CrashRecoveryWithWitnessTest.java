package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditRecord;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.witness.PostgresWitnessStore;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.config.Secret;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a real {@code warden serve} process under load, then a restart: the log still verifies
 * against the witness, and every statement PostgreSQL ran ({@code log_statement = all}) has its {@code query}
 * record. Write-ahead means a statement is relayed only after its record is fsync'd, so no crash can lose one.
 */
class CrashRecoveryWithWitnessTest {

    private static final Pattern MARKER = Pattern.compile("crash-marker-(\\d+)");

    @TempDir
    Path tmp;

    @Test
    void killMinus9UnderLoadThenRestartVerifiesWithTheWitnessAndEveryStatementRanHasItsRecord() throws Exception {
        try (TestPostgres pg = TestPostgres.startLoggingStatements(); TestOidcIssuer issuer = TestOidcIssuer.start()) {
            String app = pg.createDatabase("app");
            String witnessDb = pg.createDatabase("witness");
            String witnessUrl = pg.jdbcUrl(witnessDb) + "&user=" + pg.superuser() + "&password="
                    + URLEncoder.encode(pg.superuserPassword(), StandardCharsets.UTF_8);
            Files.writeString(tmp.resolve("witness-url"), witnessUrl);
            Path keys = Files.createDirectories(tmp.resolve("keys"));
            SigningKey key = SigningKey.loadOrGenerate(keys.resolve("audit.pem"));
            Path auditDir = tmp.resolve("audit");
            Path policy = tmp.resolve("warden.yaml");
            Files.writeString(policy, """
                    listen: { address: "127.0.0.1:0", shutdown_grace: 5s }
                    identity:
                      issuers: [ { issuer: "%s", audience: warden } ]
                    environments:
                      dev:
                        baseline_guardrails: false
                        upstream: { host: 127.0.0.1, port: %d, database: %s, user: %s, password_env: WARDEN_TEST_UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                        allow: [ { groups: [eng] } ]
                    audit:
                      sinks: [ { type: file, dir: "%s", rotate_bytes: 64KB } ]
                      signing_key: keys/audit.pem
                      instance: crash-test
                      checkpoint_every: 50
                      checkpoint_interval: 100ms
                      witness: { type: postgres, url_file: witness-url }
                    """.formatted(issuer.issuer(), pg.port(), app, TestPostgres.SCRAM_USER, auditDir));
            try (Connection direct = pg.connect(app); Statement s = direct.createStatement()) {
                s.execute("CREATE TABLE crash_t (id int, marker text)");
                s.execute("GRANT ALL ON crash_t TO " + TestPostgres.SCRAM_USER);
            }
            String token = issuer.token().email(WardenHarness.USER).groups("eng").sign();

            Warden first = Warden.start(policy);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger next = new AtomicInteger();
            AtomicInteger acknowledged = new AtomicInteger();
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Thread t = new Thread(() -> load(first.port, token, stop, next, acknowledged));
                t.start();
                clients.add(t);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (acknowledged.get() < 200 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            first.process.destroyForcibly(); // SIGKILL, mid-load
            assertTrue(first.process.waitFor(10, TimeUnit.SECONDS));
            stop.set(true);
            for (Thread t : clients) {
                t.join(10_000);
            }
            assertTrue(acknowledged.get() > 50, "load ran: " + acknowledged.get());
            // Before the restart: what the kill left unsigned is reported with its range, not passed over.
            VerifyReport crashed = AuditVerifier.verify(auditDir, key.publicKey());
            System.out.print(crashed.summary());
            if (crashed.unsignedTail() > 0) {
                assertTrue(crashed.summary().contains("WARNING unsigned tail: seq " + (crashed.signedThroughSeq() + 1)
                        + "-" + crashed.lastSeq()), crashed.summary());
            }

            Warden second = Warden.start(policy);
            try (Connection c = connect(second.port, token); Statement s = c.createStatement()) {
                s.execute("INSERT INTO crash_t VALUES (-1, 'crash-marker-999999')");
            }
            second.process.destroy(); // SIGTERM: the final checkpoint, the witness takes its head
            assertTrue(second.process.waitFor(30, TimeUnit.SECONDS), "warden stops on SIGTERM");

            WitnessHead head;
            try (PostgresWitnessStore store = new PostgresWitnessStore(Secret.of(witnessUrl), "warden_audit_witness")) {
                head = store.latest("crash-test").orElseThrow();
            }
            VerifyReport report = AuditVerifier.verify(auditDir, key.publicKey(), Optional.of(head));
            System.out.print(report.summary());
            assertTrue(report.passed(), report.summary());
            assertEquals(report.lastSeq(), head.seq(), "the witness holds the final head");
            assertEquals(0, report.unsignedTail(), report.summary());
            List<AuditReader.Line> all = AuditReader.of(auditDir).search(AuditFilter.all());
            if (crashed.unsignedTail() > 0) {
                // The restart's first records: a recovery naming exactly that tail, and a checkpoint signing it.
                AuditRecord recovery = recordAt(all, crashed.lastSeq() + 1);
                assertEquals("recovery", recovery.type(), recovery.text());
                assertEquals(crashed.signedThroughSeq() + 1, recovery.get("unsigned").get("from_seq").asLong());
                assertEquals(crashed.lastSeq(), recovery.get("unsigned").get("to_seq").asLong());
                assertEquals("checkpoint", recordAt(all, crashed.lastSeq() + 2).type());
            }

            Set<Integer> ran = markers(pg.serverLog());
            Set<Integer> recorded = new TreeSet<>();
            for (AuditReader.Line line : AuditReader.of(auditDir).search(AuditFilter.all())) {
                if (line.record().type().equals("query")) {
                    recorded.addAll(markers(line.record().get("statement").asText("")));
                }
            }
            assertTrue(ran.size() > 50, "statements ran: " + ran.size());
            Set<Integer> missing = new TreeSet<>(ran);
            missing.removeAll(recorded);
            assertEquals(Set.of(), missing, "statements PostgreSQL ran without a query record");
        }
    }

    private static void load(int port, String token, AtomicBoolean stop, AtomicInteger next, AtomicInteger acknowledged) {
        try (Connection c = connect(port, token); Statement s = c.createStatement()) {
            while (!stop.get()) {
                int n = next.incrementAndGet();
                s.execute("INSERT INTO crash_t VALUES (" + n + ", 'crash-marker-" + n + "')");
                acknowledged.incrementAndGet();
            }
        } catch (SQLException e) {
            // The proxy was killed: the connection breaks, as it would for a real client.
        }
    }

    private static Connection connect(int port, String token) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", WardenHarness.USER);
        props.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/dev?sslmode=require", props);
    }

    private static Set<Integer> markers(String text) {
        Set<Integer> out = new TreeSet<>();
        Matcher m = MARKER.matcher(text);
        while (m.find()) {
            out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }

    /** {@code warden serve} as a separate JVM, as an operator runs it. */
    private record Warden(Process process, int port) {

        static Warden start(Path policy) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), "dev.warden.proxy.cli.WardenCommand",
                    "serve", "--config", policy.toString()));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("WARDEN_TEST_UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
            Process process = pb.start();
            LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            });
            reader.setDaemon(true);
            reader.start();
            Pattern listening = Pattern.compile("warden: listening on .*:(\\d+)");
            StringBuilder seen = new StringBuilder();
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                String line = lines.poll(500, TimeUnit.MILLISECONDS);
                if (line != null) {
                    seen.append(line).append('\n');
                    Matcher m = listening.matcher(line);
                    if (m.find()) {
                        return new Warden(process, Integer.parseInt(m.group(1)));
                    }
                }
            }
            process.destroyForcibly();
            throw new AssertionError("warden did not start:\n" + seen);
        }
    }

    private static AuditRecord recordAt(List<AuditReader.Line> lines, long seq) {
        return lines.stream().map(AuditReader.Line::record).filter(r -> r.seq() == seq).findFirst().orElseThrow(
                () -> new AssertionError("no record at seq " + seq));
    }
}
