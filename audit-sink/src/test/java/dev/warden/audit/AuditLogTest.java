package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.config.AuditSettings;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    @TempDir
    Path tmp;

    @Test
    void concurrentAppendsShareFsyncsAndTheLogVerifies() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        int threads = 8;
        int perThread = 500;
        AuditLog.Stats stats;
        Set<Long> seqs = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, keyFile, 256 * 1024, 1000))) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String session = "s" + t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        // Each session waits for durability before its next statement, as the proxy does.
                        seqs.add(log.append(Fixtures.query(session, "alice@example.com", "prod",
                                "SELECT " + i + " FROM users")).join());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            stats = log.stats();
            assertTrue(log.healthy());
        }
        assertEquals(threads * perThread, seqs.size(), "every append got its own seq");
        System.out.println("group commit: " + stats.fsyncs() + " fsyncs, " + stats.batches() + " batches for "
                + threads * perThread + " events");
        assertTrue(stats.fsyncs() < threads * perThread / 3,
                "group commit: " + stats.fsyncs() + " fsyncs for " + threads * perThread + " events");
        assertTrue(LogFiles.list(logDir).size() > 1, "rotated by size");

        VerifyReport report = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey());
        assertTrue(report.passed(), report.summary());
        assertEquals(0, report.unsignedTail(), "close writes a final checkpoint");
        assertTrue(report.records() > threads * perThread, "events plus checkpoints");
    }

    @Test
    void recordsAreCanonicalJsonLinesChainedFromZeros() throws Exception {
        Path logDir = tmp.resolve("audit");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            assertEquals(2L, log.append(Fixtures.start("s1", "alice@example.com", false, "prod")).join());
            assertEquals(3L, log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT 'é'\n")).join());
        }
        Path file = LogFiles.list(logDir).get(0).path();
        assertEquals("audit-000000000001.jsonl", file.getFileName().toString());
        List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
        // The chain opens with a checkpoint that names it, chained from zeros and signing no record yet.
        ObjectNode opening = CanonicalJson.parse(all.get(0).getBytes(StandardCharsets.UTF_8));
        assertEquals("checkpoint", opening.get("type").asText());
        assertEquals("0".repeat(64), opening.get("prev").asText());
        assertEquals(1, opening.get("seq").asInt());
        assertTrue(opening.hasNonNull("chain"), all.get(0));
        assertEquals(CanonicalJson.sha256(all.get(0).getBytes(StandardCharsets.UTF_8)),
                CanonicalJson.parse(all.get(1).getBytes(StandardCharsets.UTF_8)).get("prev").asText());
        List<String> lines = all.subList(1, all.size());
        ObjectNode first = CanonicalJson.parse(lines.get(0).getBytes(StandardCharsets.UTF_8));
        assertEquals(1, first.get("schema_version").asInt());
        assertTrue(first.get("ts").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z"));
        assertTrue(lines.get(0).startsWith("{\"client\":{\"address\":\"10.0.0.5:51234\""), lines.get(0));
        assertTrue(lines.get(1).contains("\"statement\":\"SELECT 'é'\\n\""), lines.get(1));
        assertEquals(CanonicalJson.sha256(lines.get(0).getBytes(StandardCharsets.UTF_8)),
                CanonicalJson.parse(lines.get(1).getBytes(StandardCharsets.UTF_8)).get("prev").asText());
        assertEquals("checkpoint", CanonicalJson.parse(lines.get(2).getBytes(StandardCharsets.UTF_8))
                .get("type").asText());
    }

    @Test
    void reopeningContinuesTheChainInANewFile() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path key = Fixtures.writeKey(tmp);
        AuditSettings settings = Fixtures.fileSettings(logDir, key, 1 << 20, 1000);
        try (AuditLog log = AuditLog.open(settings)) {
            log.append(Fixtures.query("s1", "alice", "prod", "SELECT 1")).join();
        }
        // Not closed: like kill -9 after the append was acknowledged (no final checkpoint).
        AuditLog abandoned = AuditLog.open(settings);
        long seq = abandoned.append(Fixtures.query("s1", "alice", "prod", "SELECT 2")).join();
        try (AuditLog log = AuditLog.open(settings)) {
            assertEquals(seq + 3, log.append(Fixtures.query("s1", "alice", "prod", "SELECT 3")).join(),
                    "a recovery record naming the previous run's unsigned tail and a checkpoint signing it come "
                    + "first");
        }
        assertEquals(3, LogFiles.list(logDir).size(), "one file per open");
        VerifyReport report = AuditVerifier.verify(logDir, SigningKey.load(key).publicKey());
        assertTrue(report.passed(), report.summary());
        assertEquals(0, report.unsignedTail());
    }

    @Test
    void tornTailFromACrashIsNamedByARecoveryRecordAndThenVerifies() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path key = Fixtures.writeKey(tmp);
        AuditSettings settings = Fixtures.fileSettings(logDir, key, 1 << 20, 1000);
        try (AuditLog log = AuditLog.open(settings)) {
            for (int i = 0; i < 5; i++) {
                log.append(Fixtures.query("s1", "alice", "prod", "SELECT " + i)).join();
            }
        }
        Path last = LogFiles.list(logDir).get(0).path();
        Files.write(last, "{\"client\":{\"addre".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        long sizeBefore = Files.size(last);
        VerifyReport torn = AuditVerifier.verify(logDir, null);
        assertFalse(torn.passed());
        assertEquals(VerifyReport.Kind.TRUNCATED, torn.problem().orElseThrow().kind());

        try (AuditLog log = AuditLog.open(settings)) {
            log.append(Fixtures.query("s1", "alice", "prod", "SELECT 'after crash'")).join();
        }
        assertEquals(sizeBefore, Files.size(last), "the torn file is never written again");
        VerifyReport report = AuditVerifier.verify(logDir, SigningKey.load(key).publicKey());
        assertTrue(report.passed(), report.summary());
        String second = Files.readAllLines(LogFiles.list(logDir).get(1).path()).get(0);
        assertTrue(second.contains("\"type\":\"recovery\""), second);
        assertTrue(second.contains("\"torn\":[{\"file\":\"audit-000000000001.jsonl\",\"length\":17,"), second);
    }

    @Test
    void unwritableDirectoryFailsAppendsQuicklyAndRecoversWhenItIsFixed() throws Exception {
        Path blocker = tmp.resolve("blocker");
        Files.writeString(blocker, "a file where the audit directory's parent should be");
        Path logDir = blocker.resolve("audit");
        Path key = Fixtures.writeKey(tmp);
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, key, 1 << 20, 1000))) {
            assertFalse(log.healthy());
            CompletableFuture<Long> append = log.append(Fixtures.query("s1", "alice", "prod", "DELETE FROM t"));
            CompletionException failure = assertThrows(CompletionException.class,
                    () -> append.orTimeout(5, TimeUnit.SECONDS).join());
            AuditUnavailableException cause = assertInstanceOf(AuditUnavailableException.class, failure.getCause());
            assertTrue(cause.getMessage().startsWith("audit sink file:" + logDir + ": "), cause.getMessage());
            assertTrue(cause.getMessage().contains("Not a directory"), cause.getMessage());

            Files.delete(blocker);
            assertEquals(2L, log.append(Fixtures.query("s1", "alice", "prod", "SELECT 1")).get(5, TimeUnit.SECONDS),
                    "after the chain's opening checkpoint");
            assertTrue(log.healthy());
        }
        assertTrue(AuditVerifier.verify(logDir, SigningKey.load(key).publicKey()).passed());
    }

    @Test
    void withoutAConfiguredKeyOneIsGeneratedPrivatelyAndPublished() throws Exception {
        AuditSettings settings = AuditSettings.defaults(tmp);
        try (AuditLog log = AuditLog.open(settings)) {
            log.append(Fixtures.query("s1", "alice", "prod", "SELECT 1")).join();
        }
        Path logDir = tmp.resolve("audit");
        Path keyFile = logDir.resolve("audit-signing-key.pem");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(keyFile)));
        SigningKey key = SigningKey.load(keyFile);
        assertTrue(Files.exists(logDir.resolve("keys").resolve(key.id() + ".pub.pem")));
        VerifyReport report = AuditVerifier.verify(logDir, null);
        assertTrue(report.passed(), report.summary());
        assertTrue(report.keysFromLogDir());
        assertEquals(List.of(key.id()), report.keyIds());
    }

    @Test
    void withoutAKeyAnUnwritableDirectoryFailsAtOpen() throws Exception {
        Path blocker = tmp.resolve("blocker");
        Files.writeString(blocker, "x");
        AuditUnavailableException e = assertThrows(AuditUnavailableException.class,
                () -> AuditLog.open(AuditSettings.defaults(blocker)));
        assertTrue(e.getMessage().contains("signing key"), e.getMessage());
    }

    @Test
    void appendAfterCloseFails() throws Exception {
        AuditLog log = AuditLog.open(Fixtures.fileSettings(tmp.resolve("audit"), Fixtures.writeKey(tmp), 1 << 20, 10));
        log.close();
        CompletableFuture<Long> late = log.append(Fixtures.query("s1", "alice", "prod", "SELECT 1"));
        assertTrue(late.isCompletedExceptionally());
    }

    @Test
    void checkpointIntervalSignsAnIdleTail() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path key = Fixtures.writeKey(tmp);
        AuditSettings settings = new AuditSettings(Fixtures.fileSettings(logDir, key, 1 << 20, 1000).sinks(),
                java.util.Optional.of(key), true, 1000, Duration.ofMillis(50), Duration.ZERO, true);
        try (AuditLog log = AuditLog.open(settings)) {
            log.append(Fixtures.query("s1", "alice", "prod", "SELECT 1")).join();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            VerifyReport report;
            do {
                Thread.sleep(20);
                report = AuditVerifier.verify(logDir, SigningKey.load(key).publicKey());
            } while (report.unsignedTail() > 0 && System.nanoTime() < deadline);
            assertTrue(report.passed(), report.summary());
            assertEquals(0, report.unsignedTail());
        }
    }

    @Test
    void ed25519SigningCostJustifiesCheckpoints() {
        SigningKey key = SigningKey.generate();
        byte[] text = new byte[64];
        for (int i = 0; i < 200; i++) {
            key.sign(text);
        }
        int n = 1000;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            key.sign(text);
        }
        long micros = (System.nanoTime() - start) / 1000 / n;
        System.out.println("ed25519 sign: " + micros + " us per signature");
        assertTrue(micros > 0);
    }

    @Test
    void distinctSeqsAcrossThreadsEvenWithoutWaiting() throws Exception {
        Path logDir = tmp.resolve("audit");
        List<CompletableFuture<Long>> futures = new ArrayList<>();
        AuditLog.Stats stats;
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            for (int i = 0; i < 2000; i++) {
                futures.add(log.append(Fixtures.query("s", "bob", "dev", "SELECT " + i)));
            }
            Set<Long> seqs = new HashSet<>();
            for (CompletableFuture<Long> f : futures) {
                seqs.add(f.get(10, TimeUnit.SECONDS));
            }
            assertEquals(2000, seqs.size());
            stats = log.stats();
        }
        assertTrue(stats.fsyncs() < 200, "fsyncs: " + stats.fsyncs());
    }
}
