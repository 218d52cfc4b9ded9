package dev.warden.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.audit.AuditLog;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.config.AuditSettings;
import dev.warden.proxy.cli.WardenCommand;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code warden audit} as the security team runs it, in-process, over a trail written by a real Warden: a psql
 * session and a pgJDBC session (one statement blocked) against real PostgreSQL. Warden is stopped before the
 * tests so the files do not change under them; tampering tests work on copies.
 */
class AuditCliTest {

    static final String PSQL_USER = "psql-analyst@example.com";
    static final String JDBC_USER = "jdbc-service@example.com";

    static Path log;

    @BeforeAll
    static void writeATrailThroughWarden() throws Exception {
        try (WardenHarness warden = WardenHarness.start("""
                  allow_plaintext_on_loopback: true
                """, """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """)) {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE invoices (id int primary key, amount int)");
                s.execute("CREATE TABLE notes (id int primary key, body text)");
                s.execute("INSERT INTO invoices VALUES (1, 10), (2, 20), (3, 30)");
            }
            ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-At", "-c", "SELECT sum(amount) FROM invoices",
                    "host=127.0.0.1 port=" + warden.port() + " dbname=prod user=" + PSQL_USER + " sslmode=require")
                    .redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", warden.issuer.token().email(PSQL_USER).groups("eng").sign());
            Process psql = pb.start();
            String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(psql.waitFor(30, TimeUnit.SECONDS));
            assertEquals("60\n", out);

