package dev.warden.proxy.catalog;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The catalog cache against a real PostgreSQL, as many sessions repeating their statements use it: entries are
 * read again before they expire, off the sessions' path, so that a statement repeated every second never waits
 * for the catalog; and sessions asking for the same names at once are answered by one read. Before, every entry
 * expired under all sessions together every five seconds, and each session's next statement waited for its own
 * read, one after another on the catalog's one connection: the tail of a steady load's latency.
 */
class CatalogRefreshTest {

    private static TestPostgres pg;
    private static String database;
    private static final Analyzer ANALYZER = new Analyzer(100);
    private static final ExecutorService BLOCKING = Executors.newFixedThreadPool(4);

    @BeforeAll
    static void start() throws SQLException {
        pg = TestPostgres.start();
        database = pg.createDatabase("refresh");
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE rf_accounts (id int PRIMARY KEY, owner text, balance int)");
            s.execute("CREATE FUNCTION rf_total() RETURNS bigint LANGUAGE sql STABLE AS "
                    + "'SELECT sum(balance) FROM rf_accounts'");
        }
    }

    @AfterAll
    static void stop() {
        BLOCKING.shutdownNow();
        if (pg != null) {
            pg.close();
        }
    }

    private static CatalogCache newCache() {
        Upstream upstream = new Upstream(pg.host(), pg.port(), database, pg.superuser(),
                Secret.of(pg.superuserPassword()), TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), true,
                "test");
        return new CatalogCache(new Environment("refresh", upstream, List.of(), false, true, Optional.empty()),
                BLOCKING);
    }

    private static int tableOid() throws SQLException {
        try (Connection c = pg.connect(database); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT 'rf_accounts'::regclass::oid::int")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void namesDueAreReadAgainInTheBackgroundAndNeverExpireUnderAStatementRepeatedEverySecond() throws Exception {
        try (CatalogCache catalog = newCache()) {
            Analysis analysis = ANALYZER.analyze("SELECT owner, rf_total() FROM rf_accounts WHERE id = 1");
            Set<String> missing = catalog.functionsToResolve(analysis, true);
            assertFalse(missing.isEmpty(), "a cold cache has names to read: " + missing);
            catalog.resolveFunctions(missing, ANALYZER).get(10, TimeUnit.SECONDS);
            int oid = tableOid();
            catalog.resolve(Set.of(oid)).get(10, TimeUnit.SECONDS);
            long loadedAt = System.nanoTime();
            // Past the TTL more than once, asking as a session would every 250 ms: nothing is ever missing, and
            // nothing ever has to be read on the statement's path.
            long end = loadedAt + 2 * CatalogCache.TTL_NANOS + 500_000_000L;
            int asked = 0;
            while (System.nanoTime() < end) {
                Set<String> now = catalog.functionsToResolve(analysis, true);
                assertEquals(Set.of(), now, "after " + (System.nanoTime() - loadedAt) / 1_000_000 + " ms");
                assertTrue(catalog.knows(oid, 2), "the table's columns expired under the session after "
                        + (System.nanoTime() - loadedAt) / 1_000_000 + " ms");
                asked++;
                Thread.sleep(250);
            }
            assertTrue(asked > 30, "asked " + asked + " times");
            // Read again ahead of time, more than once in two TTLs, and not once per question.
            long reads = catalog.lookups();
            assertTrue(reads >= 4 && reads <= 10, "catalog reads: " + reads);
        }
    }

    @Test
    void sessionsAskingForTheSameNamesAtOnceAreAnsweredByOneRead() throws Exception {
        try (CatalogCache catalog = newCache()) {
            Analysis analysis = ANALYZER.analyze("SELECT owner, rf_total() FROM rf_accounts WHERE id = 1");
            Set<String> missing = catalog.functionsToResolve(analysis, true);
            int oid = tableOid();
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                reads.add(catalog.resolveFunctions(missing, ANALYZER));
                reads.add(catalog.resolve(Set.of(oid)));
            }
            CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            assertEquals(Set.of(), catalog.functionsToResolve(analysis, true));
            assertTrue(catalog.knows(oid, 2));
            // One read of the names and one of the table's columns: the fourteen others found them read.
            assertEquals(2, catalog.lookups(), "catalog reads for 16 requests made together");
        }
    }

    @Test
    void aColumnTheCacheLacksIsReadAgainEvenWhenTheTableWasReadRecently() throws Exception {
        try (CatalogCache catalog = newCache()) {
            int oid = tableOid();
            catalog.resolve(Set.of(oid)).get(10, TimeUnit.SECONDS);
            try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
                s.execute("ALTER TABLE rf_accounts ADD COLUMN IF NOT EXISTS rf_added text");
            }
            try (Connection c = pg.connect(database); Statement s = c.createStatement();
                 var rs = s.executeQuery("SELECT attnum FROM pg_attribute WHERE attrelid = " + oid
                         + " AND attname = 'rf_added'")) {
                rs.next();
                int attnum = rs.getInt(1);
                Thread.sleep(CatalogCache.MISSING_COLUMN_GRACE_NANOS / 1_000_000 + 100);
                assertFalse(catalog.knows(oid, attnum), "a column added after the table was read is unknown");
                // Asked after the table was read: not taken as answered by that read.
                catalog.resolve(Set.of(oid)).get(10, TimeUnit.SECONDS);
                assertTrue(catalog.knows(oid, attnum));
                assertEquals(Optional.of("rf_added"), catalog.cached(oid, attnum).map(ColumnName::column));
            }
        }
    }
}
