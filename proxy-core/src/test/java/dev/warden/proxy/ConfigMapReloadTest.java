package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.PolicyWatcher;
import dev.warden.proxy.server.WardenServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Kubernetes ConfigMap volume updates a file by swapping the {@code ..data} symlink: the policy's own name
 * never appears in a file event. Warden must still reload, and its {@code policy.reload} record must say what
 * changed.
 */
class ConfigMapReloadTest {

    @TempDir
    Path dir;

    private WardenServer server;
    private PolicyWatcher watcher;

    @AfterEach
    void stop() {
        if (watcher != null) {
            watcher.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private String policy(String guardrails, String secondIssuer) {
        return """
                listen: { address: "127.0.0.1:0" }
                identity:
                  issuers:
                    - { issuer: "https://login.example.com/", audience: warden }
                %s
                environments:
                  dev:
                    upstream: { host: 127.0.0.1, port: 1, database: app, user: app, tls: disable }
                    allow: [ { groups: [eng] } ]
                audit: { sinks: [ { type: file, dir: "%s" } ] }
                approvals: { store: { type: file, path: "%s" } }
                guardrails:
                  rules:
                %s
                """.formatted(secondIssuer, dir.resolve("audit"), dir.resolve("approvals"), guardrails);
    }

    /** Writes a new timestamped directory and swaps {@code ..data} to it by rename, as the kubelet does. */
    private void configMapVersion(Path volume, String name, String content) throws Exception {
        Path version = volume.resolve("..2026_11_30_" + name);
        Files.createDirectories(version);
        Files.writeString(version.resolve("warden.yaml"), content);
        Path tmp = volume.resolve("..data_tmp");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, version.getFileName());
        Files.move(tmp, volume.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void aDataSymlinkSwapReloadsThePolicyAndTheRecordNamesWhatChanged() throws Exception {
        Path volume = Files.createDirectories(dir.resolve("config"));
        configMapVersion(volume, "a", policy("""
                    - { name: no-drop, match: { statements: [DROP] }, action: block }
                    - { name: no-truncate, match: { statements: [TRUNCATE] }, action: block }
                """, ""));
        Path file = volume.resolve("warden.yaml");
        Files.createSymbolicLink(file, Path.of("..data/warden.yaml"));
        server = WardenServer.start(PolicyLoader.load(file));
        watcher = PolicyWatcher.start(file, server);
        String before = server.policy().versionHash();

        configMapVersion(volume, "b", policy("""
                    - { name: no-truncate, match: { statements: [TRUNCATE] }, action: block }
                """, "    - { issuer: \"https://partner.example.com/\", audience: warden }"));

        long deadline = System.currentTimeMillis() + 10_000;
        while (server.policy().versionHash().equals(before) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(server.policy().versionHash().equals(before), "the ..data swap was not noticed");
        assertEquals(List.of("no-truncate"), server.policy().guardrails().rules().stream().map(r -> r.name()).toList());

        AuditRecord reload = awaitReloadRecord();
        assertTrue(reload.get("accepted").asBoolean());
        JsonNode changes = reload.get("changes");
        assertEquals(List.of("no-drop"), names(changes.get("guardrails_removed")));
        assertEquals(List.of("https://partner.example.com/"), names(changes.get("issuers_added")));
        assertEquals(List.of("identity", "guardrails"), names(changes.get("sections_changed")));
        String human = AuditReader.of(dir.resolve("audit")).search(AuditFilter.all()).stream()
                .filter(l -> l.record().type().equals("policy.reload")).findFirst().orElseThrow().human();
        assertTrue(human.contains("guardrails_removed=[no-drop]"), human);
    }

    private AuditRecord awaitReloadRecord() throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        while (true) {
            List<AuditRecord> found = AuditReader.of(dir.resolve("audit")).search(AuditFilter.all()).stream()
                    .map(AuditReader.Line::record).filter(r -> r.type().equals("policy.reload")).toList();
            if (!found.isEmpty()) {
                return found.get(0);
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("no policy.reload record");
            }
            Thread.sleep(50);
        }
    }

    private static List<String> names(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
