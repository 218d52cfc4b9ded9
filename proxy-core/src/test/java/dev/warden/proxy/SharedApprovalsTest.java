package dev.warden.proxy;

import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.cli.WardenCommand;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two Warden instances share approvals through PostgreSQL: held on one, approved on the other, it runs. */
class SharedApprovalsTest {

    static TestPostgres pg;
    static TestOidcIssuer issuer;
    static String database;
    static Path auditA;
    static Path auditB;
    static WardenServer a;
    static WardenServer b;

    @BeforeAll
    static void start() throws Exception {
        pg = TestPostgres.start();
        issuer = TestOidcIssuer.start();
        database = pg.createDatabase("shared");
        String approvalsDb = pg.createDatabase("approvals");
        auditA = Files.createTempDirectory("warden-audit-a-");
        auditB = Files.createTempDirectory("warden-audit-b-");
        a = WardenServer.start(policy(auditA, approvalsDb));
        b = WardenServer.start(policy(auditB, approvalsDb));
        try (Connection c = pg.connect(database)) {
            c.createStatement().execute("CREATE TABLE ledger (id int primary key, amount int)");
            c.createStatement().execute("INSERT INTO ledger VALUES (1, 10)");
        }
    }

    @AfterAll
    static void stop() {
        a.close();
        b.close();
        issuer.close();
        pg.close();
    }

    static Policy policy(Path auditDir, String approvalsDb) throws Exception {
        String yaml = """
                listen: { address: "127.0.0.1:0" }
                admin: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "${ISSUER}", audience: warden } ]
                environments:
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: %s, tls: disable, allow_superuser: true }
                    allow: [ { groups: [eng, dba] } ]
                guardrails:
                  - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                audit: { sinks: [ { type: file, dir: "${AUDIT_DIR}" } ] }
                approvals:
                  timeout: 30s
                  store: { type: postgres, url_env: APPROVALS_URL }
                  max_grant_uses: 3
                  max_grant_window: 10m
                """.formatted(pg.superuser());
        Map<String, String> env = new HashMap<>();
        env.put("ISSUER", issuer.issuer());
        env.put("PG_PORT", Integer.toString(pg.port()));
        env.put("DATABASE", database);
        env.put("AUDIT_DIR", auditDir.toString());
        env.put("APPROVALS_URL", "jdbc:postgresql://127.0.0.1:" + pg.port() + "/" + approvalsDb + "?user="
                + pg.superuser());
        return PolicyLoader.parse(yaml, auditDir, "shared.yaml", env);
    }

