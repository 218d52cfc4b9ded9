package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.witness.HttpWitnessStore;
import dev.warden.audit.witness.PostgresWitnessStore;
import dev.warden.audit.witness.WitnessPublisher;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.audit.witness.WitnessStore;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.WitnessConfig;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacker pass 16 (ops), and the fixes. (1) The witness was read as "the latest head", and a proxy that continued
 * a log that was cut short only logged a conflict: once the continued chain passed the old head, verify of the
 * cut (and re-grown) log passed. Now a start refuses such a log, and verify checks the witness's whole history.
 * (2) Records appended after a clean stop's final checkpoint were taken for a crash's unsigned tail and signed
 * by the next start. Now the final checkpoint is marked (under its signature), a start refuses what follows it,
 * and verify fails on it.
 */
class AttackPass16OpsAuditTest {

    private static TestPostgres postgres;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        postgres = TestPostgres.start();
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    private static Secret url(String db) {
        return Secret.of(postgres.jdbcUrl(db) + "&user=" + postgres.superuser() + "&password="
                + URLEncoder.encode(postgres.superuserPassword(), StandardCharsets.UTF_8));
    }

    private static void append(Path logDir, Path key, WitnessConfig witness, int count, String prefix,
                               boolean withStart) {
        append(logDir, key, Optional.of(witness), count, prefix, withStart);
    }

    /** Opens the log (with the witness, if any), appends, and closes it cleanly. */
    private static void append(Path logDir, Path key, Optional<WitnessConfig> witness, int count, String prefix,
                               boolean withStart) {
        AuditSettings settings = Fixtures.fileSettings(logDir, key, 4096, 10).withInstance("warden-test-1", witness);
        try (AuditLog log = AuditLog.open(settings)) {
            List<CompletableFuture<Long>> written = new ArrayList<>();
            if (withStart) {
                written.add(log.append(Fixtures.start("s1", "alice@example.com", false, "prod")));
            }
            for (int i = 0; i < count; i++) {
                written.add(log.append(Fixtures.query("s1", "alice@example.com", "prod", prefix + i)));
            }
            written.forEach(CompletableFuture::join);
        }
    }

