package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A prod write waits in its session for an approver; only an approval lets it reach the database. */
class ApprovalsThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng, dba] } ]
                """, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 3s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: batch-cleanup-retry, environments: [prod], match: { statements: [DELETE], tables: [batch_log] }, unless: { groups: [dba] }, action: require_approval, approvers: [dba], mode: retry }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS billing");
            s.execute("CREATE TABLE billing (id int primary key, amount int)");
            s.execute("INSERT INTO billing VALUES (1, 100)");
            s.execute("DROP TABLE IF EXISTS batch_log");
            s.execute("CREATE TABLE batch_log (id int primary key)");
            s.execute("INSERT INTO batch_log SELECT generate_series(1, 5)");
        }
    }

    @Test
    void anApprovedUpdateRunsInTheSessionThatIssuedIt() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "/* reason: refund ticket 42 */ UPDATE billing SET amount = 50 WHERE id = 1"));
            String id = awaitPendingId();
            assertEquals(100, amount(), "nothing reaches the database while the statement waits");
            Cli approve = cli(bobToken(), "approve", id, "--comment", "refund ok");
            assertEquals(0, approve.exit, approve.out + approve.err);
            assertEquals(1, update.get(10, TimeUnit.SECONDS));
            assertEquals(50, amount());
            SQLWarning notice = st.getWarnings();
            assertNotNull(notice, "the client was told its statement waits for approval");
            assertTrue(notice.getMessage().contains(id), notice.getMessage());
        }
    }

    @Test
    void aDeniedUpdateNeverReachesTheDatabaseAndCarriesTheComment() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 0 WHERE id = 1"));
            String id = awaitPendingId();
            Cli deny = cli(bobToken(), "deny", id, "--comment", "not during the freeze");
            assertEquals(0, deny.exit, deny.out + deny.err);
            SQLException e = (SQLException) update.get(10, TimeUnit.SECONDS);
            assertEquals("42501", e.getSQLState());
            assertTrue(e.getMessage().contains("not during the freeze"), e.getMessage());
            assertEquals(100, amount());
            assertEquals(1, scalar(alice, "SELECT 1"), "the session stays usable");
        }
    }

    @Test
    void anUnansweredRequestExpiresWith57014() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            long start = System.nanoTime();
            Object result = run(alice.createStatement(), "UPDATE billing SET amount = 1 WHERE id = 1");
            SQLException e = (SQLException) result;
            assertEquals("57014", e.getSQLState());
            assertTrue(e.getMessage().contains("3s"), e.getMessage());
            assertTrue(System.nanoTime() - start >= 2_500_000_000L);
            assertEquals(100, amount());
        }
    }

    @Test
    void cancellingWhileWaitingWithdrawsTheRequest() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 7 WHERE id = 1"));
            String id = awaitPendingId();
            st.cancel();
            SQLException e = (SQLException) update.get(10, TimeUnit.SECONDS);
            assertEquals("57014", e.getSQLState(), e.getMessage());
            Cli approve = cli(bobToken(), "approve", id);
            assertTrue(approve.exit != 0, "a withdrawn request cannot be approved: " + approve.out + approve.err);
            assertEquals(100, amount());
        }
    }

    @Test
    void dbaWritesNeedNoApprovalAndReadsNeverDo() throws Exception {
        try (Connection bob = warden.connect("prod", "bob@example.com", bobToken(), "")) {
            assertEquals(1, bob.createStatement().executeUpdate("UPDATE billing SET amount = 99 WHERE id = 1"));
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            assertEquals(99, scalar(alice, "SELECT amount FROM billing"));
        }
    }

    @Test
    void inRetryModeTheFirstAttemptFailsAtOnceAndTheSameStatementRunsOnceAfterApproval() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            String delete = "DELETE FROM batch_log WHERE id = 1";
            SQLException first = (SQLException) run(alice.createStatement(), delete);
            assertEquals("42501", first.getSQLState());
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            String id = m.group(1);
            assertEquals(5, count(), "nothing ran");
            Cli approve = cli(bobToken(), "approve", id);
            assertEquals(0, approve.exit, approve.out + approve.err);
            assertEquals(1, run(alice.createStatement(), delete), "the approved statement runs");
            assertEquals(4, count());
            SQLException again = (SQLException) run(alice.createStatement(), "DELETE FROM batch_log WHERE id = 1");
            assertEquals("42501", again.getSQLState(), "an approval is used once");
            SQLException other = (SQLException) run(alice.createStatement(), "DELETE FROM batch_log WHERE id = 2");
            assertEquals("42501", other.getSQLState(), "it covers only the statement that was approved");
        }
    }

    @Test
    void anApprovedPreparedUpdateRunsOnceWithTheParametersTheApproverSaw() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "prepareThreshold=1")) {
            java.sql.PreparedStatement update = alice.prepareStatement("UPDATE billing SET amount = ? WHERE id = ?");
            update.setInt(1, 50);
            update.setInt(2, 1);
            CompletableFuture<Object> first = CompletableFuture.supplyAsync(() -> runPrepared(update));
            String id = awaitPendingId();
            Cli list = cli(bobToken(), "list", "--json");
            assertTrue(list.out.contains("$1 = '50', $2 = '1'"), "the approver sees the values: " + list.out);
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(1, first.get(10, TimeUnit.SECONDS));
            assertEquals(50, amount());
            // The same prepared statement again, with other values: a new approval, not the old one reused.
            update.setInt(1, 60);
            CompletableFuture<Object> second = CompletableFuture.supplyAsync(() -> runPrepared(update));
            String again = awaitPendingId();
            assertTrue(!again.equals(id), "a second execution needs its own approval");
            assertEquals(0, cli(bobToken(), "deny", again).exit);
            SQLException denied = (SQLException) second.get(10, TimeUnit.SECONDS);
            assertEquals("42501", denied.getSQLState());
            assertEquals(50, amount(), "the second execution did not run");
            assertEquals(1, scalar(alice, "SELECT 1"), "the session stays usable");
        }
    }

    @Test
    void anSqlPreparedUpdateExecutedThroughProtocolBindWaitsForApproval() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // If PREPARE itself is judged as the write it prepares, approve that once.
            c.send(new dev.warden.pg.message.FrontendMessage.Query("PREPARE up AS UPDATE billing SET amount = 5 WHERE id = 1"));
            String prepare = "";
            dev.warden.pg.message.BackendMessage first;
            while (!((first = c.read()) instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery)) {
                if (first instanceof dev.warden.pg.message.BackendMessage.NoticeResponse) {
                    prepare = awaitPendingId();
                    assertEquals(0, cli(bobToken(), "approve", prepare).exit);
                }
                assertTrue(!(first instanceof dev.warden.pg.message.BackendMessage.ErrorResponse), first.toString());
            }
            c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "up", java.util.List.of(), java.util.List.of(),
                    java.util.List.of()));
            c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            String execute = awaitPendingId();
            assertTrue(!execute.equals(prepare), "the Execute of the prepared UPDATE waits for its own approval");
            assertEquals(100, amount(), "nothing ran while it waits");
            assertEquals(0, cli(bobToken(), "approve", execute).exit);
            java.util.List<dev.warden.pg.message.BackendMessage> answers = new java.util.ArrayList<>();
            dev.warden.pg.message.BackendMessage m;
            do {
                m = c.read();
                answers.add(m);
            } while (!(m instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery));
            assertTrue(answers.stream().anyMatch(a -> a instanceof dev.warden.pg.message.BackendMessage.CommandComplete cc
                    && cc.tag().equals("UPDATE 1")), answers.toString());
            assertEquals(5, amount());
        }
    }

    private static Object runPrepared(java.sql.PreparedStatement ps) {
        try {
            return ps.executeUpdate();
        } catch (SQLException e) {
            return e;
        }
    }

    private static int count() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT count(*) FROM batch_log");
        }
    }

    private static Object run(Statement st, String sql) {
        try {
            return st.executeUpdate(sql);
        } catch (SQLException e) {
            return e;
        }
    }

    private static String awaitPendingId() throws Exception {
        return ApprovalsCli.awaitPendingId(warden);
    }

    private static String bobToken() {
        return ApprovalsCli.bobToken(warden);
    }

    record Cli(int exit, String out, String err) {
    }

    private static Cli cli(String token, String... args) {
        CliRun r = ApprovalsCli.run(warden, token, args);
        return new Cli(r.exitCode(), r.out(), r.err());
    }

    private static int amount() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT amount FROM billing WHERE id = 1");
        }
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }
}
