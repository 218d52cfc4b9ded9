package dev.warden.proxy.catalog;

import static org.junit.jupiter.api.Assertions.assertNull;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.sql.Analyzer;
import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an index runs for each row written: its operator class's support for the class's own type, as the server
 * loads it (LookupOpclassInfo), and no other member of the family (RelationCatalog.INDEX_SUPPORT). The class's own
 * support still counts: narrowing the query to the class's type must not drop it. (The cross-type member that made
 * every integer index unreadable in the transparency harness's full run did not do so in this database: that fix
 * was shown on the regression state itself, see bench/README.md.)
 */
class OperatorFamilyMembersTest {

    private static TestPostgres pg;
    private static String database;
    private static final Analyzer ANALYZER = new Analyzer(100);
    private static final ExecutorService BLOCKING = Executors.newFixedThreadPool(2);

    @BeforeAll
    static void start() throws SQLException {
        pg = TestPostgres.start();
        database = pg.createDatabase("families");
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("CREATE TYPE fam_int8");
            s.execute("CREATE FUNCTION fam_int8in(cstring) RETURNS fam_int8 STRICT IMMUTABLE LANGUAGE internal "
                    + "AS 'int8in'");
            s.execute("CREATE FUNCTION fam_int8out(fam_int8) RETURNS cstring STRICT IMMUTABLE LANGUAGE internal "
                    + "AS 'int8out'");
            s.execute("CREATE TYPE fam_int8 (input = fam_int8in, output = fam_int8out, like = int8)");
            s.execute("CREATE FUNCTION fam_int8cmp(int8, fam_int8) RETURNS int STRICT IMMUTABLE LANGUAGE internal "
                    + "AS 'btint8cmp'");
            s.execute("ALTER OPERATOR FAMILY integer_ops USING btree ADD FUNCTION 1 fam_int8cmp(int8, fam_int8)");
            s.execute("CREATE TABLE fam_items (id int PRIMARY KEY, note text)");
            // An operator class of the column's own type whose support Warden cannot read: that one runs.
            s.execute("CREATE FUNCTION fam_own_cmp(int4, int4) RETURNS int STRICT IMMUTABLE LANGUAGE plpgsql "
                    + "AS $$ BEGIN EXECUTE 'SELECT ' || $1; RETURN btint4cmp($1, $2); END $$");
            s.execute("CREATE OPERATOR CLASS fam_own_ops FOR TYPE int4 USING btree AS OPERATOR 1 <, OPERATOR 2 <=, "
                    + "OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 fam_own_cmp(int4, int4)");
            s.execute("CREATE TABLE fam_own (id int, note text)");
            s.execute("CREATE INDEX ON fam_own (id fam_own_ops)");
        }
    }

    @AfterAll
    static void stop() {
        BLOCKING.shutdownNow();
        if (pg != null) {
            pg.close();
        }
    }

    private static List<dev.warden.sql.StatementFacts> runByWrite(String table) {
        Upstream upstream = new Upstream(pg.host(), pg.port(), database, pg.superuser(),
                Secret.of(pg.superuserPassword()), TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), true,
                "test");
        CatalogCache catalog = new CatalogCache(new Environment("families", upstream, List.of(), false, true,
                Optional.empty()), BLOCKING);
        try {
            dev.warden.sql.Analysis insert = ANALYZER.analyze("INSERT INTO " + table + " VALUES (1, 'n')");
            catalog.resolveFunctions(catalog.functionsToResolve(insert, true), ANALYZER).join();
            // What writing it runs may name functions read in a second round (as a session's next statement asks).
            catalog.resolveFunctions(catalog.functionsToResolve(insert, true), ANALYZER).join();
            return catalog.runBy(table, true);
        } finally {
            catalog.close();
        }
    }

    @Test
    void theClassesOwnSupportStillRuns() {
        assertNull(runByWrite("fam_own"), "the index's own class runs a body with SQL built at run time");
    }
}
