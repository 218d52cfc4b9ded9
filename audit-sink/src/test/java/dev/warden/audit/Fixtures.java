package dev.warden.audit;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.AuditIdentity;
import dev.warden.audit.event.ClientInfo;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.SessionStart;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.AuditSinkConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Settings, keys and events for the tests. */
final class Fixtures {

    private Fixtures() {
    }

    /** A JDBC URL of {@code db} on {@code postgres} as its superuser, as a policy's {@code url_env} would hold it. */
    static dev.warden.config.Secret superuserUrl(dev.warden.testkit.TestPostgres postgres, String db) {
        return dev.warden.config.Secret.of(postgres.jdbcUrl(db) + "&user=" + postgres.superuser() + "&password="
                + java.net.URLEncoder.encode(postgres.superuserPassword(), java.nio.charset.StandardCharsets.UTF_8));
    }

    static Path writeKey(Path dir) throws IOException {
        SigningKey key = SigningKey.generate();
        Path file = dir.resolve("signing-key.pem");
        Files.writeString(file, key.privateKeyPem());
        return file;
    }

    static AuditSettings fileSettings(Path logDir, Path keyFile, long rotateBytes, int checkpointEvery) {
        return new AuditSettings(List.of(new AuditSinkConfig.FileSink(logDir, rotateBytes, Duration.ZERO)),
                Optional.ofNullable(keyFile), true, checkpointEvery, Duration.ZERO, Duration.ofMillis(2), true);
    }

    /** Runs {@code task} once per session {@code s0..s<threads-1>}, each on its own thread; fails on any failure. */
    static void concurrently(int threads, SessionTask task) throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String session = "s" + t;
                done.add(pool.submit(() -> {
                    task.run(session);
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One session's appends, for {@link #concurrently}. */
    interface SessionTask {
        void run(String session) throws Exception;
    }

    /** Verifies the log against the key's public half, failing with the summary when it does not pass. */
    /** Record {@code seq} is in the first log file: readable by another process now, fsync'd or not. */
    static void assertInFile(Path logDir, long seq) throws IOException {
        String text = Files.readString(dev.warden.audit.chain.LogFiles.list(logDir).get(0).path(),
                java.nio.charset.StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assertions.assertTrue(text.contains("\"seq\":" + seq + ","),
                "record " + seq + " is in the file");
    }

    static dev.warden.audit.verify.VerifyReport verified(Path logDir, Path keyFile) throws IOException {
        dev.warden.audit.verify.VerifyReport report = dev.warden.audit.verify.AuditVerifier.verify(logDir,
                SigningKey.load(keyFile).publicKey());
        org.junit.jupiter.api.Assertions.assertTrue(report.passed(), report.summary());
        return report;
    }

    static SessionStart start(String session, String user, boolean agent, String env) {
        return SessionStart.of(session, new AuditIdentity("sub-" + user, user, List.of("eng"), agent,
                "https://login.example.com"), new ClientInfo("10.0.0.5:51234", "TLSv1.3", "psql"), env, "abc123");
    }

    static QueryEvent query(String session, String user, String env, String sql) {
        return QueryEvent.builder(session, user, env).statement(sql).fingerprint("fp").kinds(List.of("SELECT"))
                .tables(List.of("public.users"), List.of()).columns(List.of("public.users.email"), List.of())
                .policyVersion("abc123").build();
    }

    static ResultEvent result(String session, long querySeq, long rows) {
        return ResultEvent.of(session, querySeq, rows, rows * 40,
                List.of(ResultEvent.Column.clear("id"), ResultEvent.Column.masked("email", "pii-email")),
                1500, null, "SELECT " + rows);
    }
}
