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
