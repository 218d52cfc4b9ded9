package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.config.ApprovalSettings;
import dev.warden.proxy.approvals.ApprovalJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * With {@code statement_literals: redact}, the literals of a held statement stay out of everything approvers
 * and files see (admin API, approval files), while the statement that runs is still exactly the one sent; and
 * the files that hold statements are readable by Warden's user only.
 */
class RedactedApprovalsThroughWardenTest {

    static WardenHarness warden;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("", """
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng, dba] } ]
                """, """
                admin: { address: "127.0.0.1:0" }
                audit:
                  sinks: [ { type: file, dir: "${AUDIT_DIR}" } ]
                  statement_literals: redact
                approvals:
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: purge-retry, environments: [prod], match: { statements: [DELETE] }, action: require_approval, approvers: [dba], mode: retry }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, action: require_approval, approvers: [dba] }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS people");
            s.execute("CREATE TABLE people (email text primary key, ssn text)");
            s.execute("INSERT INTO people VALUES ('carol@example.com', NULL), ('dan@example.com', '111-22-3333'),"
                    + " ('erin@example.com', '444-55-6666')");
        }
    }

    @Test
    void approversAndApprovalFilesNeverSeeTheLiteralsYetTheExactStatementRuns() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE people SET ssn = '123-45-6789' WHERE email = 'carol@example.com'"));
            JsonNode pending = awaitPending();
            String id = pending.get("id").asText();
            String shown = pending.get("statement").asText();
            assertFalse(shown.contains("123-45-6789") || shown.contains("carol@example.com"), shown);
            assertTrue(shown.startsWith("UPDATE people SET ssn = "), shown);

            Path file = approvalsDir().resolve(id + ".json");
            String stored = Files.readString(file);
            assertFalse(stored.contains("123-45-6789") || stored.contains("carol@example.com"), stored);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

            assertEquals(200, post("/approvals/" + id + "/approve").statusCode());
            assertEquals(1, update.get(10, TimeUnit.SECONDS));
            assertEquals("123-45-6789", ssnOf("carol@example.com"));
        }
        try (Stream<Path> files = Files.list(warden.auditDir())) {
            List<Path> logs = files.filter(Files::isRegularFile).toList();
            assertFalse(logs.isEmpty());
            for (Path log : logs) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(log)), log.toString());
            }
        }
    }

    @Test
    void inRetryModeAnApprovalCoversOnlyTheExactLiteralsEvenThoughApproversSawThemRedacted() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            SQLException first = (SQLException) run(alice.createStatement(),
                    "DELETE FROM people WHERE ssn = '111-22-3333'");
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            assertEquals(200, post("/approvals/" + m.group(1) + "/approve").statusCode());

            SQLException other = (SQLException) run(alice.createStatement(),
                    "DELETE FROM people WHERE ssn = '444-55-6666'");
            assertEquals("42501", other.getSQLState(), "same shape, other literal: not approved");
            assertEquals("444-55-6666", ssnOf("erin@example.com"));
            assertEquals(1, run(alice.createStatement(), "DELETE FROM people WHERE ssn = '111-22-3333'"));
        }
    }

    private static Path approvalsDir() {
        return ((ApprovalSettings.Store.FileStore) warden.server().policy().approvals().store()).dir();
    }

    private String bob() {
        return warden.issuer.token().subject("user-bob").email("bob@example.com").groups("dba").sign();
    }

    private HttpResponse<String> post(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(admin(path)).header("Authorization", "Bearer " + bob())
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI admin(String path) {
        return URI.create("http://127.0.0.1:" + warden.server().adminPort() + path);
    }

    private JsonNode awaitPending() throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        while (System.currentTimeMillis() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(admin("/approvals"))
                    .header("Authorization", "Bearer " + bob()).build(), HttpResponse.BodyHandlers.ofString());
            for (JsonNode a : ApprovalJson.MAPPER.readTree(r.body()).path("approvals")) {
                if (a.get("status").asText().equals("pending")) {
                    return a;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no pending approval appeared");
    }

    private static Object run(Statement st, String sql) {
        try {
            return st.executeUpdate(sql);
        } catch (SQLException e) {
            return e;
        }
    }

    private static String ssnOf(String email) throws SQLException {
        try (Connection c = warden.direct();
             ResultSet rs = c.createStatement().executeQuery("SELECT ssn FROM people WHERE email = '" + email + "'")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
