package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.ocsf.OcsfMapper;
import dev.warden.audit.query.AuditRecord;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18, the audit trail as evidence: does the signed record, and what is exported from it, say what
 * the server ran? Each probe compares the record with what PostgreSQL holds afterwards.
 */
class AttackPass18AuditTrailTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", WardenHarness.unmaskedWithRules(
                "{ name: t18-kept, match: { statements: [TRUNCATE], tables: [public.t18_none] }, action: block }"));
        warden.directly("CREATE TABLE t18_notes (note text)", "GRANT ALL ON t18_notes TO PUBLIC");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    static Connection as(String user) throws Exception {
        return as(user, "");
    }

    static Connection as(String user, String extra) throws Exception {
        String token = warden.issuer.token().email(user).groups("eng").sign();
        return warden.connect("dev", user, token, extra);
    }

    static List<AuditRecord> queries(String user) throws Exception {
        return warden.awaitSessionEnd(user).stream().filter(r -> r.type().equals("query")).toList();
    }

    /**
     * A bound value longer than a record shows is cut there; the record must still name exactly the value the
     * server got, or two different writes leave the same record.
     */
    @Test
    void aLongBoundValueIsNamedExactlyByItsRecord() throws Exception {
        String user = "t18-long@example.com";
        String innocuous = "a".repeat(300);
        String value = innocuous + "; the part the record did not show";
        try (Connection c = as(user); PreparedStatement p = c.prepareStatement("INSERT INTO t18_notes VALUES (?)")) {
            p.setString(1, value);
            p.executeUpdate();
        }
        String stored = WardenHarness.scalar(warden.direct(), "SELECT note FROM t18_notes WHERE note LIKE '%record%'");
        assertEquals(value, stored);
        AuditRecord insert = queries(user).stream()
                .filter(r -> r.get("statement").asText().startsWith("INSERT")).findFirst().orElseThrow();
        String shown = insert.get("parameters").get(0).asText();
        String sha = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(stored.getBytes(StandardCharsets.UTF_8)));
        assertTrue(shown.equals("'" + stored + "'") || shown.contains(sha),
                "the record's value determines the stored one: " + insert.text());
    }

    /**
     * A SIEM filters on the OCSF activity: a Query whose second statement drops a table must not be exported as
     * a read.
     */
    @Test
    void theOcsfActivityOfAQueryIsItsMostConsequentialStatement() throws Exception {
        String user = "t18-ocsf@example.com";
        warden.directly("CREATE TABLE t18_gone (a int)", "GRANT ALL ON t18_gone TO PUBLIC",
                "ALTER TABLE t18_gone OWNER TO " + dev.warden.testkit.TestPostgres.SCRAM_USER);
        try (Connection c = as(user, "preferQueryMode=simple"); java.sql.Statement s = c.createStatement()) {
            s.execute("SELECT 1; DROP TABLE t18_gone");
        }
        assertEquals("0", WardenHarness.scalar(warden.direct(),
                "SELECT count(*) FROM pg_class WHERE relname = 't18_gone'"), "the server dropped it");
        AuditRecord query = queries(user).stream()
                .filter(r -> r.get("statement").asText().contains("DROP")).findFirst().orElseThrow();
        OcsfMapper mapper = new OcsfMapper();
        JsonNode event = mapper.map(query.bytes());
        assertEquals(7, event.get("activity_id").asInt(), event.toString());
        assertEquals("t18_gone", event.path("table").path("name").asText(), event.toString());
    }

    /** The FunctionCall message's arguments are what it runs with: its record names them. */
    @Test
    void aFunctionCallRecordNamesItsArguments() throws Exception {
        String user = "t18-fastpath@example.com";
        try (Connection c = as(user)) {
            int oid = Integer.parseInt(WardenHarness.scalar(c, "SELECT 'set_config(text,text,boolean)'::regprocedure::oid"));
            org.postgresql.fastpath.Fastpath fp = c.unwrap(org.postgresql.PGConnection.class).getFastpathAPI();
            byte[] answer = fp.fastpath(oid, new org.postgresql.fastpath.FastpathArg[] {
                    new org.postgresql.fastpath.FastpathArg("application_name"),
                    new org.postgresql.fastpath.FastpathArg("t18-marker"),
                    new org.postgresql.fastpath.FastpathArg(new byte[] {0}, 0, 1)});
            assertEquals("t18-marker", new String(answer, StandardCharsets.UTF_8));
            assertEquals("t18-marker", WardenHarness.scalar(c, "SHOW application_name"));
        }
        AuditRecord call = queries(user).stream()
                .filter(r -> r.get("statement").asText().contains("FunctionCall")).findFirst().orElseThrow();
        String params = call.get("parameters").toString();
        String hex = HexFormat.of().formatHex("t18-marker".getBytes(StandardCharsets.UTF_8));
        assertTrue(params.contains("t18-marker") || params.contains(hex), call.text());
    }

    /**
     * A LATIN1 session's text whose bytes are also valid UTF-8: the server reads two characters where UTF-8 reads
     * one. The record must say what the server read (its text, or the exact bytes).
     */
    @Test
    void aLatin1TextThatIsAlsoValidUtf8IsRecordedAsTheServerReadIt() throws Exception {
        String user = "t18-latin1@example.com";
        byte[] text = "SELECT length('\u00c3\u00a9') AS n".getBytes(StandardCharsets.ISO_8859_1); // C3 A9: "é" in UTF-8
        String served;
        try (RawClient raw = new RawClient(warden.port())) {
            java.util.Map<String, String> params = new java.util.LinkedHashMap<>();
            params.put("user", user);
            params.put("database", "dev");
            params.put("client_encoding", "LATIN1");
            raw.send(dev.warden.pg.message.StartupPacket.StartupMessage.of(params));
            raw.expect(dev.warden.pg.message.BackendMessage.AuthenticationCleartextPassword.class);
            raw.send(dev.warden.pg.message.FrontendMessage.AuthenticationResponse.password(
                    warden.issuer.token().email(user).groups("eng").sign()));
            raw.untilReady();
            raw.send(ProtocolPass15Test.frame('Q', text, new byte[] {0}));
            served = RawClient.values(raw.untilReady()).get(0);
        }
        assertEquals("2", served, "the server read two LATIN1 characters");
        AuditRecord query = queries(user).stream().filter(r -> r.get("statement").asText().contains("length"))
                .findFirst().orElseThrow();
        String recorded = query.get("statement").asText();
        boolean exactBytes = query.get("statement_base64") != null && !query.get("statement_base64").isMissingNode()
                && java.util.Arrays.equals(text, java.util.Base64.getDecoder().decode(
                        query.get("statement_base64").asText()));
        assertTrue(recorded.equals(new String(text, StandardCharsets.ISO_8859_1)) || exactBytes, query.text());
    }

    /**
     * {@code \\watch}-style repetition: one statement run again and again, simple and extended (pgJDBC switches to a
     * named server-side statement after five runs, then only Binds and Executes it). Every run the server made has
     * its own query record.
     */
    @Test
    void everyRepetitionOfAStatementHasItsOwnRecord() throws Exception {
        String user = "t18-watch@example.com";
        warden.directly("CREATE TABLE t18_runs (n int)", "GRANT ALL ON t18_runs TO PUBLIC");
        try (Connection c = as(user, "prepareThreshold=3")) {
            try (PreparedStatement p = c.prepareStatement("INSERT INTO t18_runs VALUES (?)")) {
                for (int i = 0; i < 12; i++) {
                    p.setInt(1, i);
                    p.executeUpdate();
                }
            }
            try (java.sql.Statement s = c.createStatement()) {
                for (int i = 0; i < 12; i++) {
                    s.execute("INSERT INTO t18_runs VALUES (100)");
                }
            }
        }
        String ran = WardenHarness.scalar(warden.direct(), "SELECT count(*) FROM t18_runs");
        long recorded = queries(user).stream().filter(r -> r.get("statement").asText().startsWith("INSERT INTO t18_runs"))
                .count();
        assertEquals(Long.parseLong(ran), recorded, "one record per run");
    }
}
