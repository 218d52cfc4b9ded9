package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.firstValue;
import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code upstream.catalog_channel} with the event trigger of {@code docker/initdb/20-catalog-notify.sql}: DDL made
 * outside Warden (a migration on a direct connection) reaches Warden's catalog when its transaction commits, not when
 * Warden's entries expire (5 s). Without the channel, a prepared statement whose function a migration replaced to read
 * e-mails answered in clear for up to 5 s after the change (the window {@code MaskingRedTeamTest} waits out).
 */
class CatalogChannelThroughWardenTest {

    static WardenHarness warden;

    /** The event trigger's function and triggers, as an administrator installs them. */
    static final Path NOTIFY_SQL = Path.of("..", "docker", "initdb", "20-catalog-notify.sql");

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  listened:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: %s, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true, catalog_channel: warden_catalog }
                    allow: [ { groups: [eng] } ]
                """.formatted(TestPostgres.SCRAM_USER), """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
        direct(Files.readString(NOTIFY_SQL));
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Waits until Warden's listener for the environment is connected and has run LISTEN (the server says so). */
    private static void untilListening() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Connection c = warden.direct(); Statement s = c.createStatement();
                 java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name"
                         + " = 'warden-catalog-listen' AND query ILIKE 'LISTEN%'")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("Warden's catalog listener never ran LISTEN");
    }

    private static String function(String name, String body) {
        return "CREATE OR REPLACE FUNCTION " + name + "() RETURNS text LANGUAGE plpgsql AS $$BEGIN " + body + " END$$";
    }

    @Test
    void aMigrationOutsideWardenIsSeenAtItsCommitNotWhenTheCatalogExpires() throws Exception {
        MaskedAttacker.seed(warden, "cc_people");
        direct(function("cc_f", "RETURN 'x';"));
        direct(function("cc_g", "RETURN 'x';"));
        try (MaskedAttacker a = new MaskedAttacker(warden, "listened")) {
            untilListening();
            a.send(new FrontendMessage.Parse("f", "SELECT cc_f() AS v", List.of()));
            a.send(new FrontendMessage.Sync());
            a.untilReady();
            a.query("PREPARE g AS SELECT cc_g() AS v");
            // Judged (and the functions read) just now: Warden's entries are fresh for seconds yet.
            assertEquals("x", firstValue(a.runNamed("f")));
            assertEquals("x", firstValue(a.query("EXECUTE g")));

            String read = "RETURN (SELECT translate(string_agg(email, ','), '@.-', '   ') FROM cc_people);";
            direct(function("cc_f", read));
            direct(function("cc_g", read));
            // The notification travels from the migration's commit to Warden's listener: well under this, and well
            // under the 3.5 s after which Warden would read its entries again anyway (without the listener, this
            // test sees the e-mails).
            Thread.sleep(600);

            String protocol = a.runNamed("f");
            String sql = a.query("EXECUTE g");
            String fresh = a.query("SELECT cc_f() AS v");
            String received = protocol + sql + fresh;
            assertEquals(List.of(), seedsIn(received), received);
            assertTrue(protocol.contains("[redacted]") && sql.contains("[redacted]") && fresh.contains("[redacted]"),
                    received);
        } finally {
            direct("DROP FUNCTION IF EXISTS cc_f(), cc_g()");
            direct("DROP TABLE IF EXISTS cc_people");
        }
    }

    /**
     * Every role may NOTIFY on any channel: a loop of notifications (here a masked session's, through Warden) drops
     * the catalog {@code CatalogListener.BURST} times at once and then once per {@code REFILL_NANOS} (0.5 s), not once
     * per notification, and the loop's own statements (each a catalog look-up of pg_notify) are not refused for want
     * of a catalog read.
     */
    @Test
    void aFloodOfNotificationsDropsTheCatalogTwiceASecond() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden, "listened")) {
            untilListening();
            long before = warden.server().catalogInvalidations("listened");
            long started = System.nanoTime();
            int sent = 0;
            // At least 2.5 s, and on until the flood outnumbers the half seconds tenfold (on a loaded machine a
            // statement may take a good part of one: four went in 2.5 s once), up to 30 s.
            for (long elapsed = 0; elapsed < 2_500_000_000L
                    || sent <= 10 * (elapsed / 500_000_000L + 1) && elapsed < 30_000_000_000L;
                    elapsed = System.nanoTime() - started) {
                String answer = a.query("SELECT pg_notify('warden_catalog', '') AS n");
                assertTrue(answer.contains("SELECT 1"), answer);
                sent++;
            }
            long halves = (System.nanoTime() - started) / 500_000_000L + 1;
            Thread.sleep(600); // the last drop, when the next token comes
            long dropped = warden.server().catalogInvalidations("listened") - before;
            System.out.println("catalog channel flood: " + sent + " notifications, " + dropped + " drops in "
                    + halves + " half seconds");
            assertTrue(sent > 10 * halves, "the flood was too slow to show anything: " + sent);
            assertTrue(dropped >= 1 && dropped <= 3 + halves + 1, dropped + " drops for " + sent
                    + " notifications in " + halves + " half seconds");
            Thread.sleep(1_500); // the bucket full again for the other tests
        }
    }

    /** The event trigger notifies DDL on real objects, and not DDL on temporary ones only. */
    @Test
    void theEventTriggerNotifiesDdlButNotTemporaryObjects() throws Exception {
        try (Connection listener = warden.direct(); Connection ddl = warden.direct();
             Statement l = listener.createStatement(); Statement s = ddl.createStatement()) {
            l.execute("LISTEN warden_catalog");
            PGConnection pg = listener.unwrap(PGConnection.class);
            List<String> heard = new ArrayList<>();
            // Both triggers fire ALWAYS: a superuser's session in replica mode (pg_restore --disable-triggers) too.
            s.execute("SET session_replication_role = replica");
            String[] steps = {"CREATE TEMP TABLE cc_tmp (id int)", "ALTER TABLE cc_tmp ADD COLUMN n int",
                "DROP TABLE cc_tmp", "CREATE TABLE cc_real (id int)", "ALTER TABLE cc_real ADD COLUMN n int",
                "COMMENT ON TABLE cc_real IS 'x'", "DROP TABLE cc_real", "CREATE FUNCTION cc_h() RETURNS int "
                    + "LANGUAGE sql AS 'SELECT 1'", "DROP FUNCTION cc_h()"};
            for (String step : steps) {
                s.execute(step);
                PGNotification[] got = pg.getNotifications(500);
                heard.add(step.split(" ")[0] + " " + step.split(" ")[1] + " " + step.split(" ")[2] + ": "
                        + (got == null ? 0 : got.length));
            }
            assertEquals(List.of("CREATE TEMP TABLE: 0", "ALTER TABLE cc_tmp: 0", "DROP TABLE cc_tmp: 0",
                    "CREATE TABLE cc_real: 1", "ALTER TABLE cc_real: 1", "COMMENT ON TABLE: 1", "DROP TABLE cc_real: 1",
                    "CREATE FUNCTION cc_h(): 1", "DROP FUNCTION cc_h(): 1"), heard);
        }
    }
}
