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

/**
 * Attacks on 959dff2 (guardrails judge a statement with other sessions' open DDL). Session A works in production
 * as {@code gw_login}; session B, an administrator in dev on the same database, where gw-ledger-kept does not
 * apply, tries to make A's statement run a body that empties {@code gw_ledger} although Warden judged it without.
 */
/**
 * Attack on 959dff2: the DDL of other sessions' open transactions counts for the environments Warden links as the
 * same database, by the upstream's host as written, port and database. Production reaches the server as
 * {@code localhost}, dev (the administrator B) as {@code 127.0.0.1}: the same server and database.
 */
class AttackPass20GuardrailSameDatabaseTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); java.sql.Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "gw_login").replace("127.0.0.1", "localhost"),
                WardenHarness.unmaskedWithRules(WardenHarness.LEDGER_KEPT));
        warden.makeLedger();
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /**
     * LEAK before the fix: B creates, in an open transaction, a trigger that empties the ledger; A's INSERT waits on
     * its lock; B commits, and the trigger fires for A's row. Warden linked catalogs by the upstream host as written
     * (CatalogCache#linkIfSameDatabase): {@code localhost} and {@code 127.0.0.1} were two databases to it, so B's
     * open DDL counted for no production session. Now each catalog's connection reads which server and database it
     * reads (its start time, port and the database's oid), and catalogs that read the same one are linked.
     */
    @Test
    void anOpenTriggerCountsForAnEnvironmentNamingTheServerOtherwise() throws Exception {
        warden.fillLedger();
        try (Connection a = warden.prod(); Connection b = warden.devAdmin()) {
            assertNull(run(b, "CREATE TABLE ap_h (id int)"));
            assertNull(run(b, "GRANT ALL ON ap_h TO gw_login"));
            assertNull(run(b, "BEGIN"));
            assertNull(run(b, "CREATE FUNCTION ap_wh() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN NEW; END$$"));
            assertNull(run(b, "CREATE TRIGGER ap_th BEFORE INSERT ON ap_h FOR EACH ROW EXECUTE FUNCTION ap_wh()"));
            CompletableFuture<String> insert = warden.waitingOnALock(() -> run(a, "INSERT INTO ap_h VALUES (1)"));
            boolean waited = warden.gwLoginWaitsOnALock();
            assertNull(run(b, "COMMIT"));
            String error = insert.get(30, TimeUnit.SECONDS);
            assertEquals("3/3", warden.ledger(), "Warden: " + (error == null ? "let it run" : error)
                    + ", A waited: " + waited);
        } finally {
            warden.directly("DROP TABLE IF EXISTS ap_h", "DROP FUNCTION IF EXISTS ap_wh() CASCADE");
        }
    }
}
