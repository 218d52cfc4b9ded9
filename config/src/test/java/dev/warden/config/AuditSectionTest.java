package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.AuditSettings.AuditSinkConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditSectionTest {

    @TempDir
    Path dir;

    private AuditSettings audit(String section, Map<String, String> env) throws PolicyException {
        return PolicyLoader.parse(MinimalPolicy.TEXT + section, dir, "policy.yaml", env).audit();
    }

    private PolicyException failure(String section) {
        return assertThrows(PolicyException.class, () -> audit(section, Map.of()));
    }

    @Test
    void withoutAnAuditSectionTheDefaultAuditsToAFileNextToThePolicy() throws Exception {
        AuditSettings a = PolicyLoader.parse(MinimalPolicy.TEXT, dir, "policy.yaml", Map.of()).audit();
        assertEquals(List.of(new AuditSinkConfig.FileSink(dir.toAbsolutePath().resolve("audit"), 64L << 20,
                Duration.ofHours(24))), a.sinks());
        assertTrue(a.refuseOnFailure());
        assertEquals(Optional.empty(), a.signingKey());
        assertEquals(1000, a.checkpointEvery());
        assertEquals(Duration.ZERO, a.groupCommit());
        assertTrue(a.keepLiterals());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        Files.createDirectories(dir.resolve("keys"));
        Files.writeString(dir.resolve("keys/audit-ed25519.pem"), "key");
        AuditSettings a = audit("""
                audit:
                  sinks:
                    - { type: file, dir: logs/audit, rotate_bytes: 10MB, rotate_interval: 1h }
                    - { type: postgres, url_env: AUDIT_DB_URL, table: sec.trail }
                    - { type: stdout }
                  signing_key: keys/audit-ed25519.pem
                  on_failure: allow
                  checkpoint_every: 500
                  checkpoint_interval: 250ms
                  group_commit: 0
                  statement_literals: redact
                """, Map.of("AUDIT_DB_URL", "jdbc:postgresql://audit-db/audit?user=w&password=secret"));
        assertEquals(new AuditSinkConfig.FileSink(dir.toAbsolutePath().resolve("logs/audit"), 10L << 20,
                Duration.ofHours(1)), a.sinks().get(0));
        AuditSinkConfig.PostgresSink pg = (AuditSinkConfig.PostgresSink) a.sinks().get(1);
        assertEquals("jdbc:postgresql://audit-db/audit?user=w&password=secret", pg.url().reveal());
        assertEquals("sec.trail", pg.table());
        assertFalse(pg.toString().contains("secret"), "the URL never prints");
        assertEquals(new AuditSinkConfig.StdoutSink(), a.sinks().get(2));
        assertEquals(Optional.of(dir.toAbsolutePath().resolve("keys/audit-ed25519.pem")), a.signingKey());
        assertFalse(a.refuseOnFailure());
        assertEquals(500, a.checkpointEvery());
        assertEquals(Duration.ofMillis(250), a.checkpointInterval());
        assertEquals(Duration.ZERO, a.groupCommit());
        assertFalse(a.keepLiterals());
        assertEquals(a.sinks().get(0), a.primaryFile().orElseThrow());
    }

    @Test
    void durabilityIsFsyncUnlessWriteIsChosenWithABoundedSyncInterval() throws Exception {
        AuditSettings byDefault = audit("audit: { on_failure: refuse }", Map.of());
        assertEquals(AuditSettings.Durability.FSYNC, byDefault.durability());
        AuditSettings write = audit("audit: { durability: write, sync_interval: 50ms }", Map.of());
        assertEquals(AuditSettings.Durability.WRITE, write.durability());
        assertEquals(Duration.ofMillis(50), write.syncInterval());
        assertTrue(failure("audit: { durability: async }").getMessage().contains("unknown value 'async'"));
        assertTrue(failure("audit: { sync_interval: 1m }").getMessage().contains("must be at most 10s"));
        assertTrue(failure("audit: { sync_interval: 0 }").getMessage().contains("greater than 0"));
    }

    @Test
    void sizesAcceptUnitsAndPlainBytes() throws Exception {
        assertEquals(512L * 1024, ((AuditSinkConfig.FileSink) audit("audit: { sinks: [ { type: file, rotate_bytes: 512KB } ] }",
                Map.of()).sinks().get(0)).rotateBytes());
        assertEquals(4096L, ((AuditSinkConfig.FileSink) audit("audit: { sinks: [ { type: file, rotate_bytes: 4096 } ] }",
                Map.of()).sinks().get(0)).rotateBytes());
    }

    @Test
    void postgresUrlMayComeFromAFile() throws Exception {
        Files.writeString(dir.resolve("audit-url"), "jdbc:postgresql://h/db\n");
        AuditSettings a = audit("audit: { sinks: [ { type: postgres, url_file: audit-url } ] }", Map.of());
        AuditSinkConfig.PostgresSink pg = (AuditSinkConfig.PostgresSink) a.sinks().get(0);
        assertEquals("jdbc:postgresql://h/db", pg.url().reveal());
        assertEquals("warden_audit", pg.table());
    }

    @Test
    void misspeltSinkTypeIsAnErrorWithASuggestion() {
        PolicyException e = failure("""
                audit:
                  sinks:
                    - { type: flie }
                """);
        assertEquals("policy.yaml:15:15: audit.sinks[0].type: unknown sink type 'flie' (did you mean 'file'?)",
                e.getMessage());
    }

    @Test
    void invalidValuesPointAtTheirLine() {
        assertTrue(failure("audit: { on_failure: ignore }").getMessage()
                .startsWith("policy.yaml:13:"), "line of the audit section");
        assertTrue(failure("audit: { on_failure: ignore }").getMessage()
                .endsWith("unknown value 'ignore'; expected refuse or allow"));
        assertTrue(failure("audit: { sinks: [ { type: file, rotate_bytes: 64 } ] }").getMessage()
                .contains("must be between 1KB"));
        assertTrue(failure("audit: { sinks: [ { type: file, rotate_bytes: lots } ] }").getMessage()
                .contains("is not a size"));
        assertTrue(failure("audit: { signing_key: keys/missing.pem }").getMessage()
                .contains("file not found or not readable"));
        assertTrue(failure("audit: { statement_literals: hide }").getMessage()
                .contains("expected keep or redact"));
        assertTrue(failure("audit: { checkpoint_every: 0 }").getMessage().contains("must be between 1"));
        assertTrue(failure("audit: { group_commit: 5s }").getMessage().contains("must be at most 1s"));
        assertTrue(failure("audit: { sinks: [] }").getMessage().contains("at least one sink"));
        assertTrue(failure("audit: { sinks: [ { type: stdout } ] }").getMessage().contains("stdout is not durable"));
        assertTrue(failure("audit: { sinks: [ { type: file }, { type: file, dir: ./audit } ] }").getMessage()
                .contains("same directory"));
        assertTrue(failure("audit: { sinks: [ { type: file, rotate: 1h } ] }").getMessage()
                .contains("unknown key 'rotate'"));
        assertTrue(failure("audit: { signing_keys: x }").getMessage().contains("did you mean 'signing_key'"));
    }

    @Test
    void postgresSinkNeedsAUrlFromTheEnvironmentOrAFile() {
        assertTrue(failure("audit: { sinks: [ { type: postgres } ] }").getMessage().contains("give url_env or url_file"));
        assertTrue(failure("audit: { sinks: [ { type: postgres, url_env: NOPE } ] }").getMessage()
                .contains("environment variable NOPE is not set"));
        PolicyException notJdbc = assertThrows(PolicyException.class, () -> audit(
                "audit: { sinks: [ { type: postgres, url_env: U } ] }", Map.of("U", "postgres://x:secret@h/db")));
        assertTrue(notJdbc.getMessage().contains("must start with jdbc:postgresql://"));
        assertFalse(notJdbc.getMessage().contains("secret"));
        PolicyException badTable = assertThrows(PolicyException.class, () -> audit(
                "audit: { sinks: [ { type: postgres, url_env: U, table: \"x; drop table y\" } ] }",
                Map.of("U", "jdbc:postgresql://h/db")));
        assertTrue(badTable.getMessage().contains("is not a plain table name"));
    }

    @Test
    void kafkaSinkWitnessAndInstanceAreRead() throws Exception {
        AuditSettings a = audit("""
                audit:
                  instance: warden-eu-1
                  sinks:
                    - { type: file, dir: audit }
                    - type: kafka
                      bootstrap_servers: "k1:9092,k2:9092"
                      topic: sec.warden
                      format: ocsf
                      linger: 5ms
                      client_properties: { security.protocol: SSL }
                    - { type: stdout, format: ocsf }
                  witness: { type: postgres, url_env: WITNESS_URL, table: audit.heads }
                """, Map.of("WITNESS_URL", "jdbc:postgresql://witness/db"));
        assertEquals("warden-eu-1", a.instance());
        assertEquals(new AuditSinkConfig.KafkaSink("k1:9092,k2:9092", "sec.warden", AuditSettings.SinkFormat.OCSF,
                Duration.ofMillis(5), Map.of("security.protocol", "SSL")), a.sinks().get(1));
        assertEquals(new AuditSinkConfig.StdoutSink(AuditSettings.SinkFormat.OCSF), a.sinks().get(2));
        AuditSettings.WitnessConfig.PostgresWitness w = (AuditSettings.WitnessConfig.PostgresWitness) a.witness()
                .orElseThrow();
        assertEquals("audit.heads", w.table());
        assertEquals("jdbc:postgresql://witness/db", w.url().reveal());

        AuditSettings http = audit("""
                audit:
                  witness: { type: http, url: "https://witness.example.com/heads" }
                """, Map.of());
        assertEquals(new AuditSettings.WitnessConfig.HttpWitness(java.net.URI.create(
                "https://witness.example.com/heads")), http.witness().orElseThrow());
        AuditSettings kafka = audit("""
                audit:
                  witness: { type: kafka, bootstrap_servers: "k1:9092" }
                """, Map.of());
        assertEquals(new AuditSettings.WitnessConfig.KafkaWitness("k1:9092", "warden-audit-witness", Map.of()),
                kafka.witness().orElseThrow());
    }

    @Test
    void badWitnessAndKafkaSettingsNameTheLine() {
        assertTrue(failure("""
                audit:
                  witness: { type: s3 }
                """).getMessage().contains("unknown witness type 's3'"));
        assertTrue(failure("""
                audit:
                  witness: { type: http, url: "ftp://x/heads" }
                """).getMessage().contains("http:// or https://"));
        assertTrue(failure("""
                audit:
                  sinks: [ { type: kafka, bootstrap_servers: "k:9092", topic: "bad topic" } ]
                """).getMessage().contains("not a Kafka topic name"));
        assertTrue(failure("""
                audit:
                  sinks: [ { type: stdout, format: cef } ]
                """).getMessage().contains("unknown value 'cef'"));
        assertTrue(failure("""
                audit:
                  instance: "a b"
                """).getMessage().contains("not an instance name"));
    }
}
