package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dangerous statements never reach the database, whatever path the protocol offers; harmless look-alikes
 * run. {@code prod} is a production environment with the baseline on; {@code staging} turns it off.
 */
class GuardrailsThroughWardenTest {

    static WardenHarness warden;

    /** Statements the issue lists; each must be refused in prod with 42501 and leave table t intact. */
    static final String[] BLOCKED = {
            "DROP TABLE t",
            "drop   table \"T\"",
            "SELECT 1; DROP TABLE t",
            "/* x */ DROP TABLE t",
            "TRUNCATE t",
            "DELETE FROM t",
            "UPDATE t SET a=1",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "PREPARE p AS DELETE FROM t",
            "COPY t TO PROGRAM 'cat'",
            "SELECT pg_read_file('/etc/passwd')",
            "SET ROLE postgres",
            "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$",
            // ONLY (name) is ONLY name to PostgreSQL: read as naming no table before (a120)
            "DELETE FROM ONLY (t)",
            "UPDATE ONLY (public.t) SET a=1",
            "TRUNCATE ONLY (t)",
    };

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  staging:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                  devbox:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS t");
            s.execute("DROP TABLE IF EXISTS \"T\"");
            s.execute("CREATE TABLE t (id int, a int)");
            s.execute("CREATE TABLE \"T\" (id int)");
            s.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 10) g");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preferQueryMode=simple", "preferQueryMode=extended", "prepareThreshold=1"})
    void everyListedStatementIsBlockedInProdOverJdbc(String mode) throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), mode)) {
            for (String sql : BLOCKED) {
                SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("blocked by Warden rule"), e.getMessage());
                try (PreparedStatement ps = c.prepareStatement(sql.replace("; DROP TABLE t", ""))) {
                    if (!sql.startsWith("SELECT 1;")) {
                        SQLException p = assertThrows(SQLException.class, ps::execute, sql);
                        assertEquals("42501", p.getSQLState(), sql);
                    }
                }
                assertEquals(1, scalar(c, "SELECT 1"), "the session stays usable after " + sql);
            }
        }
        assertTableIntact();
    }

    @Test
    void blockedMessagesNameTheRuleAndHint() throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute("DELETE FROM t"));
            assertTrue(e.getMessage().contains("blocked by Warden rule \"delete-without-where\""), e.getMessage());
            assertTrue(e.getMessage().contains("WHERE"), e.getMessage());
            SQLException drop = assertThrows(SQLException.class, () -> c.createStatement().execute("DROP TABLE t"));
            assertTrue(drop.getMessage().contains("blocked by Warden rule \"drop-table-or-schema\""), drop.getMessage());
        }
    }

    /**
     * A WHERE that holds for every row or none by its form is no WHERE (attacker pass a142, F1); exactly WHERE true
     * is how a statement says it means every row, and runs.
     */
    @Test
    void aConstantWhereIsNoWhereButWhereTrueIsMeant() throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            for (String sql : List.of("DELETE FROM t WHERE 1=1", "UPDATE t SET a = 0 WHERE 'a' = 'a'",
                    "DELETE FROM t WHERE id = 1 OR 1 = 1", "UPDATE t SET a = 0 WHERE (a = a)",
                    "WITH d AS (DELETE FROM t WHERE NOT false RETURNING 1) SELECT count(*) FROM d",
                    "MERGE INTO t USING (SELECT 1 AS one) s ON (t.id = t.id) WHEN MATCHED THEN DELETE",
                    // a143 F1
                    "DELETE FROM t WHERE t.id = id", "UPDATE t SET a = 0 WHERE id >= id",
                    "DELETE FROM t WHERE id IS NOT DISTINCT FROM id", "DELETE FROM t WHERE coalesce(true)",
                    "DELETE FROM t WHERE now() IS NOT NULL",
                    // a144 F1
                    "DELETE FROM t x WHERE (id) = id", "DELETE FROM t WHERE \"id\" = id::int",
                    "DELETE FROM t WHERE CAST(1 AS int) = 1", "DELETE FROM t WHERE bool 'true'",
                    "MERGE INTO t USING (SELECT 1 AS one) s ON (t.id) = t.id WHEN MATCHED THEN DELETE",
                    // a149 F1
                    "DELETE FROM t WHERE ROW(1) = ROW(1)", "DELETE FROM t WHERE (VALUES (true))",
                    "DELETE FROM t WHERE version() IS NOT NULL", "DELETE FROM t WHERE id = CAST(id AS int)",
                    "UPDATE t SET a = 0 WHERE id = +id",
                    // a151 F2, F3, F6, F7, F8
                    "DELETE FROM t WHERE ('(1,2)'::t).id = 1", "DELETE FROM t WHERE pg_catalog.now() IS NOT NULL",
                    "DELETE FROM t WHERE 1::double precision = 1", "DELETE FROM t USING t s2 WHERE s2.id = 1",
                    "DELETE FROM t USING (SELECT 1) AS insert WHERE 1 = 1",
                    "DELETE FROM t WHERE id = 5 AND (ROW(true)::t).id IS NULL OR true",
                    "MERGE INTO t USING (SELECT 1 AS x) s ON t.id = s.x OR s.x = 1 WHEN MATCHED THEN DELETE")) {
                SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
                assertTrue(e.getMessage().contains("-without-where\""), sql + ": " + e.getMessage());
            }
            assertTableIntact();
            assertEquals(10, c.createStatement().executeUpdate("UPDATE t SET a = a WHERE true"));
            assertEquals(1, c.createStatement().executeUpdate("UPDATE t SET a = a FROM (SELECT 1 AS id) s "
                    + "WHERE t.id = s.id"), "a join's condition is a WHERE");
            // a149 F2: the target named with its schema in a MERGE's ON is the target's column
            assertEquals(1, c.createStatement().executeUpdate("MERGE INTO public.t USING (SELECT 1 AS k) z "
                    + "ON public.t.id = z.k WHEN MATCHED THEN UPDATE SET a = a"));
        }
    }

    /**
     * Columns PostgreSQL lets be named like keywords Warden's every-row reading takes for constants ({@code exists},
     * {@code escape}, {@code unknown}, {@code between}): their WHEREs were refused as without WHERE. The server is
     * the judge of what they are: each statement runs and deletes the rows it names. (In devbox: the baseline rules
     * apply, but not production's refusal of what the parser cannot read, which these statements are.)
     */
    @Test
    void columnsNamedLikeKeywordsAreColumnsWhereTheServerReadsThem() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("DROP TABLE IF EXISTS kw");
            s.execute("CREATE TABLE kw (id int, exists bool, escape text, unknown bool, between int)");
            s.execute("INSERT INTO kw SELECT g, g = 1, 'e' || g, g = 2, g FROM generate_series(1, 10) g");
        }
        try (Connection c = warden.connect("devbox", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            assertEquals(1, c.createStatement().executeUpdate("DELETE FROM kw WHERE exists"));
            assertEquals(1, c.createStatement().executeUpdate("DELETE FROM kw WHERE unknown"));
            assertEquals(1, c.createStatement().executeUpdate("DELETE FROM kw WHERE escape = 'e3'"));
            assertEquals(1, c.createStatement().executeUpdate("DELETE FROM kw WHERE between = 4"));
            assertEquals(1, c.createStatement().executeUpdate("UPDATE kw SET id = 0 WHERE 5 BETWEEN between AND 5"));
            // Where they are the keywords, the every-row forms are still refused.
            for (String sql : List.of("DELETE FROM kw WHERE 1 BETWEEN 0 AND 2", "DELETE FROM kw WHERE exists = exists",
                    "DELETE FROM kw WHERE 'a' LIKE 'a' ESCAPE '!'", "DELETE FROM kw WHERE true IS NOT UNKNOWN")) {
                SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
                assertTrue(e.getMessage().contains("-without-where\""), sql + ": " + e.getMessage());
            }
        }
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            java.sql.ResultSet r = s.executeQuery("SELECT count(*), count(*) FILTER (WHERE id = 0) FROM kw");
            assertTrue(r.next());
            assertEquals(6, r.getInt(1));
            assertEquals(1, r.getInt(2));
            s.execute("DROP TABLE kw");
        }
    }

    @Test
    void executeOfABlockedPrepareFindsNothingToRun() throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            SQLException e = assertThrows(SQLException.class,
                    () -> c.createStatement().execute("PREPARE p AS DELETE FROM t; EXECUTE p"));
            assertEquals("42501", e.getSQLState());
            SQLException exec = assertThrows(SQLException.class, () -> c.createStatement().execute("EXECUTE p"));
            assertEquals("26000", exec.getSQLState(), "p was never prepared upstream: " + exec.getMessage());
            // Other forms that run it are answered alike (Warden saw no PREPARE of p, so it cannot judge them).
            // (This identity is masked: masking refuses CREATE TABLE ... AS EXECUTE, and EXPLAIN ANALYZE, of a
            // statement it did not see prepared first, 42501; nothing runs either way.)
            SQLException explain = assertThrows(SQLException.class,
                    () -> c.createStatement().execute("EXPLAIN ANALYZE EXECUTE p"));
            assertTrue(explain.getSQLState().equals("26000") || explain.getSQLState().equals("42501"),
                    explain.getMessage());
            SQLException copy = assertThrows(SQLException.class,
                    () -> c.createStatement().execute("CREATE TABLE t_copy AS EXECUTE p"));
            assertTrue(copy.getSQLState().equals("26000") || copy.getSQLState().equals("42501"), copy.getMessage());
        }
        assertTableIntact();
    }

    /**
     * A text with an EXECUTE of a name Warden saw no PREPARE of, and an Execute of a portal Warden does not know, are
     * answered as the server answers them (26000, 34000) and never relayed. Before, neither had a record: whatever
     * text came with the EXECUTE was kept nowhere. Now each has a query record of its refusal, with its text.
     */
    @Test
    void executeOfAnUnknownNameOrPortalIsRecordedAsRefused() throws Exception {
        String text = "SELECT 'executeOfAnUnknownName'; EXECUTE never_prepared_x";
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(text));
            assertEquals("26000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("never_prepared_x"), e.getMessage());
        }
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Execute("no_such_portal_x", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = c.untilReady();
            assertTrue(answers.stream().anyMatch(m -> m instanceof BackendMessage.ErrorResponse err
                    && err.toString().contains("34000")), answers.toString());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<String> found = List.of();
        while (System.nanoTime() < deadline) {
            found = dev.warden.audit.query.AuditReader.of(warden.auditDir())
                    .search(dev.warden.audit.query.AuditFilter.all()).stream()
                    .map(l -> l.record().text())
                    .filter(r -> r.contains("\"unknown-prepared-statement\"") && r.contains("executeOfAnUnknownName")
                            || r.contains("\"unknown-portal\"") && r.contains("no_such_portal_x"))
                    .toList();
            if (found.stream().anyMatch(r -> r.contains("unknown-portal"))
                    && found.stream().anyMatch(r -> r.contains("unknown-prepared-statement"))) {
                break;
            }
            Thread.sleep(50);
        }
        assertTrue(found.stream().anyMatch(r -> r.contains("unknown-portal")), "a query record of each refusal: "
                + found);
        assertTrue(found.stream().anyMatch(r -> r.contains("unknown-prepared-statement")), found.toString());
    }

    @Test
    void harmlessLookAlikesRun() throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT 'DROP TABLE t'")) {
                assertTrue(rs.next());
                assertEquals("DROP TABLE t", rs.getString(1));
            }
            assertEquals(1, c.createStatement().executeUpdate("DELETE FROM t WHERE id = 1"));
            assertEquals(9, scalar(c, "-- DROP TABLE t\nSELECT count(*) FROM t"));
            assertEquals(9, scalar(c, "SELECT count(*) /* DROP TABLE t */ FROM t"));
        }
    }

    @Test
    void aBlockedStatementInsideATransactionFailsTheTransactionLikePostgresWould() throws SQLException {
        try (Connection c = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            c.setAutoCommit(false);
            c.createStatement().execute("INSERT INTO t VALUES (100, 100)");
            SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute("DROP TABLE t"));
            assertEquals("42501", e.getSQLState());
            SQLException aborted = assertThrows(SQLException.class, () -> c.createStatement().execute("SELECT 1"));
            assertEquals("25P02", aborted.getSQLState(), "the upstream transaction is failed too");
            c.rollback();
            c.setAutoCommit(true);
            assertEquals(10, scalar(c, "SELECT count(*) FROM t"), "the insert was rolled back");
        }
    }

    @Test
    void stagingWithoutTheBaselineRunsWhatProdRefuses() throws SQLException {
        try (Connection c = warden.connect("staging", WardenHarness.USER, warden.token(), "")) {
            assertEquals(10, c.createStatement().executeUpdate("UPDATE t SET a = 1"));
            c.createStatement().execute("TRUNCATE t");
            c.createStatement().execute("DROP TABLE t");
        }
    }

    @Test
    void psqlGetsTheSameRefusals() throws Exception {
        for (String sql : BLOCKED) {
            List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-At", "-c", sql,
                    "host=127.0.0.1 port=" + warden.port() + " dbname=prod user=" + WardenHarness.USER + " sslmode=require"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", warden.token());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), sql + ": " + out);
            assertTrue(out.contains("blocked by Warden rule"), sql + ": " + out);
        }
        assertTableIntact();
    }

    @Test
    void copyFromStdinDataNeverReachesTheTableWhenTheCopyIsBlocked() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // A client that pipelines its data right behind a COPY FROM PROGRAM: nothing of it may land.
            c.send(new FrontendMessage.Query("COPY t FROM PROGRAM 'echo 99'"));
            c.send(new FrontendMessage.CopyData("98\t98\n".getBytes(StandardCharsets.UTF_8)));
            c.send(new FrontendMessage.CopyDone());
            BackendMessage.ErrorResponse e = c.expect(BackendMessage.ErrorResponse.class);
            assertEquals("42501", e.sqlState());
            c.expect(BackendMessage.ReadyForQuery.class);
            c.send(new FrontendMessage.Query("SELECT 1"));
            c.expect(BackendMessage.RowDescription.class);
        }
        assertTableIntact();
    }

    @Test
    void aQueryOrFunctionCallAfterABlockedParseIsIgnoredUntilSyncAsPostgresDoes() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("", "DELETE FROM t", List.of()));
            c.send(new FrontendMessage.Query("SELECT 41"));
            c.send(new FrontendMessage.FunctionCall(2624, List.of((short) 0),
                    List.of("/etc/passwd".getBytes(StandardCharsets.UTF_8)), (short) 0));
            c.send(new FrontendMessage.Sync());
            assertEquals("42501", c.expect(BackendMessage.ErrorResponse.class).sqlState());
            c.expect(BackendMessage.ReadyForQuery.class);
            // The session is in step: the next Query gets its own answer, not a late one for "SELECT 41".
            c.send(new FrontendMessage.Query("SELECT 42"));
            c.expect(BackendMessage.RowDescription.class);
            BackendMessage.DataRow row = c.expect(BackendMessage.DataRow.class);
            assertEquals("42", new String(row.values().get(0), StandardCharsets.UTF_8));
            c.expect(BackendMessage.CommandComplete.class);
            c.expect(BackendMessage.ReadyForQuery.class);
            // Nothing is still counted as running: a text that would be refused while an earlier statement
            // might still change standard_conforming_strings runs.
            c.send(new FrontendMessage.Query("SELECT 'a\\'; SELECT 'b'"));
            c.expect(BackendMessage.RowDescription.class);
        }
        assertTableIntact();
    }

    @Test
    void theFunctionCallMessageIsBlocked() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // Any OID is refused without a lookup: the message bypasses statement analysis.
            c.send(new FrontendMessage.FunctionCall(2624, List.of((short) 0), List.of("/etc/passwd".getBytes(StandardCharsets.UTF_8)), (short) 0));
            BackendMessage.ErrorResponse e = c.expect(BackendMessage.ErrorResponse.class);
            assertEquals("42501", e.sqlState());
            assertTrue(e.message().contains("function-call-message"), e.message());
            BackendMessage.ReadyForQuery ready = c.expect(BackendMessage.ReadyForQuery.class);
            assertEquals('I', ready.status());
        }
    }

    private static void assertTableIntact() throws SQLException {
        try (Connection c = warden.direct()) {
            assertEquals(10, scalar(c, "SELECT count(*) FROM t"), "table t and its rows must survive");
            assertEquals(0, scalar(c, "SELECT count(*) FROM \"T\""));
            assertFalse(c.createStatement().executeQuery("SELECT 1 FROM t WHERE a <> id").next(),
                    "no UPDATE reached t");
        }
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }
}
