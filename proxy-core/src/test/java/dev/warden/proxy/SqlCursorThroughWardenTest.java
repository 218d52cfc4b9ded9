package dev.warden.proxy;

import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.StartupPacket;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.BackendMessage.DataRow;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.pg.message.BackendMessage.ReadyForQuery;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PostgreSQL has one namespace for portals: a cursor made by SQL DECLARE can be run by a protocol Execute (and
 * described by Describe 'P') by its name. Through Warden, as a masked identity, such an Execute is audited with
 * the cursor's query and its rows are masked by that query's plan, whether or not the client described it;
 * CLOSE and COMMIT end the cursor for Warden as for the server, and a cursor declared WITH HOLD outlives COMMIT.
 */
class SqlCursorThroughWardenTest {

    static WardenHarness warden;
    static final String QUERY = "SELECT id, email FROM people ORDER BY id";

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE people (id int primary key, email text)");
            s.execute("INSERT INTO people SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 3) i");
            s.execute("GRANT ALL ON people TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static RawClient login(String user) throws Exception {
        RawClient raw = new RawClient(warden.port());
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", "dev");
        raw.send(StartupPacket.StartupMessage.of(params));
        raw.expect(BackendMessage.AuthenticationCleartextPassword.class);
        raw.send(FrontendMessage.AuthenticationResponse.password(
                warden.issuer.token().email(user).groups("eng").sign()));
        untilReady(raw);
        return raw;
    }

    private static List<BackendMessage> untilReady(RawClient c) throws Exception {
        List<BackendMessage> out = new ArrayList<>();
        BackendMessage m;
        do {
            m = c.read();
            out.add(m);
        } while (!(m instanceof ReadyForQuery));
        return out;
    }

