package dev.warden.proxy;

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
        warden = WardenHarness.startGuardingLedgerWithPreparedTransactions();
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static final String WIPE = WardenHarness.WIPE_LEDGER_TRIGGER;

    /**
     * B takes the lock first (LOCK TABLE, no DDL yet), so A's INSERT is judged with nothing open elsewhere, allowed
     * and sent; it waits on the lock. B then creates the trigger and commits. Before, the server fired the trigger
     * for A's row and the ledger was emptied (Warden judges a statement once, when it is sent). Fixed: before B's
     * COMMIT is sent, the statements in flight elsewhere that B's DDL reaches are cancelled on the server, and the
     * COMMIT waits until they are answered. Then B's COMMIT goes through, and A's INSERT run again is judged with
     * the committed trigger.
     */
    @Test
    void aLockTakenBeforeTheTriggerLetsTheWaitingInsertRunIt() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_src (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_src TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_src IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_src VALUES (1)"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A's INSERT should wait on B's lock: "
                    + (insert.isDone() ? insert.get() : ""));
            assertNull(run(b, WIPE));
            assertNull(run(b, "CREATE TRIGGER ap_t BEFORE INSERT ON ap_src FOR EACH ROW EXECUTE FUNCTION ap_wipe()"));
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
            assertTrue(error != null && error.startsWith("57014"), "cancelled on the server: " + error);
            String again = run(a, "INSERT INTO ap_src VALUES (1)");
            assertTrue(again != null && again.startsWith("42501") && again.contains("gw-ledger-kept"), again);
            assertEquals("3/3", warden.ledger());
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_src", "DROP FUNCTION IF EXISTS ap_wipe()");
        }
    }

    /**
     * The same race without a COMMIT: B's extended-protocol batch builds an index in its implicit transaction (its
     * SHARE lock holds INSERTs; LOCK TABLE needs a transaction block) and flushes without Sync; A's INSERT is
     * judged with that harmless DDL open, allowed, sent, and waits; B then creates the trigger and sends Sync,
     * which commits. The Sync, like a COMMIT, first has A's INSERT cancelled.
     */
    @Test
    void aSyncThatCommitsAnImplicitTransactionsDdlCancelsTheWaitingInsert() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection setup = warden.devAdmin();
             RawClient b = new RawClient(warden.port())) {
            assertNull(run(setup, "CREATE TABLE ap_isrc (id int)"));
            assertNull(run(setup, "GRANT ALL ON ap_isrc TO gw_login"));
            assertNull(run(setup, WIPE.replace("ap_wipe", "ap_wipe6")));
            b.login("dev", WardenHarness.USER, warden.token());
            extended(b, "CREATE INDEX ap_isrc_i ON ap_isrc (id)");
            b.send(new dev.warden.pg.message.FrontendMessage.Flush());
            for (int i = 0; i < 3; i++) {
                b.readFrame(); // ParseComplete, BindComplete, CommandComplete: the lock is held
            }
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_isrc VALUES (1)"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A's INSERT should wait on B's lock");
            extended(b, "CREATE TRIGGER ap_t6 BEFORE INSERT ON ap_isrc FOR EACH ROW EXECUTE FUNCTION ap_wipe6()");
            b.send(new dev.warden.pg.message.FrontendMessage.Sync());
            String committed = WardenHarness.answer(b);
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error) + ", B: "
                    + committed);
            assertTrue(error != null && error.startsWith("57014"), "cancelled on the server: " + error);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_isrc", "DROP FUNCTION IF EXISTS ap_wipe6() CASCADE");
        }
    }

    private static void extended(RawClient client, String sql) throws java.io.IOException {
        client.send(new dev.warden.pg.message.FrontendMessage.Parse("", sql, java.util.List.of()));
        client.send(new dev.warden.pg.message.FrontendMessage.Bind("", "", java.util.List.of(), java.util.List.of(),
                java.util.List.of()));
        client.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
    }

    /**
     * Precision of the fix above: B's COMMIT cancels only what its DDL reaches. A view made in B's transaction
     * reaches neither A's sleep nor A2's INSERT waiting on B's lock of another table: both run to the end.
     */
    @Test
    void aCommitOfDdlLeavesStatementsItDoesNotReachRunning() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection a2 = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_far (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_far TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_far IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> sleep = CompletableFuture.supplyAsync(() -> run(a, "SELECT pg_sleep(1.5)"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a2, "INSERT INTO ap_far VALUES (1)"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A2's INSERT should wait on B's lock");
            assertNull(run(b, "CREATE VIEW ap_near AS SELECT 1 AS one"));
            assertNull(run(b, "COMMIT"));
            assertNull(sleep.get(30, TimeUnit.SECONDS), "B's DDL does not reach A's statement");
            assertNull(insert.get(30, TimeUnit.SECONDS), "B's DDL does not reach A2's INSERT");
            assertEquals("1", WardenHarness.scalar(a, "SELECT count(*) FROM ap_far"));
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_far", "DROP VIEW IF EXISTS ap_near");
        }
    }

    /**
     * Precision, and no denial of service: a trigger B commits counts for every read or write (Warden does not know
     * which relations reach it), but only statements that wait on B's locks are cancelled. A's slow read of another
     * table, in flight throughout, runs to the end; a loop of such commits cancels nothing of A's.
     */
    @Test
    void aCommittedTriggerCancelsNothingThatDoesNotWaitOnItsLocks() throws Exception {
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_own (id int)"));
            assertNull(run(b, "CREATE TABLE ap_read (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_read TO gw_login"));
            assertNull(run(b, WIPE.replace("ap_wipe", "ap_wipe7")));
            CompletableFuture<String> read = CompletableFuture.supplyAsync(() -> run(a,
                    "SELECT count(*), pg_sleep(1.5) FROM ap_read"));
            Thread.sleep(300);
            for (int i = 0; i < 3; i++) {
                assertNull(run(b, "BEGIN"));
                assertNull(run(b, "CREATE OR REPLACE TRIGGER ap_t7 BEFORE INSERT ON ap_own FOR EACH ROW EXECUTE "
                        + "FUNCTION ap_wipe7()"));
                assertNull(run(b, "COMMIT"));
            }
            assertNull(read.get(30, TimeUnit.SECONDS), "A's read waits on nothing of B's");
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_own, ap_read", "DROP FUNCTION IF EXISTS ap_wipe7() CASCADE");
        }
    }

    /**
     * LEAK: B creates the trigger and PREPAREs the transaction. The server reports B idle, so Warden withdraws B's
     * DDL from what other sessions are judged with, but the prepared transaction keeps its locks and its trigger.
     * A's INSERT is judged by the committed catalog (no trigger), allowed, and waits on the prepared transaction's
     * lock; COMMIT PREPARED makes the trigger fire for A's row. Fixed: a prepared transaction's DDL counts for every
     * session until a COMMIT or ROLLBACK PREPARED of its id is answered; after a ROLLBACK PREPARED, A's INSERT runs.
     */
    @Test
    void aPreparedTransactionsTriggerFiresForAnInsertJudgedWithoutIt() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_2pc (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_2pc TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, WIPE.replace("ap_wipe", "ap_wipe2")));
            assertNull(run(b, "CREATE TRIGGER ap_t2 BEFORE INSERT ON ap_2pc FOR EACH ROW EXECUTE FUNCTION ap_wipe2()"));
            // A comment before it: Warden must still see a PREPARE TRANSACTION.
            assertNull(run(b, "/* x */ PREPARE /* y */ TRANSACTION 'ap_2pc'"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_2pc VALUES (1)"));
            boolean waited = warden.gwLoginWaitsOnALock();
            assertNull(run(b, "COMMIT PREPARED 'ap_2pc'"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error)
                    + ", A waited: " + waited);
            assertTrue(error != null && error.startsWith("42501") && error.contains("gw-ledger-kept"), error);

            assertNull(run(b, "CREATE TABLE ap_2pc_b (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_2pc_b TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE TRIGGER ap_t3 BEFORE INSERT ON ap_2pc_b FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_wipe2()"));
            assertNull(run(b, "PREPARE TRANSACTION 'ap_2pc_b'"));
            String meanwhile = run(a, "INSERT INTO ap_2pc_b VALUES (1)");
            assertTrue(meanwhile != null && meanwhile.contains("gw-ledger-kept"), meanwhile);
            String notTheirs = run(a, "ROLLBACK PREPARED 'ap_2pc_b'");
            assertTrue(notTheirs != null && notTheirs.startsWith("42501"), "only its preparer: " + notTheirs);
            meanwhile = run(a, "INSERT INTO ap_2pc_b VALUES (1)");
            assertTrue(meanwhile != null && meanwhile.contains("gw-ledger-kept"), "a failed ROLLBACK PREPARED ended "
                    + "nothing: " + meanwhile);
            assertNull(run(b, "ROLLBACK PREPARED 'ap_2pc_b'"));
            assertNull(run(a, "INSERT INTO ap_2pc_b VALUES (2)"), "rolled back: the trigger is gone");
            assertEquals("3/3", warden.ledger());
        } finally {
            try (Connection c = warden.direct()) {
                run(c, "ROLLBACK PREPARED 'ap_2pc'");
                run(c, "ROLLBACK PREPARED 'ap_2pc_b'");
            }
            warden.directly("DROP TABLE IF EXISTS ap_2pc", "DROP TABLE IF EXISTS ap_2pc_b",
                    "DROP FUNCTION IF EXISTS ap_wipe2() CASCADE");
        }
    }

    /**
     * LEAK: B calls, in an open transaction, a function that creates the trigger by dynamic SQL (EXECUTE of a
     * computed text, which Warden cannot name): B's open DDL then makes nothing unreadable for other sessions. A's
     * INSERT into the table is allowed, waits on the trigger's lock, and runs the trigger B commits: the ledger is
     * emptied. A DO block's EXECUTE is the same. Not fixed: reading dynamic SQL as "everything changed" would refuse
     * nearly every production statement while any session on the database has such a call in an open transaction.
     */
    @Test
    @org.junit.jupiter.api.Disabled("LEAK: DDL run by dynamic SQL (a function's or DO block's EXECUTE) in an open "
            + "transaction counts for no other session; the fix trades away precision for every session")
    void aTriggerMadeByDynamicSqlInAnOpenTransactionCounts() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_dsrc (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_dsrc TO gw_login"));
            assertNull(run(b, WIPE.replace("ap_wipe", "ap_wipe3")));
            assertNull(run(b, "CREATE FUNCTION ap_mk() RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE 'CREATE '"
                    + " || 'TRIGGER ap_t4 BEFORE INSERT ON ap_dsrc FOR EACH ROW EXECUTE FUNCTION ap_wipe3()'; "
                    + "RETURN 1; END$$"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "SELECT ap_mk()"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_dsrc VALUES (1)"));
            boolean waited = warden.gwLoginWaitsOnALock();
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error)
                    + ", A waited: " + waited);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_dsrc", "DROP FUNCTION IF EXISTS ap_wipe3() CASCADE",
                    "DROP FUNCTION IF EXISTS ap_mk()");
        }
    }

    /**
     * Held: A parses its INSERT (judged, allowed) before B opens the trigger's DDL; A's Bind and Execute after it
     * are judged again with B's open DDL, not by the decision remembered at Parse.
     */
    @Test
    void aStatementParsedBeforeTheDdlIsJudgedAgainAtExecute() throws Exception {
        warden.fillLedger();
        try (RawClient a = new RawClient(warden.port()); Connection b = warden.devAdmin()) {
            a.login("prod", WardenHarness.USER, warden.token());
            assertNull(run(b, "CREATE TABLE ap_psrc (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_psrc TO gw_login"));
            a.send(new dev.warden.pg.message.FrontendMessage.Parse("ins", "INSERT INTO ap_psrc VALUES (1)",
                    java.util.List.of()));
            a.send(new dev.warden.pg.message.FrontendMessage.Bind("", "ins", java.util.List.of(), java.util.List.of(),
                    java.util.List.of()));
            a.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            a.send(new dev.warden.pg.message.FrontendMessage.Sync());
            String first = WardenHarness.answer(a);
            assertTrue(first.contains("C") && !first.contains("E"), first);
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, WIPE.replace("ap_wipe", "ap_wipe5")));
            assertNull(run(b, "CREATE TRIGGER ap_t5 BEFORE INSERT ON ap_psrc FOR EACH ROW EXECUTE FUNCTION ap_wipe5()"));
            a.send(new dev.warden.pg.message.FrontendMessage.Bind("", "ins", java.util.List.of(), java.util.List.of(),
                    java.util.List.of()));
            a.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            a.send(new dev.warden.pg.message.FrontendMessage.Sync());
            Thread.sleep(500);
            boolean waited = warden.gwLoginWaitsOnALock();
            assertNull(run(b, "COMMIT"));
            String second = WardenHarness.answer(a);
            assertEquals("3/3", warden.ledger(), "Warden: " + second + ", A waited: " + waited);
            assertTrue(second.contains("gw-ledger-kept"), second);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_psrc", "DROP FUNCTION IF EXISTS ap_wipe5() CASCADE");
        }
    }

    /**
     * Held: other DDL in B's open transaction that makes A's INSERT (which then waits on B's lock) write the ledger:
     * a rule, a disabled trigger enabled again, a column default calling a deleting function, and a trigger's
     * function replaced (with the table locked). Each case: {setup committed, B's open DDL, A's statement}.
     */
    @Test
    void otherDdlInAnOpenTransactionCounts() throws Exception {
        String wipeInt = "CREATE FUNCTION ap_wi() RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN 1; END$$";
        String[][] cases = {
                {"SELECT 1", "CREATE RULE ap_r AS ON INSERT TO ap_o DO ALSO DELETE FROM public.gw_ledger WHERE id > 0",
                        "INSERT INTO ap_o VALUES (1)"},
                {WIPE.replace("ap_wipe", "ap_wo") + ";CREATE TRIGGER ap_to BEFORE INSERT ON ap_o FOR EACH ROW "
                        + "EXECUTE FUNCTION ap_wo();ALTER TABLE ap_o DISABLE TRIGGER ap_to",
                        "ALTER TABLE ap_o ENABLE TRIGGER ap_to", "INSERT INTO ap_o VALUES (1)"},
                {wipeInt, "ALTER TABLE ap_o ALTER COLUMN id SET DEFAULT ap_wi()", "INSERT INTO ap_o DEFAULT VALUES"},
                {"CREATE FUNCTION ap_wo() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
                        + "CREATE TRIGGER ap_to BEFORE INSERT ON ap_o FOR EACH ROW EXECUTE FUNCTION ap_wo()",
                        WIPE.replace("CREATE FUNCTION ap_wipe", "CREATE OR REPLACE FUNCTION ap_wo")
                                + ";LOCK TABLE ap_o IN ACCESS EXCLUSIVE MODE", "INSERT INTO ap_o VALUES (1)"},
        };
        java.util.List<String> failures = new java.util.ArrayList<>();
        for (String[] c : cases) {
            warden.fillLedger();
            try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
                assertNull(run(b, "CREATE TABLE ap_o (id int)"));
                assertNull(run(b, "GRANT ALL ON ap_o TO gw_login"));
                assertNull(run(b, c[0]));
                assertNull(run(b, "BEGIN"));
                assertNull(run(b, c[1]));
                CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, c[2]));
                boolean waited = warden.gwLoginWaitsOnALock();
                assertNull(run(b, "COMMIT"));
                String error = insert.get(30, TimeUnit.SECONDS);
                if (!warden.ledger().equals("3/3") || error == null || !error.contains("gw-ledger-kept")) {
                    failures.add(c[1] + ": ledger " + warden.ledger() + ", Warden " + error + ", waited " + waited);
                }
            } finally {
                warden.directly("DROP TABLE IF EXISTS ap_o", "DROP FUNCTION IF EXISTS ap_wo() CASCADE",
                        "DROP FUNCTION IF EXISTS ap_wi() CASCADE");
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /**
     * LEAK (denial of service): B (dev) renames a schema it made in a transaction it leaves open; Warden reads that as
     * "any name may mean something else" (Unreadable everything), now for every session on the database in any
     * environment. Meanwhile every production statement under a rule is refused, even {@code SELECT count(*)} of an
     * unrelated table ("Warden could not read what count() does"), for as long as B stays idle in its transaction.
     * Not fixed: naming what a schema rename changes (names through it, and unqualified names by search_path) is
     * more than a small change; a bound on how long another session's open DDL counts is a policy choice.
     */
    @Test
    @org.junit.jupiter.api.Disabled("LEAK (DoS): one session's open ALTER SCHEMA RENAME refuses every production "
            + "statement on the database until it ends")
    void anOpenSchemaRenameElsewhere() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE SCHEMA ap_s"));
            assertNull(run(b, "CREATE TABLE ap_free (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_free TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "ALTER SCHEMA ap_s RENAME TO ap_s2"));
            String read = run(a, "SELECT count(*) FROM ap_free");
            String write = run(a, "INSERT INTO ap_free VALUES (1)");
            assertNull(run(b, "ROLLBACK"));
            assertNull(run(a, "INSERT INTO ap_free VALUES (2)"), "B's transaction ended");
            assertNull(read, "a read of an unrelated table, while B's rename is open");
            assertNull(write, "a write of an unrelated table, while B's rename is open");
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_free", "DROP SCHEMA IF EXISTS ap_s CASCADE");
        }
    }

    /** Held: B sends its CREATE TRIGGER by the extended protocol (Parse, Bind, Execute); it counts the same. */
    @Test
    void aTriggerCreatedByTheExtendedProtocolCounts() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); RawClient b = new RawClient(warden.port())) {
            b.login("dev", WardenHarness.USER, warden.token());
            warden.directly("CREATE TABLE ap_x (id int)", "GRANT ALL ON ap_x TO gw_login",
                    WIPE.replace("ap_wipe", "ap_wx"));
            b.send(new dev.warden.pg.message.FrontendMessage.Query("BEGIN"));
            assertTrue(!WardenHarness.answer(b).contains("E"));
            b.send(new dev.warden.pg.message.FrontendMessage.Parse("", "CREATE TRIGGER ap_tx BEFORE INSERT ON ap_x "
                    + "FOR EACH ROW EXECUTE FUNCTION ap_wx()", java.util.List.of()));
            b.send(new dev.warden.pg.message.FrontendMessage.Bind("", "", java.util.List.of(), java.util.List.of(),
                    java.util.List.of()));
            b.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            b.send(new dev.warden.pg.message.FrontendMessage.Sync());
            String created = WardenHarness.answer(b);
            assertTrue(!created.contains("E"), created);
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_x VALUES (1)"));
            b.send(new dev.warden.pg.message.FrontendMessage.Query("COMMIT"));
            WardenHarness.answer(b);
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + error);
            assertTrue(error != null && error.contains("gw-ledger-kept"), error);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_x", "DROP FUNCTION IF EXISTS ap_wx() CASCADE");
        }
    }

    /**
     * Held (precision): B leaves a transaction open after a DO block that makes a table by dynamic SQL; A's
     * unrelated writes and reads in production stay allowed meanwhile, and B's DDL stops counting when B's session
     * closes.
     */
    @Test
    void anOpenDoBlockOfAnotherSessionAndUnrelatedWrites() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
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
