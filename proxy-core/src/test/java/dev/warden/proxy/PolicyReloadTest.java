package dev.warden.proxy;

import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.PolicyWatcher;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An admin edits the policy file; Warden applies a valid edit live and refuses a broken one. */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class PolicyReloadTest {

    static TestPostgres pg;
    static TestOidcIssuer issuer;
    static Path dir;
    static Path file;
    static WardenServer server;
    static PolicyWatcher watcher;

    @BeforeAll
    static void start() throws Exception {
        pg = TestPostgres.start();
        issuer = TestOidcIssuer.start();
        dir = Files.createTempDirectory("warden-reload-");
        file = dir.resolve("warden.yaml");
        Files.writeString(file, policy(""));
        server = WardenServer.start(PolicyLoader.load(file));
        watcher = PolicyWatcher.start(file, server);
        try (Connection c = pg.connect("postgres")) {
            c.createStatement().execute("DROP TABLE IF EXISTS reload_probe");
            c.createStatement().execute("CREATE TABLE reload_probe (a int)");
        }
    }

    @AfterAll
    static void stop() {
        watcher.close();
        server.close();
        issuer.close();
        pg.close();
    }

    static String policy(String guardrails) {
        return """
                listen: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "%s", audience: warden } ]
                environments:
                  dev:
                    upstream: { host: 127.0.0.1, port: %d, database: postgres, user: %s, tls: disable, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                audit: { sinks: [ { type: file, dir: audit } ] }
                approvals: { store: { type: file, path: approvals } }
                %s
                """.formatted(issuer.issuer(), pg.port(), pg.superuser(), guardrails);
    }

    @Test
    @org.junit.jupiter.api.Order(1)
    void aValidEditAppliesToTheNextStatementOfAnOpenSessionAndABrokenOneIsRefused() throws Exception {
        try (Connection open = connect()) {
            open.createStatement().execute("INSERT INTO reload_probe VALUES (1)");
            Files.writeString(file, policy("""
                    guardrails:
                      rules:
                        - { name: probe-is-read-only, match: { statements: [INSERT], tables: [reload_probe] }, action: block }
                    """));
            SQLException blocked = awaitBlocked(open);
            assertEquals("42501", blocked.getSQLState());
            assertTrue(blocked.getMessage().contains("probe-is-read-only"), blocked.getMessage());

            Files.writeString(file, "listen: [ this is not { valid yaml\n");
            Thread.sleep(1500);
            SQLException still = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> open.createStatement().execute("INSERT INTO reload_probe VALUES (3)"));
            assertTrue(still.getMessage().contains("probe-is-read-only"), "the previous policy keeps working");
            try (Connection fresh = connect()) {
                assertTrue(fresh.createStatement().executeQuery("SELECT 1").next(), "new sessions still work");
            }
        }
        List<AuditRecord> reloads = AuditReader.of(dir.resolve("audit")).search(AuditFilter.all()).stream()
                .map(AuditReader.Line::record).filter(r -> r.type().equals("policy.reload")).toList();
        assertTrue(reloads.stream().anyMatch(r -> r.get("accepted").asBoolean()), "the valid edit is audited");
        AuditRecord refused = reloads.stream().filter(r -> !r.get("accepted").asBoolean()).findFirst().orElseThrow();
        assertTrue(refused.get("error").asText().contains("warden.yaml:1:"), refused.text());
        assertFalse(server.policy().guardrails().rules().isEmpty());
    }

    @Test
    @org.junit.jupiter.api.Order(2)
    void aBudgetEditAppliesToTheNextLoginAndABrokenBudgetKeepsTheWorkingOne() throws Exception {
        // ~4 KB of groups: a password message over a 2 KB pre-login cap, well under the 16 KB default.
        String[] groups = new String[120];
        java.util.Arrays.fill(groups, "a-rather-long-group-name");
        groups[0] = "eng";
        String bigToken = issuer.token().email("alice@example.com").groups(groups).sign();
        try (Connection c = connect(bigToken)) {
            assertTrue(c.createStatement().executeQuery("SELECT 1").next(), "under the default cap");
        }
        Files.writeString(file, policy("budgets: { pre_login: { max_message_bytes: 2048 } }"));
        long deadline = System.currentTimeMillis() + 10_000;
        while (server.policy().budgets().preLoginMessageBytes() != 2048 && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(2048, server.policy().budgets().preLoginMessageBytes(), "the edit was applied");
        org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> connect(bigToken).close(),
                "a password message over the new cap is refused before login");

        String working = server.policy().versionHash();
        Files.writeString(file, policy("budgets: { pre_login: { max_message_bytes: 10 } }"));
        Thread.sleep(1500);
        assertEquals(working, server.policy().versionHash(), "the broken budget did not replace the policy");
        assertEquals(2048, server.policy().budgets().preLoginMessageBytes());
        try (Connection fresh = connect()) {
            assertTrue(fresh.createStatement().executeQuery("SELECT 1").next(), "logins still work");
        }
        List<AuditRecord> refused = AuditReader.of(dir.resolve("audit")).search(AuditFilter.all()).stream()
                .map(AuditReader.Line::record).filter(r -> r.type().equals("policy.reload"))
                .filter(r -> !r.get("accepted").asBoolean()).toList();
        assertTrue(refused.stream().anyMatch(r -> r.get("error").asText()
                .contains("budgets.pre_login.max_message_bytes: must be between 1024")), refused.toString());
    }

    private static SQLException awaitBlocked(Connection c) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            try {
                c.createStatement().execute("INSERT INTO reload_probe VALUES (2)");
            } catch (SQLException e) {
                return e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the edited policy was not applied");
    }

    private static Connection connect() throws SQLException {
        return connect(issuer.token().email("alice@example.com").groups("eng").sign());
    }

    private static Connection connect(String token) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "alice@example.com");
        props.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.port() + "/dev?sslmode=require",
                props);
    }
}
