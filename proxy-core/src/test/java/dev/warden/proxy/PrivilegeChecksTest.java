package dev.warden.proxy;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.cli.WardenCommand;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks against a live database: {@code warden policy check --connect} names what is wrong with
 * {@code file:line}, and Warden refuses to start with a superuser login unless the policy allows it.
 */
class PrivilegeChecksTest {

    static TestPostgres pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE pc_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE pc_plain LOGIN");
            s.execute("CREATE ROLE pc_readonly NOLOGIN");
            s.execute("GRANT pc_readonly TO pc_provisioner WITH ADMIN OPTION");
            s.execute("GRANT pg_signal_backend TO pc_provisioner");
            s.execute("CREATE ROLE pc_nosignal LOGIN CREATEROLE");
            s.execute("GRANT pc_readonly TO pc_nosignal WITH ADMIN OPTION");
            s.execute("CREATE ROLE pc_admin NOLOGIN SUPERUSER");
            // Not a superuser itself, but one SET ROLE away from being one.
            s.execute("CREATE ROLE pc_sneaky LOGIN");
            s.execute("GRANT pc_admin TO pc_sneaky");
        }
    }

    @AfterAll
    static void stop() {
        pg.close();
    }

    private String policy(String environments) {
        return """
                listen: { address: 127.0.0.1:0 }
                identity:
                  issuers: [ { issuer: http://127.0.0.1:1/realms/none, audience: warden } ]
                environments:
                %s
                audit:
                  sinks: [ { type: file, dir: "%s" } ]
                approvals:
                  store: { type: file, path: "%s" }
                """.formatted(environments.replace("PORT", Integer.toString(pg.port())).stripTrailing(),
                dir.resolve("audit"), dir.resolve("approvals"));
    }

    private record Run(int exit, String out, String err) {
    }

    private Run check(String yaml) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, yaml);
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            exit = WardenCommand.run("policy", "check", "--connect", file.toString());
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new Run(exit, o.toString(StandardCharsets.UTF_8),
                e.toString(StandardCharsets.UTF_8).replace(file.toString(), "policy.yaml"));
    }

    @Test
    void policyCheckConnectNamesAMissingRoleWithFileAndLine() throws Exception {
        Run run = check(policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_provisioner, tls: disable }
                    allow: [ { groups: [eng] } ]
                    roles:
                      provision: per_identity
                      map:
                        - { agents: true, role: pc_readonly }
                        - { role: pc_missing }
                """));
        assertEquals(1, run.exit(), run.err());
        assertTrue(run.err().contains("policy.yaml:12:19: environments.prod.roles.map[1].role: role \"pc_missing\" "
                + "does not exist in environment \"prod\""), run.err());
        assertFalse(run.err().contains("pc_readonly"), run.err());
    }

    @Test
    void policyCheckConnectNamesSuperusersAndMissingLoginAndCreaterole() throws Exception {
        Run run = check(policy("""
                  shared:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_plain, tls: disable }
                    allow: [ { groups: [eng] } ]
                    roles:
                      map:
                        - { groups: [dba], role: pc_admin }
                        - { role: pc_readonly }
                  provisioned:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_sneaky, tls: disable }
                    allow: [ { groups: [eng] } ]
                    roles:
                      provision: per_identity
                      map: [ { role: pc_readonly } ]
                """));
        assertEquals(1, run.exit(), run.err());
        String err = run.err();
        assertTrue(err.contains("policy.yaml:10:34: environments.shared.roles.map[0].role: role \"pc_admin\" is a "
                + "superuser"), err);
        assertTrue(err.contains("environments.shared.roles.map[1].role: role \"pc_readonly\" lacks LOGIN"), err);
        assertTrue(err.contains("policy.yaml:13:73: environments.provisioned.upstream.user: upstream user "
                + "\"pc_sneaky\" can SET ROLE to a superuser"), err);
        assertTrue(err.contains("upstream user \"pc_sneaky\" lacks CREATEROLE"), err);
        assertTrue(err.contains("upstream user \"pc_sneaky\" cannot grant role \"pc_readonly\""), err);
    }

    @Test
    void policyCheckConnectPassesAWellSetUpEnvironment() throws Exception {
        Run run = check(policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_provisioner, tls: disable }
                    allow: [ { groups: [eng] } ]
                    roles: { provision: per_identity, map: [ { role: pc_readonly } ] }
                """));
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("environment \"prod\": database roles OK"), run.out());
    }

    /**
     * With provision: per_identity, an upstream user that may not terminate the identities' backends is named: a
     * DDL COMMIT through Warden is then refused while an identity's statement it reaches ignores its cancel (attacker
     * pass a142, F6: one identity's cancel-catching loop kept every other's DDL from committing).
     */
    @Test
    void policyCheckConnectNamesAPerIdentityLoginWithoutPgSignalBackend() throws Exception {
        Run run = check(policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_nosignal, tls: disable }
                    allow: [ { groups: [eng] } ]
                    roles: { provision: per_identity, map: [ { role: pc_readonly } ] }
                """));
        assertEquals(1, run.exit(), run.err());
        assertTrue(run.err().contains("policy.yaml:6:73: environments.prod.upstream.user: upstream user "
                + "\"pc_nosignal\" lacks pg_signal_backend"), run.err());
        assertTrue(run.err().contains("GRANT pg_signal_backend TO \"pc_nosignal\""), run.err());
        Run shared = check(policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_nosignal, tls: disable }
                    allow: [ { groups: [eng] } ]
                """));
        assertEquals(0, shared.exit(), shared.err()); // a shared login's sessions are its own backends
    }

    /** A catalog channel with no event trigger sending on it is named; once the trigger is installed, it is not. */
    @Test
    void policyCheckConnectNamesACatalogChannelNothingSendsOn() throws Exception {
        String yaml = policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: pc_channel, user: pc_provisioner, tls: disable,
                                catalog_channel: warden_catalog }
                    allow: [ { groups: [eng] } ]
                """);
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE pc_channel");
        }
        Run before = check(yaml);
        assertEquals(1, before.exit(), before.err());
        assertTrue(before.err().contains("policy.yaml:7:34: environments.prod.upstream.catalog_channel: no enabled "
                + "event trigger on ddl_command_end and sql_drop sends on catalog_channel \"warden_catalog\""),
                before.err());
        try (Connection c = pg.connect("pc_channel"); Statement s = c.createStatement()) {
            s.execute(Files.readString(CatalogChannelThroughWardenTest.NOTIFY_SQL));
        }
        Run after = check(yaml);
        assertEquals(0, after.exit(), after.err());
        // A trigger that is disabled sends nothing.
        try (Connection c = pg.connect("pc_channel"); Statement s = c.createStatement()) {
            s.execute("ALTER EVENT TRIGGER warden_catalog_dropped DISABLE");
        }
        Run disabled = check(yaml);
        assertTrue(disabled.err().contains("no enabled event trigger on sql_drop sends on catalog_channel"),
                disabled.err());
    }

    @Test
    void aSuperuserUpstreamLoginIsRefusedAtStartUnlessAllowed() throws Exception {
        String env = """
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: postgres, tls: disable%s }
                    allow: [ { groups: [eng] } ]
                """;
        Policy refused = PolicyLoader.parse(policy(env.formatted("")), dir, "policy.yaml", Map.of());
        Exception e = assertThrows(Exception.class, () -> WardenServer.start(refused).close());
        assertTrue(e.getMessage().contains("environment \"prod\": upstream user \"postgres\" is a superuser"),
                e.getMessage());
        assertTrue(e.getMessage().contains("policy.yaml:6:73: environments.prod.upstream.user"), e.getMessage());
        assertTrue(e.getMessage().contains("allow_superuser: true"), e.getMessage());

        Policy allowed = PolicyLoader.parse(policy(env.formatted(", allow_superuser: true")), dir, "policy.yaml",
                Map.of());
        try (WardenServer server = WardenServer.start(allowed)) {
            assertTrue(server.port() > 0);
        }
    }

    @Test
    void aLoginThatCanSetRoleToASuperuserIsRefusedAtStart() throws Exception {
        Policy refused = PolicyLoader.parse(policy("""
                  prod:
                    upstream: { host: 127.0.0.1, port: PORT, database: postgres, user: pc_sneaky, tls: disable }
                    allow: [ { groups: [eng] } ]
                """), dir, "policy.yaml", Map.of());
        Exception e = assertThrows(Exception.class, () -> WardenServer.start(refused).close());
        assertTrue(e.getMessage().contains("upstream user \"pc_sneaky\" can SET ROLE to a superuser"), e.getMessage());
    }
}
