package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.warden.proxy.WardenHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacks on e907bd4 and 5ceac0a (a COMMIT or Sync of DDL first cancels the other sessions' statements in flight
 * that the DDL reaches). As in AttackPass20GuardrailOpenDdlTest: session A works in production as {@code gw_login}
 * under gw-ledger-kept; session B, an administrator in dev on the same database, takes a lock first, so A's
 * statement is judged with nothing open elsewhere and waits; B then makes DDL that would have A's statement empty
 * {@code gw_ledger}, and commits.
 */
class AttackPass21Test {

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
     * B replaces the body of a trigger function already on A's table. A's INSERT names the table, not the
     * function: does the COMMIT's reach check see it?
     */
    @Test
    void aTriggerFunctionReplacedAfterTheLockReachesTheWaitingInsert() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_rt (id int)", "GRANT ALL ON ap_rt TO gw_login",
                    "CREATE FUNCTION ap_rtf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                    "CREATE TRIGGER ap_rtt BEFORE INSERT ON ap_rt FOR EACH ROW EXECUTE FUNCTION ap_rtf()");
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_rt IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_rt VALUES (1)"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A's INSERT should wait on B's lock");
            assertNull(run(b, WIPE.replace("CREATE FUNCTION ap_wipe", "CREATE OR REPLACE FUNCTION ap_rtf")));
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_rt", "DROP FUNCTION IF EXISTS ap_rtf() CASCADE");
        }
    }

    /** A's statement writes the table inside a function it calls: its text names no relation. */
    @Test
    void aWriteInsideACalledFunctionReachesTheTrigger() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_fw (id int)", "GRANT ALL ON ap_fw TO gw_login",
                    "CREATE FUNCTION ap_fwi() RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                            + "INSERT INTO public.ap_fw VALUES (1); RETURN 1; END$$",
                    WIPE.replace("ap_wipe", "ap_fwwipe"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_fw IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> call = warden.waitingOnALock(() -> run(a, "SELECT ap_fwi()"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A's call should wait on B's lock: "
                    + (call.isDone() ? call.get() : ""));
            assertNull(run(b, "CREATE TRIGGER ap_fwt BEFORE INSERT ON ap_fw FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_fwwipe()"));
            assertNull(run(b, "COMMIT"));
            String error = call.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_fw", "DROP FUNCTION IF EXISTS ap_fwi()",
                    "DROP FUNCTION IF EXISTS ap_fwwipe() CASCADE");
        }
    }

    /**
     * B's extended batch builds an index (its lock holds INSERTs), creates the trigger, then CALLs a procedure that
     * COMMITs: the implicit transaction is committed by the CALL, before the Sync Warden watches. Before, A's
     * INSERT was not cancelled and the ledger was emptied; now a CALL or DO sent while the session was idle at its
     * last ReadyForQuery withdraws as a COMMIT does.
     */
    @Test
    void aProcedureThatCommitsInsideAnExtendedBatch() throws Exception {
        committedInsideAnExtendedBatch("CALL ap_commit()");
    }

    /** As above, by a DO block that COMMITs (dev: production refuses DO blocks). */
    @Test
    void aDoBlockThatCommitsInsideAnExtendedBatch() throws Exception {
        committedInsideAnExtendedBatch("DO $$BEGIN COMMIT; END$$");
    }

    private void committedInsideAnExtendedBatch(String commit) throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); RawClient b = new RawClient(warden.port())) {
            warden.directly("CREATE TABLE ap_pc (id int)", "GRANT ALL ON ap_pc TO gw_login",
                    WIPE.replace("ap_wipe", "ap_pcw"),
                    "CREATE PROCEDURE ap_commit() LANGUAGE plpgsql AS $$BEGIN COMMIT; END$$");
            b.login("dev", WardenHarness.USER, warden.token());
            extended(b, "CREATE INDEX ap_pc_i ON ap_pc (id)");
            b.send(new FrontendMessage.Flush());
            for (int i = 0; i < 3; i++) {
                b.readFrame();
            }
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_pc VALUES (1)"));
            assertTrue(warden.gwLoginWaitsOnALock(), "A's INSERT should wait on B's lock");
            extended(b, "CREATE TRIGGER ap_pct BEFORE INSERT ON ap_pc FOR EACH ROW EXECUTE FUNCTION ap_pcw()");
            extended(b, commit);
            b.send(new FrontendMessage.Flush());
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < 6; i++) {
                seen.append(frame(b.readFrame()));
            }
            Thread.sleep(500);
            String ledgerBeforeSync = warden.ledger();
            b.send(new FrontendMessage.Sync());
            String synced = WardenHarness.answer(b);
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", ledgerBeforeSync, "Warden: " + (error == null ? "let it run" : error) + ", B: "
                    + seen + " " + synced);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_pc", "DROP FUNCTION IF EXISTS ap_pcw() CASCADE",
                    "DROP PROCEDURE IF EXISTS ap_commit()");
        }
    }

    /**
     * LEAK (denial of service, fixed): C, any session on the database (here production, as gw_login), runs a
     * statement that reads a table of its own and traps the cancel (a PL/pgSQL function with {@code EXCEPTION WHEN
     * query_canceled}; a DO block is refused in production). B's COMMIT of a trigger on a table C never touches was
     * refused (42501 ddl-commit-waits) for as long as C kept it up: every COMMIT of a trigger, rule, default or
     * function anywhere on the database, in every environment. (Since 3541927 a statement is cancelled only when it
     * waits on B's locks or may start a statement after B's COMMIT, as C's function body may.) Now a statement that
     * ignores the cancel for 5 s has its backend terminated (which no handler traps): C's session ends with the
     * server's 57P01, and B's COMMIT goes through.
     */
    @Test
    void aStatementThatTrapsTheCancelRefusesEveryoneElsesDdlCommit() throws Exception {
        try (Connection c = warden.prod(); Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_dos (id int)", "GRANT ALL ON ap_dos TO gw_login",
                    "CREATE FUNCTION ap_dosf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
            createStubborn();
            CompletableFuture<String> stubborn = CompletableFuture.supplyAsync(() -> run(c, "SELECT ap_stubborn()"));
            Thread.sleep(500);
            assertTrue(!stubborn.isDone(), "C's statement runs: " + (stubborn.isDone() ? stubborn.get() : ""));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE TABLE ap_mine (id int)"));
            assertNull(run(b, "CREATE TRIGGER ap_minet BEFORE INSERT ON ap_mine FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_dosf()"));
            String commit = run(b, "COMMIT");
            run(b, "ROLLBACK");
            String trapped = stubborn.get(30, TimeUnit.SECONDS);
            assertNull(commit, "C: " + trapped + "; B's COMMIT of a trigger on its own new table, while C reads ap_dos");
            assertTrue(trapped != null && trapped.startsWith("57P01"), "C's session ends, terminated: " + trapped);
            String ended = "";
            for (int tries = 0; tries < 50 && !ended.contains("terminated"); tries++) {
                Thread.sleep(100);
                ended = dev.warden.audit.query.AuditReader.of(warden.auditDir())
                        .search(dev.warden.audit.query.AuditFilter.all()).stream()
                        .map(dev.warden.audit.query.AuditReader.Line::record)
                        .filter(r -> r.type().equals("session.end"))
                        .map(r -> r.get("reason").asText()).filter(r -> r.startsWith("terminated")).findFirst()
                        .orElse("");
            }
            assertEquals("terminated: a statement ignored the cancel of another session's DDL COMMIT", ended);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_dos", "DROP TABLE IF EXISTS ap_mine",
                    "DROP FUNCTION IF EXISTS ap_dosf() CASCADE", "DROP FUNCTION IF EXISTS ap_stubborn()");
        }
    }

    /**
     * Reviewer's attack on the judgement's stamp: B's statement that commits DDL waits while the other sessions'
     * statements it reaches are cancelled (here up to 5 s, C's trapping the cancel until it is terminated). D, in
     * that moment, puts a trigger on the table B's statement writes and commits it through Warden. B's statement was
     * judged before the trigger existed; the stamp of its judgement was read only after the wait, so D's trigger
     * counted as seen, and the INSERT ran it unjudged. Now the stamp is read before the judgement: refused
     * (judged-before-ddl), and the trigger never runs.
     */
    @Test
    void aTriggerCommittedWhileACommitWaitsForOtherSessionsIsNotRunUnjudged() throws Exception {
        try (Connection c = warden.prod(); Connection b = warden.devAdmin(); Connection d = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_dos (id int)", "GRANT ALL ON ap_dos TO gw_login",
                    "CREATE TABLE ap_tgt (id int)", "CREATE TABLE ap_witness (id int)",
                    "CREATE FUNCTION ap_dosf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                    "CREATE FUNCTION ap_witnessf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                            + "INSERT INTO public.ap_witness VALUES (1); RETURN NEW; END$$");
            createStubborn();
            CompletableFuture<String> stubborn = CompletableFuture.supplyAsync(() -> run(c, "SELECT ap_stubborn()"));
            Thread.sleep(500);
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE TABLE ap_mine4 (id int)"));
            assertNull(run(b, "CREATE TRIGGER ap_mine4t BEFORE INSERT ON ap_mine4 FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_dosf()"));
            CompletableFuture<String> commit = CompletableFuture.supplyAsync(() ->
                    run(b, "INSERT INTO public.ap_tgt VALUES (1); COMMIT"));
            Thread.sleep(1500);
            assertTrue(!commit.isDone(), "B's statement waits for C's to be withdrawn: " + commit.getNow(""));
            assertNull(run(d, "CREATE TRIGGER ap_tgtt BEFORE INSERT ON public.ap_tgt FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_witnessf()"));
            String result = commit.get(30, TimeUnit.SECONDS);
            run(b, "ROLLBACK");
            stubborn.get(30, TimeUnit.SECONDS);
            String witnessed;
            try (Connection direct = warden.direct()) {
                witnessed = WardenHarness.scalar(direct, "SELECT count(*) FROM public.ap_witness");
            }
            assertEquals("0", witnessed, "D's trigger ran with B's INSERT: " + result);
            assertTrue(result != null && result.startsWith("42501") && result.contains("judged-before-ddl"),
                    String.valueOf(result));
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_dos", "DROP TABLE IF EXISTS ap_mine4",
                    "DROP TABLE IF EXISTS ap_tgt", "DROP TABLE IF EXISTS ap_witness",
                    "DROP FUNCTION IF EXISTS ap_dosf() CASCADE", "DROP FUNCTION IF EXISTS ap_witnessf() CASCADE",
                    "DROP FUNCTION IF EXISTS ap_stubborn()");
        }
    }

    /** ap_stubborn(): reads ap_dos every 50 ms for 12 s, and traps every cancel ({@link #trapped}). */
    private static void createStubborn() throws SQLException {
        warden.directly("CREATE FUNCTION ap_stubborn() RETURNS int LANGUAGE plpgsql AS $$DECLARE "
                + "t0 timestamptz := clock_timestamp(); BEGIN " + trapped(3, "WHILE clock_timestamp() < t0 + "
                + "interval '12 s' LOOP PERFORM count(*) FROM public.ap_dos; PERFORM pg_sleep(0.05); END LOOP; "
                + "RETURN 1;") + " END$$");
    }

    /**
     * PL/pgSQL that runs {@code body} again each time a cancel lands in it, nested {@code depth} deep. PL/pgSQL checks
     * for interrupts outside the block it just left: in an empty handler, and before a loop's next pass. With one
     * block, a cancel sent again (Warden sends one every 100 ms) that landed in that moment ended the statement (twice
     * in full runs, 2026-12-05); each level's own check sits inside the level around it, so escaping takes one more
     * cancel landing in that moment per level.
     */
    private static String trapped(int depth, String body) {
        String inner = body;
        for (int level = 0; level < depth; level++) {
            inner = "LOOP BEGIN " + inner + " EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP;";
        }
        return inner;
    }

    /**
     * The same denial of service without a PL/pgSQL trap (attacker pass of 350a185): C sends a SELECT that calls a
     * user function for each of many wide rows, and stops reading. Warden stops reading C's upstream, the backend
     * waits to send and takes no cancel, so B's COMMIT of a trigger waited for it; once terminated, the backend
     * cannot send its FATAL either, and C's session (its FATAL unread) stayed open, so the COMMIT was refused after
     * all. Now the backend's end counts as the answer: the COMMIT goes through, and C's session is closed.
     */
    @Test
    void aSessionThatStopsReadingIsTerminatedAndTheCommitGoesThrough() throws Exception {
        try (Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_slow (id int)", "GRANT ALL ON ap_slow TO gw_login",
                    "CREATE FUNCTION ap_slowf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                    "CREATE FUNCTION ap_wide(i int) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                            + "PERFORM count(*) FROM public.ap_slow; RETURN repeat('x', 2000); END$$");
            try (RawClient c = new RawClient(warden.port(), 4096)) {
                c.login("prod", WardenHarness.USER, warden.token());
                c.send(new FrontendMessage.Query("SELECT ap_wide(g) FROM generate_series(1, 200000) g"));
                Thread.sleep(1500);
                assertNull(run(b, "BEGIN"));
                assertNull(run(b, "CREATE TABLE ap_mine3 (id int)"));
                assertNull(run(b, "CREATE TRIGGER ap_mine3t BEFORE INSERT ON ap_mine3 FOR EACH ROW EXECUTE FUNCTION "
                        + "ap_slowf()"));
                long t0 = System.nanoTime();
                String commit = run(b, "COMMIT");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                run(b, "ROLLBACK");
                assertNull(commit, "B's COMMIT after " + ms + " ms, while C does not read");
                // C's session ends: what Warden had buffered, then the end of the stream.
                c.socket.setSoTimeout(15_000);
                byte[] buffer = new byte[1 << 16];
                long drained = 0;
                int n;
                try {
                    while ((n = c.readRaw(buffer)) > 0) {
                        drained += n;
                    }
                } catch (java.net.SocketException reset) {
                    n = -1; // closed with unread data: a reset is an end too
                }
                assertTrue(n == -1, "C's session was closed after " + drained + " bytes");
            }
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_slow", "DROP TABLE IF EXISTS ap_mine3",
                    "DROP FUNCTION IF EXISTS ap_slowf() CASCADE", "DROP FUNCTION IF EXISTS ap_wide(int)");
        }
    }

    /**
     * Denial of service, held since 3541927: C, a second production session of gw_login (no privilege but the
     * default TEMP), commits a trigger on a temporary table it just made, calling a function in its own pg_temp:
     * nothing another session can have touched. Found against e907bd4: every statement in flight on the database
     * that read or wrote a relation was cancelled, and A's report of an unrelated table got 57014. Now only what
     * waits on C's locks, or may start a statement after C's COMMIT, is cancelled: A's single running statement
     * runs to the end.
     */
    @Test
    void aTriggerOnATemporaryTableCancelsAnUnrelatedReport() throws Exception {
        try (Connection a = warden.prod(); Connection c = warden.prod()) {
            warden.directly("CREATE TABLE ap_report (id int)", "GRANT ALL ON ap_report TO gw_login");
            CompletableFuture<String> report = CompletableFuture.supplyAsync(() -> run(a,
                    "SELECT count(*) FROM ap_report, pg_sleep(2)"));
            Thread.sleep(500);
            assertNull(run(c, "BEGIN"));
            assertNull(run(c, "CREATE TEMP TABLE ap_scratch (id int)"));
            assertNull(run(c, "CREATE FUNCTION pg_temp.ap_nof() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN RETURN NEW; END$$"));
            assertNull(run(c, "CREATE TRIGGER ap_scratcht BEFORE INSERT ON ap_scratch FOR EACH ROW EXECUTE FUNCTION "
                    + "pg_temp.ap_nof()"));
            assertNull(run(c, "COMMIT"));
            assertNull(report.get(30, TimeUnit.SECONDS), "C's trigger is on a temporary table A cannot have touched");
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_report");
        }
    }

    /**
     * The approval path (2ab39c7): A's UPDATE of billing waits for approval; billing has a trigger whose function
     * is harmless when A is judged. Meanwhile an administrator replaces that function's body (through Warden, in
     * another environment on the database) with one that empties billing_audit, which a block rule keeps; then an
     * approver approves. The UPDATE names billing, not the function. Before, the approved UPDATE ran the new body
     * and billing_audit was emptied (the check of 2ab39c7 compared the names the UPDATE's text gives). Fixed: DDL
     * of a function, procedure or aggregate during the wait makes any approved statement that reads or writes a
     * relation or calls a function outdated (42501 approval-outdated); run again, it is blocked.
     */
    @Test
    void aTriggerFunctionReplacedWhileAnUpdateWaitsForApproval() throws Exception {
        try (WardenHarness approvals = approvalsHarness()) {
            try (Connection admin = approvals.connect("")) {
                for (String sql : List.of("CREATE TABLE billing (id int primary key, amount int)",
                        "INSERT INTO billing VALUES (1, 100)", "CREATE TABLE billing_audit (id int)",
                        "INSERT INTO billing_audit VALUES (1), (2)",
                        "CREATE FUNCTION billing_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                        "CREATE TRIGGER billing_t BEFORE UPDATE ON billing FOR EACH ROW EXECUTE FUNCTION "
                                + "billing_touch()")) {
                    assertNull(run(admin, sql), sql);
                }
            }
            try (Connection alice = approvals.connect("prod", WardenHarness.USER, approvals.token(), "");
                 Connection admin = approvals.connect("")) {
                CompletableFuture<String> update = CompletableFuture.supplyAsync(() -> run(alice,
                        "UPDATE billing SET amount = 60 WHERE id = 1"));
                String bob = ApprovalsCli.bobToken(approvals);
                String id = ApprovalsCli.awaitPendingId(approvals);
                assertNull(run(admin, "CREATE OR REPLACE FUNCTION billing_touch() RETURNS trigger LANGUAGE plpgsql "
                        + "AS $$BEGIN DELETE FROM public.billing_audit; RETURN NEW; END$$"));
                CliRun approve = ApprovalsCli.run(approvals, bob, "approve", id);
                assertEquals(0, approve.exitCode(), approve.out() + approve.err());
                String result = update.get(20, TimeUnit.SECONDS);
                try (Connection c = approvals.direct()) {
                    assertEquals("2", WardenHarness.scalar(c, "SELECT count(*) FROM billing_audit"),
                            "the new body ran with the approved UPDATE: " + result);
                    assertEquals("100", WardenHarness.scalar(c, "SELECT amount FROM billing WHERE id = 1"));
                }
                assertTrue(result != null && result.startsWith("42501") && result.contains("approval-outdated"),
                        result);
                String again = run(alice, "UPDATE billing SET amount = 60 WHERE id = 1");
                assertTrue(again != null && again.contains("billing-audit-kept"), "judged with the new body: " + again);
            }
        }
    }

    /**
     * Held (already before AttackPass21's changes): an UPDATE of billing through a view waits for approval; a
     * trigger on billing (its function made before) is made meanwhile, through Warden. The statement names the view
     * only, and is refused all the same (approval-outdated).
     */
    @Test
    void aTriggerMadeOnAViewsTableWhileAnUpdateThroughTheViewWaitsForApproval() throws Exception {
        try (WardenHarness approvals = approvalsHarness()) {
            try (Connection admin = approvals.connect("")) {
                for (String sql : List.of("CREATE TABLE billing (id int primary key, amount int)",
                        "INSERT INTO billing VALUES (1, 100)", "CREATE TABLE billing_audit (id int)",
                        "INSERT INTO billing_audit VALUES (1), (2)",
                        "CREATE VIEW billing_v AS SELECT id, amount FROM billing",
                        "CREATE FUNCTION billing_wipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                                + "DELETE FROM public.billing_audit; RETURN NEW; END$$")) {
                    assertNull(run(admin, sql), sql);
                }
            }
            try (Connection alice = approvals.connect("prod", WardenHarness.USER, approvals.token(), "");
                 Connection admin = approvals.connect("")) {
                CompletableFuture<String> update = CompletableFuture.supplyAsync(() -> run(alice,
                        "UPDATE billing_v SET amount = 60 WHERE id = 1"));
                String bob = ApprovalsCli.bobToken(approvals);
                String id = ApprovalsCli.awaitPendingId(approvals);
                assertNull(run(admin, "CREATE TRIGGER billing_t BEFORE UPDATE ON billing FOR EACH ROW EXECUTE "
                        + "FUNCTION billing_wipe()"));
                CliRun approve = ApprovalsCli.run(approvals, bob, "approve", id);
                assertEquals(0, approve.exitCode(), approve.out() + approve.err());
                String result = update.get(20, TimeUnit.SECONDS);
                try (Connection c = approvals.direct()) {
                    assertEquals("2", WardenHarness.scalar(c, "SELECT count(*) FROM billing_audit"),
                            "the trigger ran with the approved UPDATE through the view: " + result);
                }
                assertTrue(result != null && result.contains("approval-outdated"), result);
            }
        }
    }

    /** Warden over a new PostgreSQL: writes in prod need an approval by dba, billing_audit is kept. */
    private static WardenHarness approvalsHarness() {
        return WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 5s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: billing-audit-kept, environments: [prod], match: { statements: [DELETE, UPDATE, TRUNCATE], tables: [public.billing_audit] }, action: block }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                """);
    }

    /**
     * A's client goes away while its INSERT waits on B's lock. Before, Warden ended the session (Terminate upstream,
     * socket closed) and forgot its statements in flight, so B's COMMIT cancelled nothing; but the server reads
     * neither while the backend waits: the INSERT ran once B's COMMIT released the lock, with the trigger B made
     * meanwhile, and the ledger was emptied. Fixed: a session that ends with a statement in flight has it cancelled
     * on the server. (A window is left: a COMMIT of DDL between the client's leaving and the cancel's arrival, a
     * few milliseconds.)
     */
    @Test
    void aClientThatLeavesWhileItsInsertWaitsOnTheLock() throws Exception {
        warden.fillLedger();
        try (Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_gone (id int)", "GRANT ALL ON ap_gone TO gw_login",
                    WIPE.replace("ap_wipe", "ap_gonew"));
            RawClient a = new RawClient(warden.port());
            a.login("prod", WardenHarness.USER, warden.token());
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_gone IN ACCESS EXCLUSIVE MODE"));
            a.send(new FrontendMessage.Query("INSERT INTO ap_gone VALUES (1)"));
            for (int i = 0; i < 100 && !warden.gwLoginWaitsOnALock(); i++) {
                Thread.sleep(50);
            }
            assertTrue(warden.gwLoginWaitsOnALock(), "A's INSERT should wait on B's lock");
            a.close();
            Thread.sleep(500);
            assertNull(run(b, "CREATE TRIGGER ap_gonet BEFORE INSERT ON ap_gone FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_gonew()"));
            assertNull(run(b, "COMMIT"));
            Thread.sleep(1000);
            try (Connection c = warden.direct()) {
                String inserted = WardenHarness.scalar(c, "SELECT count(*) FROM ap_gone");
                assertEquals("3/3", warden.ledger(), "rows A's backend inserted after A left: " + inserted);
                assertEquals("0", inserted, "A's INSERT was cancelled when A left");
            }
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_gone", "DROP FUNCTION IF EXISTS ap_gonew() CASCADE");
        }
    }

    /**
     * A pipelines its INSERT behind a slow statement of its own: the INSERT is received (and may be judged) while
     * B's lock is held and before B's DDL, and reaches the server only after the slow statement.
     */
    @Test
    void anInsertPipelinedBehindASlowStatement() throws Exception {
        warden.fillLedger();
        try (RawClient a = new RawClient(warden.port()); Connection b = warden.devAdmin()) {
            warden.directly("CREATE TABLE ap_pipe (id int)", "GRANT ALL ON ap_pipe TO gw_login",
                    WIPE.replace("ap_wipe", "ap_pipew"));
            a.login("prod", WardenHarness.USER, warden.token());
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "LOCK TABLE ap_pipe IN ACCESS EXCLUSIVE MODE"));
            a.send(new FrontendMessage.Query("SELECT pg_sleep(1.5)"));
            a.send(new FrontendMessage.Query("INSERT INTO ap_pipe VALUES (1)"));
            Thread.sleep(300);
            assertNull(run(b, "CREATE TRIGGER ap_pipet BEFORE INSERT ON ap_pipe FOR EACH ROW EXECUTE FUNCTION "
                    + "ap_pipew()"));
            assertNull(run(b, "COMMIT"));
            String first = WardenHarness.answer(a);
            String second = WardenHarness.answer(a);
            assertEquals("3/3", warden.ledger(), "A: " + first + " / " + second);
            assertTrue(second.contains("E"), "the INSERT was refused or cancelled: " + second);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_pipe", "DROP FUNCTION IF EXISTS ap_pipew() CASCADE");
        }
    }

    /**
     * Held: B commits its DDL by END, by COMMIT AND CHAIN (the new transaction keeps nothing of it) or by a simple
     * Query that runs the DDL and then COMMIT: each counts as a COMMIT, and A's waiting INSERT is cancelled.
     */
    @Test
    void otherSpellingsOfCommitCancelTheWaitingInsert() throws Exception {
        String trigger = "CREATE TRIGGER ap_spt BEFORE INSERT ON ap_sp FOR EACH ROW EXECUTE FUNCTION ap_spw()";
        String[][] cases = {{trigger, "END"}, {trigger, "COMMIT AND CHAIN"}, {"SELECT 1", trigger + "; COMMIT"}};
        java.util.List<String> failures = new java.util.ArrayList<>();
        for (String[] c : cases) {
            warden.fillLedger();
            try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
                warden.directly("CREATE TABLE ap_sp (id int)", "GRANT ALL ON ap_sp TO gw_login",
                        WIPE.replace("ap_wipe", "ap_spw"));
                assertNull(run(b, "BEGIN"));
                assertNull(run(b, "LOCK TABLE ap_sp IN ACCESS EXCLUSIVE MODE"));
                CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_sp VALUES (1)"));
                boolean waited = warden.gwLoginWaitsOnALock();
                assertNull(run(b, c[0]));
                assertNull(run(b, c[1]));
                run(b, "COMMIT");
                String error = insert.get(30, TimeUnit.SECONDS);
                if (!warden.ledger().equals("3/3") || error == null || !error.startsWith("57014")) {
                    failures.add(c[1] + ": ledger " + warden.ledger() + ", A: " + error + ", waited " + waited);
                }
            } finally {
                warden.directly("DROP TABLE IF EXISTS ap_sp", "DROP FUNCTION IF EXISTS ap_spw() CASCADE");
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    private static void extended(RawClient client, String sql) throws java.io.IOException {
        client.send(new FrontendMessage.Parse("", sql, List.of()));
        client.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
        client.send(new FrontendMessage.Execute("", 0));
    }

    private static String frame(byte[] frame) {
        return frame[0] == 'E' ? "E(" + new String(frame, 5, frame.length - 5,
                java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ') + ")" : String.valueOf((char) frame[0]);
    }
}
