package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Logins wait on their identity provider when a token names a key Warden has not fetched, and anyone may send such a
 * token. While the provider hangs (here it takes the request and answers nothing), those logins must not delay the
 * statements of sessions already open: their catalog reads run on other threads. Before, token checks and catalog
 * reads shared four threads, and six such logins held all four for the key fetch's 5 s.
 */
class SlowIdentityProviderTest {

    static WardenHarness warden;
    static final java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(6);

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """, "");
    }

    @AfterAll
    static void stop() {
        warden.issuer.stallRequests(false);
        clients.shutdownNow();
        warden.close();
    }

    @Test
    void loginsWaitingOnAHungProviderDoNotDelayTheStatementsOfOpenSessions() throws Exception {
        try (Connection direct = warden.direct(); Statement d = direct.createStatement()) {
            d.execute("DROP TABLE IF EXISTS idp_a, idp_b");
            d.execute("CREATE TABLE idp_a (id int)");
            d.execute("CREATE TABLE idp_b (id int)");
            d.execute("INSERT INTO idp_a VALUES (1)");
            d.execute("INSERT INTO idp_b VALUES (2)");
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            assertEquals("1", first(alice, "SELECT id FROM idp_a"), "the session is open and reads the catalog");
            // A new key the cached set does not hold: each login with it asks the provider, which now hangs.
            warden.issuer.rotateKeys();
            String unknownKey = warden.token();
            int fetched = warden.issuer.jwksRequests();
            warden.issuer.stallRequests(true);
            List<CompletableFuture<String>> logins = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                // A thread each (the common pool may have fewer): six logins at once, more than the four threads.
                logins.add(CompletableFuture.supplyAsync(() -> {
                    try (Connection c = warden.connect("prod", WardenHarness.USER, unknownKey, "")) {
                        return "accepted";
                    } catch (SQLException e) {
                        return e.getSQLState() + " " + e.getMessage();
                    }
                }, clients));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (warden.issuer.jwksRequests() == fetched && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertTrue(warden.issuer.jwksRequests() > fetched, "a login asks the provider for the key");
            // The other five reach the token check (and wait on the one fetching) within a TLS handshake or so.
            Thread.sleep(700);
            long started = System.nanoTime();
            // idp_b is new to this session: its columns are read from the catalog, on the blocking threads.
            assertEquals("2", first(alice, "SELECT id FROM idp_b"));
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            boolean stillWaiting = logins.stream().anyMatch(l -> !l.isDone());
            warden.issuer.stallRequests(false);
            List<String> answers = new ArrayList<>();
            for (CompletableFuture<String> login : logins) {
                answers.add(login.get(30, TimeUnit.SECONDS));
            }
            System.out.println("hung provider: a statement in " + took + " ms; logins " + answers);
            assertTrue(took < 2000, "the statement waited " + took + " ms behind logins");
            assertTrue(stillWaiting, "the logins were still waiting on the provider when the statement ran");
            for (String answer : answers) {
                // Let in once the provider answers (before the key fetch's 5 s are up), or refused with the reason:
                // the provider did not answer in time (28000), or the key is not among those it published (28P01).
                assertTrue(answer.equals("accepted") || answer.startsWith("28000") || answer.startsWith("28P01"),
                        answer);
            }
        }
    }

    private static String first(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }
}
