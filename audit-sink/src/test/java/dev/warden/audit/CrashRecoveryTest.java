package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.chain.UnsignedTail;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.witness.HttpWitnessStore;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.WitnessConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A log abandoned without {@code close} (what {@code kill -9} leaves: no final checkpoint, maybe a torn line) is
 * reopened: the first start names the unsigned tail and any torn bytes in a {@code recovery} record and signs
 * them with the checkpoint right after it; verify warns of the tail before the restart and passes after it.
 */
class CrashRecoveryTest {

    @TempDir
    Path tmp;

    @Test
    void theNextStartNamesTheUnsignedTailAndSignsIt() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 4096, 10);
        abandonAfter(settings, 25);

        List<ObjectNode> before = records(logDir);
        long lastSeq = seq(before.get(before.size() - 1));
        long lastCheckpoint = lastCheckpointSeq(before);
        assertTrue(lastCheckpoint > 0 && lastCheckpoint < lastSeq, "crashed between checkpoints: " + before.size());
        VerifyReport crashed = Fixtures.verified(logDir, keyFile);
        assertEquals(lastSeq - lastCheckpoint, crashed.unsignedTail());
        assertTrue(crashed.summary().contains("WARNING unsigned tail: seq " + (lastCheckpoint + 1) + "-" + lastSeq
                + " (" + (lastSeq - lastCheckpoint) + " records)"), crashed.summary());

        try (AuditLog log = AuditLog.open(settings)) {
            assertTrue(log.healthy());
        }
        List<ObjectNode> after = records(logDir);
        ObjectNode recovery = after.get(before.size());
        assertEquals("recovery", recovery.path("type").asText(), recovery.toString());
        assertEquals(lastSeq + 1, seq(recovery));
        assertEquals(0, recovery.path("torn").size(), "no torn bytes: every write was whole");
        assertEquals(new UnsignedTail(lastCheckpoint + 1, lastSeq), UnsignedTail.read(recovery));
        assertEquals(lastSeq - lastCheckpoint, recovery.path("unsigned").path("count").asLong());
        ObjectNode checkpoint = after.get(before.size() + 1);
        assertEquals("checkpoint", checkpoint.path("type").asText(), "the tail is signed at once");
        assertEquals(seq(recovery), checkpoint.path("covers_seq").asLong());

        VerifyReport recovered = Fixtures.verified(logDir, keyFile);
        assertEquals(0, recovered.unsignedTail());
        assertFalse(recovered.summary().contains("WARNING"), recovered.summary());
    }

    @Test
    void tornBytesAndTheUnsignedTailAreNamedTogetherInWriteMode() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        // durability: write with the file sink alone: the writer thread writes, and fsyncs every 20 ms.
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 50)
                .withDurability(AuditSettings.Durability.WRITE, Duration.ofMillis(20));
        AuditLog abandoned = AuditLog.open(settings);
        Fixtures.concurrently(4, session -> {
            for (int i = 0; i < 30; i++) {
                abandoned.append(Fixtures.query(session, "alice", "prod", "SELECT " + i)).join();
            }
        });
        List<ObjectNode> before = records(logDir);
        long lastSeq = seq(before.get(before.size() - 1));
        long lastCheckpoint = lastCheckpointSeq(before);
        assertTrue(lastSeq > lastCheckpoint, "an unsigned tail is left");
        Path last = LogFiles.list(logDir).get(LogFiles.list(logDir).size() - 1).path();
        long size = Files.size(last);
        // The start of a record the kill cut short.
        Files.write(last, "{\"client\":{\"addre".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        VerifyReport torn = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey());
        assertFalse(torn.passed(), "torn bytes with nothing after them");

        try (AuditLog log = AuditLog.open(settings)) {
            long seq = log.append(Fixtures.query("s9", "alice", "prod", "SELECT 'after'")).join();
            assertEquals(lastSeq + 3, seq, "recovery and its checkpoint come first");
        }
        ObjectNode recovery = records(logDir).get(before.size());
        assertEquals("recovery", recovery.path("type").asText());
        JsonNode tornBytes = recovery.path("torn").get(0);
        assertEquals(last.getFileName().toString(), tornBytes.path("file").asText());
        assertEquals(size, tornBytes.path("offset").asLong());
        assertEquals(new UnsignedTail(lastCheckpoint + 1, lastSeq), UnsignedTail.read(recovery));
        VerifyReport recovered = Fixtures.verified(logDir, keyFile);
        assertEquals(0, recovered.unsignedTail());
    }

    @Test
    void theWitnessTakesTheHeadOfTheCheckpointAfterRecovery() throws Exception {
        try (HttpWitnessServer server = new HttpWitnessServer()) {
            Path logDir = tmp.resolve("audit");
            Path keyFile = Fixtures.writeKey(tmp);
            AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 10)
                    .withInstance("crash-1", Optional.of(new WitnessConfig.HttpWitness(server.url())));
            abandonAfter(settings, 15);
            long lastSeq = seq(last(records(logDir)));

            HttpWitnessStore store = new HttpWitnessStore(server.url());
            AuditLog log = AuditLog.open(settings);
            try {
                // recovery at lastSeq + 1, its checkpoint at lastSeq + 2: published without waiting for close.
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                Optional<WitnessHead> head = store.latest("crash-1");
                while ((head.isEmpty() || head.get().seq() < lastSeq + 2) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    head = store.latest("crash-1");
                }
                assertEquals(lastSeq + 2, head.orElseThrow().seq());
                VerifyReport report = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey(), head);
                assertTrue(report.passed(), report.summary());
                assertEquals(0, report.unsignedTail(), report.summary());
            } finally {
                log.close();
            }
        }
    }

    @Test
    void aRecoveryRecordThatMisstatesTheUnsignedTailFailsVerify() throws Exception {
        SigningKey key = SigningKey.load(Fixtures.writeKey(tmp));
        assertTrue(verifyForged(key, new UnsignedTail(5, 6)).passed(), "seq 5-6 follow the checkpoint at 4");
        VerifyReport report = verifyForged(key, new UnsignedTail(3, 6));
        assertEquals(Optional.of(VerifyReport.Kind.ALTERED), report.problem().map(VerifyReport.Problem::kind));
        assertTrue(report.problem().get().message().contains("unsigned tail"), report.summary());
    }

    /** Queries 1-3, a checkpoint (4), queries 5-6, then a recovery record naming {@code claimed}, signed. */
    private VerifyReport verifyForged(SigningKey key, UnsignedTail claimed) throws IOException {
        RecordChain chain = new RecordChain(0, RecordChain.GENESIS);
        List<ChainedRecord> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            out.add(chain.append(Fixtures.query("s1", "alice", "prod", "SELECT " + i)));
        }
        out.add(chain.checkpoint(key));
        out.add(chain.append(Fixtures.query("s1", "alice", "prod", "SELECT 5")));
        out.add(chain.append(Fixtures.query("s1", "alice", "prod", "SELECT 6")));
        out.add(chain.recovery(List.of(), claimed));
        out.add(chain.checkpoint(key));
        Path dir = Files.createTempDirectory(tmp, "forged");
        StringBuilder text = new StringBuilder();
        for (ChainedRecord r : out) {
            text.append(new String(r.line(), StandardCharsets.UTF_8)).append('\n');
        }
        Files.writeString(dir.resolve(LogFiles.name(1, 0)), text);
        return AuditVerifier.verify(dir, key.publicKey());
    }

    /** Appends {@code n} queries, each acknowledged, then drops the log without closing it. */
    private static void abandonAfter(AuditSettings settings, int n) {
        AuditLog abandoned = AuditLog.open(settings);
        List<CompletableFuture<Long>> written = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            written.add(abandoned.append(Fixtures.query("s1", "alice", "prod", "SELECT " + i)));
        }
        written.forEach(CompletableFuture::join);
    }

    /** Every complete record of the log, in order. */
    private static List<ObjectNode> records(Path logDir) throws IOException {
        List<ObjectNode> out = new ArrayList<>();
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            byte[] content = Files.readAllBytes(f.path());
            int start = 0;
            for (int i = 0; i < content.length; i++) {
                if (content[i] == '\n') {
                    out.add(CanonicalJson.parse(java.util.Arrays.copyOfRange(content, start, i)));
                    start = i + 1;
                }
            }
        }
        return out;
    }

    private static long lastCheckpointSeq(List<ObjectNode> records) {
        long seq = 0;
        for (ObjectNode r : records) {
            if (r.path("type").asText().equals("checkpoint")) {
                seq = seq(r);
            }
        }
        return seq;
    }

    private static ObjectNode last(List<ObjectNode> records) {
        return records.get(records.size() - 1);
    }

    private static long seq(JsonNode record) {
        return record.path("seq").asLong();
    }
}
