package dev.warden.proxy.login;

import dev.warden.proxy.CliRun;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path a developer and a pipeline take, against mock-oauth2-server, a real PostgreSQL and a real
 * Warden: device login, then {@code warden psql}; a client-credentials token connecting as an agent.
 */
class LoginThroughWardenTest {

    private static final String CLIENT = "warden-cli";
    private static final String BOT = "etl-bot";
    private static TestPostgres pg;
    private static DeviceFlowIssuer idp;
    private static WardenServer warden;
    private static String database;

    @TempDir
    Path config;

    @BeforeAll
    static void start() throws Exception {
        pg = TestPostgres.start();
        idp = DeviceFlowIssuer.start();
        database = pg.createDatabase("login");
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE events (id int, note text)");
            s.execute("GRANT ALL ON events TO " + TestPostgres.SCRAM_USER);
        }
        Path audit = Files.createTempDirectory("warden-audit-");
        Path approvals = Files.createTempDirectory("warden-approvals-");
        // Two issuers of the same server: people (email) and services (client credentials, no email).
        String yaml = """
                listen:
                  address: 127.0.0.1:0
                identity:
                  issuers:
                    - issuer: %s
                      audience: warden
                    - issuer: %s
                      audience: warden
                      username_claim: sub
                      agent: { claim: sub, in: [%s] }
                environments:
                  dev:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: %d, database: %s, user: %s, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] }, { users: [%s] } ]
                guardrails:
                  baseline: false
                  rules:
                    - name: agents-read-only
                      match: { writes: true }
                      who: { agents: true }
                      action: block
                      message: agents may only read
                audit:
                  sinks: [ { type: file, dir: "%s" } ]
                approvals:
                  store: { type: file, path: "%s" }
                """.formatted(idp.issuer(), agentsIssuer(), BOT, pg.port(), database, TestPostgres.SCRAM_USER, BOT,
                audit, approvals);
        Policy policy = PolicyLoader.parse(yaml, Path.of("."), "login-policy.yaml",
                Map.of("UPSTREAM_PASSWORD", TestPostgres.PASSWORD));
        warden = WardenServer.start(policy);
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
        idp.close();
        pg.close();
    }

    private static String agentsIssuer() {
        return Issuers.normalize(idp.server.issuerUrl("agents").toString());
    }

    @Test
    void deviceLoginThenWardenPsqlRunsAQuery() throws Exception {
        CompletableFuture<CliRun> login = CompletableFuture.supplyAsync(() -> CliRun.of("login", "--issuer",
                idp.issuer(), "--client-id", CLIENT, "--config-dir", config.toString()));
        idp.approve(idp.nextUserCode(), "alice", Map.of("email", "alice@example.com", "groups", List.of("eng")));
        assertEquals(0, login.get(60, TimeUnit.SECONDS).exitCode());

        // The argv and environment warden psql builds, run with the output captured.
        TokenSet tokens = CachedLogin.current(new TokenCache(config), new OAuthClient(Clock.systemUTC()), idp.issuer());
        ConnectionPlan plan = new ConnectionPlan("127.0.0.1", warden.port(), "dev",
                ConnectionPlan.userFrom(tokens, "email", false));
        List<String> argv = plan.psqlCommand("psql", List.of("-X", "-At", "-c", "SELECT 40 + 2"));
        assertFalse(String.join(" ", argv).contains(tokens.accessToken()), "the token is never an argument");
        assertTrue(argv.get(1).contains("sslmode=require") && argv.get(1).contains("user=alice@example.com"),
                argv.toString());
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true);
        builder.environment().putAll(plan.psqlEnvironment(tokens.accessToken()));
        Process psql = builder.start();
        String output = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(psql.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, psql.exitValue(), output);
        assertEquals("42", output);

        // And the command itself: psql inherits stdio, its exit code is warden's.
        String[] common = {"--issuer", idp.issuer(), "--config-dir", config.toString(), "--host", "127.0.0.1",
                "--port", Integer.toString(warden.port())};
        List<String> ok = new ArrayList<>(List.of("psql"));
        ok.addAll(List.of(common));
        ok.addAll(List.of("dev", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1"));
        assertEquals(0, CliRun.of(ok.toArray(String[]::new)).exitCode());
        List<String> failing = new ArrayList<>(List.of("psql"));
        failing.addAll(List.of(common));
        failing.addAll(List.of("dev", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "SELECT * FROM no_such_table"));
        assertEquals(1, CliRun.of(failing.toArray(String[]::new)).exitCode(), "psql's own exit code");
    }

    @Test
    void clientCredentialsTokenConnectsAsAnAgentAndItsInsertIsBlocked() throws Exception {
        String token = clientCredentialsToken(BOT);
        JsonNode claims = new ObjectMapper().readTree(Base64.getUrlDecoder().decode(token.split("\\.")[1]));
        assertFalse(claims.has("email"), "a service token carries no email: " + claims);
        assertEquals(BOT, claims.get("sub").asText());

        try (Connection c = connect(BOT, token); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM events")) {
                assertTrue(rs.next());
            }
            SQLException blocked = assertThrows(SQLException.class,
                    () -> s.executeUpdate("INSERT INTO events VALUES (1, 'from the bot')"));
            assertEquals("42501", blocked.getSQLState(), blocked.getMessage());
            assertTrue(blocked.getMessage().contains("agents may only read"), blocked.getMessage());
        }
        try (Connection direct = pg.connect(database); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM events WHERE note = 'from the bot'")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "the blocked INSERT never reached PostgreSQL");
        }
    }

    private static String clientCredentialsToken(String clientId) throws Exception {
        String form = "grant_type=client_credentials&client_id=" + clientId + "&client_secret=secret&scope=warden";
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(idp.server.tokenEndpointUrl("agents").toString()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return new ObjectMapper().readTree(response.body()).get("access_token").asText();
    }

    private static Connection connect(String user, String token) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + warden.port() + "/dev?sslmode=require",
                props);
    }
}
