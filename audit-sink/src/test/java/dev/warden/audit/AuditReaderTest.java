package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.UsageReport;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditReaderTest {

    @TempDir
    Path tmp;

    private Path logDir;
    private Instant dropAt;

    @BeforeEach
    void writeLog() throws Exception {
        logDir = tmp.resolve("audit");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("a1", "alice@example.com", false, "prod")).join();
            log.append(Fixtures.start("b1", "etl-bot", true, "staging")).join();
            long q = log.append(Fixtures.query("a1", "alice@example.com", "prod", "SELECT email FROM users")).join();
            log.append(Fixtures.result("a1", q, 3)).join();
            dropAt = Instant.parse("2026-11-26T06:12:01.000001Z");
            log.append(QueryEvent.builder("a1", "alice@example.com", "prod").statement("DROP TABLE t")
                    .kinds(List.of("DROP")).tables(List.of(), List.of("public.t")).blocked("no-drop-in-prod")
                    .at(dropAt).build()).join();
            long b = log.append(QueryEvent.builder("b1", "etl-bot", "staging").statement("SELECT * FROM orders")
                    .tables(List.of("public.orders"), List.of()).build()).join();
            log.append(Fixtures.result("b1", b, 10)).join();
            log.append(AuthFailure.of("x1", "mallory", "10.9.9.9:4000", "token expired", "28000")).join();
        }
    }

    /**
     * A statement longer than Jackson's default cap on a string (20,000,000 characters) is recorded whole, and every
     * reader reads its record: before, verify called it altered and search and the OCSF export skipped it without a
     * word (a helper's pass, a135 F4: an UPDATE padded past the cap ran with no query record a reader showed).
     */
    @Test
    void aRecordOfAStatementLongerThanJacksonsDefaultCapIsReadByEveryReader() throws Exception {
        Path other = tmp.resolve("long");
        Path key = Fixtures.writeKey(java.nio.file.Files.createDirectories(tmp.resolve("longkey")));
        String padded = "UPDATE orders SET total = 1 /* " + "x".repeat(20_000_100) + " */";
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(other, key, 1L << 30, 1000))) {
            log.append(Fixtures.start("l1", "alice@example.com", false, "prod")).join();
            log.append(QueryEvent.builder("l1", "alice@example.com", "prod").statement(padded)
                    .kinds(List.of("UPDATE")).tables(List.of(), List.of("public.orders")).build()).join();
        }
        Fixtures.verified(other, key);
        List<AuditReader.Line> found = AuditReader.of(other).search(AuditFilter.all().table("public.orders"));
        assertEquals(1, found.size(), "the padded UPDATE's query record");
        assertEquals(padded, found.get(0).record().get("statement").asText());
        dev.warden.audit.ocsf.OcsfMapper ocsf = new dev.warden.audit.ocsf.OcsfMapper();
        assertTrue(ocsf.map(found.get(0).record().text().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .toString().contains("x".repeat(1000)));
    }

    @Test
    void blockedQueryRendersAsOneReadableLine() throws Exception {
        List<AuditReader.Line> lines = AuditReader.of(logDir).search(AuditFilter.all().blocked());
        assertEquals(1, lines.size());
        assertEquals("2026-11-26T06:12:01Z alice@example.com[human] prod query BLOCK(no-drop-in-prod) DROP TABLE t",
                lines.get(0).human());
        assertTrue(lines.get(0).record().text().startsWith("{"), "the --json form is the stored line");
    }

    /** A user name that mixes scripts (a Cyrillic а in "аlice") is marked in tail and search, and in usage. */
    @Test
    void aLookAlikeUserNameIsMarkedWhereverItIsShown() throws Exception {
        Path other = tmp.resolve("lookalike");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(other, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("c1", "\u0430lice@example.com", false, "prod")).join();
            log.append(Fixtures.query("c1", "\u0430lice@example.com", "prod", "SELECT email FROM users")).join();
        }
        List<AuditReader.Line> lines = AuditReader.of(other).search(AuditFilter.all()).stream()
                .filter(l -> !l.human().contains(" checkpoint")).toList();
        assertEquals(2, lines.size(), lines.toString());
        for (AuditReader.Line line : lines) {
            assertTrue(line.human().contains("\u0430lice@example.com [mixed scripts: U+0430 CYRILLIC SMALL LETTER A]"
                    + "[human]"), line.human());
        }
        String usage = AuditReader.of(other).usage(null).render();
        assertTrue(usage.contains("[mixed scripts: U+0430"), usage);
    }

    /**
     * a148: the user filter folded case over all of Unicode, so a search for kate@x also gave the records of
     * \u212Aate@x (KELVIN SIGN), another identity. It folds ASCII letters' case only, as approvals tell people apart.
     */
    @Test
    void theUserFilterFoldsTheCaseOfAsciiLettersOnly() throws Exception {
        Path other = tmp.resolve("kelvin");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(other, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("c1", "kate@example.com", false, "prod")).join();
            log.append(Fixtures.start("c2", "\u212Aate@example.com", false, "prod")).join();
        }
        AuditReader reader = AuditReader.of(other);
        assertEquals(List.of("kate@example.com"), reader.search(AuditFilter.all().user("KATE@example.com")).stream()
                .map(l -> l.record().get("identity").get("username").asText()).toList());
    }

    @Test
    void filtersByUserEnvironmentTableAndTime() throws Exception {
        AuditReader reader = AuditReader.of(logDir);
        assertEquals(List.of("session.start", "query", "result", "query"),
                reader.search(AuditFilter.all().user("alice@example.com")).stream().map(l -> l.record().type())
                        .toList());
        assertEquals(3, reader.search(AuditFilter.all().environment("staging")).size());
        List<AuditReader.Line> orders = reader.search(AuditFilter.all().table("orders"));
        assertEquals(List.of("query", "result"), orders.stream().map(l -> l.record().type()).toList());
        assertTrue(orders.get(1).human().contains("etl-bot[agent] staging result of #"), orders.get(1).human());
        assertEquals(1, reader.search(AuditFilter.all().between(dropAt, dropAt.plusSeconds(1))).size());
        assertEquals(1, reader.tail(AuditFilter.all(), 1).size());
    }

    @Test
    void usageSumsRowsAndSensitiveColumnsPerIdentity() throws Exception {
        UsageReport usage = AuditReader.of(logDir).usage(null);
        UsageReport.IdentityUsage alice = usage.identities().stream()
                .filter(u -> u.username().equals("alice@example.com")).findFirst().orElseThrow();
        assertEquals("human", alice.kind());
        assertEquals(2, alice.statements());
        assertEquals(1, alice.blocked());
        assertEquals(3, alice.rowsRead());
        assertEquals(1, alice.maskedReads());
        assertEquals(0, alice.clearReads());
        UsageReport.IdentityUsage bot = usage.identities().stream()
                .filter(u -> u.username().equals("etl-bot")).findFirst().orElseThrow();
        assertEquals("agent", bot.kind());
        assertEquals(10, bot.rowsRead());
        assertTrue(usage.render().contains("email (1 masked, 0 clear)"), usage.render());
    }

    @Test
    void followSeesNewRecordsAcrossRotation() throws Exception {
        Path dir = tmp.resolve("followed");
        List<String> seen = new CopyOnWriteArrayList<>();
        AuditReader reader = AuditReader.of(dir);
        // follow without fromStart shows what is written after its first pass over the directory; records that
        // pass finds are history. The test once raced that pass against the first appends and saw 28 of 30: it
        // now waits for the pass (the second keepGoing call) and checks that history stays out.
        java.util.concurrent.CountDownLatch firstPassDone = new java.util.concurrent.CountDownLatch(2);
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(dir, Fixtures.writeKey(tmp), 2048, 1000))) {
            log.append(Fixtures.query("c1", "carol", "dev", "SELECT 'history'")).join();
            Thread follower = new Thread(() -> {
                try {
                    reader.follow(AuditFilter.all().user("carol"), false, l -> seen.add(l.record().get("statement")
                            .asText()), () -> {
                                firstPassDone.countDown();
                                return seen.size() < 30;
                            }, Duration.ofMillis(10));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            follower.start();
            assertTrue(firstPassDone.await(60, TimeUnit.SECONDS), "the follower read the directory once");
            for (int i = 0; i < 30; i++) {
                log.append(Fixtures.query("c1", "carol", "dev", "SELECT " + i)).join();
                log.append(Fixtures.query("d1", "dave", "dev", "SELECT 'not carol'")).join();
            }
            // Generous: on a loaded 2-core machine the follower thread can lag the writer by seconds.
            follower.join(TimeUnit.SECONDS.toMillis(60));
        }
        assertEquals(30, seen.size(), seen.toString());
        assertEquals("SELECT 0", seen.get(0), "the record written before the follower started is not shown");
        assertEquals("SELECT 29", seen.get(29));
        assertTrue(dev.warden.audit.chain.LogFiles.list(dir).size() > 3, "rotated while following");
    }

    @Test
    void controlCharactersInAnyFieldAreShownAsEscapesNeverSentToTheTerminal() throws Exception {
        Path dir = tmp.resolve("controls");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(dir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("e1", "eve\u001b[2J@example.com", false, "prod")).join();
            log.append(Fixtures.query("e1", "eve", "prod",
                    "SELECT 1 -- looks harmless\rDROP TABLE t;\n\tSELECT '\u001b[31m\u202e\u0007\\'")).join();
        }
        List<String> lines = AuditReader.of(dir).search(AuditFilter.all()).stream()
                .filter(l -> !l.record().type().equals("checkpoint")).map(AuditReader.Line::human).toList();
        assertTrue(lines.get(0).contains("eve\\e[2J@example.com"), lines.get(0));
        assertTrue(lines.get(1).endsWith("SELECT 1 -- looks harmless\\rDROP TABLE t;\\n\\tSELECT "
                + "'\\e[31m\\u202e\\u0007\\\\'"), lines.get(1));
        for (String line : lines) {
            assertTrue(line.chars().allMatch(c -> c >= 0x20 && c != 0x7f && c != 0x202e), line);
        }
        assertEquals("plain text stays as it is", AuditReader.escapeControls("plain text stays as it is"));
        assertEquals("a\\\\b \\u0085 \\u2028", AuditReader.escapeControls("a\\b \u0085 \u2028"));
    }

    @Test
    void aMismatchRecordShowsBothReadings() throws Exception {
        Path dir = tmp.resolve("mismatch");
        long q;
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(dir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("m1", "mia@example.com", false, "prod")).join();
            q = log.append(Fixtures.query("m1", "mia@example.com", "prod", "DELETE FROM t")).join();
            log.append(dev.warden.audit.event.EnforcementMismatch.of("m1", "mia@example.com", "prod", q,
                    "command_tag", "DELETE FROM t", List.of("SELECT"), List.of("DELETE 3"),
                    "the server reported DELETE 3 for statement 1, which Warden read as SELECT")).join();
        }
        List<AuditReader.Line> lines = AuditReader.of(dir).search(AuditFilter.all()).stream()
                .filter(l -> !l.record().type().equals("checkpoint")).toList();
        assertEquals("enforcement.mismatch", lines.get(2).record().type());
        assertTrue(lines.get(2).human().endsWith("prod enforcement.mismatch MISMATCH(command_tag) "
                + "warden=[\"SELECT\"] server=[\"DELETE 3\"] of #" + q + ": DELETE FROM t"), lines.get(2).human());
        assertTrue(dev.warden.audit.verify.AuditVerifier.verify(dir, null).passed());
    }

    @Test
    void copyDataIsShownWithItsQueryAndDigest() throws Exception {
        Path dir = tmp.resolve("copy");
        long q;
        String digest = "ab".repeat(32);
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(dir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("c1", "mia@example.com", false, "prod")).join();
            q = log.append(Fixtures.query("c1", "mia@example.com", "prod", "COPY t FROM STDIN")).join();
            log.append(dev.warden.audit.event.CopyIn.of("c1", q, 12, 2, digest)).join();
            log.append(dev.warden.audit.event.CopyIn.of("c1", q, 5, 1, null)).join();
        }
        List<AuditReader.Line> lines = AuditReader.of(dir).search(AuditFilter.all()).stream()
                .filter(l -> l.record().type().equals("copy.data")).toList();
        assertEquals(2, lines.size());
        assertTrue(lines.get(0).human().endsWith("prod copy.data of #" + q + ": 12 bytes in 2 messages, sha256 "
                + digest), lines.get(0).human());
        assertTrue(lines.get(1).human().endsWith(": 5 bytes in 1 messages"), lines.get(1).human());
        assertTrue(dev.warden.audit.verify.AuditVerifier.verify(dir, null).passed());
    }
}
