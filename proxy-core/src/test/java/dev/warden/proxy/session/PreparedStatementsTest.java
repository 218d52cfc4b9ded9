package dev.warden.proxy.session;

import dev.warden.sql.Analyzer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SQL cursors share the portal namespace with protocol Bind, and leave it when the server drops them. */
class PreparedStatementsTest {

    private final Analyzer analyzer = new Analyzer(100);
    private final PreparedStatements prepared = new PreparedStatements();

    private List<PreparedStatements.Portal> run(String sql) {
        return prepared.ranSql(analyzer.analyze(sql));
    }

    @Test
    void declareRegistersACursorWithItsQueryAndHoldability() {
        List<PreparedStatements.Portal> declared = run("DECLARE c BINARY NO SCROLL CURSOR WITHOUT HOLD FOR "
                + "SELECT email FROM people");
        assertEquals(1, declared.size());
        PreparedStatements.Portal c = prepared.portal("c");
        assertTrue(c.declared);
        assertFalse(c.holdable);
        assertEquals("SELECT email FROM people", c.statement.sql);
        assertEquals(dev.warden.sql.StatementKind.SELECT, c.statement.analysis.statements().get(0).kind());
        run("DECLARE \"Held\" CURSOR WITH HOLD FOR SELECT 1");
        assertTrue(prepared.portal("Held").holdable);
    }

    @Test
    void commitAndRollbackDropEveryPortalButHeldCursorsOfCommittedTransactions() {
        prepared.bound(new PreparedStatements.Portal("bound", null, List.of(), List.of()));
        run("BEGIN; DECLARE a CURSOR FOR SELECT 1; DECLARE h CURSOR WITH HOLD FOR SELECT 2");
        run("COMMIT");
        assertNull(prepared.portal("a"));
        assertNotNull(prepared.portal("h"));
        assertNull(prepared.portal("bound"), "a Bind's portal is not held: the server drops it with its transaction");
        assertFalse(prepared.cursorStands("h"), "until the server says the COMMIT committed");
        prepared.ready('I', true);
        assertTrue(prepared.cursorStands("h"));
        run("BEGIN; DECLARE b CURSOR FOR SELECT 1; DECLARE g CURSOR WITH HOLD FOR SELECT 3");
        run("ROLLBACK");
        assertNull(prepared.portal("b"));
        assertNull(prepared.portal("g"), "a held cursor of an aborted transaction goes with it");
        assertNotNull(prepared.portal("h"), "one of a committed transaction stays");
    }

    @Test
    void aHeldCursorWhoseCommitRolledBackIsForgottenAtReadyForQuery() {
        run("BEGIN; DECLARE h CURSOR WITH HOLD FOR SELECT 2; COMMIT");
        prepared.serverFailed();
        prepared.ready('I', true);
        assertNull(prepared.portal("h"), "the COMMIT failed: the transaction aborted");
        run("BEGIN; DECLARE g CURSOR WITH HOLD FOR SELECT 2; COMMIT");
        prepared.serverRolledBack();
        prepared.ready('I', true);
        assertNull(prepared.portal("g"), "a COMMIT of a failed transaction answers ROLLBACK");
        prepared.bound(new PreparedStatements.Portal("p", null, List.of(), List.of()));
        prepared.ready('I', true);
        assertNull(prepared.portal("p"), "an implicit transaction's portal ends at its Sync");
    }

    @Test
    void closeRemovesOnePortalAndCloseAllEvery() {
        run("DECLARE a CURSOR WITH HOLD FOR SELECT 1; DECLARE b CURSOR WITH HOLD FOR SELECT 2");
        prepared.bound(new PreparedStatements.Portal("bound", null, List.of(), List.of()));
        run("CLOSE a");
        assertNull(prepared.portal("a"));
        assertNotNull(prepared.portal("b"));
        run("CLOSE ALL");
        assertNull(prepared.portal("b"));
        assertNull(prepared.portal("bound"), "CLOSE ALL drops every portal, as PortalHashTableDeleteAll does");
        run("DECLARE c CURSOR WITH HOLD FOR SELECT 1");
        run("DISCARD ALL");
        assertNull(prepared.portal("c"));
    }

    @Test
    void aSecondDeclareOfAKnownNameFailsOnTheServerSoWardenForgetsTheName() {
        prepared.bound(new PreparedStatements.Portal("p", null, List.of(), List.of()));
        assertTrue(run("DECLARE p CURSOR WITH HOLD FOR SELECT 1").isEmpty());
        assertNull(prepared.portal("p"), "the portal's rows then fail closed rather than take the wrong plan");
    }

    @Test
    void rollbackToASavepointDropsOnlyWhatWasMadeAfterItInnermostNameFirst() {
        run("BEGIN; DECLARE outer_c CURSOR FOR SELECT 1; SAVEPOINT s; DECLARE mid CURSOR FOR SELECT 2");
        prepared.bound(new PreparedStatements.Portal("bound_after_s", null, List.of(), List.of()));
        // The same name again: ROLLBACK TO finds the innermost, as the server does.
        run("SAVEPOINT S; DECLARE inner_c CURSOR FOR SELECT 3");
        run("ROLLBACK TO SAVEPOINT s");
        assertNull(prepared.portal("inner_c"));
        assertNotNull(prepared.portal("mid"), "declared before the inner s");
        assertNotNull(prepared.portal("bound_after_s"));
        run("ROLLBACK WORK TO s");
        assertNotNull(prepared.portal("mid"), "the inner s is still there after ROLLBACK TO it");
        run("RELEASE s");
        run("ROLLBACK TRANSACTION TO SAVEPOINT s");
        assertNull(prepared.portal("mid"), "made after the outer s");
        assertNull(prepared.portal("bound_after_s"));
        assertNotNull(prepared.portal("outer_c"));
        run("COMMIT");
        assertNull(prepared.portal("outer_c"));
    }

    @Test
    void releaseHandsCursorsToTheEnclosingLevelAndAnUnknownSavepointForgetsEveryCursorNotHeld() {
        run("BEGIN; SAVEPOINT a; SAVEPOINT b; DECLARE c CURSOR FOR SELECT 1; RELEASE SAVEPOINT b");
        run("SAVEPOINT \"Quoted\"; ROLLBACK TO \"Quoted\"");
        assertNotNull(prepared.portal("c"), "c now belongs to a, made before Quoted");
        run("ROLLBACK TO no_such_savepoint");
        assertNull(prepared.portal("c"), "the server fails the statement; Warden forgets rather than guess");
    }
}
