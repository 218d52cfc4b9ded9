package dev.warden.proxy;

import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.warden.proxy.RawClient.errors;
import static dev.warden.proxy.RawClient.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Warden's record of the session's portals must not outlive the server's: a name the server dropped can be taken by
 * a portal Warden never saw made (a PL/pgSQL {@code OPEN} of a refcursor whose value is that name), whose rows must
 * then be masked or refused, never judged as the dropped one. An attacker's pass (2026-12-06) had a WITH HOLD cursor
 * of an aborted transaction, and protocol portals of ended transactions, FETCHed and Executed in clear.
 */
class StalePortalsThroughWardenTest {

    static WardenHarness warden;
    private static final String SECRET = "osprey-7731";
    /** The decoy a stale record names: constants, judged clear. */
    private static final String DECOY = "SELECT 1 AS id, 'x'::text AS r";

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  rules:
                    - { column: public.sp_people.secret, strategy: redact }
                """);
        warden.directly("CREATE TABLE sp_people (id int, secret text)",
                "INSERT INTO sp_people SELECT g, '" + SECRET + "-' || g FROM generate_series(1, 5) g",
                "GRANT ALL ON sp_people TO PUBLIC",
                // Opens a portal of any name over the sensitive column (an expression: its column names no table):
                // Warden sees only a function call.
                "CREATE FUNCTION sp_open(n text) RETURNS refcursor LANGUAGE plpgsql AS $$ DECLARE r refcursor := n; "
                        + "BEGIN OPEN r FOR SELECT id, secret || '' AS r FROM public.sp_people ORDER BY id; RETURN r; END $$",
                // Closes a portal of any name by dynamic SQL, reading nothing.
                "CREATE FUNCTION sp_close(n text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                        + "EXECUTE format('CLOSE %I', n); RETURN 1; END $$");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static List<BackendMessage> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        return c.untilReady();
    }

    private static void ok(RawClient c, String sql) throws Exception {
        assertEquals(List.of(), errors(query(c, sql)), sql);
    }

    private static void assertNoSecret(List<BackendMessage> answers, String what) {
        for (String v : values(answers)) {
            assertFalse(v != null && v.contains(SECRET), what + ": a masked value came out in clear: " + values(answers));
        }
    }

    /** Declares a held cursor c over the decoy, then {@code ending} (SQL, as one Query each) drops it on the server. */
    private void heldCursorOfAnAbortedTransaction(String user, String... ending) throws Exception {
        declaredThenAborted(user, "DECLARE c CURSOR WITH HOLD FOR " + DECOY, ending);
    }

    /** {@code declaring}: the text that declares c (after BEGIN). */
    private void declaredThenAborted(String user, String declaring, String... ending) throws Exception {
        List<BackendMessage> fetched;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            // A held cursor of a committed transaction, which the server keeps through the abort below.
            ok(c, "BEGIN");
            ok(c, "DECLARE k CURSOR WITH HOLD FOR SELECT id, 'plain'::text AS note FROM sp_people ORDER BY id");
            ok(c, "COMMIT");
            assertEquals(List.of("1", "plain"), values(query(c, "FETCH 1 FROM k")));
            ok(c, "BEGIN");
            ok(c, declaring);
            for (String sql : ending) {
                query(c, sql);
            }
            if (!transactionOpen(c)) {
                ok(c, "BEGIN");
            }
            fetched = reopenedAndFetched(c);
            ok(c, "ROLLBACK");
            // k is still the cursor its DECLARE made: judged by it, and its name cannot be taken.
            assertEquals(List.of("2", "plain"), values(query(c, "FETCH 1 FROM k")));
            List<String> reopened = errors(query(c, "SELECT sp_open('k')"));
            assertEquals(1, reopened.size(), reopened.toString());
            assertTrue(reopened.get(0).startsWith("42P03"), "the server refuses a second portal of a name: "
                    + reopened);
        }
        assertNoSecret(fetched, "FETCH from the portal sp_open made");
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        String fetchResult = resultOf(records, "FETCH 3 FROM c");
        assertTrue(fetchResult.contains("\"masked\":true"), "the FETCH's result is recorded masked: "
                + WardenHarness.describe(records));
    }

    /** The server dropped c: the function opens a portal of that name over sp_people, which is FETCHed. */
    private static List<BackendMessage> reopenedAndFetched(RawClient c) throws Exception {
        List<BackendMessage> opened = query(c, "SELECT sp_open('c')");
        assertEquals(List.of(), errors(opened), "the server dropped c, so the name is free: " + opened);
        List<BackendMessage> fetched = query(c, "FETCH 3 FROM c");
        assertEquals(List.of(), errors(fetched));
        assertEquals(6, values(fetched).size(), "three rows of two columns: " + fetched);
        return fetched;
    }

    private static boolean transactionOpen(RawClient c) throws Exception {
        c.send(new FrontendMessage.Sync());
        List<BackendMessage> answers = c.untilReady();
        BackendMessage.ReadyForQuery ready = (BackendMessage.ReadyForQuery) answers.get(answers.size() - 1);
        return ready.status() != 'I';
    }

    /** The text of the result record that follows the query record of {@code statement}. */
    private static String resultOf(List<AuditRecord> records, String statement) {
        for (int i = 0; i < records.size() - 1; i++) {
            if (records.get(i).text().contains("\"statement\":\"" + statement + "\"")) {
                return records.get(i + 1).text();
            }
        }
        throw new AssertionError("no record of " + statement + ": " + WardenHarness.describe(records));
    }

    @Test
    void aHeldCursorOfARolledBackTransactionIsForgotten() throws Exception {
        heldCursorOfAnAbortedTransaction("sp-rollback@example.com", "ROLLBACK");
    }

    @Test
    void aHeldCursorOfAnAbortedTransactionIsForgotten() throws Exception {
        heldCursorOfAnAbortedTransaction("sp-abort@example.com", "ABORT");
    }

    @Test
    void aHeldCursorOfAFailedTransactionEndedByCommitIsForgotten() throws Exception {
        heldCursorOfAnAbortedTransaction("sp-failedcommit@example.com", "SELECT 1/0", "COMMIT");
    }

    @Test
    void aHeldCursorOfAFailedTransactionEndedByEndIsForgotten() throws Exception {
        heldCursorOfAnAbortedTransaction("sp-failedend@example.com", "SELECT 1/0", "END");
    }

    @Test
    void aHeldCursorOfATransactionRolledBackAndChainedIsForgotten() throws Exception {
        heldCursorOfAnAbortedTransaction("sp-chain@example.com", "ROLLBACK AND CHAIN");
    }

    @Test
    void aHeldCursorDeclaredInAReleasedSavepointOfARolledBackTransactionIsForgotten() throws Exception {
        declaredThenAborted("sp-released@example.com", "SAVEPOINT a; DECLARE c CURSOR WITH HOLD FOR "
                + DECOY, "RELEASE a", "ROLLBACK");
    }

    @Test
    void aHeldCursorUndoneByARollbackToASavepointWardenCannotReadIsForgotten() throws Exception {
        String user = "sp-escaped@example.com";
        List<BackendMessage> fetched;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            ok(c, "BEGIN");
            ok(c, "SAVEPOINT a");
            ok(c, "DECLARE c CURSOR WITH HOLD FOR " + DECOY);
            ok(c, "ROLLBACK TO U&\"\\0061\"");
            fetched = reopenedAndFetched(c);
            ok(c, "COMMIT");
        }
        assertNoSecret(fetched, "FETCH after ROLLBACK TO an escaped savepoint name");
    }

    @Test
    void aHeldCursorOfAFailedTransactionIsUnknownToAFetchInTheBatchOfItsCommit() throws Exception {
        // The COMMIT of a failed transaction rolls back; the same unsynced batch reopens the name and FETCHes it,
        // before the server has answered anything (it answers at the Sync).
        String user = "sp-batch@example.com";
        List<BackendMessage> answers;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            ok(c, "BEGIN");
            ok(c, "DECLARE c CURSOR WITH HOLD FOR " + DECOY);
            assertEquals(1, errors(query(c, "SELECT 1/0")).size());
            for (String sql : List.of("COMMIT", "BEGIN", "SELECT sp_open('c')", "FETCH 3 FROM c")) {
                c.send(new FrontendMessage.Parse("", sql, List.of()));
                c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
                c.send(new FrontendMessage.Execute("", 0));
            }
            c.send(new FrontendMessage.Sync());
            answers = c.untilReady();
            assertEquals(List.of(), errors(answers));
            ok(c, "ROLLBACK");
        }
        assertNoSecret(answers, "a FETCH in the COMMIT's batch");
    }

    @Test
    void aHeldCursorOfAnImplicitTransactionThatFailedIsForgotten() throws Exception {
        String user = "sp-implicit@example.com";
        List<BackendMessage> fetched;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            assertEquals(1, errors(query(c, "DECLARE c CURSOR WITH HOLD FOR " + DECOY + "; SELECT 1/0")).size());
            ok(c, "BEGIN");
            fetched = reopenedAndFetched(c);
            ok(c, "COMMIT");
        }
        assertNoSecret(fetched, "FETCH after a failed implicit transaction");
    }

    @Test
    void aHeldCursorAFunctionClosedByDynamicSqlIsForgotten() throws Exception {
        // The server refuses a second portal of a name it has (42P03), but a body's dynamic SQL can CLOSE it first.
        List<BackendMessage> fetched;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", "sp-dynamic@example.com")) {
            ok(c, "BEGIN");
            ok(c, "DECLARE c CURSOR WITH HOLD FOR " + DECOY);
            ok(c, "COMMIT");
            ok(c, "BEGIN");
            ok(c, "SELECT sp_close('c')");
            fetched = reopenedAndFetched(c);
            ok(c, "COMMIT");
        }
        assertNoSecret(fetched, "FETCH after a function closed the cursor by dynamic SQL and another reopened it");
    }

    // ---- protocol portals ----------------------------------------------------------------------------------

    /** Parse the decoy as s and Bind portal {@code portal} to it, described; {@code sync}: end with Sync. */
    private static void bindDecoy(RawClient c, String portal) throws Exception {
        c.send(new FrontendMessage.Parse("s", DECOY, List.of()));
        c.send(new FrontendMessage.Bind(portal, "s", List.of(), List.of(), List.of()));
        c.send(new FrontendMessage.Describe('P', portal));
        c.send(new FrontendMessage.Sync());
        assertEquals(List.of(), errors(c.untilReady()));
    }

    /** Executes {@code portal} to the end after sp_open reopened its name; returns the answers. */
    private static List<BackendMessage> executeReopened(RawClient c, String portal) throws Exception {
        List<BackendMessage> opened = query(c, "SELECT sp_open('" + portal + "')");
        assertEquals(List.of(), errors(opened), "the server dropped " + portal + ", so the name is free: " + opened);
        c.send(new FrontendMessage.Execute(portal, 0));
        c.send(new FrontendMessage.Sync());
        return c.untilReady();
    }

    private void assertPortalRunNotAsDecoy(String user, List<BackendMessage> answers) throws Exception {
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        System.out.println("=== " + user + "\n" + answers + "\n" + WardenHarness.describe(records));
        assertNoSecret(answers, "Execute of the reopened portal");
        long decoys = records.stream().filter(r -> r.text().contains("\"statement\":\"" + DECOY + "\"")).count();
        assertEquals(1, decoys, "the decoy is recorded once, for its Bind; never for what sp_open's portal ran: "
                + WardenHarness.describe(records));
    }

    @Test
    void aPortalOfAnImplicitTransactionEndedBySyncIsForgotten() throws Exception {
        String user = "sp-sync@example.com";
        List<BackendMessage> answers;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            bindDecoy(c, "p");
            ok(c, "BEGIN");
            answers = executeReopened(c, "p");
            query(c, "ROLLBACK");
        }
        assertPortalRunNotAsDecoy(user, answers);
    }

    /** Binds p inside BEGIN, ends the transaction with {@code end}, then Executes p after sp_open reopened it. */
    private void portalOfAnEndedTransaction(String user, String end) throws Exception {
        List<BackendMessage> answers;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            ok(c, "BEGIN");
            bindDecoy(c, "p");
            ok(c, end);
            ok(c, "BEGIN");
            answers = executeReopened(c, "p");
            query(c, "ROLLBACK");
        }
        assertPortalRunNotAsDecoy(user, answers);
    }

    @Test
    void aPortalOfACommittedTransactionIsForgotten() throws Exception {
        portalOfAnEndedTransaction("sp-commit@example.com", "COMMIT");
    }

    @Test
    void aPortalOfARolledBackTransactionIsForgotten() throws Exception {
        portalOfAnEndedTransaction("sp-rolledback@example.com", "ROLLBACK");
    }

    @Test
    void anExecuteOfTheUnnamedPortalAfterASimpleQueryIsNotRecordedAsTheBindsStatement() throws Exception {
        // A simple Query runs in the unnamed portal and drops the Bind's first (exec_simple_query). (A function
        // cannot open a portal named '': SPI gives an empty name a generated one.)
        String user = "sp-unnamed@example.com";
        List<BackendMessage> answers;
        try (RawClient c = AttackPass16ProtocolTest.login(warden, "dev", user)) {
            ok(c, "BEGIN");
            bindDecoy(c, "");
            ok(c, "SELECT 1");
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            answers = c.untilReady();
            List<String> refused = errors(answers);
            assertEquals(1, refused.size(), answers.toString());
            assertTrue(refused.get(0).startsWith("34000"), refused.toString());
            query(c, "ROLLBACK");
        }
        assertPortalRunNotAsDecoy(user, answers);
    }
}
