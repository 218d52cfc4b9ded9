package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.sink.FileSink;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.config.AuditSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints name and sign their chain (the instance's {@code audit.instance}). Before, they signed a seq and a
 * hash only: where several proxies share a store (a Kafka topic) and a signing key, one proxy's records copied under
 * another instance's name verified as that instance's chain. Each test below is a copy or an edit an attacker with
 * write access to the store can make; the verifier must name it.
 */
class CheckpointChainNameTest {

    @TempDir
    Path tmp;

    /** Writes {@code count} statements to {@code logDir} as instance {@code instance}, closing cleanly. */
    private static void write(Path logDir, Path keyFile, String instance, int count) {
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 4)
                .withInstance(instance, Optional.empty());
        try (AuditLog log = AuditLog.open(settings)) {
            List<CompletableFuture<Long>> written = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                written.add(log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)));
            }
            written.forEach(CompletableFuture::join);
        }
    }

    /** The same, through a log built as before checkpoints named their chain. */
    private static void writeUnnamed(Path logDir, Path keyFile, int count) throws Exception {
        GroupCommitLog log = new GroupCommitLog(List.of(new FileSink(logDir, 1 << 20, Duration.ZERO)),
                SigningKey.load(keyFile), 4, Duration.ZERO, Duration.ZERO);
        try {
            for (int i = 0; i < count; i++) {
                log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)).join();
            }
        } finally {
            log.close();
        }
    }

    private static List<byte[]> lines(Path logDir) throws Exception {
        List<byte[]> out = new ArrayList<>();
        for (LogFiles.LogFile f : LogFiles.list(logDir)) {
            for (String line : Files.readAllLines(f.path(), StandardCharsets.UTF_8)) {
                out.add(line.getBytes(StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    @Test
    void aLogVerifiesAsTheChainItsCheckpointsNameAndNoOther() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("alpha");
        write(logDir, keyFile, "warden-alpha", 10);

        String text = Files.readString(LogFiles.list(logDir).get(0).path());
        assertTrue(text.contains("\"chain\":\"warden-alpha\""), text);

        VerifyReport any = AuditVerifier.verify(logDir, key, Optional.empty(), null);
        assertTrue(any.passed(), any.summary());
        assertEquals(List.of("warden-alpha"), any.chains());
        assertTrue(any.summary().contains("checkpoints sign chain warden-alpha"), any.summary());

        VerifyReport asAlpha = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-alpha");
        assertTrue(asAlpha.passed(), asAlpha.summary());

        VerifyReport asBeta = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-beta");
        assertFalse(asBeta.passed(), asBeta.summary());
        assertEquals(VerifyReport.Kind.ALTERED, asBeta.problem().orElseThrow().kind());
        assertTrue(asBeta.problem().orElseThrow().message().contains("names chain warden-alpha, not warden-beta"),
                asBeta.summary());
    }

    /**
     * The attack the README named: two proxies share a topic and a signing key; the records of one, produced again
     * under the other's {@code warden.instance} header (or under a made-up one), verified as that chain.
     */
    @Test
    void oneInstancesRecordsCopiedUnderAnothersNameFailAsThatChain() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("alpha");
        write(logDir, keyFile, "warden-alpha", 9);
        List<byte[]> records = lines(logDir);

        VerifyReport own = AuditVerifier.verifyRecords("kafka:audit/warden-alpha", records, key, "warden-alpha");
        assertTrue(own.passed(), own.summary());

        VerifyReport copied = AuditVerifier.verifyRecords("kafka:audit/warden-beta", records, key, "warden-beta");
        assertFalse(copied.passed(), copied.summary());
        assertTrue(copied.problem().orElseThrow().message().contains("written as another chain's"),
                copied.summary());
    }

    /** Renaming the chain in the last checkpoint (which no later record's hash covers) breaks its signature. */
    @Test
    void aCheckpointWhoseChainNameWasEditedFailsItsSignature() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("alpha");
        write(logDir, keyFile, "warden-alpha", 6);
        Path file = LogFiles.list(logDir).get(0).path();
        List<String> all = new ArrayList<>(Files.readAllLines(file));
        String last = all.get(all.size() - 1);
        assertTrue(last.contains("\"type\":\"checkpoint\""), last);
        all.set(all.size() - 1, last.replace("\"chain\":\"warden-alpha\"", "\"chain\":\"warden-beta\""));
        Files.write(file, all);

        // (Asked as any chain: asked as warden-beta, the earlier checkpoints that name warden-alpha fail first.)
        VerifyReport renamed = AuditVerifier.verify(logDir, key, Optional.empty(), null);
        assertFalse(renamed.passed(), renamed.summary());
        assertEquals(VerifyReport.Kind.BAD_SIGNATURE, renamed.problem().orElseThrow().kind(), renamed.summary());
        assertTrue(renamed.problem().orElseThrow().message().contains("for chain warden-beta"), renamed.summary());

        // With its name removed, it would read as a checkpoint of the first format: its signature says otherwise.
        all.set(all.size() - 1, last.replace(",\"chain\":\"warden-alpha\"", "").replace("\"chain\":\"warden-alpha\",",
                ""));
        assertFalse(all.get(all.size() - 1).contains("chain"), all.get(all.size() - 1));
        Files.write(file, all);
        VerifyReport stripped = AuditVerifier.verify(logDir, key, Optional.empty(), null);
        assertFalse(stripped.passed(), stripped.summary());
    }

    /** A log begun before checkpoints named their chain and continued by this build verifies, and says so. */
    @Test
    void aLogOfTheFirstFormatContinuedByThisBuildVerifies() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("log");
        writeUnnamed(logDir, keyFile, 6);
        VerifyReport before = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-alpha");
        assertTrue(before.passed(), before.summary());
        assertTrue(before.chains().isEmpty());
        assertTrue(before.summary().contains("the checkpoints name no chain"), before.summary());

        write(logDir, keyFile, "warden-alpha", 6);
        VerifyReport after = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-alpha");
        assertTrue(after.passed(), after.summary());
        assertEquals(List.of("warden-alpha"), after.chains());
        assertTrue(after.unnamedCheckpoints() > 0, after.summary());
    }

    /** The reverse order is what moving an older chain's checkpoint in, or an older build's append, looks like. */
    @Test
    void aCheckpointNamingNoChainAfterNamedOnesFails() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("log");
        write(logDir, keyFile, "warden-alpha", 6);
        writeUnnamed(logDir, keyFile, 6);
        VerifyReport report = AuditVerifier.verify(logDir, key, Optional.empty(), null);
        assertFalse(report.passed(), report.summary());
        assertTrue(report.problem().orElseThrow().message().contains("names no chain, after checkpoints that name "
                + "warden-alpha"), report.summary());
    }

    /** Writes {@code count} statements as {@code instance} and leaves the log open (a running proxy's young chain). */
    private static AuditLog writeOpen(Path logDir, Path keyFile, String instance, int count) {
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 1000)
                .withInstance(instance, Optional.empty());
        AuditLog log = AuditLog.open(settings);
        for (int i = 0; i < count; i++) {
            log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)).join();
        }
        return log;
    }

    /**
     * The gap the README named after the last fix: a chain younger than its first checkpoint (fewer records than
     * checkpoint_every, within checkpoint_interval) had no checkpoint at all, so its records copied under another
     * instance's name verified as that chain (with an unsigned-tail warning). A chain now opens with a checkpoint
     * that names it, before its first record.
     */
    @Test
    void aYoungChainCopiedUnderAnothersNameFailsFromItsOpeningCheckpoint() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("alpha");
        AuditLog running = writeOpen(logDir, keyFile, "warden-alpha", 3);
        try {
            List<byte[]> records = lines(logDir);
            String first = new String(records.get(0), StandardCharsets.UTF_8);
            assertTrue(first.contains("\"type\":\"checkpoint\"") && first.contains("\"chain\":\"warden-alpha\"")
                    && first.contains("\"seq\":1,"), first);
            assertEquals(4, records.size(), "the opening checkpoint and three records, none signed after it yet");

            VerifyReport own = AuditVerifier.verifyRecords("kafka:audit/warden-alpha", records, key, "warden-alpha");
            assertTrue(own.passed(), own.summary());
            VerifyReport copied = AuditVerifier.verifyRecords("kafka:audit/warden-beta", records, key,
                    "warden-beta");
            assertFalse(copied.passed(), copied.summary());
            assertTrue(copied.problem().orElseThrow().message().contains("names chain warden-alpha, not warden-beta"),
                    copied.summary());

            // Without the opening checkpoint the chain lacks its seq 1.
            List<byte[]> stripped = records.subList(1, records.size());
            VerifyReport cut = AuditVerifier.verifyRecords("kafka:audit/warden-beta", stripped, key, "warden-beta");
            assertFalse(cut.passed(), cut.summary());
            // Numbered again from 1 and chained again (the hash chain takes no key): nothing signs them, and as a
            // chain asked for by name that fails.
            List<byte[]> renumbered = new ArrayList<>();
            String prev = "0".repeat(64);
            for (int i = 0; i < stripped.size(); i++) {
                com.fasterxml.jackson.databind.node.ObjectNode r = dev.warden.audit.event.CanonicalJson.parse(
                        stripped.get(i));
                r.put("seq", i + 1);
                r.put("prev", prev);
                byte[] line = dev.warden.audit.event.CanonicalJson.encode(r);
                prev = dev.warden.audit.event.CanonicalJson.sha256(line);
                renumbered.add(line);
            }
            VerifyReport unsigned = AuditVerifier.verifyRecords("kafka:audit/warden-beta", renumbered, key,
                    "warden-beta");
            assertFalse(unsigned.passed(), unsigned.summary());
            assertTrue(unsigned.problem().orElseThrow().message().contains("no checkpoint signs any of the 3 records "
                    + "of chain warden-beta"), unsigned.summary());
            // Asked for no chain, a directory without one still verifies, with its unsigned records named.
            VerifyReport anyChain = AuditVerifier.verify(logDir, key, Optional.empty(), null);
            assertTrue(anyChain.passed(), anyChain.summary());
            VerifyReport asBetaDir = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-beta");
            assertFalse(asBetaDir.passed(), asBetaDir.summary());
        } finally {
            running.close();
        }
        assertTrue(AuditVerifier.verify(logDir, key, Optional.empty(), "warden-alpha").passed());
    }

    /** A log of a build before opening checkpoints, with no checkpoint yet, fails when asked for as a named chain. */
    @Test
    void aChainWithNoCheckpointAtAllFailsAsANamedChain() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path logDir = tmp.resolve("old");
        GroupCommitLog log = new GroupCommitLog(List.of(new FileSink(logDir, 1 << 20, Duration.ZERO)),
                SigningKey.load(keyFile), 1000, Duration.ZERO, Duration.ZERO);
        try {
            log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT 1")).join();
            VerifyReport named = AuditVerifier.verify(logDir, key, Optional.empty(), "warden-alpha");
            assertFalse(named.passed(), named.summary());
            assertTrue(named.problem().orElseThrow().message().contains("no checkpoint signs any"), named.summary());
            assertTrue(AuditVerifier.verify(logDir, key, Optional.empty(), null).passed());
        } finally {
            log.close();
        }
    }
}
