package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A policy like the demo's, whose only write rule holds every write ({@code writes: true}) and names no table. What
 * DDL of the session's own open transaction made run later was judged only when some rule named tables, and then only
 * by those rules: a helper's pass (a131) had one approved Query make a function that updates a table and a domain
 * whose CHECK calls it, and then ran the UPDATE unheld, as often as it liked, with {@code SELECT 16::dd} until
 * COMMIT (recorded as an allowed SELECT).
 */
class WriteRuleWithoutTablesThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 5s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ledger (id int primary key, amount int)");
            s.execute("INSERT INTO ledger VALUES (1, 100)");
            s.execute("GRANT ALL ON ledger TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void aCastRunningAWriteTheOpenTransactionMadeIsHeld() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Query("BEGIN"));
            c.untilReady();
            c.send(new FrontendMessage.Query("CREATE FUNCTION pg_temp.w(int) RETURNS bool LANGUAGE sql AS "
                    + "$$UPDATE public.ledger SET amount = 0 WHERE id = $1 RETURNING true$$; "
                    + "CREATE DOMAIN pg_temp.dd AS int CHECK (pg_temp.w(VALUE))"));
            String ddl = ApprovalsCli.awaitPendingId(warden, "CREATE FUNCTION");
            assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "approve", ddl).exitCode());
            assertEquals(List.of(), RawClient.errors(c.untilReady()), "the function and domain are made");
            for (String cast : List.of("SELECT 1::pg_temp.dd", "SELECT '{1}'::pg_temp.dd[]",
                    "SELECT pg_input_is_valid('1', 'pg_temp.dd')")) {
                c.send(new FrontendMessage.Query("SAVEPOINT s"));
                c.untilReady();
                c.send(new FrontendMessage.Query(cast));
                String held = ApprovalsCli.awaitPendingId(warden, "pg_temp.dd");
                assertEquals(100, amount(), cast + ": nothing ran while it waits");
                assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "deny", held).exitCode());
                assertFalse(RawClient.errors(c.untilReady()).isEmpty(), cast + ": denied");
                c.send(new FrontendMessage.Query("ROLLBACK TO SAVEPOINT s"));
                c.untilReady();
            }
            // A function the transaction renamed: the catalog Warden reads still has the committed one (none here).
            c.send(new FrontendMessage.Query("ALTER FUNCTION pg_temp.w(int) RENAME TO safe"));
            String rename = ApprovalsCli.awaitPendingId(warden, "RENAME TO safe");
            assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "approve", rename).exitCode());
            assertEquals(List.of(), RawClient.errors(c.untilReady()), "renamed");
            c.send(new FrontendMessage.Query("SELECT pg_temp.safe(1)"));
            String held = ApprovalsCli.awaitPendingId(warden, "pg_temp.safe(");
            assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "deny", held).exitCode());
            assertFalse(RawClient.errors(c.untilReady()).isEmpty(), "denied");
            c.send(new FrontendMessage.Query("ROLLBACK"));
            c.untilReady();
        }
        assertEquals(100, amount(), "the UPDATE never ran");
    }

    /**
     * a133 (F1, F3): what DDL of the open transaction made or replaced is reached in more ways than Warden follows
     * against the committed catalog: a temporary view calling a new writing function, an aggregate whose transition
     * function was replaced. Each read that may run them is now held until the transaction ends; a constant read is
     * not. (An operator's call is refused in production as unparsed.)
     */
    @Test
    void readsThatMayRunWhatTheOpenTransactionMadeAreHeld() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            approved(c, "CREATE FUNCTION pg_temp.f(int, int) RETURNS int LANGUAGE sql AS 'SELECT 1'",
                    "CREATE FUNCTION");
            approved(c, "CREATE AGGREGATE pg_temp.agg(int) (SFUNC = pg_temp.f, STYPE = int)", "CREATE AGGREGATE");
            c.send(new FrontendMessage.Query("BEGIN"));
            c.untilReady();
            approved(c, "CREATE OR REPLACE FUNCTION pg_temp.f(int, int) RETURNS int LANGUAGE sql AS "
                    + "$$UPDATE public.ledger SET amount = 0 WHERE id = $2 RETURNING 1$$; "
                    + "CREATE TEMP VIEW lv AS SELECT pg_temp.f(0, 1) AS x", "CREATE OR REPLACE FUNCTION");
            for (String read : List.of("SELECT * FROM lv", "EXPLAIN SELECT * FROM lv",
                    "SELECT pg_temp.agg(id) FROM public.ledger")) {
                c.send(new FrontendMessage.Query("SAVEPOINT s"));
                c.untilReady();
                c.send(new FrontendMessage.Query(read));
                String held = ApprovalsCli.awaitPendingId(warden, read);
                assertEquals(100, amount(), read + ": nothing ran while it waits");
                assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "deny", held).exitCode());
                assertFalse(RawClient.errors(c.untilReady()).isEmpty(), read + ": denied");
                c.send(new FrontendMessage.Query("ROLLBACK TO SAVEPOINT s"));
                c.untilReady();
            }
            c.send(new FrontendMessage.Query("SELECT 1"));
            assertEquals(List.of(), RawClient.errors(c.untilReady()), "a constant read runs nothing: not held");
            c.send(new FrontendMessage.Query("ROLLBACK"));
            c.untilReady();
        }
        assertEquals(100, amount(), "the UPDATE never ran");
    }

    /** Sends {@code sql}, approves its request (found by {@code text}) and waits for its answer, without errors. */
    private static void approved(RawClient c, String sql, String text) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        String id = ApprovalsCli.awaitPendingId(warden, text);
        assertEquals(0, ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "approve", id).exitCode());
        assertEquals(List.of(), RawClient.errors(c.untilReady()), sql);
    }

    private static int amount() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT amount FROM ledger WHERE id = 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
