package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.witness.PostgresWitnessStore;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.audit.witness.WitnessStore;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.AuditSinkConfig;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacker pass 18: the PostgreSQL audit sink and witness store in a database where another role (an identity) may
 * create in {@code public}, the first schema of the stores' logins' default search_path. The attacker plants an
 * operator {@code =(text, varchar)}, an exact match for the witness store's {@code chain = ?} (pgJDBC sends strings
 * as varchar), and functions named like the ones the set-up calls. Their bodies would run as the store's login, which
 * owns the append-only table and may drop its triggers. The stores now qualify their table once and resolve every
 * other name in pg_catalog alone.
 */
class AttackPass18AuditStoresTest {

    private static TestPostgres postgres;
    private static String db;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        postgres = TestPostgres.start();
        db = postgres.createDatabase("p18stores");
        try (Connection c = postgres.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE p18_store LOGIN");
            s.execute("CREATE ROLE p18_mallory LOGIN");
        }
        try (Connection c = postgres.connect(db); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO p18_store, p18_mallory");
        }
        // What the attacker plants, as itself: each body notes who ran it, then does what the real one does.
        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(db) + "&user=p18_mallory");
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE public.p18_seen (who text, what text)");
            s.execute("GRANT INSERT ON public.p18_seen TO PUBLIC");
            s.execute("""
                    CREATE FUNCTION public.p18_eq(text, varchar) RETURNS boolean LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.p18_seen VALUES (current_user::text, '=');
                      RETURN $1 OPERATOR(pg_catalog.=) $2::text;
                    END $$""");
            s.execute("CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.p18_eq)");
            s.execute("""
                    CREATE FUNCTION public.hashtext(varchar) RETURNS int LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.p18_seen VALUES (current_user::text, 'hashtext');
                      RETURN pg_catalog.hashtext($1::text);
                    END $$""");
        }
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    private static Secret storeUrl() {
        return Secret.of(postgres.jdbcUrl(db) + "&user=p18_store");
    }

    private static List<String> seen() throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = postgres.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT who || ' ran ' || what FROM public.p18_seen")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** The attacker's operator would be chosen by an unpinned connection: shown on a plain one, as the store's login. */
    @Test
    void thePlantedOperatorWinsOnAConnectionWithTheDefaultSearchPath() throws Exception {
        try (Connection c = DriverManager.getConnection(storeUrl().reveal());
             java.sql.PreparedStatement ps = c.prepareStatement("SELECT 'a'::text = ?")) {
            ps.setString(1, "a");
            ps.executeQuery().close();
        }
        try (Connection c = postgres.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM public.p18_seen WHERE who = 'p18_store'")) {
            rs.next();
            assertTrue(rs.getLong(1) > 0, "the probe's premise: the planted operator wins for text = varchar");
            s.execute("TRUNCATE public.p18_seen");
        }
    }

    @Test
    void theWitnessStoreNeverRunsWhatAnotherRolePlantedInPublic() throws Exception {
        WitnessHead head = new WitnessHead("p18-chain", 10, "ab".repeat(32), Instant.parse("2026-12-03T22:00:00Z"),
                "key-1", "c2ln");
        try (WitnessStore store = new PostgresWitnessStore(storeUrl(), "p18_witness")) {
            store.publish(head);
            assertEquals(Optional.of(head), store.latest("p18-chain"));
            try (WitnessStore.Heads heads = store.heads("p18-chain", 0)) {
                assertEquals(head, heads.next());
            }
        }
        assertEquals(List.of(), seen().stream().filter(w -> w.startsWith("p18_store")).toList());
        try (Connection c = postgres.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM public.p18_witness")) {
            rs.next();
            assertEquals(1, rs.getLong(1), "the table is where the default search_path put it (public)");
        }
    }

    /**
     * The sink's own statements compare no varchar (none of the plants wins there, before the change or after), so
     * this is not a probe: it shows that a sink whose names resolve in pg_catalog still finds, resumes and appends
     * to its table in {@code public}, across two opens.
     */
    @Test
    void thePinnedPostgresSinkResumesItsTableInPublicAndRunsNothingPlanted() throws Exception {
        AuditSinkConfig pg = new AuditSinkConfig.PostgresSink(storeUrl(), "p18_audit");
        AuditSettings settings = new AuditSettings(List.of(pg), Optional.of(Fixtures.writeKey(tmp)), true, 1000,
                Duration.ZERO, Duration.ofMillis(2), true);
        for (int open = 0; open < 2; open++) {
            try (AuditLog log = AuditLog.open(settings)) {
                log.append(Fixtures.start("s" + open, "alice@example.com", false, "prod")).join();
                log.append(Fixtures.query("s" + open, "alice@example.com", "prod", "SELECT 1")).join();
            }
        }
        assertEquals(List.of(), seen().stream().filter(w -> w.startsWith("p18_store")).toList());
        try (Connection c = postgres.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM public.p18_audit")) {
            rs.next();
            assertTrue(rs.getLong(1) >= 4, "both runs' records are in public.p18_audit");
        }
    }
}
