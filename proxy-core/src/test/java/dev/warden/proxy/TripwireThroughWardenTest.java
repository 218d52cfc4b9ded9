package dev.warden.proxy;

import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.postgresql.PGConnection;
import org.slf4j.LoggerFactory;
import org.postgresql.copy.CopyManager;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tripwire end to end: real PostgreSQL, real Warden, pgJDBC and raw protocol clients. Warden is made to
 * misread on purpose (an analysis override that only this test installs, keyed by a comment in the text), so
 * that its reading genuinely disagrees with what the server runs; a change of identity the analysis does not
 * explain needs no override at all. Normal traffic must never trip it.
 */
class TripwireThroughWardenTest {

    /** Warden reads every statement of such a text as {@code SELECT 1}. */
    static final String READ_AS_SELECT = "/* misread: select */";
    /** Warden sees only the first statement of such a text, as if the rest were hidden in a comment. */
    static final String HIDE_THE_REST = "/* misread: hide the rest */";
    /** Warden reads such a text's one statement twice. */
    static final String READ_TWICE = "/* misread: twice */";

    static WardenHarness warden;
    static final Analyzer ANALYZER = new Analyzer(100);

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("""
                  allow_plaintext_on_loopback: true
                """, "", "", TripwireThroughWardenTest::misread);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int)");
            s.execute("CREATE ROLE tripwire_plain NOLOGIN");
            s.execute("GRANT ALL ON accounts TO tripwire_plain");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void fillAccounts() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("TRUNCATE accounts");
            s.execute("INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'bob', 200), (3, 'cy', 300)");
        }
    }

    static Analysis misread(Analysis real) {
        String text = real.statements().get(0).text();
        if (text.contains(READ_AS_SELECT)) {
            StatementFacts select = ANALYZER.analyze("SELECT 1").statements().get(0);
            return new Analysis(real.statements().stream().map(f -> select).toList());
        }
        if (text.contains(HIDE_THE_REST)) {
            return new Analysis(List.of(real.statements().get(0)));
        }
        if (text.contains(READ_TWICE)) {
            return new Analysis(List.of(real.statements().get(0), real.statements().get(0)));
        }
        return real;
    }

    // ---- disagreements end the session ------------------------------------------------------------

    @Test
    void aDeleteWardenReadAsASelectEndsTheSessionAndItsTransactionIsRolledBack() throws Exception {
        String user = "misread-delete@example.com";
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        Logger sessionLog = (Logger) LoggerFactory.getLogger("dev.warden.proxy.session.FrontendSession");
        sessionLog.addAppender(logged);
        try (Connection c = connect(user, "")) {
            c.setAutoCommit(false);
            SQLException e = assertThrows(SQLException.class,
                    () -> c.createStatement().executeUpdate("DELETE FROM accounts " + READ_AS_SELECT));
            assertEquals("XX000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("disagrees with Warden's reading"), e.getMessage());
            assertTrue(e.getMessage().contains("DELETE 3"), e.getMessage());
            assertFalse(c.isValid(2), "the session is closed");
            assertThrows(SQLException.class, () -> c.createStatement().executeUpdate("DELETE FROM accounts"));
        }
        assertEquals(3, countAccounts(), "the DELETE was rolled back with the session, and nothing after it ran");
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        sessionLog.detachAppender(logged);
        List<ILoggingEvent> errors;
        synchronized (logged) {
            errors = logged.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
        }
        assertEquals(1, errors.size(), errors.toString());
        String line = errors.get(0).getFormattedMessage();
        assertTrue(line.startsWith("enforcement.mismatch session=") && line.contains("user=" + user)
                && line.contains("check=command_tag warden=[SELECT] server=[DELETE 3]"), line);
        assertFalse(line.contains("accounts"), "the log names the readings, not the statement: " + line);
        AuditRecord mismatch = only(records, "enforcement.mismatch");
        assertEquals("command_tag", mismatch.get("check").asText());
        assertEquals("[\"SELECT\"]", mismatch.get("warden").toString());
        assertEquals("[\"DELETE 3\"]", mismatch.get("server").toString());
        assertTrue(mismatch.get("statement").asText().startsWith("DELETE FROM accounts"), mismatch.text());
        AuditRecord query = records.stream().filter(r -> r.type().equals("query"))
                .filter(r -> r.seq() == mismatch.get("query_seq").asLong()).findFirst().orElseThrow();
        assertEquals("[\"SELECT\"]", query.get("kinds").toString(), "the query record shows what Warden read");
        AuditRecord result = records.stream().filter(r -> r.type().equals("result"))
                .filter(r -> r.get("query_seq").asLong() == query.seq()).findFirst().orElseThrow();
        assertEquals("DELETE 3", result.get("command_tag").asText(), "the result record shows what ran");
        AuditRecord end = records.get(records.size() - 1);
        assertTrue(end.get("reason").asText().startsWith("enforcement mismatch"), end.text());
        assertTrue(mismatch.seq() < end.seq());
        warden.assertAuditVerifies();
    }

    @Test
    void aStatementWardenDidNotSeeEndsTheSessionAndItsTransactionIsRolledBack() throws Exception {
        String user = "misread-hidden@example.com";
        try (RawClient raw = login(user)) {
            raw.send(new FrontendMessage.Query("BEGIN"));
            raw.expect(BackendMessage.CommandComplete.class);
            raw.expect(BackendMessage.ReadyForQuery.class);
            raw.send(new FrontendMessage.Query("SELECT 1 " + HIDE_THE_REST + "; DELETE FROM accounts"));
            BackendMessage.ErrorResponse fatal = readUntilError(raw);
            assertEquals("FATAL", fatal.severity());
            assertEquals("XX000", fatal.sqlState());
            assertTrue(fatal.message().contains("more statements"), fatal.message());
            assertTrue(raw.closedByServer());
        }
        assertEquals(3, countAccounts(), "the hidden DELETE ran inside the transaction that the session's end undid");
        AuditRecord mismatch = only(warden.awaitSessionEnd(user), "enforcement.mismatch");
        assertEquals("statement_count", mismatch.get("check").asText());
        assertEquals("[\"SELECT\"]", mismatch.get("warden").toString());
        assertEquals("[\"SELECT 1\",\"DELETE 3\"]", mismatch.get("server").toString());
        assertTrue(mismatch.get("statement").asText().contains("DELETE FROM accounts"), mismatch.text());
        warden.assertAuditVerifies();
    }

    @Test
    void fewerStatementsThanWardenReadIsAMismatchToo() throws Exception {
        String user = "misread-twice@example.com";
        try (RawClient raw = login(user)) {
            raw.send(new FrontendMessage.Query("SELECT 1 " + READ_TWICE));
            BackendMessage.ErrorResponse fatal = readUntilError(raw);
            assertEquals("XX000", fatal.sqlState());
            assertTrue(fatal.message().contains("the server ran 1 statements where Warden read 2"), fatal.message());
            assertTrue(raw.closedByServer());
        }
        AuditRecord mismatch = only(warden.awaitSessionEnd(user), "enforcement.mismatch");
        assertEquals("statement_count", mismatch.get("check").asText());
        assertEquals("[\"SELECT\",\"SELECT\"]", mismatch.get("warden").toString());
        assertEquals("[\"SELECT 1\"]", mismatch.get("server").toString());
    }

    @Test
    void aPreparedStatementWardenMisreadEndsTheSessionAtItsExecute() throws Exception {
        String user = "misread-prepared@example.com";
        try (Connection c = connect(user, "prepareThreshold=1")) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = 0 WHERE id = ? "
                    + READ_AS_SELECT)) {
                ps.setInt(1, 1);
                SQLException e = assertThrows(SQLException.class, ps::executeUpdate);
                assertEquals("XX000", e.getSQLState(), e.getMessage());
            }
            assertFalse(c.isValid(2));
        }
        AuditRecord mismatch = only(warden.awaitSessionEnd(user), "enforcement.mismatch");
        assertEquals("command_tag", mismatch.get("check").asText());
        assertEquals("[\"UPDATE 1\"]", mismatch.get("server").toString());
        assertTrue(mismatch.get("statement").asText().startsWith("UPDATE accounts"), mismatch.text());
        warden.assertAuditVerifies();
    }

    @Test
    void becomingAnotherRoleThroughAFunctionCallIsNotExplainedByASelect() throws Exception {
        // No override: the analysis is right that this is a SELECT, but the server changed who the session is.
        String user = "role-change@example.com";
        try (Connection c = connect(user, "")) {
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement()
                    .executeQuery("SELECT set_config('role', 'tripwire_plain', false)"));
            assertEquals("XX000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("is_superuser"), e.getMessage());
            assertFalse(c.isValid(2));
        }
        AuditRecord mismatch = only(warden.awaitSessionEnd(user), "enforcement.mismatch");
        assertEquals("parameter_status", mismatch.get("check").asText());
        assertEquals("[\"is_superuser=off\"]", mismatch.get("server").toString());
        assertTrue(mismatch.get("statement").asText().contains("set_config"), mismatch.text());
        warden.assertAuditVerifies();
    }

    @Test
    void setSessionAuthorizationThroughSetConfigIsCaught() throws Exception {
        String user = "session-auth@example.com";
        try (RawClient raw = login(user)) {
            raw.send(new FrontendMessage.Query("SELECT set_config('session_authorization', 'tripwire_plain', false)"));
            BackendMessage.ErrorResponse fatal = readUntilError(raw);
            assertEquals("XX000", fatal.sqlState(), fatal.message());
            assertTrue(raw.closedByServer());
        }
        AuditRecord mismatch = only(warden.awaitSessionEnd(user), "enforcement.mismatch");
        assertEquals("parameter_status", mismatch.get("check").asText());
        assertTrue(mismatch.get("server").toString().contains("tripwire_plain")
                || mismatch.get("server").toString().contains("is_superuser=off"), mismatch.text());
    }

    // ---- normal traffic never trips it ------------------------------------------------------------

    @Test
    void everydayTrafficThroughPgJdbcNeverTripsIt() throws Exception {
        String user = "everyday-jdbc@example.com";
        try (Connection c = connect(user, "prepareThreshold=1")) {
            Statement s = c.createStatement();
            // extended protocol: prepared statements, named after the first use (prepareThreshold=1), batches
            for (int i = 0; i < 3; i++) {
                try (PreparedStatement ps = c.prepareStatement("SELECT owner FROM accounts WHERE id = ?")) {
                    ps.setInt(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next());
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = balance + 1 WHERE id = ?")) {
                    ps.setInt(1, 2);
                    assertEquals(1, ps.executeUpdate());
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO accounts VALUES (?, 'batch', 0)")) {
                for (int id = 10; id < 20; id++) {
                    ps.setInt(1, id);
                    ps.addBatch();
                }
                assertEquals(10, ps.executeBatch().length);
            }
            assertEquals(1, s.executeUpdate("WITH n AS (SELECT 30 AS id) INSERT INTO accounts SELECT id, 'cte', 0 FROM n"));
            // transactions: commit, rollback, savepoints, a failed one followed by COMMIT
            c.setAutoCommit(false);
            s.executeUpdate("UPDATE accounts SET balance = balance - 1 WHERE id = 1");
            c.commit();
            s.executeUpdate("DELETE FROM accounts WHERE id = 10");
            c.rollback();
            var sp = c.setSavepoint();
            s.executeUpdate("DELETE FROM accounts WHERE id = 11");
            c.rollback(sp);
            c.commit();
            assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1/0"));
            try {
                c.commit(); // the server answers ROLLBACK; pgJDBC may report that as an error
            } catch (SQLException expected) {
                assertTrue(c.isValid(2), "a failed COMMIT is not a reason to end the session");
            }
            c.setAutoCommit(true);
            // cursors: a portal read in pieces (Execute with a row limit, PortalSuspended) and SQL cursors
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("SELECT id FROM accounts ORDER BY id")) {
                ps.setFetchSize(2);
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                    }
                }
                assertEquals(14, rows);
            }
            s.execute("DECLARE cur CURSOR FOR SELECT id FROM accounts");
            s.execute("FETCH 2 FROM cur");
            s.execute("MOVE 1 IN cur");
            s.execute("CLOSE cur");
            c.commit();
            c.setAutoCommit(true);
            // COPY both ways
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(14, copy.copyOut("COPY accounts TO STDOUT", out));
            assertEquals(2, copy.copyIn("COPY accounts FROM STDIN", new ByteArrayInputStream(
                    "40\tcopied\t1\n41\tcopied\t2\n".getBytes(StandardCharsets.UTF_8))));
            // SQL PREPARE / EXECUTE, role changes the analysis explains, DO, CREATE TABLE AS, EXPLAIN
            s.execute("PREPARE upd (int) AS UPDATE accounts SET balance = 7 WHERE id = $1");
            s.execute("EXECUTE upd (1)");
            s.execute("DEALLOCATE upd");
            s.execute("SET ROLE tripwire_plain");
            s.execute("SELECT count(*) FROM accounts");
            s.execute("RESET ROLE");
            c.setAutoCommit(false);
            s.execute("SET LOCAL ROLE tripwire_plain");
            c.rollback();
            c.setAutoCommit(true);
            s.execute("SET SESSION AUTHORIZATION tripwire_plain");
            s.execute("RESET SESSION AUTHORIZATION");
            s.execute("DO $$BEGIN PERFORM 1; END$$");
            s.execute("CREATE TEMP TABLE snapshot AS SELECT * FROM accounts");
            s.execute("EXPLAIN SELECT * FROM snapshot");
            s.execute("DISCARD ALL");
            try (ResultSet rs = s.executeQuery("SELECT current_user, count(*) FROM accounts GROUP BY 1")) {
                assertTrue(rs.next());
                assertEquals("warden_scram", rs.getString(1));
            }
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertNoMismatch(records);
        assertEquals("client terminated", records.get(records.size() - 1).get("reason").asText());
    }

    @Test
    void everydayTrafficThroughTheSimpleProtocolNeverTripsIt() throws Exception {
        String user = "everyday-simple@example.com";
        try (Connection c = connect(user, "preferQueryMode=simple")) {
            Statement s = c.createStatement();
            assertTrue(s.execute("SELECT 1; INSERT INTO accounts VALUES (50, 'multi', 0); "
                    + "UPDATE accounts SET balance = 1 WHERE id = 50; DELETE FROM accounts WHERE id = 50; SELECT 2"));
            int results = 1;
            while (s.getMoreResults() || s.getUpdateCount() != -1) {
                results++;
            }
            assertEquals(5, results);
            assertThrows(SQLException.class, () -> s.execute("BEGIN; SELECT 1/0"));
            s.execute("COMMIT");
            s.execute("BEGIN; SAVEPOINT a; SELECT 1; ROLLBACK TO SAVEPOINT a; RELEASE a; COMMIT");
            s.execute("START TRANSACTION; SET ROLE tripwire_plain; ROLLBACK");
            try (ResultSet rs = s.executeQuery("SELECT current_user")) {
                assertTrue(rs.next());
                assertEquals("warden_scram", rs.getString(1));
            }
        }
        try (RawClient raw = login("everyday-raw@example.com")) {
            for (String text : List.of("", ";", "-- nothing but a comment", "SELECT 1;;SELECT 2;")) {
                raw.send(new FrontendMessage.Query(text));
                BackendMessage m;
                while (!((m = raw.read()) instanceof BackendMessage.ReadyForQuery)) {
                    assertFalse(m instanceof BackendMessage.ErrorResponse, text + ": " + m);
                }
            }
        }
        assertNoMismatch(warden.awaitSessionEnd(user));
        assertNoMismatch(warden.awaitSessionEnd("everyday-raw@example.com"));
    }

    /**
     * A statement prepared with no text (Parse of "") and run by SQL EXECUTE: the server answers CommandComplete
     * "EXECUTE", where the empty statement itself gets EmptyQueryResponse. The tripwire called it a mismatch and
     * ended the session (a security pass, F2); the session goes on now.
     */
    @Test
    void sqlExecuteOfAnEmptyPreparedStatementDoesNotTripIt() throws Exception {
        String user = "empty-execute@example.com";
        try (RawClient raw = login(user)) {
            raw.send(new FrontendMessage.Parse("q1", "", List.of()));
            raw.send(new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(raw.untilReady()));
            raw.send(new FrontendMessage.Query("execute q1"));
            List<BackendMessage> answers = raw.untilReady();
            assertEquals(List.of(new BackendMessage.CommandComplete("EXECUTE")), answers.stream()
                    .filter(m -> !(m instanceof BackendMessage.ReadyForQuery)).toList());
            raw.send(new FrontendMessage.Query("SELECT 41 + 1"));
            assertEquals(List.of("42"), RawClient.values(raw.untilReady()), "the session goes on");
        }
        assertNoMismatch(warden.awaitSessionEnd(user));
    }

    @Test
    void aFailedTransactionFollowedByCommitDoesNotTripIt() throws Exception {
        String user = "failed-commit@example.com";
        try (Connection c = connect(user, "preferQueryMode=simple")) {
            Statement s = c.createStatement();
            s.execute("BEGIN");
            assertThrows(SQLException.class, () -> s.execute("SELECT 1/0"));
            s.execute("COMMIT");
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM accounts")) {
                assertTrue(rs.next());
                assertEquals(3, rs.getInt(1));
            }
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertNoMismatch(records);
        assertTrue(records.stream().anyMatch(r -> r.type().equals("result")
                && r.get("command_tag").asText().equals("ROLLBACK")), "COMMIT of a failed transaction: ROLLBACK");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static Connection connect(String user, String extra) throws SQLException {
        return warden.connect("dev", user, warden.issuer.token().email(user).groups("eng").sign(), extra);
    }

    private static RawClient login(String user) throws Exception {
        RawClient raw = new RawClient(warden.port());
        raw.login("dev", user, warden.issuer.token().email(user).groups("eng").sign());
        return raw;
    }

    private static BackendMessage.ErrorResponse readUntilError(RawClient raw) throws Exception {
        List<BackendMessage> seen = new ArrayList<>();
        while (true) {
            BackendMessage m = raw.read();
            if (m instanceof BackendMessage.ErrorResponse e) {
                return e;
            }
            seen.add(m);
            if (m instanceof BackendMessage.ReadyForQuery) {
                throw new AssertionError("no error, the statement completed: " + seen);
            }
        }
    }

    private static int countAccounts() throws SQLException {
        try (Connection c = warden.direct(); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM accounts")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static void assertNoMismatch(List<AuditRecord> records) {
        assertTrue(records.stream().noneMatch(r -> r.type().equals("enforcement.mismatch")), WardenHarness.describe(records));
    }

    private static AuditRecord only(List<AuditRecord> records, String type) {
        List<AuditRecord> matching = records.stream().filter(r -> r.type().equals(type)).toList();
        assertEquals(1, matching.size(), WardenHarness.describe(records));
        return matching.get(0);
    }
}
