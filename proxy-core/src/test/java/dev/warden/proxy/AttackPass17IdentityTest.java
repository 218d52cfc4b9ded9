package dev.warden.proxy;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 17 (identity): tokens the issuer rotated away, revoked by a reload while their session is open,
 * very large, or for an environment their holder may not use; all through the real proxy, issuer and server.
 */
class AttackPass17IdentityTest {

    static TestPostgres pg;
    static TestOidcIssuer issuer;
    static String database;
    static Path dir;
    WardenServer server;

    @BeforeAll
    static void startAll() throws Exception {
        pg = TestPostgres.start();
        issuer = TestOidcIssuer.start();
        database = pg.createDatabase("ident");
        dir = Files.createTempDirectory("warden-p17-");
    }

    @AfterAll
    static void stopAll() {
        issuer.close();
        pg.close();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private Policy policy(String denied, String allowDev) throws Exception {
        String yaml = """
                listen: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "${ISSUER}", audience: warden, denied_token_ids: %s } ]
                environments:
                  dev:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: %s } ]
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [dba] } ]
                audit: { sinks: [ { type: file, dir: "${DIR}/audit" } ] }
                approvals: { store: { type: file, path: "${DIR}/approvals" } }
                """.formatted(denied, allowDev);
        return PolicyLoader.parse(yaml, dir, "warden.yaml", Map.of("ISSUER", issuer.issuer(), "PG_PORT",
                Integer.toString(pg.port()), "DATABASE", database, "UPSTREAM_PASSWORD", TestPostgres.PASSWORD,
                "DIR", dir.toString()));
    }

    private Connection connect(String env, String user, String token) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.port() + "/" + env
                + "?sslmode=require", p);
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        return WardenHarness.scalar(c, sql);
    }

    private String token(String jti) {
        return issuer.token().email(WardenHarness.USER).groups("eng").claim("jti", jti).sign();
    }

    @Test
    void aTokenSignedWithAKeyTheIssuerRotatedAwayIsRefusedOnceWardenHasSeenTheNewKey() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        String old = token("before-rotation");
        try (Connection c = connect("dev", WardenHarness.USER, old)) {
            assertEquals("1", scalar(c, "SELECT 1"));
        }
        issuer.rotateKeys();
        try (Connection c = connect("dev", WardenHarness.USER, token("after-rotation"))) {
            assertEquals("1", scalar(c, "SELECT 1"), "the new key is fetched on its unknown kid");
        }
        SQLException e = assertThrows(SQLException.class, () -> connect("dev", WardenHarness.USER, old).close());
        assertEquals("28P01", e.getSQLState(), e.getMessage());
    }

    @Test
    void aVeryLargeTokenIsRefusedAndWardenServesTheNextLogin() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        String huge = issuer.token().email(WardenHarness.USER).groups("eng").claim("pad", "x".repeat(200_000)).sign();
        SQLException e = assertThrows(SQLException.class, () -> connect("dev", WardenHarness.USER, huge).close());
        assertTrue(e.getSQLState() != null && (e.getSQLState().startsWith("08") || e.getSQLState().startsWith("28")
                || e.getSQLState().startsWith("54")), e.getSQLState() + " " + e.getMessage());
        try (Connection c = connect("dev", WardenHarness.USER, token("ok"))) {
            assertEquals("1", scalar(c, "SELECT 1"));
        }
    }

    @Test
    void aTokenForAnEnvironmentItsHolderMayNotUseIsRefused() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        SQLException e = assertThrows(SQLException.class,
                () -> connect("prod", WardenHarness.USER, token("eng-token")).close());
        assertEquals("28000", e.getSQLState(), e.getMessage());
    }

    /** A reload keeps the keys already fetched: before, it dropped them, and with the provider down no one got in. */
    @Test
    void aReloadWhileTheProviderIsDownStillLetsPeopleIn() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        try (Connection c = connect("dev", WardenHarness.USER, token("before-reload"))) {
            assertEquals("1", scalar(c, "SELECT 1"));
        }
        int fetched = issuer.jwksRequests();
        issuer.failRequests(true);
        try {
            server.reload(policy("[revoked-at-reload]", "[eng]"));
            try (Connection c = connect("dev", WardenHarness.USER, token("after-reload"))) {
                assertEquals("1", scalar(c, "SELECT 1"), "the keys fetched before the reload still serve");
            }
            SQLException e = assertThrows(SQLException.class,
                    () -> connect("dev", WardenHarness.USER, token("revoked-at-reload")).close());
            assertEquals("28P01", e.getSQLState(), "the reloaded policy applies: " + e.getMessage());
            assertEquals(fetched, issuer.jwksRequests(), "the reload fetched nothing");
        } finally {
            issuer.failRequests(false);
        }
    }

    /**
     * A login whose token is being checked (here: waiting on the provider for a key) while a reload revokes the token
     * is checked against the policy before the reload; the policy in force must still refuse it.
     */
    @Test
    void aTokenRevokedByAReloadWhileItIsCheckedIsRefused() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        try (Connection c = connect("dev", WardenHarness.USER, token("warm-up"))) {
            assertEquals("1", scalar(c, "SELECT 1"));
        }
        issuer.rotateKeys();
        String leaked = token("revoked-in-flight");
        int fetched = issuer.jwksRequests();
        issuer.stallRequests(true);
        java.util.concurrent.ExecutorService client = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<String> login = client.submit(() -> {
                try (Connection c = connect("dev", WardenHarness.USER, leaked)) {
                    return "accepted: " + scalar(c, "SELECT 1");
                } catch (SQLException e) {
                    return e.getSQLState() + " " + e.getMessage();
                }
            });
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (issuer.jwksRequests() == fetched && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertTrue(issuer.jwksRequests() > fetched, "the token's check asks the provider for its key");
            server.reload(policy("[revoked-in-flight]", "[eng]"));
            issuer.stallRequests(false);
            String answer = login.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(answer.startsWith("28P01") && answer.contains("revoked"), answer);
        } finally {
            issuer.stallRequests(false);
            client.shutdownNow();
        }
    }

    @Test
    void aTokenRevokedByAReloadIsRefusedForNewConnections() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        String leaked = token("leaked-17");
        try (Connection c = connect("dev", WardenHarness.USER, leaked)) {
            assertEquals("1", scalar(c, "SELECT 1"));
        }
        server.reload(policy("[leaked-17]", "[eng]"));
        SQLException e = assertThrows(SQLException.class, () -> connect("dev", WardenHarness.USER, leaked).close());
        assertEquals("28P01", e.getSQLState(), e.getMessage());
        try (Connection c = connect("dev", WardenHarness.USER, token("fresh-17"))) {
            assertEquals("1", scalar(c, "SELECT 1"), "another token of the same person still works");
        }
    }

    /**
     * A leaked token is revoked (denied_token_ids) by a reload: the sessions it opened must end at their next
     * statement, not run on until the token expires.
     */
    @Test
    void anOpenSessionOfATokenRevokedByAReloadEnds() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        try (Connection leakedSession = connect("dev", WardenHarness.USER, token("leaked-open"));
             Connection other = connect("dev", WardenHarness.USER, token("other-open"))) {
            assertEquals("1", scalar(leakedSession, "SELECT 1"));
            server.reload(policy("[leaked-open]", "[eng]"));
            SQLException e = assertThrows(SQLException.class, () -> scalar(leakedSession, "SELECT 2"));
            assertEquals("28000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("revoked"), e.getMessage());
            assertEquals("3", scalar(other, "SELECT 3"), "a session of another token of the same person goes on");
        }
    }

    /**
     * Two trusted issuers, one user name: the second issuer's "alice@example.com" (an IdP where anyone may choose
     * that e-mail) must not get the role Warden made for the first issuer's alice, with the objects she owns.
     */
    @Test
    void aUserNameFromASecondIssuerNeverGetsTheFirstIssuersRole() throws Exception {
        try (TestOidcIssuer other = TestOidcIssuer.start()) {
            try (Connection c = pg.connect(database); java.sql.Statement s = c.createStatement()) {
                s.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'p17_prov') THEN "
                        + "CREATE ROLE p17_prov LOGIN CREATEROLE; CREATE ROLE p17_rw NOLOGIN; "
                        + "GRANT p17_rw TO p17_prov WITH ADMIN OPTION; END IF; END $$");
                s.execute("GRANT CREATE ON SCHEMA public TO p17_rw");
            }
            String yaml = """
                    listen: { address: "127.0.0.1:0" }
                    identity:
                      issuers: [ { issuer: "${ISSUER}", audience: warden }, { issuer: "${OTHER}", audience: warden } ]
                    environments:
                      dev:
                        baseline_guardrails: false
                        upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: p17_prov, tls: require }
                        allow: [ { groups: [eng] } ]
                        roles: { provision: per_identity, map: [ { groups: [eng], role: p17_rw } ] }
                    masking: { defaults: off }
                    audit: { sinks: [ { type: file, dir: "${DIR}/audit2" } ] }
                    approvals: { store: { type: file, path: "${DIR}/approvals2" } }
                    """;
            server = WardenServer.start(PolicyLoader.parse(yaml, dir, "two.yaml", Map.of("ISSUER", issuer.issuer(),
                    "OTHER", other.issuer(), "PG_PORT", Integer.toString(pg.port()), "DATABASE", database,
                    "DIR", dir.toString())));
            try (Connection first = connect("dev", "alice@example.com", token("first-issuer"));
                 java.sql.Statement s = first.createStatement()) {
                s.execute("CREATE TABLE p17_alice_private (v text)");
                s.execute("INSERT INTO p17_alice_private VALUES ('alice-only')");
            }
            String impostor = other.token().subject("someone-else").email("alice@example.com").groups("eng").sign();
            try (Connection second = connect("dev", "alice@example.com", impostor)) {
                assertTrue(!"wd_alice@example.com".equals(scalar(second, "SELECT current_user")),
                        "the second issuer's alice got the first issuer's role");
                SQLException read = assertThrows(SQLException.class,
                        () -> scalar(second, "SELECT v FROM p17_alice_private"));
                assertEquals("42501", read.getSQLState(), read.getMessage());
            } catch (SQLException refused) {
                assertEquals("28000", refused.getSQLState(), refused.getMessage());
                assertTrue(refused.getMessage().contains("belongs to alice@example.com of another issuer"),
                        refused.getMessage());
            }
            try (Connection again = connect("dev", "alice@example.com", token("first-again"))) {
                assertEquals("alice-only", scalar(again, "SELECT v FROM p17_alice_private"),
                        "precision: the first issuer's alice keeps her role");
            }
        }
    }

    /** The same when a reload takes the environment away from the identity's groups. */
    @Test
    void anOpenSessionWhoseIdentityAReloadNoLongerAllowsEnds() throws Exception {
        server = WardenServer.start(policy("[]", "[eng]"));
        try (Connection session = connect("dev", WardenHarness.USER, token("allowed-then-not"))) {
            assertEquals("1", scalar(session, "SELECT 1"));
            server.reload(policy("[]", "[dba]"));
            SQLException e = assertThrows(SQLException.class, () -> scalar(session, "SELECT 2"));
            assertEquals("28000", e.getSQLState(), e.getMessage());
        }
    }
}