    private static List<BackendMessage> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        List<BackendMessage> answer = untilReady(c);
        assertTrue(answer.stream().noneMatch(ErrorResponse.class::isInstance), sql + ": " + answer);
        return answer;
    }

    /** Two Executes of the cursor's portal (one row, then the rest) and a Sync; optionally a Describe first. */
    private static List<BackendMessage> executeCursor(RawClient c, String cursor, boolean describe) throws Exception {
        if (describe) {
            c.send(new FrontendMessage.Describe('P', cursor));
        }
        c.send(new FrontendMessage.Execute(cursor, 1));
        c.send(new FrontendMessage.Execute(cursor, 0));
        c.send(new FrontendMessage.Sync());
        return untilReady(c);
    }

    private static List<String> emails(List<BackendMessage> answer) {
        return answer.stream().filter(DataRow.class::isInstance).map(DataRow.class::cast)
                .map(r -> new String(r.values().get(1), StandardCharsets.UTF_8)).toList();
    }

    private static void assertMasked(List<BackendMessage> answer) {
        assertTrue(answer.stream().noneMatch(ErrorResponse.class::isInstance), answer.toString());
        List<String> emails = emails(answer);
        assertEquals(3, emails.size(), answer.toString());
        for (int i = 0; i < 3; i++) {
            assertFalse(emails.get(i).contains("user" + (i + 1) + "@"), "masked: " + emails.get(i));
        }
    }

    private static long count(List<BackendMessage> answer, Class<?> type) {
        return answer.stream().filter(type::isInstance).count();
    }

    /** The statement text of each audited protocol Execute (extended query records), in order. */
    /** The statements of the extended protocol's query records that Warden let run. */
    private static List<String> executedStatements(List<AuditRecord> records) {
        return records.stream().filter(r -> r.type().equals("query"))
                .filter(r -> r.get("protocol").asText().equalsIgnoreCase("extended"))
                .filter(r -> r.get("decision").asText().equals("allow"))
                .map(r -> r.get("statement").asText()).toList();
    }

    /** The statements of the query records of Executes refused as of portals Warden does not know. */
    private static List<String> unknownPortals(List<AuditRecord> records) {
        return records.stream().filter(r -> r.type().equals("query"))
                .filter(r -> r.get("rule").asText().equals("unknown-portal"))
                .map(r -> r.get("statement").asText()).toList();
    }

    @Test
    void anUndescribedExecuteOfADeclaredCursorIsMaskedAndAuditedWithItsQuery() throws Exception {
        String user = "cursor-undescribed@example.com";
        try (RawClient c = login(user)) {
            query(c, "BEGIN");
            query(c, "DECLARE cur NO SCROLL CURSOR FOR " + QUERY);
            List<BackendMessage> answer = executeCursor(c, "cur", false);
            assertMasked(answer);
            assertEquals(0, count(answer, BackendMessage.RowDescription.class),
                    "Warden's own Describe of the cursor is not relayed: " + answer);
            assertEquals(1, count(answer, BackendMessage.PortalSuspended.class), answer.toString());
            query(c, "COMMIT");
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertEquals(List.of(QUERY, QUERY), executedStatements(records), WardenHarness.describe(records));
        assertTrue(records.stream().filter(r -> r.type().equals("result")).anyMatch(r ->
                        r.get("columns").toString().contains("\"masked\":true")
                                && r.get("columns").toString().contains("email")),
                "a result record names the masked column: " + WardenHarness.describe(records));
    }

    @Test
    void aDescribedCursorDeclaredThroughTheExtendedProtocolIsMasked() throws Exception {
        String user = "cursor-described@example.com";
        try (RawClient c = login(user)) {
            query(c, "BEGIN");
            // pgJDBC and most drivers send DECLARE itself through Parse/Bind/Execute.
            c.send(new FrontendMessage.Parse("", "DECLARE cur2 CURSOR FOR " + QUERY, List.of()));
            c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> declared = untilReady(c);
            assertTrue(declared.stream().noneMatch(ErrorResponse.class::isInstance), declared.toString());
            List<BackendMessage> answer = executeCursor(c, "cur2", true);
            assertMasked(answer);
            assertEquals(1, count(answer, BackendMessage.RowDescription.class), "the client's Describe: " + answer);
            query(c, "ROLLBACK");
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        List<String> executed = executedStatements(records);
        assertEquals(List.of("DECLARE cur2 CURSOR FOR " + QUERY, QUERY, QUERY), executed,
                WardenHarness.describe(records));
    }

    @Test
    void closeAndCommitEndACursorButOneHeldOutlivesCommit() throws Exception {
        String user = "cursor-lifetime@example.com";
        try (RawClient c = login(user)) {
            query(c, "BEGIN");
            query(c, "DECLARE gone CURSOR FOR " + QUERY);
            query(c, "DECLARE closed CURSOR FOR " + QUERY);
            query(c, "CLOSE closed");
            query(c, "COMMIT");
            query(c, "DECLARE held CURSOR WITH HOLD FOR " + QUERY);
            assertMasked(executeCursor(c, "held", false));
            for (String cursor : List.of("gone", "closed")) {
                List<BackendMessage> answer = executeCursor(c, cursor, false);
                ErrorResponse error = (ErrorResponse) answer.stream().filter(ErrorResponse.class::isInstance)
                        .findFirst().orElseThrow(() -> new AssertionError(answer.toString()));
                assertEquals("34000", error.sqlState(), "the server no longer has " + cursor);
            }
            query(c, "CLOSE held");
            assertEquals("34000", ((ErrorResponse) executeCursor(c, "held", false).stream()
                    .filter(ErrorResponse.class::isInstance).findFirst().orElseThrow()).sqlState());
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        List<String> executed = executedStatements(records);
        // Warden forgot each cursor when the server did: their later Executes are answered as the server answers
        // for a portal that does not exist (34000, above), run nothing, and are recorded as refused.
        assertEquals(List.of(QUERY, QUERY), executed, WardenHarness.describe(records));
        assertEquals(3, unknownPortals(records).size(), WardenHarness.describe(records));
    }

    /**
     * ROLLBACK TO SAVEPOINT drops only the cursors declared after the savepoint (the server's
     * {@code AtSubAbort_Portals}); RELEASE hands a cursor to the enclosing level. The same script runs on the server
     * directly first, so the test checks Warden against what the server does, not against a belief about it.
     */
    @Test
    void rollbackToASavepointForgetsOnlyTheCursorsDeclaredAfterIt() throws Exception {
        List<String> script = List.of("BEGIN", "DECLARE early CURSOR FOR " + QUERY, "SAVEPOINT a",
                "DECLARE released CURSOR FOR " + QUERY, "RELEASE SAVEPOINT a", "SAVEPOINT \"B\"",
                "DECLARE late CURSOR FOR " + QUERY, "ROLLBACK TO SAVEPOINT \"B\"");
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            direct.setAutoCommit(false);
            for (String sql : script.subList(1, script.size())) {
                s.execute(sql);
            }
            for (String cursor : List.of("early", "released")) {
                try (java.sql.ResultSet rs = s.executeQuery("FETCH ALL FROM " + cursor)) {
                    int rows = 0;
                    while (rs.next()) {
                        rows++;
                    }
                    assertEquals(3, rows, "the server keeps " + cursor);
                }
            }
            SQLException gone = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> s.executeQuery("FETCH ALL FROM late"));
            assertEquals("34000", gone.getSQLState(), "the server dropped late");
            direct.rollback();
        }
        String user = "cursor-savepoint@example.com";
        try (RawClient c = login(user)) {
            for (String sql : script) {
                query(c, sql);
            }
            assertMasked(executeCursor(c, "early", false));
            assertMasked(executeCursor(c, "released", false));
            List<BackendMessage> late = executeCursor(c, "late", false);
            assertEquals("34000", ((ErrorResponse) late.stream().filter(ErrorResponse.class::isInstance).findFirst()
                    .orElseThrow(() -> new AssertionError(late.toString()))).sqlState(), late.toString());
            query(c, "ROLLBACK");
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        List<String> executed = executedStatements(records);
        // Two Executes each of early and released ran their query; Warden forgot late when the server dropped it.
        assertEquals(List.of(QUERY, QUERY, QUERY, QUERY), executed.subList(0, 4), WardenHarness.describe(records));
        assertEquals(4, executed.size(), executed.toString());
        assertEquals(List.of("-- Execute of portal \"late\", which Warden does not know"), unknownPortals(records));
    }
}
