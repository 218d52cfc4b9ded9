package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two trusted issuers and one user name: the partner issuer can mint {@code alice@example.com}. Without a prefix that
 * token gets the home issuer's alice's unmasked view and guardrail exemption (the hole the README named); with
 * {@code username_prefix: "partner:"} it is {@code partner:alice@example.com} and gets neither, while the home
 * issuer's alice keeps both and a rule naming {@code partner:bob@example.com} works for the partner's bob. Real
 * issuers, real PostgreSQL, pgJDBC through the real proxy.
 */
class IssuerPrefixThroughWardenTest {

    private static final String CLEAR = "alice.customer@example.org";

    static TestPostgres pg;
    static TestOidcIssuer home;
    static TestOidcIssuer partner;
    static String database;
    static Path dir;
    WardenServer server;

    @BeforeAll
    static void startAll() throws Exception {
        pg = TestPostgres.start();
        home = TestOidcIssuer.start();
        partner = TestOidcIssuer.start();
        database = pg.createDatabase("prefix");
        dir = Files.createTempDirectory("warden-prefix-");
        try (Connection c = pg.connect(database); java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int, email text)");
            s.execute("INSERT INTO customers VALUES (1, '" + CLEAR + "')");
            s.execute("CREATE TABLE scratch (id int)");
            s.execute("GRANT ALL ON customers, scratch TO warden_scram");
        }
    }

    @AfterAll
    static void stopAll() {
        home.close();
        partner.close();
        pg.close();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** @param partnerKeys extra keys of the partner issuer's entry, e.g. {@code , username_prefix: "partner:"} */
    private Policy policy(String partnerKeys) throws Exception {
        return parse(policyText(partnerKeys));
    }

    private static String policyText(String partnerKeys) {
        return """
                listen: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "${HOME}", audience: warden }, { issuer: "${PARTNER}", audience: warden%s } ]
                environments:
                  dev:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { users: [alice@example.com, partner:alice@example.com, partner:bob@example.com] }, { groups: [eng, partner:eng] } ]
                guardrails:
                  - { name: deletes-by-named-people, match: { statements: [DELETE] }, action: block,
                      unless: { users: [alice@example.com, partner:bob@example.com], groups: [dba] } }
                masking:
                  unmasked_for: { users: [alice@example.com, partner:bob@example.com], groups: [dba] }
                audit: { sinks: [ { type: file, dir: "${DIR}/audit" } ] }
                approvals: { store: { type: file, path: "${DIR}/approvals" } }
                """.formatted(partnerKeys);
    }

    private static Policy parse(String yaml) throws Exception {
        return PolicyLoader.parse(yaml, dir, "prefix.yaml", Map.of("HOME", home.issuer(), "PARTNER",
                partner.issuer(), "PG_PORT", Integer.toString(pg.port()), "DATABASE", database, "UPSTREAM_PASSWORD",
                TestPostgres.PASSWORD, "DIR", dir.toString()));
    }

    private Connection connect(String user, String token) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.port() + "/dev?sslmode=require", p);
    }

    private static String email(Connection c) throws SQLException {
        return WardenHarness.scalar(c, "SELECT email FROM customers WHERE id = 1");
    }

    private static String delete(Connection c) {
        return WardenHarness.run(c, "DELETE FROM scratch WHERE id = 42");
    }

    /** The hole, as it stays for an operator who sets no prefix: the partner's alice is alice. */
    @Test
    void withoutAPrefixTheSecondIssuersAliceGetsAlicesUnmaskedViewAndExemption() throws Exception {
        server = WardenServer.start(policy(""));
        try (Connection impostor = connect("alice@example.com",
                partner.token().subject("partner-7").email("alice@example.com").sign())) {
            assertEquals(CLEAR, email(impostor));
            assertNull(delete(impostor));
        }
    }

    @Test
    void withAPrefixTheSecondIssuersAliceGetsNeitherAlicesUnmaskedViewNorHerExemption() throws Exception {
        server = WardenServer.start(policy(", username_prefix: \"partner:\""));
        String token = partner.token().subject("partner-7").email("alice@example.com").sign();
        // The client may name itself as its IdP does, or as Warden does: either way it is partner:alice.
        for (String user : new String[] {"alice@example.com", "partner:alice@example.com"}) {
            try (Connection impostor = connect(user, token)) {
                assertNotEquals(CLEAR, email(impostor), "the partner's alice saw alice's unmasked e-mail");
                String refused = delete(impostor);
                assertTrue(refused != null && refused.startsWith("42501")
                        && refused.contains("deletes-by-named-people"), String.valueOf(refused));
            }
        }
        try (Connection alice = connect("alice@example.com", home.token().email("alice@example.com").sign())) {
            assertEquals(CLEAR, email(alice), "precision: the home issuer's alice keeps her unmasked view");
            assertNull(delete(alice), "precision: the home issuer's alice keeps her exemption");
        }
    }

    @Test
    void aPolicyNamingThePrefixedNameWorksForThePartnersBob() throws Exception {
        server = WardenServer.start(policy(", username_prefix: \"partner:\""));
        try (Connection bob = connect("bob@example.com", partner.token().subject("partner-9")
                .email("bob@example.com").sign())) {
            assertEquals(CLEAR, email(bob));
            assertNull(delete(bob));
        }
    }

    /** Groups take the username prefix: the partner's "dba" is partner:dba, which no rule names. */
    @Test
    void thePartnersDbaGroupIsNotThePolicysDba() throws Exception {
        server = WardenServer.start(policy(", username_prefix: \"partner:\""));
        try (Connection carol = connect("carol@example.com", partner.token().subject("partner-11")
                .email("carol@example.com").groups("eng", "dba").sign())) {
            assertNotEquals(CLEAR, email(carol), "the partner's dba group unmasked");
            String refused = delete(carol);
            assertTrue(refused != null && refused.startsWith("42501"), String.valueOf(refused));
        }
        try (Connection carol = connect("carol@example.com", home.token().subject("home-11")
                .email("carol@example.com").groups("eng", "dba").sign())) {
            assertEquals(CLEAR, email(carol), "precision: the home issuer's dba group unmasks");
        }
    }

    /** The home issuer (no prefix) cannot mint a name of the partner's namespace, in any case. */
    @Test
    void theHomeIssuerCannotMintThePartnersBob() throws Exception {
        server = WardenServer.start(policy(", username_prefix: \"partner:\""));
        for (String name : new String[] {"partner:bob@example.com", "PARTNER:bob@example.com"}) {
            SQLException e = assertThrows(SQLException.class, () -> connect(name,
                    home.token().email(name).groups("eng").sign()).close(), name);
            assertEquals("28000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("starts with username_prefix 'partner:'"), e.getMessage());
        }
    }

    /**
     * The per-identity role of a prefixed name: ':' is not among the characters a role name keeps, so the name is
     * kept with '_' for ':' and the hash of the exact name, and can never be the home issuer's alice's role.
     */
    @Test
    void thePartnersAliceGetsARoleOfHerOwn() throws Exception {
        try (Connection c = pg.connect(database); java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE ROLE prefix_prov LOGIN CREATEROLE PASSWORD '" + TestPostgres.PASSWORD + "'");
            s.execute("CREATE ROLE prefix_rw NOLOGIN");
            s.execute("GRANT prefix_rw TO prefix_prov WITH ADMIN OPTION");
        }
        String yaml = policyText(", username_prefix: \"partner:\"")
                .replace("user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }",
                        "user: prefix_prov, password_env: UPSTREAM_PASSWORD, tls: require }\n"
                                + "    roles: { provision: per_identity, map: [ { role: prefix_rw } ] }");
        server = WardenServer.start(parse(yaml));
        String role = dev.warden.proxy.privilege.RoleNames.forIdentity("wd_", "partner:alice@example.com");
        assertTrue(role.matches("wd_partner_alice@example\\.com#[0-9a-f]{16}"), role);
        try (Connection impostor = connect("alice@example.com", partner.token().subject("partner-7")
                .email("alice@example.com").sign())) {
            // Compared in SQL: the role name looks like an e-mail, which masking hides from the partner's alice.
            assertEquals("t", WardenHarness.scalar(impostor, "SELECT current_user = '" + role + "'"));
        }
        try (Connection alice = connect("alice@example.com", home.token().email("alice@example.com").sign())) {
            assertEquals("wd_alice@example.com", WardenHarness.scalar(alice, "SELECT current_user"));
        }
    }

    /** Adding the prefix by a reload ends the partner's sessions, whose names were made without it. */
    @Test
    void aReloadThatAddsThePrefixEndsThePartnersOpenSessions() throws Exception {
        server = WardenServer.start(policy(""));
        try (Connection impostor = connect("alice@example.com", partner.token().subject("partner-7")
                .email("alice@example.com").sign());
             Connection alice = connect("alice@example.com", home.token().email("alice@example.com").sign())) {
            assertEquals(CLEAR, email(impostor));
            server.reload(policy(", username_prefix: \"partner:\""));
            SQLException e = assertThrows(SQLException.class, () -> email(impostor));
            assertEquals("28000", e.getSQLState(), e.getMessage());
            assertEquals(CLEAR, email(alice), "precision: the home issuer's session goes on");
        }
    }
}
