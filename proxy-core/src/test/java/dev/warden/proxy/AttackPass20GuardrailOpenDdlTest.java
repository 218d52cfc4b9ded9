package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.warden.proxy.WardenHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacks on 959dff2 (guardrails judge a statement with other sessions' open DDL). Session A works in production
 * as {@code gw_login}; session B, an administrator in dev on the same database, where gw-ledger-kept does not
 * apply, tries to make A's statement run a body that empties {@code gw_ledger} although Warden judged it without.
 */
class AttackPass20GuardrailOpenDdlTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.startWithPreparedTransactions();
        try (Connection c = pg.connect("postgres"); java.sql.Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "gw_login"),
                WardenHarness.unmaskedWithRules(WardenHarness.LEDGER_KEPT));
        warden.makeLedger();
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection dev() throws SQLException {
        return warden.connect("dev", WardenHarness.USER, warden.token(),
                "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    private static void fillLedger() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
    }

    private static boolean someoneWaits() throws SQLException {
        try (Connection c = warden.direct()) {
            return WardenHarness.scalar(c, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'gw_login' "
                    + "AND wait_event_type = 'Lock'").equals("1");
        }
    }

    /** Runs {@code sql} on {@code a} on another thread; returns once it waits on a lock or was answered. */
    private static CompletableFuture<String> waiting(Connection a, String sql) throws Exception {
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> run(a, sql));
        for (int i = 0; i < 100 && !out.isDone() && !someoneWaits(); i++) {
            Thread.sleep(50);
        }
        return out;
    }

    private static final String WIPE = "CREATE FUNCTION ap_wipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
            + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$";

    /**
     * LEAK: B takes the lock first (LOCK TABLE, no DDL yet), so A's INSERT is judged with nothing open elsewhere,
     * allowed and sent; it waits on the lock. B then creates the trigger and commits: the server fires it for A's
     * row, and the ledger is emptied. Warden judges a statement once, when it is sent; DDL published while the
     * statement already waits upstream reaches no decision. Not fixed: a fix needs Warden to hold (or cancel)
     * DDL that would change what statements already in flight in other sessions run.
     */
    @Test
    @org.junit.jupiter.api.Disabled("LEAK: DDL published after another session's statement was judged and sent "
            + "upstream (it waits on the DDL session's earlier lock) changes what it runs; no small fix")
    void aLockTakenBeforeTheTriggerLetsTheWaitingInsertRunIt() throws Exception {
        fillLedger();
        try (Connection a = warden.prod(); Connection b = dev()) {
            assertNull(run(b, "CREATE TABLE ap_src (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_src TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_src IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> insert = waiting(a, "INSERT INTO ap_src VALUES (1)");
            assertTrue(someoneWaits(), "A's INSERT should wait on B's lock: " + (insert.isDone() ? insert.get() : ""));
            assertNull(run(b, WIPE));
            assertNull(run(b, "CREATE TRIGGER ap_t BEFORE INSERT ON ap_src FOR EACH ROW EXECUTE FUNCTION ap_wipe()"));
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_src", "DROP FUNCTION IF EXISTS ap_wipe()");
        }
    }

    /**
     * LEAK: B creates the trigger and PREPAREs the transaction. The server reports B idle, so Warden withdraws B's
     * DDL from what other sessions are judged with, but the prepared transaction keeps its locks and its trigger.
     * A's INSERT is judged by the committed catalog (no trigger), allowed, and waits on the prepared transaction's
     * lock; COMMIT PREPARED makes the trigger fire for A's row.
     */
    @Test
    @org.junit.jupiter.api.Disabled("LEAK: a prepared transaction's DDL stops counting for other sessions at the "
            + "PREPARE TRANSACTION's ReadyForQuery, though its locks and its DDL wait for COMMIT PREPARED")
    void aPreparedTransactionsTriggerFiresForAnInsertJudgedWithoutIt() throws Exception {
        fillLedger();
        try (Connection a = warden.prod(); Connection b = dev()) {
            assertNull(run(b, "CREATE TABLE ap_2pc (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_2pc TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, WIPE.replace("ap_wipe", "ap_wipe2")));
            assertNull(run(b, "CREATE TRIGGER ap_t2 BEFORE INSERT ON ap_2pc FOR EACH ROW EXECUTE FUNCTION ap_wipe2()"));
            assertNull(run(b, "PREPARE TRANSACTION 'ap_2pc'"));
            CompletableFuture<String> insert = waiting(a, "INSERT INTO ap_2pc VALUES (1)");
            boolean waited = someoneWaits();
            assertNull(run(b, "COMMIT PREPARED 'ap_2pc'"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error)
                    + ", A waited: " + waited);
        } finally {
            try (Connection c = warden.direct()) {
                run(c, "ROLLBACK PREPARED 'ap_2pc'");
            }
            warden.directly("DROP TABLE IF EXISTS ap_2pc", "DROP FUNCTION IF EXISTS ap_wipe2()");
        }
    }

    /**
     * Held (precision): B leaves a transaction open after a DO block that makes a table by dynamic SQL; A's
     * unrelated writes and reads in production stay allowed meanwhile, and B's DDL stops counting when B's session
     * closes.
     */
    @Test
    void anOpenDoBlockOfAnotherSessionAndUnrelatedWrites() throws Exception {
        fillLedger();
        try (Connection a = warden.prod(); Connection b = dev()) {
            assertNull(run(b, "CREATE TABLE ap_other (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_other TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "DO $$BEGIN EXECUTE 'CREATE TABLE ap_dyn' || '(id int)'; END$$"));
            assertNull(run(a, "INSERT INTO ap_other VALUES (1)"));
            assertNull(run(a, "SELECT count(*) FROM ap_other"));
            b.close();
            Thread.sleep(300);
            String afterB = run(a, "INSERT INTO ap_other VALUES (2)");
            assertNull(afterB, "B's session ended: its DDL stops counting");
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_other", "DROP TABLE IF EXISTS ap_dyn");
        }
    }
}
