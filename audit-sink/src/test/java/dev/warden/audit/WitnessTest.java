package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.witness.HttpWitnessStore;
import dev.warden.audit.witness.PostgresWitnessStore;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.audit.witness.WitnessStore;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.WitnessConfig;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A log cut short passes the chain and signature checks; the witness (checkpoint heads kept elsewhere) is what
 * catches it. Every cut at a checkpoint, and a deleted last file, must fail {@code verify} with the witness.
 */
class WitnessTest {

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

    /** Writes 200 events with a checkpoint every 10 records, in files of about 4 KB, and closes the log. */
    private static void writeLog(Path logDir, Path key, WitnessConfig witness) {
        AuditSettings settings = Fixtures.fileSettings(logDir, key, 4096, 10)
                .withInstance("warden-test-1", Optional.of(witness));
        try (AuditLog log = AuditLog.open(settings)) {
            List<java.util.concurrent.CompletableFuture<Long>> written = new ArrayList<>();
            written.add(log.append(Fixtures.start("s1", "alice@example.com", false, "prod")));
            for (int i = 0; i < 199; i++) {
                written.add(log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)));
            }
            written.forEach(java.util.concurrent.CompletableFuture::join);
        }
    }

    /**
     * a119 (4a): the demo's witness credentials owned the witness table, so their holder disabled its append-only
     * triggers, deleted the heads after a cut, and the cut log verified. A store whose role can rewrite its table
     * says so ({@link WitnessStore#caution}, printed by verify and logged at start); one that may only append to a
     * table another role owns works and says nothing, and its role cannot take a head back.
     */
    @Test
    void aWitnessItsWriterCouldRewriteSaysSoAndAnAppendOnlyWriterWorks() throws Exception {
        String db = postgres.createDatabase("witness_owner");
        WitnessHead head = new WitnessHead("chain-x", 10, "ab".repeat(32), java.time.Instant.parse(
                "2026-12-06T00:00:00Z"), "key", "sig");
        try (WitnessStore owner = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            owner.publish(head);
            assertTrue(owner.caution().orElse("").contains("can be rewritten by the role"), owner.caution().toString());
            assertTrue(owner.name().contains("/" + db) && !owner.name().contains("password"), owner.name());
        }
        String writer = "witness_writer_" + db;
        try (java.sql.Connection c = postgres.connect(db); java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE ROLE " + writer + " LOGIN PASSWORD 'w-s3cret'");
            s.execute("GRANT SELECT, INSERT ON warden_audit_witness TO " + writer);
        }
        Secret appendOnly = Secret.of(postgres.jdbcUrl(db) + "&user=" + writer + "&password=w-s3cret");
        try (WitnessStore store = new PostgresWitnessStore(appendOnly, "warden_audit_witness")) {
            store.publish(new WitnessHead("chain-x", 20, "cd".repeat(32), java.time.Instant.parse(
                    "2026-12-06T00:01:00Z"), "key", "sig"));
            assertEquals(20, store.latest("chain-x").orElseThrow().seq());
            assertTrue(store.caution().isEmpty(), store.caution().toString());
        }
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(postgres.jdbcUrl(db), writer, "w-s3cret");
             java.sql.Statement s = c.createStatement()) {
            for (String sql : List.of("DELETE FROM warden_audit_witness", "ALTER TABLE warden_audit_witness DISABLE "
                    + "TRIGGER USER", "DROP TABLE warden_audit_witness")) {
                java.sql.SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(
                        java.sql.SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", refused.getSQLState(), sql + ": " + refused.getMessage());
            }
        }
    }

    @Test
    void truncatingAtAnyCheckpointOrDeletingTheLastFileIsDetected() throws Exception {
        String db = postgres.createDatabase("witness");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey publicKey = SigningKey.load(keyFile).publicKey();
        writeLog(logDir, keyFile, new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness"));

        WitnessHead head;
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            head = store.latest("warden-test-1").orElseThrow();
        }
        VerifyReport whole = AuditVerifier.verify(logDir, publicKey, Optional.of(head));
        assertTrue(whole.passed(), whole.summary());
        assertEquals(whole.lastSeq(), head.seq(), "close writes a final checkpoint and the witness takes it");
        assertEquals(0, whole.unsignedTail(), "shutdown leaves no unsigned tail");
        assertTrue(whole.summary().contains("proves seq 1-" + head.seq()), whole.summary());

        List<long[]> checkpoints = checkpointEnds(logDir);
        assertTrue(checkpoints.size() >= 20, "a checkpoint every 10 records: " + checkpoints.size());
        int cuts = 0;
        for (long[] cp : checkpoints) {
            if (cp[0] == head.seq()) {
                continue;
            }
            Path copy = copyCutAfter(logDir, cp[0]);
            VerifyReport alone = AuditVerifier.verify(copy, publicKey);
            assertTrue(alone.passed(), "without the witness, a cut at a checkpoint looks complete: "
                    + alone.summary());
            VerifyReport withWitness = AuditVerifier.verify(copy, publicKey, Optional.of(head));
            assertFalse(withWitness.passed(), "cut after seq " + cp[0] + " passed: " + withWitness.summary());
            assertEquals(VerifyReport.Kind.TRUNCATED, withWitness.problem().orElseThrow().kind(),
                    withWitness.summary());
            cuts++;
        }
        assertTrue(cuts >= 19, "cuts tried: " + cuts);

        List<LogFiles.LogFile> files = LogFiles.list(logDir);
        assertTrue(files.size() > 3, "rotation made several files: " + files.size());
        Path copy = copyCutAfter(logDir, Long.MAX_VALUE);
        Files.delete(copy.resolve(files.get(files.size() - 1).name()));
        VerifyReport deleted = AuditVerifier.verify(copy, publicKey, Optional.of(head));
        assertFalse(deleted.passed(), deleted.summary());
        assertTrue(deleted.summary().contains("before the witness's latest signed head"), deleted.summary());
    }

    @Test
    void aWitnessThatDisagreesWithTheLogFails() throws Exception {
        String db = postgres.createDatabase("witness");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        SigningKey key = SigningKey.load(keyFile);
        writeLog(logDir, keyFile, new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness"));
        WitnessHead head;
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            head = store.latest("warden-test-1").orElseThrow();
        }
        // A head signed with the log's key but naming another hash: the log was replaced after the witness saw it.
        WitnessHead other = WitnessHead.sign("warden-test-1", new dev.warden.audit.chain.ChainedRecord(head.seq(),
                RecordChain.CHECKPOINT, "-", head.ts(), new byte[0], "ab".repeat(32)), key);
        VerifyReport report = AuditVerifier.verify(logDir, key.publicKey(), Optional.of(other));
        assertFalse(report.passed(), report.summary());
        assertTrue(report.summary().contains("disagree"), report.summary());

        // A head the witness store holds but the log's key never signed.
        WitnessHead forged = new WitnessHead(head.chain(), head.seq() + 50, head.hash(), head.ts(), head.keyId(),
                head.signature());
        VerifyReport forgedReport = AuditVerifier.verify(logDir, key.publicKey(), Optional.of(forged));
        assertFalse(forgedReport.passed(), forgedReport.summary());
        assertEquals(VerifyReport.Kind.BAD_SIGNATURE, forgedReport.problem().orElseThrow().kind());

        // The witness table is append-only.
        try (Connection c = postgres.connect(db); Statement s = c.createStatement()) {
            SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> s.executeUpdate("DELETE FROM warden_audit_witness"));
            assertEquals("42501", refused.getSQLState());
            // TRUNCATE too: emptying the witness would let a cut log verify again.
            SQLException truncated = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> s.executeUpdate("TRUNCATE warden_audit_witness"));
            assertEquals("42501", truncated.getSQLState());
        }
    }

    @Test
    void aProxyThatContinuesACutLogSaysSoAtItsFirstCheckpoint() throws Exception {
        String db = postgres.createDatabase("witness");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");
        writeLog(logDir, keyFile, witness);
        SigningKey key = SigningKey.load(keyFile);
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            WitnessHead head = store.latest("warden-test-1").orElseThrow();
            // The first checkpoint a proxy writes after continuing a log cut 50 records short.
            dev.warden.audit.witness.WitnessPublisher behind = new dev.warden.audit.witness.WitnessPublisher(
                    new PostgresWitnessStore(url(db), "warden_audit_witness"), "warden-test-1", key,
                    java.time.Duration.ofSeconds(5));
            behind.checkpointWritten(new dev.warden.audit.chain.ChainedRecord(head.seq() - 50,
                    RecordChain.CHECKPOINT, "-", java.time.Instant.now(), new byte[0], "cd".repeat(32)));
            assertTrue(behind.awaitPublished(head.seq() - 50, java.time.Duration.ofSeconds(10)));
            behind.close();
            assertTrue(behind.conflict().orElseThrow().contains("cut short"), behind.conflict().toString());
            assertEquals(head.seq(), store.latest("warden-test-1").orElseThrow().seq(),
                    "the witness keeps its higher head, so verify of the cut log keeps failing");

            dev.warden.audit.witness.WitnessPublisher ahead = new dev.warden.audit.witness.WitnessPublisher(
                    new PostgresWitnessStore(url(db), "warden_audit_witness"), "warden-test-1", key,
                    java.time.Duration.ofSeconds(5));
            ahead.checkpointWritten(new dev.warden.audit.chain.ChainedRecord(head.seq() + 3,
                    RecordChain.CHECKPOINT, "-", java.time.Instant.now(), new byte[0], "ef".repeat(32)));
            assertTrue(ahead.awaitPublished(head.seq() + 3, java.time.Duration.ofSeconds(10)));
            ahead.close();
            assertTrue(ahead.conflict().isEmpty(), "a log that goes on from the witnessed head is fine");
        }
    }

    @Test
    void anHttpWitnessKeepsTheLatestHeadPerChain() throws Exception {
        try (HttpWitnessServer server = new HttpWitnessServer()) {
            URI url = server.url();
            Path logDir = tmp.resolve("audit");
            Path keyFile = Fixtures.writeKey(tmp);
            writeLog(logDir, keyFile, new WitnessConfig.HttpWitness(url));
            WitnessHead head = new HttpWitnessStore(url).latest("warden-test-1").orElseThrow();
            assertTrue(new HttpWitnessStore(url).latest("someone-else").isEmpty());
            PublicKey publicKey = SigningKey.load(keyFile).publicKey();
            assertTrue(AuditVerifier.verify(logDir, publicKey, Optional.of(head)).passed());
            Path cut = copyCutAfter(logDir, head.seq() - 11);
            assertFalse(AuditVerifier.verify(cut, publicKey, Optional.of(head)).passed());
        }
    }

    /** Seqs of the checkpoint records, in order. */
    private static List<long[]> checkpointEnds(Path logDir) throws IOException {
        List<long[]> out = new ArrayList<>();
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            for (String line : Files.readAllLines(f.path())) {
                if (line.contains("\"type\":\"checkpoint\"")) {
                    long seq = Long.parseLong(line.replaceFirst(".*\"seq\":(\\d+).*", "$1"));
                    out.add(new long[] {seq});
                }
            }
        }
        return out;
    }

    /** A copy of the log (with its published keys) holding records up to {@code lastSeq} only. */
    private Path copyCutAfter(Path logDir, long lastSeq) throws IOException {
        Path copy = Files.createTempDirectory(tmp, "cut");
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            if (f.firstSeq() > lastSeq) {
                continue;
            }
            StringBuilder kept = new StringBuilder();
            for (String line : Files.readAllLines(f.path())) {
                long seq = Long.parseLong(line.replaceFirst(".*\"seq\":(\\d+).*", "$1"));
                if (seq <= lastSeq) {
                    kept.append(line).append('\n');
                }
            }
            Files.writeString(copy.resolve(f.name()), kept.toString());
        }
        return copy;
    }
}
