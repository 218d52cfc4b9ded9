package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.event.CanonicalJson;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.AuditSinkConfig;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresSinkTest {

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

    private AuditSettings settings(String db, boolean withFile) throws Exception {
        AuditSinkConfig pg = new AuditSinkConfig.PostgresSink(url(db), "warden_audit");
        List<AuditSinkConfig> sinks = withFile
                ? List.of(new AuditSinkConfig.FileSink(tmp.resolve("audit"), 1 << 20, Duration.ZERO), pg)
                : List.of(pg);
        return new AuditSettings(sinks, Optional.of(Fixtures.writeKey(tmp)), true, 1000, Duration.ZERO,
                Duration.ofMillis(2), true);
    }

    @Test
    void recordsAreCommittedToAnAppendOnlyTable() throws Exception {
        String db = postgres.createDatabase("audit");
        try (AuditLog log = AuditLog.open(settings(db, true))) {
            log.append(Fixtures.start("s1", "alice@example.com", false, "prod")).join();
            for (int i = 0; i < 20; i++) {
                log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)).join();
            }
        }
        try (Connection c = postgres.connect(db); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT count(*), min(seq), max(seq) FROM warden_audit")) {
                rs.next();
                assertEquals(23, rs.getLong(1), "the opening checkpoint, 21 events and the closing checkpoint");
                assertEquals(1, rs.getLong(2));
                assertEquals(23, rs.getLong(3));
            }
            try (ResultSet rs = s.executeQuery("SELECT record::text, hash, type FROM warden_audit ORDER BY seq")) {
                while (rs.next()) {
                    byte[] canonical = CanonicalJson.encode(CanonicalJson.parse(rs.getString(1)
                            .getBytes(StandardCharsets.UTF_8)));
                    assertEquals(rs.getString(2), CanonicalJson.sha256(canonical),
                            "re-encoding the jsonb reproduces the hash of the file's line");
                }
            }
            SQLException update = assertThrows(SQLException.class,
                    () -> s.execute("UPDATE warden_audit SET type = 'x' WHERE seq = 2"));
            assertTrue(update.getMessage().contains("append-only"), update.getMessage());
            SQLException delete = assertThrows(SQLException.class, () -> s.execute("DELETE FROM warden_audit"));
            assertTrue(delete.getMessage().contains("append-only"), delete.getMessage());
            SQLException truncate = assertThrows(SQLException.class, () -> s.execute("TRUNCATE warden_audit"));
            assertTrue(truncate.getMessage().contains("append-only"), truncate.getMessage());
        }
    }

    @Test
    void postgresAloneContinuesTheChainAfterRestart() throws Exception {
        String db = postgres.createDatabase("audit");
        AuditSettings settings = settings(db, false);
        try (AuditLog log = AuditLog.open(settings)) {
            assertEquals(2L, log.append(Fixtures.query("s1", "bob", "dev", "SELECT 1")).join(),
                    "after the chain's opening checkpoint at 1");
        }
        try (AuditLog log = AuditLog.open(settings)) {
            assertEquals(5L, log.append(Fixtures.query("s1", "bob", "dev", "SELECT 2")).join(),
                    "after seq 2, the final checkpoint at 3 and this start's first checkpoint at 4");
        }
        // Abandoned without close (kill -9): seq 8 stays after this start's first checkpoint at 7, unsigned.
        AuditLog abandoned = AuditLog.open(settings);
        assertEquals(8L, abandoned.append(Fixtures.query("s1", "bob", "dev", "SELECT 3")).join());
        try (AuditLog log = AuditLog.open(settings)) {
            assertEquals(11L, log.append(Fixtures.query("s1", "bob", "dev", "SELECT 4")).join(),
                    "after the recovery record (9) and the checkpoint signing the tail (10)");
        }
        try (Connection c = postgres.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT type, record->'unsigned'->>'from_seq', "
                     + "record->'unsigned'->>'to_seq' FROM warden_audit WHERE seq IN (9, 10) ORDER BY seq")) {
            assertTrue(rs.next());
            assertEquals("recovery", rs.getString(1));
            assertEquals("8", rs.getString(2));
            assertEquals("8", rs.getString(3));
            assertTrue(rs.next());
            assertEquals("checkpoint", rs.getString(1));
        }
    }

    @Test
    void anUnreachableDatabaseFailsTheAppendNamingTheSink() throws Exception {
        AuditSinkConfig pg = new AuditSinkConfig.PostgresSink(
                Secret.of("jdbc:postgresql://127.0.0.1:1/none?user=x&password=y"), "warden_audit");
        AuditSettings settings = new AuditSettings(
                List.of(new AuditSinkConfig.FileSink(tmp.resolve("audit"), 1 << 20, Duration.ZERO), pg),
                Optional.of(Fixtures.writeKey(tmp)), true, 1000, Duration.ZERO, Duration.ZERO, true);
        try (AuditLog log = AuditLog.open(settings)) {
            CompletionException e = assertThrows(CompletionException.class, () -> log.append(
                    Fixtures.query("s1", "bob", "dev", "SELECT 1")).orTimeout(20, TimeUnit.SECONDS).join());
            assertTrue(e.getCause().getMessage().startsWith("audit sink postgres:warden_audit: "),
                    e.getCause().getMessage());
        }
    }
}
