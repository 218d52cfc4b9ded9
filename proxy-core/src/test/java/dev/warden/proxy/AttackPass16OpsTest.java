package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attacker pass 16 (ops): approvals, admin API, budgets. Each probe fails on the code it found a hole in. */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class AttackPass16OpsTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 60s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                  max_grant_uses: 3
                  max_grant_window: 10m
                guardrails:
                  rules:
                    - { name: ledger-kept, environments: [prod], match: { statements: [DELETE, UPDATE], tables: [public.ledger] }, action: block }
                    - { name: retry-reviewed, environments: [prod], match: { writes: true, tables: [public.retry_t] }, unless: { groups: [dba] }, action: require_approval, approvers: [dba], mode: retry }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        warden.directly("DROP TABLE IF EXISTS billing", "CREATE TABLE billing (id int primary key, amount int)",
                "INSERT INTO billing SELECT g, 100 FROM generate_series(1, 5) g",
                "DROP TABLE IF EXISTS retry_t", "CREATE TABLE retry_t (id int primary key, v int)",
                "INSERT INTO retry_t SELECT g, 100 FROM generate_series(1, 5) g",
                "DROP TABLE IF EXISTS ledger", "CREATE TABLE ledger (id int primary key, v int)",
                "INSERT INTO ledger SELECT g, 100 FROM generate_series(1, 5) g");
    }

    private static Connection alice(String extra) throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(), extra);
    }

    private static Object run(Connection c, String sql) {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
            return st.getUpdateCount();
        } catch (SQLException e) {
            return e;
        }
    }

    private static String state(Object o) {
        return o instanceof SQLException e ? e.getSQLState() + " " + e.getMessage() : String.valueOf(o);
    }

    private static String scalar(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    private static CliRun cli(String token, String... args) {
        return ApprovalsCli.run(warden, token, args);
    }

    private static RawClient raw() throws Exception {
        RawClient c = new RawClient(warden.port());
        c.login("prod", WardenHarness.USER, warden.token());
        return c;
    }

    /** Close and Parse of statement {@code name} as {@code sql} (one int parameter), then Sync: nothing runs. */
    private static java.util.List<dev.warden.pg.message.BackendMessage> reparse(RawClient c, String name, String sql)
            throws Exception {
        c.send(new dev.warden.pg.message.FrontendMessage.Close('S', name));
        c.send(new dev.warden.pg.message.FrontendMessage.Parse(name, sql, java.util.List.of(23)));
        c.send(new dev.warden.pg.message.FrontendMessage.Sync());
        return c.untilReady();
    }

    private static String text(java.util.List<dev.warden.pg.message.BackendMessage> answers) {
        StringBuilder sb = new StringBuilder();
        for (var m : answers) {
            sb.append(m instanceof dev.warden.pg.message.BackendMessage.ErrorResponse e
                    ? "E " + e.sqlState() + " " + e.message()
                    : m instanceof dev.warden.pg.message.BackendMessage.CommandComplete cc ? "C " + cc.tag()
                    : m.getClass().getSimpleName()).append("; ");
        }
        return sb.toString();
    }

    /** Sends {@code sql} as a simple Query; when it is held, {@code whenHeld} decides it (given the request id). */
    private static String query(RawClient c, String sql, java.util.function.Consumer<String> whenHeld)
            throws Exception {
        c.send(new dev.warden.pg.message.FrontendMessage.Query(sql));
        CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return text(c.untilReady());
            } catch (Exception e) {
                return "exception " + e;
            }
        });
        try {
            return answer.get(3, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            whenHeld.accept(ApprovalsCli.awaitPendingId(warden));
            return answer.get(15, TimeUnit.SECONDS);
        }
    }

    private static void deny(String id) {
        cli(ApprovalsCli.bobToken(warden), "deny", id, "--comment", "not this one");
    }

    /**
     * Hold mode, a grant of 3 uses for {@code EXECUTE p(1)}, where p was made by a protocol Parse as an UPDATE of one
     * row (a Parse needs no approval: "preparing runs nothing"). The grant is matched by the text "EXECUTE p(1)";
     * the requester Closes p and Parses it again as a DELETE of every row (again no approval) and sends
     * {@code EXECUTE p(1)}: it runs under the old grant, and no approver ever saw the DELETE.
     */
    @Test
    @org.junit.jupiter.api.Order(1)
    void aGrantForExecuteOfAPreparedNameCoversWhateverTheNameIsParsedAsLater() throws Exception {
        try (RawClient alice = raw()) {
            System.out.println("[pass16] Parse p (update): " + text(reparse(alice, "p",
                    "UPDATE billing SET amount = amount + 1 WHERE id = $1")));
            String first = query(alice, "EXECUTE p(1)", id -> {
                CliRun show = cli(ApprovalsCli.bobToken(warden), "show", id);
                System.out.println("[pass16] bob sees:\n" + show.out());
                CliRun approve = cli(ApprovalsCli.bobToken(warden), "approve", id, "--uses", "3", "--comment",
                        "one row bump, fine");
                assertEquals(0, approve.exitCode(), approve.out() + approve.err());
            });
            System.out.println("[pass16] approved EXECUTE p(1): " + first);
            assertEquals("101", scalar("SELECT amount FROM billing WHERE id = 1"), first);

            System.out.println("[pass16] Close+Parse p (delete): " + text(reparse(alice, "p",
                    "DELETE FROM billing WHERE id >= $1")));
            String second = query(alice, "EXECUTE p(1)", AttackPass16OpsTest::deny);
            String rows = scalar("SELECT count(*) FROM billing");
            System.out.println("[pass16] EXECUTE p(1) after p was parsed again as a DELETE: " + second
                    + " billing rows left: " + rows);
            assertEquals("5", rows, "the grant approved an UPDATE of row 1 (EXECUTE p(1)); EXECUTE p(1) of p parsed "
                    + "again as a DELETE ran under it: " + second);
        }
    }

    private static RawClient as(String user) throws Exception {
        RawClient c = new RawClient(warden.port());
        c.login("prod", user, warden.issuer.token().email(user).groups("eng").sign());
        return c;
    }

    /**
     * One user's flood of retry-mode requests (200 distinct statements, each filed at once, no session held)
     * pushes every decided record out of the 200 that ApprovalService#useGrant reads (store.list(LIST_LIMIT),
     * pending first): another user's approved grant (--uses 3) stops working, and her next use waits for a new
     * approval; approvers' lists show only the flood.
     */
    @Test
    @org.junit.jupiter.api.Order(9)
    void aFloodOfRetryRequestsByOneUserDisablesAnotherUsersGrant() throws Exception {
        String bump = "UPDATE billing SET amount = amount + 1 WHERE id = 2";
        try (RawClient carol = as("carol@example.com"); RawClient mallory = as("mallory@example.com")) {
            String first = query(carol, bump, id -> {
                CliRun approve = cli(ApprovalsCli.bobToken(warden), "approve", id, "--uses", "3");
                assertEquals(0, approve.exitCode(), approve.out() + approve.err());
            });
            String second = query(carol, bump, AttackPass16OpsTest::deny);
            System.out.println("[pass16] carol use 1: " + first + " use 2 (grant): " + second);
            assertEquals("102", scalar("SELECT amount FROM billing WHERE id = 2"), "control: the grant works");

            long t0 = System.nanoTime();
            String last = "";
            for (int i = 0; i < 201; i++) {
                last = query(mallory, "UPDATE retry_t SET v = " + i + " WHERE id = 1", AttackPass16OpsTest::deny);
            }
            System.out.println("[pass16] mallory filed 201 retry requests in " + (System.nanoTime() - t0) / 1_000_000
                    + " ms; last: " + last);
            CliRun list = cli(ApprovalsCli.bobToken(warden), "list", "--json");
            System.out.println("[pass16] bob's list: " + list.out().split("\"requester\"", -1).length
                    + " entries, of which carol's: " + (list.out().split("carol@example.com", -1).length - 1));

            String third = query(carol, bump, AttackPass16OpsTest::deny);
            String amount = scalar("SELECT amount FROM billing WHERE id = 2");
            System.out.println("[pass16] carol use 3 after the flood: " + third + " amount " + amount);
            assertEquals("103", amount, "carol's grant (3 uses, 1 left) no longer applies after mallory's flood: "
                    + third);
        }
    }
}
