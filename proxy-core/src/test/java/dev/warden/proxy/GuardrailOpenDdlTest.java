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
 * The guardrails and DDL that another session's open transaction holds. Warden reads the catalog on a connection of
 * its own, which sees only what is committed; a statement of session A that waits on a lock of session B's open
 * transaction runs with what B then commits (the server looks triggers and function bodies up after the lock is
 * granted). A works in production as {@code gw_login}, B (an administrator) in environment dev on the same
 * database, where the rule that keeps {@code gw_ledger} ({@link WardenHarness#LEDGER_KEPT}) does not apply: B may
 * write a body that deletes from it. Both go through Warden; each test checks what the server did to
 * {@code gw_ledger}.
 */
class GuardrailOpenDdlTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /**
     * LEAK before the fix: B creates, in an open transaction, a trigger on its table whose function deletes every
     * ledger row; A's INSERT into that table (allowed a moment before, so its decision was remembered) waits on the
     * trigger's lock, B commits, and the server fires the new trigger for A's row. Warden judged A's INSERT by the
     * committed catalog (no trigger), so the ledger was emptied.
     */
    @Test
    void aWriteWaitingOnAnotherSessionsNewTriggerIsJudgedWithIt() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE od_src (id int)"));
            assertNull(run(b, "GRANT ALL ON od_src TO gw_login"));
            assertNull(run(a, "INSERT INTO od_src VALUES (0)"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE FUNCTION od_wipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$"));
            assertNull(run(b, "CREATE TRIGGER od_t BEFORE INSERT ON od_src FOR EACH ROW EXECUTE FUNCTION od_wipe()"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO od_src VALUES (1)"));
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
            assertTrue(error != null && error.startsWith("42501") && error.contains("gw-ledger-kept"), error);
        } finally {
            warden.directly("DROP TABLE IF EXISTS od_src", "DROP FUNCTION IF EXISTS od_wipe()");
        }
    }

    /**
     * The same race through a prepared statement (pgJDBC's extended protocol, a named server-side statement): A's
     * INSERT was parsed, judged and run before B's open transaction added the trigger; its next Execute must be
     * judged again with B's DDL, not by the decision remembered for the statement.
     */
    @Test
    void aPreparedWriteWaitingOnAnotherSessionsNewTriggerIsJudgedWithIt() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.connect("prod", WardenHarness.USER, warden.token(),
                "preferQueryMode=extended&prepareThreshold=1&assumeMinServerVersion=12");
             Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE od_psrc (id int)"));
            assertNull(run(b, "GRANT ALL ON od_psrc TO gw_login"));
            java.sql.PreparedStatement insert = a.prepareStatement("INSERT INTO od_psrc VALUES (?)");
            for (int i = 0; i < 3; i++) {
                insert.setInt(1, i);
                insert.executeUpdate();
            }
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE FUNCTION od_pwipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$"));
            assertNull(run(b, "CREATE TRIGGER od_pt BEFORE INSERT ON od_psrc FOR EACH ROW EXECUTE FUNCTION "
                    + "od_pwipe()"));
            CompletableFuture<String> again = warden.waitingOnALock(() -> {
                try {
                    insert.setInt(1, 9);
                    insert.executeUpdate();
                    return null;
                } catch (SQLException e) {
                    return e.getSQLState() + " " + e.getMessage();
                }
            });
            assertNull(run(b, "COMMIT"));
            String error = again.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
            assertTrue(error != null && error.startsWith("42501") && error.contains("gw-ledger-kept"), error);
        } finally {
            warden.directly("DROP TABLE IF EXISTS od_psrc", "DROP FUNCTION IF EXISTS od_pwipe()");
        }
    }

    /**
     * LEAK before the fix: B replaces, in an open transaction, a harmless function with one that deletes every ledger
     * row, and locks a table; A's {@code SELECT f() FROM} that table waits on the lock, B commits, and the server
     * runs the new body.
     */
    @Test
    void aCallWaitingOnAnotherSessionsFunctionReplacementIsJudgedWithTheNewBody() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE od_lock (id int)"));
            assertNull(run(b, "INSERT INTO od_lock VALUES (1)"));
            assertNull(run(b, "GRANT ALL ON od_lock TO gw_login"));
            assertNull(run(b, "CREATE FUNCTION od_f() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$"));
            assertNull(run(a, "SELECT od_f() FROM od_lock"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE OR REPLACE FUNCTION od_f() RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN 1; END$$"));
            assertNull(run(b, "LOCK TABLE od_lock IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> call = warden.waitingOnALock(() -> run(a, "SELECT od_f() FROM od_lock"));
            assertNull(run(b, "COMMIT"));
            String error = call.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error));
            assertTrue(error != null && error.startsWith("42501") && error.contains("gw-ledger-kept"), error);
        } finally {
            warden.directly("DROP TABLE IF EXISTS od_lock", "DROP FUNCTION IF EXISTS od_f()");
        }
    }

    /**
     * Precision: another session's open DDL that runs nothing harmful leaves A's statements allowed, and a harmful
     * trigger rolled back stops counting at its ROLLBACK.
     */
    @Test
    void anotherSessionsHarmlessOrRolledBackDdlLeavesStatementsAllowed() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE od_keep (id int)"));
            assertNull(run(b, "CREATE TABLE od_log (id int)"));
            assertNull(run(b, "GRANT ALL ON od_keep, od_log TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE FUNCTION od_note() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "INSERT INTO public.od_log VALUES (NEW.id); RETURN NEW; END$$"));
            assertNull(run(b, "CREATE TRIGGER od_n AFTER INSERT ON od_keep FOR EACH ROW EXECUTE FUNCTION od_note()"));
            // A statement of A that meets no lock of B's runs now, judged with B's open trigger: allowed.
            assertNull(run(a, "SELECT count(*) FROM gw_ledger"));
            assertNull(run(a, "UPDATE od_log SET id = id WHERE id > 0"));
            assertNull(run(b, "CREATE FUNCTION od_bad() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$"));
            assertNull(run(b, "CREATE TRIGGER od_b BEFORE INSERT ON od_keep FOR EACH ROW EXECUTE FUNCTION od_bad()"));
            String meanwhile = run(a, "INSERT INTO od_log VALUES (2)");
            assertTrue(meanwhile != null && meanwhile.contains("gw-ledger-kept"),
                    "judged with what B's open transaction may commit: " + meanwhile);
            assertNull(run(b, "ROLLBACK"));
            assertNull(run(a, "INSERT INTO od_log VALUES (3)"), "B rolled back: nothing of it counts");
            assertNull(run(a, "INSERT INTO od_keep VALUES (3)"));
            assertEquals("3/3", warden.ledger());
        } finally {
            warden.directly("DROP TABLE IF EXISTS od_keep", "DROP TABLE IF EXISTS od_log",
                    "DROP FUNCTION IF EXISTS od_note()", "DROP FUNCTION IF EXISTS od_bad()");
        }
    }
}
