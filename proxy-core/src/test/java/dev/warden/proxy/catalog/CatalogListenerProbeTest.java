package dev.warden.proxy.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.testkit.StoppedBackend;
import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The connection that LISTENs for {@code catalog_channel} only waits for notifications, and a wait reads nothing
 * from a connection gone silent (its server stopped, a network that drops packets): each wait just times out, and
 * DDL made outside Warden would go unheard for good. So it is asked, at intervals, whether it still answers, and
 * opened again when it does not. Here its backend is stopped with SIGSTOP.
 */
class CatalogListenerProbeTest {

    private static final String LISTENER = "warden-catalog-listen";

    @Test
    void aListeningConnectionThatStopsAnsweringIsOpenedAgain() throws Exception {
        try (TestPostgres pg = TestPostgres.start()) {
            Assumptions.assumeTrue(pg.embedded(), "stops a backend of a server run here");
            String database = pg.createDatabase("listen");
            Upstream upstream = new Upstream(pg.host(), pg.port(), database, pg.superuser(),
                    Secret.of(pg.superuserPassword()), TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), true,
                    "test", Optional.of(new Upstream.CatalogChannel("warden_catalog", "test")), Duration.ofSeconds(30));
            Environment environment = new Environment("listen", upstream, List.of(), false, true, Optional.empty());
            ExecutorService blocking = Executors.newFixedThreadPool(2);
            try (CatalogCache catalog = new CatalogCache(environment, blocking);
                 CatalogListener listener = CatalogListener.startFor(environment, catalog, Duration.ofSeconds(1));
                 Connection direct = pg.connect(database); Statement d = direct.createStatement()) {
                long first = listening(d, 0, 15_000);
                long started;
                try (StoppedBackend stopped = StoppedBackend.of(d, LISTENER)) {
                    assertEquals(first, stopped.pid());
                    started = System.nanoTime();
                    // A probe each second, 5 s for it to answer, 1 s before connecting again: well within 20 s.
                    long second = listening(d, first, 20_000);
                    System.out.println("listener " + first + " stopped; listening again as " + second + " after "
                            + (System.nanoTime() - started) / 1_000_000 + " ms");
                    assertTrue(second != first);
                }
            } finally {
                blocking.shutdownNow();
            }
        }
    }

    /** The pid of the backend that LISTENs for the catalog, other than {@code not}, waiting up to {@code millis}. */
    private static long listening(Statement d, long not, long millis) throws SQLException, InterruptedException {
        long until = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < until) {
            try (ResultSet rs = d.executeQuery("SELECT pid FROM pg_stat_activity WHERE application_name = '" + LISTENER
                    + "' AND datname = current_database() AND query LIKE 'LISTEN%' AND pid <> " + not
                    + " ORDER BY backend_start DESC LIMIT 1")) {
                if (rs.next()) {
                    return rs.getLong(1);
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no backend listening for the catalog (other than " + not + ") within " + millis
                + " ms");
    }
}
