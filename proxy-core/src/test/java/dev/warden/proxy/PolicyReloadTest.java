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

    /**
     * The session keeps the last policy's answer to "does masking apply to me" (it is asked several times per
     * statement). The session starts exempt, so a kept answer that outlived its policy would be "nothing to
     * mask": the edit that ends the exemption must mask the open session's next result, with both prepared and
     * simple statements, and the edit back must unmask it.
     */
    @Test
    @org.junit.jupiter.api.Order(3)
    void anExemptionEditFlipsMaskingForTheNextResultOfAnOpenSession() throws Exception {
        String clear = "reload-probe@corp.example";
        try (Connection c = pg.connect("postgres")) {
            c.createStatement().execute("DROP TABLE IF EXISTS reload_people");
            c.createStatement().execute("CREATE TABLE reload_people (id int, email text)");
            c.createStatement().execute("INSERT INTO reload_people VALUES (1, '" + clear + "')");
        }
        String exempt = policy("masking: { unmasked_for: { users: [alice@example.com] } }");
        awaitPolicy(exempt);
        try (Connection open = connect()) {
            awaitEmail(open, clear, true);
            awaitPolicy(policy(""));
            awaitEmail(open, clear, false);
            awaitPolicy(exempt);
            awaitEmail(open, clear, true);
        }
    }

    /** Writes {@code text} as the policy file and waits until the server runs a new policy. */
    private static void awaitPolicy(String text) throws Exception {
        String before = server.policy().versionHash();
        Files.writeString(file, text);
        long deadline = System.currentTimeMillis() + 10_000;
        while (server.policy().versionHash().equals(before) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(server.policy().versionHash().equals(before), "the edit was applied");
    }

    /**
     * Reads the email both ways, and sends it into a notification, until it is the clear value and the
     * notification runs ({@code inClear}), or it is masked and the notification refused; fails after 10 s.
     */
    private static void awaitEmail(Connection c, String clear, boolean inClear) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        String simple = null;
        String prepared = null;
        while (System.currentTimeMillis() < deadline) {
            try (java.sql.ResultSet r = c.createStatement().executeQuery("SELECT email FROM reload_people")) {
                assertTrue(r.next());
                simple = r.getString(1);
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT email FROM reload_people WHERE id = ?")) {
                ps.setInt(1, 1);
                try (java.sql.ResultSet r = ps.executeQuery()) {
                    assertTrue(r.next());
                    prepared = r.getString(1);
                }
            }
            // A masked identity may not carry a sensitive value into a notification (42501); an exempt one may.
            boolean screened;
            try {
                c.createStatement().execute("SELECT pg_notify('reload_probe', email) FROM reload_people");
                screened = false;
            } catch (SQLException e) {
                assertEquals("42501", e.getSQLState(), e.getMessage());
                screened = true;
            }
            if (clear.equals(simple) == inClear && clear.equals(prepared) == inClear && screened != inClear) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("expected the email " + (inClear ? "in clear" : "masked") + ", read " + simple
                + " and " + prepared + (inClear ? "" : ", and the notification refused"));
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
