package dev.warden.proxy.catalog;

import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.proxy.upstream.UpstreamJdbc;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Warden's catalog login reads one stored row of a materialized view by its name, after a separate query found that
 * name to be that materialized view ({@link RelationCatalog#staleMaterializedViews}). An identity that may create in
 * the schema drops the view in between and makes, under the same name, a view whose columns are named {@code xmin},
 * {@code cmin}, {@code xmax} and {@code tableoid}, or a table with a row security policy, each calling its own
 * function: that function would run as Warden's login (which may create roles). The window is between two
 * statements on the catalog's connection, so these tests call the second read ({@link RelationCatalog#readStoredRows})
 * directly, with the name already reused, on a connection opened as Warden opens its own.
 */
class MaterializedViewNameRaceTest {

    private static TestPostgres pg;
    private static String database;

    @BeforeAll
    static void start() throws SQLException {
        pg = TestPostgres.start();
        database = pg.createDatabase("mvrace");
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE mvr_warden LOGIN CREATEROLE");
            s.execute("CREATE ROLE mvr_mallory LOGIN");
        }
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO mvr_mallory");
        }
        try (Connection c = mallory(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE public.mvr_seen (who text, how text)");
            s.execute("GRANT INSERT ON public.mvr_seen TO PUBLIC");
            s.execute("""
                    CREATE FUNCTION public.mvr_run(how text) RETURNS int LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.mvr_seen VALUES (current_user::text, how);
                      RETURN 1;
                    END $$""");
            s.execute("CREATE MATERIALIZED VIEW public.mvr_real AS SELECT 1 AS a");
            s.execute("CREATE VIEW public.mvr_view AS SELECT public.mvr_run('view')::text::xid AS xmin, "
                    + "0 AS cmin, '0'::xid AS xmax, 0::oid AS tableoid");
            s.execute("CREATE TABLE public.mvr_policy (a int)");
            s.execute("INSERT INTO public.mvr_policy VALUES (1)");
            s.execute("ALTER TABLE public.mvr_policy ENABLE ROW LEVEL SECURITY");
            s.execute("CREATE POLICY mvr_p ON public.mvr_policy USING (public.mvr_run('policy') = 1)");
            s.execute("CREATE TABLE public.mvr_plain (a int)");
            s.execute("INSERT INTO public.mvr_plain VALUES (1)");
            s.execute("GRANT SELECT ON public.mvr_real, public.mvr_view, public.mvr_policy, public.mvr_plain "
                    + "TO mvr_warden");
        }
    }

    @AfterAll
    static void stop() {
        if (pg != null) {
            pg.close();
        }
    }

    @BeforeEach
    void clear() throws SQLException {
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("TRUNCATE public.mvr_seen");
        }
    }

    private static Connection mallory() throws SQLException {
        return DriverManager.getConnection(pg.jdbcUrl(database) + "&user=mvr_mallory");
    }

    /** Warden's catalog connection, as {@link UpstreamJdbc} opens it, as a login that may create roles. */
    private static Connection wardens() throws SQLException {
        return UpstreamJdbc.open(new Upstream(pg.host(), pg.port(), database, "mvr_warden", Secret.none(),
                TlsMode.DISABLE, Optional.empty(), Duration.ofSeconds(5), false, "test", Optional.empty()),
                "warden-catalog");
    }

    private static long oid(String name) throws SQLException {
        try (Connection c = pg.connect(database); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT '" + name + "'::regclass::oid::int8")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> seen() throws SQLException {
        try (Connection c = pg.connect(database); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT who || ' ' || how FROM public.mvr_seen ORDER BY 1")) {
            List<String> out = new java.util.ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    private static Map<Long, String> read(long oid, String name) throws SQLException {
        Map<Long, String> out = new HashMap<>();
        try (Connection c = wardens()) {
            RelationCatalog.readStoredRows(c, Map.of(oid, name), out);
        }
        return out;
    }

    /** The probes' premise: the read as it was written before runs both plants as Warden's login. */
    @Test
    void theEarlierReadRanTheReusedNamesFunctionsAsWardensLogin() throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(database) + "&user=mvr_warden");
             Statement s = c.createStatement()) {
            for (String name : List.of("public.mvr_view", "public.mvr_policy")) {
                s.executeQuery("SELECT xmin, cmin, xmax FROM ONLY " + name + " LIMIT 1").close();
            }
        }
        assertEquals(List.of("mvr_warden policy", "mvr_warden view"), seen());
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"public.mvr_view", "public.mvr_policy"})
    void aViewOrATableWithAPolicyMadeUnderTheNameRunsNothingAndCountsAsStale(String reused) throws SQLException {
        long oid = oid("public.mvr_real");
        Map<Long, String> out = read(oid, reused);
        assertEquals(List.of(), seen());
        assertTrue(out.containsKey(oid), "fails closed: " + out);
    }

    @Test
    void aPlainTableMadeUnderTheNameIsToldByItsTableoid() throws SQLException {
        long oid = oid("public.mvr_real");
        Map<Long, String> out = read(oid, "public.mvr_plain");
        assertEquals(Map.of(oid, "its name named another relation when Warden read its stored rows"), out);
    }

    /** Precision: the materialized view itself, unchanged since it was made, is read and left clear. */
    @Test
    void theMaterializedViewItselfIsReadAndNotStale() throws SQLException {
        long oid = oid("public.mvr_real");
        assertEquals(Map.of(), read(oid, "public.mvr_real"));
        assertEquals(List.of(), seen());
    }
}