            try (Connection c = warden.connect("prod", JDBC_USER,
                    warden.issuer.token().email(JDBC_USER).groups("eng").sign(), "")) {
                try (ResultSet rs = c.createStatement().executeQuery("SELECT id, body FROM notes")) {
                    assertFalse(rs.next());
                }
                try {
                    c.createStatement().execute("DROP TABLE invoices");
                    throw new AssertionError("DROP TABLE in prod was not blocked");
                } catch (SQLException expected) {
                    // blocked by the baseline guardrail
                }
            }
            awaitSessionEnds(warden.auditDir(), 2);
            log = warden.auditDir();
        }
    }

    @Test
    void verifyPassesOnTheTrailWardenWrote() throws Exception {
        Run r = warden("audit", "verify", log.toString());
        assertEquals(0, r.exit, r.all());
        assertTrue(r.out.startsWith("PASS " + log), r.all());
        assertTrue(r.out.contains("signed through seq"), r.all());
    }

    /**
     * {@code --signed-to-end} fails (exit 3) a log that ends in records no checkpoint signs, which otherwise passes
     * with a warning: records forged after the last checkpoint chain correctly (an attacker's pass, a113 A5). A log
     * Warden's clean stop ended is signed to its end.
     */
    @Test
    void verifySignedToEndFailsALogWhoseLastRecordsNoCheckpointSigns(@TempDir Path tmp) throws Exception {
        Run whole = warden("audit", "verify", "--signed-to-end", log.toString());
        assertEquals(0, whole.exit, whole.all());
        Path copy = copyOfLog(tmp);
        Path file = onlyLogFile(copy);
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
        assertTrue(lines.get(lines.size() - 1).contains("\"type\":\"checkpoint\""), "the clean stop's checkpoint");
        lines.remove(lines.size() - 1);
        Files.write(file, lines, StandardCharsets.UTF_8);
        Run lenient = warden("audit", "verify", copy.toString());
        assertEquals(0, lenient.exit, lenient.all());
        assertTrue(lenient.out.contains("WARNING unsigned tail"), lenient.all());
        Run strict = warden("audit", "verify", "--signed-to-end", copy.toString());
        assertEquals(3, strict.exit, strict.all());
        assertTrue(strict.out.contains("FAIL --signed-to-end: records"), strict.all());
    }

    @Test
    void verifyWithTheRightPublicKeyPassesAndWithAnotherKeyFails(@TempDir Path tmp) throws Exception {
        Path published;
        try (Stream<Path> keys = Files.list(log.resolve("keys"))) {
            published = keys.findFirst().orElseThrow();
        }
        Run right = warden("audit", "verify", "--public-key", published.toString(), log.toString());
        assertEquals(0, right.exit, right.all());
        assertFalse(right.out.contains("public keys were read from the log directory"), right.all());

        Path other = tmp.resolve("other.pub.pem");
        Files.writeString(other, dev.warden.audit.chain.SigningKey.generate().publicKeyPem());
        Run wrong = warden("audit", "verify", "--public-key", other.toString(), log.toString());
        assertEquals(1, wrong.exit, wrong.all());
        assertTrue(wrong.out.contains("bad signature"), wrong.all());
    }

    @Test
    void verifyNamesTheRecordWhoseByteWasEdited(@TempDir Path tmp) throws Exception {
        Path copy = copyOfLog(tmp);
        Path file = onlyLogFile(copy);
        List<String> lines = Files.readAllLines(file);
        int index = indexOf(lines, "SELECT sum(amount) FROM invoices");
        lines.set(index, lines.get(index).replace("sum(amount)", "sum(amounT)"));
        Files.write(file, lines);

        Run r = warden("audit", "verify", copy.toString());
        assertEquals(1, r.exit, r.all());
        int line = index + 1;
        assertTrue(r.out.startsWith("FAIL " + file.getFileName() + ":" + line + " (seq " + line + "): altered: "),
                r.all());
    }

    @Test
    void verifyNamesTheGapWhereALineWasDeleted(@TempDir Path tmp) throws Exception {
        Path copy = copyOfLog(tmp);
        Path file = onlyLogFile(copy);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        int index = indexOf(lines, "DROP TABLE invoices");
        lines.remove(index);
        Files.write(file, lines);

        Run r = warden("audit", "verify", copy.toString());
        assertEquals(1, r.exit, r.all());
        int line = index + 1;
        assertTrue(r.out.startsWith("FAIL " + file.getFileName() + ":" + line + " (seq " + (line + 1) + "): "
                + "removed: record " + line + " missing"), r.all());
    }

    @Test
    void verifyNamesTheTruncatedLastLine(@TempDir Path tmp) throws Exception {
        Path copy = copyOfLog(tmp);
        Path file = onlyLogFile(copy);
        byte[] content = Files.readAllBytes(file);
        int lastLine = Files.readAllLines(file).size();
        Files.write(file, Arrays.copyOf(content, content.length - 20));

        Run r = warden("audit", "verify", copy.toString());
        assertEquals(1, r.exit, r.all());
        assertTrue(r.out.startsWith("FAIL " + file.getFileName() + ":" + lastLine + " (seq " + lastLine + "): "
                + "truncated: "), r.all());
    }

    @Test
    void verifyReportsUsageErrorsWithExit2(@TempDir Path tmp) throws Exception {
        assertEquals(2, warden("audit", "verify").exit);
        Run missing = warden("audit", "verify", tmp.resolve("nowhere").toString());
        assertEquals(2, missing.exit);
        assertTrue(missing.err.contains("is not a directory"), missing.all());
        Path notAKey = Files.writeString(tmp.resolve("key.pem"), "hello");
        Run badKey = warden("audit", "verify", "--public-key", notAKey.toString(), log.toString());
        assertEquals(2, badKey.exit, badKey.all());
        assertTrue(badKey.err.contains("--public-key"), badKey.all());
    }

    @Test
    void tailByUserShowsOnlyThatUsersSession() throws Exception {
        Run r = warden("audit", "tail", "-n", "100", "--user", PSQL_USER, log.toString());
        assertEquals(0, r.exit, r.all());
        List<String> lines = r.lines();
        assertEquals(4, lines.size(), r.all());
        assertTrue(lines.stream().allMatch(l -> l.contains(PSQL_USER + "[human] prod ")), r.all());
        assertTrue(lines.get(0).contains(" session.start from "), r.all());
        assertTrue(lines.get(1).endsWith(" query ALLOW SELECT sum(amount) FROM invoices"), r.all());
        assertTrue(lines.get(2).contains(" result of #"), r.all());
        assertTrue(lines.get(2).contains(", 1 rows,"), r.all());
        assertTrue(lines.get(3).contains(" session.end 1 statements in "), r.all());
    }

    @Test
    void tailKeepsTheLastNLines() throws Exception {
        Run r = warden("audit", "tail", "-n", "2", "--user", JDBC_USER, log.toString());
        assertEquals(0, r.exit, r.all());
        assertEquals(2, r.lines().size(), r.all());
        assertTrue(r.lines().get(1).contains(" session.end "), r.all());
    }

    @Test
    void tailBlockedShowsTheBlockedStatementAndItsRule() throws Exception {
        Run r = warden("audit", "tail", "--blocked", log.toString());
        assertEquals(0, r.exit, r.all());
        assertEquals(1, r.lines().size(), r.all());
        assertTrue(r.lines().get(0).contains(JDBC_USER + "[human] prod query BLOCK(drop-table-or-schema) "
                + "DROP TABLE invoices"), r.all());
    }

    @Test
    void tailByTableShowsStatementsOnThatTableAndTheirResults() throws Exception {
        Run r = warden("audit", "tail", "--table", "notes", log.toString());
        assertEquals(0, r.exit, r.all());
        assertEquals(2, r.lines().size(), r.all());
        assertTrue(r.lines().get(0).endsWith("query ALLOW SELECT id, body FROM notes"), r.all());
        assertTrue(r.lines().get(1).contains(" result of #"), r.all());
    }

    @Test
    void jsonPrintsTheRecordsAsStoredOneParseableObjectPerLine() throws Exception {
        Run r = warden("audit", "tail", "-n", "1000", "--json", log.toString());
        assertEquals(0, r.exit, r.all());
        List<String> stored = Files.readAllLines(onlyLogFile(log));
        assertEquals(stored, r.lines(), "with no filter, --json prints the whole log as stored");
        ObjectMapper json = new ObjectMapper();
        for (String line : r.lines()) {
            JsonNode record = json.readTree(line);
            assertTrue(record.path("seq").isIntegralNumber(), line);
            assertFalse(record.path("type").asText().isEmpty(), line);
        }
        Run blocked = warden("audit", "search", log.toString(), "--since", "1h", "--blocked", "--json");
        assertEquals(0, blocked.exit, blocked.all());
        assertEquals(1, blocked.lines().size(), blocked.all());
        JsonNode drop = json.readTree(blocked.lines().get(0));
        assertEquals("block", drop.get("decision").asText());
        assertEquals(JDBC_USER, drop.get("username").asText());
    }

    @Test
    void searchSelectsByTimeRange() throws Exception {
        Run lastHour = warden("audit", "search", log.toString(), "--since", "1h", "--user", PSQL_USER);
        assertEquals(0, lastHour.exit, lastHour.all());
        assertEquals(4, lastHour.lines().size(), lastHour.all());

        Run before = warden("audit", "search", log.toString(), "--since", "2020-01-01", "--until",
                "2020-01-02T00:00:00Z");
        assertEquals(0, before.exit, before.all());
        assertEquals("", before.out, "nothing was written in 2020");

        assertEquals(2, warden("audit", "search", log.toString()).exit, "--since is required");
        assertEquals(2, warden("audit", "search", log.toString(), "--since", "yesterday").exit);
        assertEquals(2, warden("audit", "search", log.toString(), "--since", "1h", "--until", "2h").exit,
                "--until before --since");
    }

    @Test
    void usageListsEachIdentityWithItsStatementsBlockedAndRows() throws Exception {
        Run r = warden("audit", "usage", log.toString(), "--since", "7d");
        assertEquals(0, r.exit, r.all());
        String psql = r.lines().stream().filter(l -> l.startsWith(PSQL_USER)).findFirst().orElseThrow(
                () -> new AssertionError(r.all()));
        // statements, blocked, rows read
        assertTrue(psql.matches(java.util.regex.Pattern.quote(PSQL_USER) + "\\s+human\\s+1\\s+0\\s+1\\s.*"), r.all());
        String jdbc = r.lines().stream().filter(l -> l.startsWith(JDBC_USER)).findFirst().orElseThrow();
        // pgJDBC's own SET application_name, the SELECT, and the blocked DROP
        assertTrue(jdbc.matches(java.util.regex.Pattern.quote(JDBC_USER) + "\\s+human\\s+3\\s+1\\s+0\\s.*"), r.all());

        Run json = warden("audit", "usage", log.toString(), "--json");
        assertEquals(0, json.exit, json.all());
        ObjectMapper mapper = new ObjectMapper();
        JsonNode jdbcJson = null;
        for (String line : json.lines()) {
            JsonNode node = mapper.readTree(line);
            if (node.get("username").asText().equals(JDBC_USER)) {
                jdbcJson = node;
            }
        }
        assertTrue(jdbcJson != null, json.all());
        assertEquals(3, jdbcJson.get("statements").asLong());
        assertEquals(1, jdbcJson.get("blocked").asLong());
        assertEquals("human", jdbcJson.get("kind").asText());
    }

    @Test
    void tailFollowPrintsNewRecordsAcrossRotationUntilInterrupted(@TempDir Path dir) throws Exception {
        AuditSettings settings = new AuditSettings(List.of(new AuditSettings.AuditSinkConfig.FileSink(dir, 1024,
                Duration.ZERO)), Optional.empty(), true, 1000, Duration.ZERO, Duration.ZERO, true);
        try (AuditLog audit = AuditLog.open(settings)) {
            for (int i = 0; i < 3; i++) {
                audit.append(SessionEnd.of("before-" + i, 1, 0, "client")).get(5, TimeUnit.SECONDS);
            }
            Capture capture = Capture.start();
            AtomicInteger exit = new AtomicInteger(-1);
            Thread tail = new Thread(() -> exit.set(WardenCommand.run("audit", "tail", "-f", "-n", "2", "--poll",
                    "20ms", "--json", dir.toString())));
            try {
                tail.start();
                awaitOutput(capture, "before-2");
                for (int i = 0; i < 20; i++) {
                    audit.append(SessionEnd.of("after-" + i, 1, 0, "client")).get(5, TimeUnit.SECONDS);
                }
                awaitOutput(capture, "after-19");
                tail.interrupt();
                tail.join(5000);
            } finally {
                capture.stop();
            }
            assertFalse(tail.isAlive());
            assertEquals(0, exit.get());
            long files;
            try (Stream<Path> list = Files.list(dir)) {
                files = list.filter(p -> p.getFileName().toString().endsWith(".jsonl")).count();
            }
            assertTrue(files > 2, "the log rotated while tail -f followed it (" + files + " files)");
            List<String> sessions = capture.out().lines().map(l -> {
                try {
                    return new ObjectMapper().readTree(l).path("session").asText();
                } catch (IOException e) {
                    throw new AssertionError(l, e);
                }
            }).toList();
            List<String> expected = new ArrayList<>(List.of("before-1", "before-2"));
            for (int i = 0; i < 20; i++) {
                expected.add("after-" + i);
            }
            assertEquals(expected, sessions, "the last 2, then every new record once, in order");
        }
    }

    // --- helpers

    record Run(int exit, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        String all() {
            return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    /** Runs the command line in this JVM with stdout and stderr captured. */
    static Run warden(String... args) {
        Capture capture = Capture.start();
        int exit;
        try {
            exit = WardenCommand.run(args);
        } finally {
            capture.stop();
        }
        return new Run(exit, capture.out(), capture.err());
    }

    static final class Capture {
        private final PrintStream oldOut = System.out;
        private final PrintStream oldErr = System.err;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();

        static Capture start() {
            Capture c = new Capture();
            System.setOut(new PrintStream(c.out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(c.err, true, StandardCharsets.UTF_8));
            return c;
        }

        void stop() {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }

        String out() {
            return out.toString(StandardCharsets.UTF_8);
        }

        String err() {
            return err.toString(StandardCharsets.UTF_8);
        }
    }

    private static void awaitOutput(Capture capture, String text) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!capture.out().contains(text)) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("no '" + text + "' in tail -f output:\n" + capture.out());
            }
            Thread.sleep(20);
        }
    }

    private static void awaitSessionEnds(Path dir, int sessions) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            List<AuditRecord> records = AuditReader.of(dir).search(AuditFilter.all()).stream()
                    .map(AuditReader.Line::record).toList();
            if (records.stream().filter(r -> r.type().equals("session.end")).count() >= sessions) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("sessions did not end: " + records.stream().map(AuditRecord::text).toList());
            }
            Thread.sleep(50);
        }
    }

    private static Path copyOfLog(Path tmp) throws IOException {
        Path copy = tmp.resolve("audit-copy");
        Files.createDirectories(copy.resolve("keys"));
        try (Stream<Path> files = Files.walk(log)) {
            for (Path from : files.filter(Files::isRegularFile).toList()) {
                Files.copy(from, copy.resolve(log.relativize(from).toString()));
            }
        }
        return copy;
    }

    private static Path onlyLogFile(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> logs = files.filter(p -> p.getFileName().toString().matches("audit-\\d+\\.jsonl")).toList();
            assertEquals(1, logs.size(), "one Warden run below rotation size writes one file: " + logs);
            return logs.get(0);
        }
    }

    private static int indexOf(List<String> lines, String statement) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("\"type\":\"query\"") && lines.get(i).contains(statement)) {
                return i;
            }
        }
        throw new AssertionError("no query record with " + statement);
    }
}
