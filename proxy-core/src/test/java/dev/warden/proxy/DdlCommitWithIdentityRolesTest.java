package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A COMMIT of DDL through Warden cancels the statements in flight elsewhere that wait on its transaction's locks and
 * that the DDL reaches, when every identity has its own role (attacker pass a142, F3). Warden's login is no superuser
 * and holds the identities' roles without their privileges, so the server hid their wait events from it; it read no
 * waiting statement and withdrew none: an UPDATE judged before a trigger existed waited on the DDL's lock and ran the
 * trigger once the DDL committed.
 */
class DdlCommitWithIdentityRolesTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        WardenHarness.onCluster(pg, "CREATE ROLE dc_provisioner LOGIN CREATEROLE",
                "CREATE ROLE dc_rw NOLOGIN", "GRANT dc_rw TO dc_provisioner WITH ADMIN OPTION",
                "CREATE ROLE dc_admin NOLOGIN", "GRANT dc_admin TO dc_provisioner WITH ADMIN OPTION");
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: dc_provisioner, tls: require }
                    allow: [ { groups: [eng, dba] } ]
                    roles:
                      provision: per_identity
                      map:
                        - { groups: [dba], role: dc_admin }
                        - { groups: [eng], role: dc_rw }
                """, "masking:\n  defaults: off\n");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO dc_admin");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection as(String user, String group) throws SQLException {
        return warden.connect("prod", user, warden.issuer.token().email(user).groups(group).sign(),
                "preferQueryMode=simple");
    }

    /** Whether the server shows a backend of alice's role waiting on a lock (read as the superuser). */
    private static boolean aliceWaits() throws SQLException {
        try (Connection c = warden.direct()) {
            return WardenHarness.column(c, "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'wd_alice%' "
                    + "AND wait_event_type = 'Lock'").get(0).equals("1");
        }
    }

    @Test
    void aCommittedTriggerCancelsTheUpdateWaitingOnItsLock() throws Exception {
        try (Connection bob = as("bob@example.com", "dba"); Connection alice = as(WardenHarness.USER, "eng")) {
            assertNull(WardenHarness.run(bob, "CREATE TABLE dc_t (id int, v int)"));
            assertNull(WardenHarness.run(bob, "INSERT INTO dc_t SELECT g, g FROM generate_series(1, 5) g"));
            assertNull(WardenHarness.run(bob, "GRANT SELECT, UPDATE ON dc_t TO dc_rw"));
            assertNull(WardenHarness.run(bob, "BEGIN"));
            assertNull(WardenHarness.run(bob, "LOCK TABLE dc_t IN ACCESS EXCLUSIVE MODE"));
            CompletableFuture<String> update = CompletableFuture.supplyAsync(
                    () -> WardenHarness.run(alice, "UPDATE dc_t SET v = 2 WHERE id = 1"));
            for (int i = 0; i < 100 && !update.isDone() && !aliceWaits(); i++) {
                Thread.sleep(50);
            }
            assertTrue(aliceWaits(), "alice's UPDATE should wait on bob's lock: " + (update.isDone() ? update.get() : ""));
            assertNull(WardenHarness.run(bob, "CREATE FUNCTION dc_f() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN NEW.v := 9999; RETURN NEW; END$$"));
            assertNull(WardenHarness.run(bob, "CREATE TRIGGER dc_trg BEFORE UPDATE ON dc_t FOR EACH ROW "
                    + "EXECUTE FUNCTION dc_f()"));
            assertNull(WardenHarness.run(bob, "COMMIT"));
            String error = update.get(30, TimeUnit.SECONDS);
            try (Connection c = warden.direct()) {
                assertEquals("1", WardenHarness.column(c, "SELECT v FROM dc_t WHERE id = 1").get(0),
                        "the UPDATE judged without the trigger ran it: " + error);
            }
            assertTrue(error != null && error.startsWith("57014"), "cancelled on the server: " + error);
        }
    }

    /**
     * The statement waits on a third session's row lock, not on the committer's: once let go, its FK cascade runs a
     * trigger the COMMIT made (a helper's pass, a143 F4: an approved DELETE cascaded so into a rule that emptied a
     * table). It is cancelled as well.
     */
    @Test
    void aCommittedTriggerCancelsTheUpdateWaitingOnAnotherSessionsLock() throws Exception {
        try (Connection bob = as("bob@example.com", "dba"); Connection alice = as(WardenHarness.USER, "eng");
             Connection third = warden.direct()) {
            assertNull(WardenHarness.run(bob, "CREATE TABLE dc_p (id int PRIMARY KEY)"));
            assertNull(WardenHarness.run(bob, "CREATE TABLE dc_c (pid int REFERENCES dc_p ON UPDATE CASCADE, v int)"));
            assertNull(WardenHarness.run(bob, "INSERT INTO dc_p VALUES (1)"));
            assertNull(WardenHarness.run(bob, "INSERT INTO dc_c VALUES (1, 1)"));
            assertNull(WardenHarness.run(bob, "GRANT SELECT, UPDATE ON dc_p, dc_c TO dc_rw"));
            third.setAutoCommit(false);
            WardenHarness.column(third, "SELECT id FROM dc_p WHERE id = 1 FOR UPDATE");
            CompletableFuture<String> update = CompletableFuture.supplyAsync(
                    () -> WardenHarness.run(alice, "UPDATE dc_p SET id = 10 WHERE id = 1"));
            for (int i = 0; i < 100 && !update.isDone() && !aliceWaits(); i++) {
                Thread.sleep(50);
            }
            assertTrue(aliceWaits(), "alice's UPDATE should wait on the row lock: " + (update.isDone() ? update.get() : ""));
            assertNull(WardenHarness.run(bob, "BEGIN"));
            assertNull(WardenHarness.run(bob, "CREATE FUNCTION dc_f2() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN NEW.v := 9999; RETURN NEW; END$$"));
            assertNull(WardenHarness.run(bob, "CREATE TRIGGER dc_trg2 BEFORE UPDATE ON dc_c FOR EACH ROW "
                    + "EXECUTE FUNCTION dc_f2()"));
            assertNull(WardenHarness.run(bob, "COMMIT"));
            third.rollback();
            String error = update.get(30, TimeUnit.SECONDS);
            try (Connection c = warden.direct()) {
                assertEquals("1", WardenHarness.column(c, "SELECT v FROM dc_c").get(0),
                        "the UPDATE judged without the trigger ran it: " + error);
            }
            assertTrue(error != null && error.startsWith("57014"), "cancelled on the server: " + error);
        }
    }
}
