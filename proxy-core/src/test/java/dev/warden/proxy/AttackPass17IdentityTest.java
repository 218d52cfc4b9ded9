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