    private static String all(Path logDir) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            sb.append(Files.readString(f.path()));
        }
        return sb.toString();
    }

    /** Cuts the log in place after seq {@code lastSeq}: later files deleted, the file holding it truncated. */
    private static void cutAfter(Path logDir, long lastSeq) throws Exception {
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            if (f.firstSeq() > lastSeq) {
                Files.delete(f.path());
                continue;
            }
            StringBuilder kept = new StringBuilder();
            for (String line : Files.readAllLines(f.path())) {
                long seq = Long.parseLong(line.replaceFirst(".*\"seq\":(\\d+).*", "$1"));
                if (seq <= lastSeq) {
                    kept.append(line).append('\n');
                }
            }
            Files.writeString(f.path(), kept.toString());
        }
    }

    private static WitnessStore store(String db) {
        return new PostgresWitnessStore(url(db), "warden_audit_witness");
    }

    private static VerifyReport verifyWithHistory(Path logDir, PublicKey key, WitnessStore store) throws Exception {
        return AuditVerifier.verify(logDir, key, store, "warden-test-1");
    }

    /**
     * Sends the heads of the log's checkpoints after {@code afterSeq} to the witness, as a run does whose start
     * could not reach the witness (so it did not refuse the log) and whose later sends went through.
     */
    private static void publishCheckpointsAfter(Path logDir, long afterSeq, WitnessStore store, Path keyFile)
            throws Exception {
        publishCheckpointsAfter(logDir, afterSeq, store, keyFile, afterSeq);
    }

    /**
     * As above; a head at a seq up to {@code witnessedThrough}, which the witness holds already from before a cut,
     * is refused by the store (another head there) and is not waited for.
     */
    private static void publishCheckpointsAfter(Path logDir, long afterSeq, WitnessStore store, Path keyFile,
                                                long witnessedThrough) throws Exception {
        WitnessPublisher publisher = new WitnessPublisher(store, "warden-test-1", SigningKey.load(keyFile),
                java.time.Duration.ofSeconds(10));
        long last = 0;
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            for (String line : Files.readAllLines(f.path())) {
                var record = CanonicalJson.parse(line.getBytes(StandardCharsets.UTF_8));
                long seq = record.path("seq").asLong();
                if (seq > afterSeq && record.path("type").asText().equals("checkpoint")) {
                    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
                    publisher.checkpointWritten(new ChainedRecord(seq, "checkpoint", "-",
                            java.time.Instant.parse(record.path("ts").asText()), bytes, CanonicalJson.sha256(bytes)));
                    if (seq > witnessedThrough) {
                        assertTrue(publisher.awaitPublished(seq, java.time.Duration.ofSeconds(10)));
                        last = seq;
                    }
                }
            }
        }
        publisher.close();
        assertTrue(last > 0);
    }

    @Test
    void aLogCutInTheMiddleIsRefusedAtStartAndNeverVerifiesAgainOnceContinued() throws Exception {
        String db = postgres.createDatabase("witness16");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey publicKey = SigningKey.load(keyFile).publicKey();
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");

        append(logDir, keyFile, witness, 199, "SELECT secret_", true);
        WitnessHead before;
        try (WitnessStore store = store(db)) {
            before = store.latest("warden-test-1").orElseThrow();
            assertTrue(verifyWithHistory(logDir, publicKey, store).passed());
        }
        assertTrue(AuditVerifier.verify(logDir, publicKey, Optional.of(before)).passed());
        assertTrue(all(logDir).contains("SELECT secret_150"));

        // The attacker (write access to the log directory, no key) cuts the log at seq 100, in the middle of
        // the signed, witnessed part, removing records 101..head (among them "SELECT secret_150").
        cutAfter(logDir, 100);
        VerifyReport cut = AuditVerifier.verify(logDir, publicKey, Optional.of(before));
        assertFalse(cut.passed(), "right after the cut the witness catches it: " + cut.summary());

        // Warden is restarted with the witness: it refuses to continue the cut log, naming the seq and the file.
        AuditUnavailableException refused = assertThrows(AuditUnavailableException.class,
                () -> append(logDir, keyFile, witness, 260, "SELECT harmless_", false));
        System.out.println("[pass16] start on the cut log: " + refused.getMessage());
        assertTrue(refused.getMessage().contains("ends at seq 100 (audit-"), refused.getMessage());
        assertTrue(refused.getMessage().contains("before seq " + before.seq()), refused.getMessage());
        assertFalse(all(logDir).contains("SELECT harmless_"), "nothing was written");

        // Without the witness at start (unreachable, or taken out of the policy) a start continues it, and the
        // witness later takes the continued chain's heads, up to one past the old head. Verify checks every head.
        append(logDir, keyFile, Optional.empty(), 260, "SELECT harmless_", false);
        try (WitnessStore store = store(db)) {
            publishCheckpointsAfter(logDir, 100, store, keyFile, before.seq());
            WitnessHead after = store.latest("warden-test-1").orElseThrow();
            assertTrue(after.seq() > before.seq() + 100, "the continued chain's head passed the old one: " + after);
            VerifyReport report = verifyWithHistory(logDir, publicKey, store);
            System.out.println("[pass16] verify with the witness's history after cut+continue:\n" + report.summary());
            assertFalse(report.passed(), report.summary());
            assertTrue(report.problem().orElseThrow().message().contains("the witness holds a different record at"),
                    report.summary());
            assertTrue(report.problem().orElseThrow().seq() > 100 && report.problem().orElseThrow().seq()
                    <= before.seq(), report.summary());
        }
        // The start compares the witness's latest head only, which is now the continued chain's: it starts. What
        // it writes and sends does not make the log verify again.
        append(logDir, keyFile, witness, 500, "SELECT more_", false);
        try (WitnessStore store = store(db)) {
            VerifyReport report = verifyWithHistory(logDir, publicKey, store);
            assertFalse(report.passed(), report.summary());
        }
        assertFalse(all(logDir).contains("SELECT secret_150"), "the cut records are gone");
    }

    @Test
    void aCutLogContinuedFarPastTheOldHeadStillFailsAgainstAnHttpWitnessHistory() throws Exception {
        try (HttpWitnessServer server = new HttpWitnessServer()) {
            Path logDir = tmp.resolve("audit");
            Path keyFile = Fixtures.writeKey(tmp);
            PublicKey publicKey = SigningKey.load(keyFile).publicKey();
            WitnessConfig witness = new WitnessConfig.HttpWitness(server.url());
            append(logDir, keyFile, witness, 120, "SELECT secret_", true);
            WitnessStore store = new HttpWitnessStore(server.url());
            assertTrue(verifyWithHistory(logDir, publicKey, store).passed());
            long head = store.latest("warden-test-1").orElseThrow().seq();

            cutAfter(logDir, 40);
            append(logDir, keyFile, Optional.empty(), 3000, "SELECT harmless_", false);
            publishCheckpointsAfter(logDir, 40, store, keyFile);
            assertTrue(store.latest("warden-test-1").orElseThrow().seq() > head + 2500);
            VerifyReport report = verifyWithHistory(logDir, publicKey, store);
            assertFalse(report.passed(), report.summary());
            assertTrue(report.problem().orElseThrow().message().contains("different record"), report.summary());
            // The single-head check alone cannot see it: that is why the command line reads the history.
            assertTrue(AuditVerifier.verify(logDir, publicKey, store.latest("warden-test-1")).passed());
        }
    }

    /** The last log file and its lines, after a clean stop with the witness. */
    private static byte[] forgedQueryAfterTheEnd(Path logDir, boolean stripFinalMark) throws Exception {
        List<LogFiles.LogFile> files = LogFiles.list(logDir);
        Path last = files.get(files.size() - 1).path();
        List<String> lines = Files.readAllLines(last);
        String lastLine = lines.get(lines.size() - 1);
        String queryLine = null;
        for (LogFiles.LogFile f : files) {
            for (String l : Files.readAllLines(f.path())) {
                if (l.contains("\"type\":\"query\"")) {
                    queryLine = l;
                }
            }
        }
        com.fasterxml.jackson.databind.node.ObjectNode lastRecord =
                CanonicalJson.parse(lastLine.getBytes(StandardCharsets.UTF_8));
        assertEquals("checkpoint", lastRecord.path("type").asText(), "a clean stop ends with a checkpoint");
        assertTrue(lastRecord.path("final").asBoolean(), "a clean stop's checkpoint is final: " + lastLine);
        if (stripFinalMark) {
            lastRecord.remove("final");
            lastLine = new String(CanonicalJson.encode(lastRecord), StandardCharsets.UTF_8);
            lines.set(lines.size() - 1, lastLine);
            Files.writeString(last, String.join("\n", lines) + "\n");
        }
        com.fasterxml.jackson.databind.node.ObjectNode forged =
                CanonicalJson.parse(queryLine.getBytes(StandardCharsets.UTF_8));
        forged.put("seq", lastRecord.path("seq").asLong() + 1);
        forged.put("prev", CanonicalJson.sha256(lastLine.getBytes(StandardCharsets.UTF_8)));
        forged.put("statement", "SELECT 'bob approved the wire transfer' AS forged");
        byte[] forgedLine = CanonicalJson.encode(forged);
        Files.write(last, (new String(forgedLine, StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8),
                java.nio.file.StandardOpenOption.APPEND);
        return forgedLine;
    }

    private static String lastFileAndLine(Path logDir) throws Exception {
        List<LogFiles.LogFile> files = LogFiles.list(logDir);
        LogFiles.LogFile last = files.get(files.size() - 1);
        return last.name() + ":" + Files.readAllLines(last.path()).size();
    }

    /**
     * After a clean stop (a final checkpoint the witness holds), someone without the key appends a forged query
     * record (seq, prev and canonical form computed by hand: only SHA-256 is needed). It used to be read by the
     * next start as a crash's unsigned tail, named in a recovery record and signed.
     */
    @Test
    void aRecordForgedAfterACleanStopIsRefusedAtStartAndFailsVerify() throws Exception {
        String db = postgres.createDatabase("witness16b");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey publicKey = SigningKey.load(keyFile).publicKey();
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");
        append(logDir, keyFile, witness, 20, "SELECT real_", true);
        forgedQueryAfterTheEnd(logDir, false);
        String where = lastFileAndLine(logDir);

        VerifyReport before = AuditVerifier.verify(logDir, publicKey);
        System.out.println("[pass16b] verify right after the forgery:\n" + before.summary());
        assertFalse(before.passed(), before.summary());
        assertTrue(before.problem().orElseThrow().toString().startsWith(where + " "), before.summary());
        assertTrue(before.problem().orElseThrow().message().contains("follows the final checkpoint"),
                before.summary());

        for (Optional<WitnessConfig> w : List.of(Optional.of(witness), Optional.<WitnessConfig>empty())) {
            AuditUnavailableException refused = assertThrows(AuditUnavailableException.class,
                    () -> append(logDir, keyFile, w, 20, "SELECT later_", false));
            System.out.println("[pass16b] start after the forgery: " + refused.getMessage());
            assertTrue(refused.getMessage().contains(where + " (seq "), refused.getMessage());
        }
        String text = all(logDir);
        assertFalse(text.contains("SELECT later_") || text.contains("\"type\":\"recovery\""), "nothing was written");
        try (WitnessStore store = store(db)) {
            VerifyReport report = verifyWithHistory(logDir, publicKey, store);
            assertFalse(report.passed(), report.summary());
        }
    }

    /** As a kill -9 in the middle of a write would leave it: the forged record, then a torn line. */
    @Test
    void aRecordForgedAfterACleanStopDressedAsACrashIsRefusedToo() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        append(logDir, keyFile, Optional.empty(), 20, "SELECT real_", true);
        forgedQueryAfterTheEnd(logDir, false);
        String where = lastFileAndLine(logDir);
        List<LogFiles.LogFile> files = LogFiles.list(logDir);
        Files.write(files.get(files.size() - 1).path(), "{\"schema_version\":1,\"id\":\"".getBytes(StandardCharsets.UTF_8),
                java.nio.file.StandardOpenOption.APPEND);
        AuditUnavailableException refused = assertThrows(AuditUnavailableException.class,
                () -> append(logDir, keyFile, Optional.empty(), 5, "SELECT later_", false));
        assertTrue(refused.getMessage().contains(where + " (seq "), refused.getMessage());
        assertFalse(AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey()).passed());
    }

    /** Removing the final mark (to make the stop look like a crash) breaks the checkpoint's signature. */
    @Test
    void strippingTheFinalMarkBreaksTheSignatureAndTheWitnessRefusesTheStart() throws Exception {
        String db = postgres.createDatabase("witness16c");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey publicKey = SigningKey.load(keyFile).publicKey();
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");
        append(logDir, keyFile, witness, 20, "SELECT real_", true);
        forgedQueryAfterTheEnd(logDir, true);

        VerifyReport report = AuditVerifier.verify(logDir, publicKey);
        assertFalse(report.passed(), report.summary());
        assertTrue(report.problem().orElseThrow().message().contains("its final mark was removed"), report.summary());
        AuditUnavailableException refused = assertThrows(AuditUnavailableException.class,
                () -> append(logDir, keyFile, witness, 5, "SELECT later_", false));
        assertTrue(refused.getMessage().contains("is not the one the witness"), refused.getMessage());
    }

    /** Legitimate restarts: a clean stop, a start that writes nothing, a start then a crash, then a start. */
    @Test
    void cleanStopsIdleStartsAndCrashesAfterAStopStillStartAndVerify() throws Exception {
        String db = postgres.createDatabase("witness16d");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey publicKey = SigningKey.load(keyFile).publicKey();
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");
        append(logDir, keyFile, witness, 5, "SELECT one_", true);
        String once = all(logDir);
        append(logDir, keyFile, witness, 0, "", false);
        assertEquals(once, all(logDir), "a start that writes nothing leaves the log ending on its final checkpoint");
        append(logDir, keyFile, witness, 5, "SELECT two_", false);

        // A start that writes and is then killed (no final checkpoint): its records follow its first checkpoint.
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 4096, 1000)
                .withInstance("warden-test-1", Optional.of(witness));
        AuditLog abandoned = AuditLog.open(settings);
        List<CompletableFuture<Long>> written = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            written.add(abandoned.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT three_" + i)));
        }
        written.forEach(CompletableFuture::join);
        VerifyReport crashed = AuditVerifier.verify(logDir, publicKey);
        assertTrue(crashed.passed(), crashed.summary());
        assertEquals(7, crashed.unsignedTail(), crashed.summary());

        append(logDir, keyFile, witness, 3, "SELECT four_", false);
        String text = all(logDir);
        assertTrue(text.contains("\"type\":\"recovery\""), "the crash's tail is named");
        try (WitnessStore store = store(db)) {
            VerifyReport report = verifyWithHistory(logDir, publicKey, store);
            assertTrue(report.passed(), report.summary());
            assertEquals(0, report.unsignedTail(), report.summary());
        }
    }
}
