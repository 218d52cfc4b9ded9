package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.config.AuditSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks on aa467a1 (a chain opens with a checkpoint naming it; verify of a named chain fails when no checkpoint
 * signs its records). Two proxies, warden-alpha and warden-beta, share a signing key and a store (a Kafka topic).
 */
class AttackPass20ChainNameTest {

    @TempDir
    Path tmp;

    private static AuditLog writeOpen(Path logDir, Path keyFile, String instance, int count) {
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 1000)
                .withInstance(instance, Optional.empty());
        AuditLog log = AuditLog.open(settings);
        for (int i = 0; i < count; i++) {
            log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)).join();
        }
        return log;
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

    /** {@code opening} followed by {@code records} numbered from 2 and chained again (the chain takes no key). */
    private static List<byte[]> behind(byte[] opening, List<byte[]> records) throws Exception {
        List<byte[]> out = new ArrayList<>(List.of(opening));
        String prev = CanonicalJson.sha256(opening);
        for (int i = 0; i < records.size(); i++) {
            ObjectNode r = CanonicalJson.parse(records.get(i));
            r.put("seq", i + 2);
            r.put("prev", prev);
            byte[] line = CanonicalJson.encode(r);
            prev = CanonicalJson.sha256(line);
            out.add(line);
        }
        return out;
    }

    /**
     * LEAK: the opening checkpoint signs the chain's name over seq 0 and the genesis hash, which is the same line for
     * every record that follows it: it signs none of them. Beta's opening checkpoint (a line of beta's own stream)
     * with alpha's young records (or records made up) chained behind it verifies as chain warden-beta, with an
     * unsigned-tail note only, as before aa467a1. The check added ("no checkpoint signs any of the records") is met
     * by a checkpoint that signs no record. No small fix: records after the last checkpoint are signed by nothing,
     * so a named chain's unsigned tail can only be shown as unsigned (or make verify fail).
     */
    @Test
    @Disabled("LEAK: another chain's opening checkpoint with records re-chained behind it verifies as that chain; "
            + "an opening checkpoint signs no record, so nothing short of failing unsigned tails closes it")
    void alphasYoungRecordsBehindBetasOpeningCheckpointFailAsBeta() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        AuditLog alpha = writeOpen(tmp.resolve("alpha"), keyFile, "warden-alpha", 3);
        AuditLog beta = writeOpen(tmp.resolve("beta"), keyFile, "warden-beta", 1);
        try {
            List<byte[]> alphas = lines(tmp.resolve("alpha"));
            List<byte[]> betas = lines(tmp.resolve("beta"));
            assertTrue(new String(betas.get(0), StandardCharsets.UTF_8).contains("\"type\":\"checkpoint\""));
            List<byte[]> forged = behind(betas.get(0), alphas.subList(1, alphas.size()));
            VerifyReport asBeta = AuditVerifier.verifyRecords("kafka:audit/warden-beta", forged, key, "warden-beta");
            assertFalse(asBeta.passed(), "alpha's records verified as beta's: " + asBeta.summary());
        } finally {
            alpha.close();
            beta.close();
        }
    }

    /**
     * Held: a crash (kill -9) tore the young chain's opening checkpoint, its first line. The next start names the
     * torn bytes and opens the chain again; the log verifies as its chain and as no other.
     */
    @Test
    void aTornOpeningCheckpointIsRecoveredAndTheChainStillVerifies() throws Exception {
        Path keyFile = Fixtures.writeKey(tmp);
        PublicKey key = SigningKey.load(keyFile).publicKey();
        Path dir = tmp.resolve("alpha");
        writeOpen(dir, keyFile, "warden-alpha", 2).close();
        Path file = LogFiles.list(dir).get(0).path();
        String first = Files.readAllLines(file, StandardCharsets.UTF_8).get(0);
        assertTrue(first.contains("\"type\":\"checkpoint\""), first);
        Files.write(file, first.substring(0, first.length() / 2).getBytes(StandardCharsets.UTF_8));
        writeOpen(dir, keyFile, "warden-alpha", 2).close();
        VerifyReport own = AuditVerifier.verify(dir, key, Optional.empty(), "warden-alpha");
        assertTrue(own.passed(), own.summary());
        assertFalse(AuditVerifier.verify(dir, key, Optional.empty(), "warden-beta").passed());
    }
}
