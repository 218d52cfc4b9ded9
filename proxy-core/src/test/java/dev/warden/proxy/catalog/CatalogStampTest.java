package dev.warden.proxy.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A catalog read that DDL's end overlaps may store what it read from before the commit after the invalidation
 * dropped the entries; they are dropped again only when the read ends. A statement judged meanwhile is stamped with
 * the count from before the read ({@link CatalogCache#stamp}), so that the DDL counts as not seen by it (a helper's
 * review found such a statement stamped after the DDL: its function's old body, judged, then counted as current).
 * The read is held open here by a lock on pg_proc that a direct connection takes.
 */
class CatalogStampTest {

    private static TestPostgres pg;
    private static String database;
    private static final ExecutorService BLOCKING = Executors.newFixedThreadPool(2);

    @BeforeAll
    static void start() throws SQLException {
        pg = TestPostgres.start();
        database = pg.createDatabase("stamp");
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION st_f() RETURNS int LANGUAGE sql AS 'SELECT 1'");
        }
    }

    @AfterAll
    static void stop() {
        BLOCKING.shutdownNow();
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void aJudgementMadeWhileAReadOverlapsDdlIsStampedFromBeforeTheRead() throws Exception {
        Upstream upstream = new Upstream(pg.host(), pg.port(), database, pg.superuser(),
                Secret.of(pg.superuserPassword()), TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), true,
                "test");
        Analyzer analyzer = new Analyzer(100);
        try (CatalogCache catalog = new CatalogCache(new Environment("stamp", upstream, List.of(), false, true,
                Optional.empty()), BLOCKING); Connection locker = pg.connect(database)) {
            Analysis analysis = analyzer.analyze("SELECT st_f()");
            assertEquals(catalog.invalidations(), catalog.stamp(), "no read in progress");
            locker.setAutoCommit(false);
            try (Statement s = locker.createStatement()) {
                s.execute("LOCK TABLE pg_catalog.pg_proc IN ACCESS EXCLUSIVE MODE");
            }
            CompletableFuture<Void> read = catalog.resolveFunctions(catalog.functionsToResolve(analysis, true),
                    analyzer);
            Thread.sleep(500);
            assertFalse(read.isDone(), "the read waits on the lock");
            long before = catalog.invalidations();
            assertEquals(before, catalog.stamp(), "a read that no DDL overlapped lowers nothing");
            catalog.invalidate(Set.of("st_f"), 7); // another session's DDL ends while the read waits
            assertEquals(before + 1, catalog.invalidations());
            assertEquals(before, catalog.stamp(), "stamped from before the read that the DDL overlapped");
            assertTrue(catalog.namedRedefinedSince(Set.of("st_f"), catalog.stamp(), 1),
                    "so a statement judged now counts the DDL as not seen");
            locker.rollback();
            read.get(10, TimeUnit.SECONDS);
            assertEquals(catalog.invalidations(), catalog.stamp(), "the read ended: what it left was dropped");
        }
    }
}
