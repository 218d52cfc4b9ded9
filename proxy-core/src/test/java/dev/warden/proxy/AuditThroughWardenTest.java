package dev.warden.proxy;

import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every session and statement through Warden leaves a verifiable trail, written before the statement runs. */
class AuditThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("""
                  allow_plaintext_on_loopback: true
                """, """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int primary key, email text, city text)");
            s.execute("INSERT INTO customers VALUES (1, 'ann@example.com', 'Oslo'), (2, 'bob@example.com', 'Rome'),"
                    + " (3, 'cy@example.com', 'Lima')");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void aJdbcSessionLeavesStartQueriesResultsBlockAndEndInOrder() throws Exception {
        String user = "jdbc-auditor@example.com";
        try (Connection c = warden.connect("prod", user, warden.issuer.token().email(user).groups("eng").sign(), "")) {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, email FROM customers WHERE id <= ?")) {
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        // read all rows
                    }
                }
            }
            assertThrows(SQLException.class, () -> c.createStatement().execute("DROP TABLE customers"));
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        // pgJDBC itself runs SET application_name first: that is a statement like any other.
        assertEquals(List.of("session.start", "query", "result", "query", "result", "query", "session.end"),
                records.stream().map(AuditRecord::type).toList(), WardenHarness.describe(records));
        assertTrue(records.get(1).get("statement").asText().startsWith("SET application_name"));
        AuditRecord start = records.get(0);
        assertEquals(user, start.get("identity").get("username").asText());
        assertEquals("human", start.get("identity").get("kind").asText());
        assertEquals("prod", start.get("environment").asText());
        AuditRecord select = records.get(3);
        assertEquals("allow", select.get("decision").asText());
        assertEquals("extended", select.get("protocol").asText());
        assertTrue(select.get("tables_read").toString().contains("customers"), select.text());
        assertTrue(select.get("columns_read").toString().contains("email"), select.text());
        AuditRecord result = records.get(4);
        assertEquals(2, result.get("rows").asLong());
        assertEquals(select.seq(), result.get("query_seq").asLong());
        assertTrue(result.get("columns").toString().contains("email"), result.text());
        AuditRecord drop = records.get(5);
        assertEquals("block", drop.get("decision").asText());
        assertEquals("drop-table-or-schema", drop.get("rule").asText());
        assertTrue(select.seq() < drop.seq());
        warden.assertAuditVerifies();
    }

    @Test
    void aPsqlSessionIsAuditedToo() throws Exception {
        String user = "psql-auditor@example.com";
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-At", "-c", "SELECT count(*) FROM customers",
                "host=127.0.0.1 port=" + warden.port() + " dbname=prod user=" + user + " sslmode=require")
                .redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", warden.issuer.token().email(user).groups("eng").sign());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("3\n", out);
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertEquals(List.of("session.start", "query", "result", "session.end"),
                records.stream().map(AuditRecord::type).toList(), WardenHarness.describe(records));
        assertEquals("SELECT count(*) FROM customers", records.get(1).get("statement").asText());
        assertEquals("simple", records.get(1).get("protocol").asText());
        assertEquals(1, records.get(2).get("rows").asLong());
        assertTrue(records.get(0).get("client").get("tls_version").asText().startsWith("TLS"));
        warden.assertAuditVerifies();
    }

    @Test
    void aRefusedLoginIsAuditedWithoutTheToken() throws Exception {
        String token = warden.issuer.token().email("mallory@example.com").groups("eng").audience("other").sign();
        assertThrows(SQLException.class, () -> warden.connect("prod", "mallory@example.com", token, ""));
        List<AuditRecord> failures = List.of();
        long deadline = System.currentTimeMillis() + 5000;
        while (failures.isEmpty() && System.currentTimeMillis() < deadline) {
            failures = AuditReader.of(warden.auditDir()).search(AuditFilter.all()).stream()
                    .map(AuditReader.Line::record).filter(r -> r.type().equals("auth.failure"))
                    .filter(r -> r.text().contains("mallory@example.com")).toList();
            Thread.sleep(50);
        }
        assertEquals(1, failures.size());
        assertTrue(failures.get(0).text().contains("audience"), failures.get(0).text());
        assertTrue(!failures.get(0).text().contains(token.substring(0, 20)), "no token in the audit trail");
    }
}