    @Test
    void heldOnOneInstanceApprovedThroughTheOtherItRunsAndBothChainsVerify() throws Exception {
        Properties props = new Properties();
        props.setProperty("user", "alice@example.com");
        props.setProperty("password", issuer.token().email("alice@example.com").groups("eng").sign());
        try (Connection alice = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + a.port()
                + "/prod?sslmode=require", props)) {
            CompletableFuture<Integer> update = CompletableFuture.supplyAsync(() -> {
                try {
                    return alice.createStatement().executeUpdate("UPDATE ledger SET amount = 20 WHERE id = 1");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            String bob = issuer.token().subject("user-bob").email("bob@example.com").groups("dba").sign();
            String id = awaitPending(b.adminPort(), bob);
            assertEquals(10, amount(), "held: nothing ran yet");
            assertEquals(0, cli("approvals", "approve", id, "--url", "http://127.0.0.1:" + b.adminPort(),
                    "--token=" + bob));
            assertEquals(1, update.get(10, TimeUnit.SECONDS));
            assertEquals(20, amount());
        }
        List<String> typesA = types(auditA);
        List<String> typesB = types(auditB);
        assertTrue(typesA.contains("approval.requested"), typesA.toString());
        assertTrue(typesB.contains("approval.approved"), "the deciding instance records the decision: " + typesB);
        assertTrue(AuditVerifier.verify(auditA, null).passed());
        assertTrue(AuditVerifier.verify(auditB, null).passed());
    }

    @Test
    void aGrantOfThreeUsesIsSpentExactlyOnceAcrossBothInstances() throws Exception {
        try (Connection c = pg.connect(database)) {
            c.createStatement().execute("INSERT INTO ledger VALUES (2, 0)");
        }
        String bump = "UPDATE ledger SET amount = amount + 1 WHERE id = 2";
        String bob = issuer.token().subject("user-bob").email("bob@example.com").groups("dba").sign();
        List<Connection> sessions = new java.util.ArrayList<>();
        try {
            for (WardenServer w : List.of(a, a, b, b, b)) {
                sessions.add(alice(w));
            }
            CompletableFuture<Object> held = CompletableFuture.supplyAsync(() -> run(sessions.get(0), bump));
            String id = awaitPending(b.adminPort(), bob);
            assertEquals(0, cli("approvals", "approve", id, "--uses", "3", "--url", "http://127.0.0.1:"
                    + b.adminPort(), "--token=" + bob));
            assertEquals(1, held.get(10, TimeUnit.SECONDS));
            // Four sessions on two instances race for the two uses left.
            List<CompletableFuture<Object>> racing = sessions.subList(1, 5).stream()
                    .map(s -> CompletableFuture.supplyAsync(() -> run(s, bump))).toList();
            long deadline = System.currentTimeMillis() + 20_000;
            while (!racing.stream().allMatch(CompletableFuture::isDone) && System.currentTimeMillis() < deadline) {
                // The losers wait for new approvals: deny them.
                String waiting = pending(a.adminPort(), bob);
                if (waiting != null) {
                    cli("approvals", "deny", waiting, "--url", "http://127.0.0.1:" + a.adminPort(), "--token=" + bob);
                }
                Thread.sleep(100);
            }
            List<Object> results = racing.stream().map(CompletableFuture::join).toList();
            assertEquals(2, results.stream().filter(r -> Integer.valueOf(1).equals(r)).count(), results.toString());
            assertEquals(2, results.stream().filter(r -> r instanceof SQLException e
                    && "42501".equals(e.getSQLState())).count(), results.toString());
            try (Connection c = pg.connect(database); ResultSet rs = c.createStatement()
                    .executeQuery("SELECT amount FROM ledger WHERE id = 2")) {
                rs.next();
                assertEquals(3, rs.getInt(1), "three uses, no more");
            }
        } finally {
            for (Connection c : sessions) {
                c.close();
            }
        }
    }

    private static Connection alice(WardenServer w) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "alice@example.com");
        props.setProperty("password", issuer.token().email("alice@example.com").groups("eng").sign());
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + w.port() + "/prod?sslmode=require",
                props);
    }

    private static Object run(Connection c, String sql) {
        try {
            return c.createStatement().executeUpdate(sql);
        } catch (SQLException e) {
            return e;
        }
    }

    private static List<String> types(Path dir) throws Exception {
        return AuditReader.of(dir).search(AuditFilter.all()).stream().map(l -> l.record().type()).toList();
    }

    private static String awaitPending(int adminPort, String token) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            String id = pending(adminPort, token);
            if (id != null) {
                return id;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no pending request visible on the other instance");
    }

    /** A pending request's id, or null. */
    private static String pending(int adminPort, String token) {
        Pattern pending = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"\\s*,\\s*\"status\"\\s*:\\s*\"pending\"");
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            WardenCommand.run("approvals", "list", "--json", "--url", "http://127.0.0.1:" + adminPort,
                    "--token=" + token);
        } finally {
            System.setOut(out);
        }
        Matcher m = pending.matcher(captured.toString(StandardCharsets.UTF_8));
        return m.find() ? m.group(1) : null;
    }

    private static int cli(String... args) {
        return WardenCommand.run(args);
    }

    private static int amount() throws SQLException {
        try (Connection c = pg.connect(database); ResultSet rs = c.createStatement()
                .executeQuery("SELECT amount FROM ledger WHERE id = 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
