package dev.warden.proxy;

import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 17 (approvals): the shared approval store in the application's own database, as its own role that
 * owns only the approvals table (as the README asks). An identity that may create in {@code public} plants an
 * operator {@code =(text, varchar)} and a function {@code lower(varchar)}, exact matches for the store's
 * {@code id = ?} and {@code lower(?)} (pgJDBC sends strings as varchar): their bodies would run as the store's role,
 * which may rewrite any approval.
 */
class AttackPass17ApprovalStoreTest {

    static TestPostgres pg;
    static TestOidcIssuer issuer;
    static String database;
    static WardenServer warden;

    @BeforeAll
    static void start() throws Exception {
        pg = TestPostgres.start();
        issuer = TestOidcIssuer.start();
        database = pg.createDatabase("apst");
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE ast_store LOGIN");
            s.execute("CREATE ROLE ast_prov LOGIN CREATEROLE");
            s.execute("CREATE ROLE ast_rw NOLOGIN");
            s.execute("GRANT ast_rw TO ast_prov WITH ADMIN OPTION");
        }
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO ast_store, ast_rw");
            s.execute("CREATE TABLE billing (id int PRIMARY KEY, amount int)");
            s.execute("INSERT INTO billing VALUES (1, 100)");
            s.execute("GRANT SELECT, UPDATE ON billing TO ast_rw");
        }
        Path dir = Files.createTempDirectory("warden-p17-store-");
        String yaml = """
                listen: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "${ISSUER}", audience: warden } ]
                environments:
                  dev:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ast_prov, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles: { provision: per_identity, map: [ { groups: [eng], role: ast_rw } ] }
                  prod:
                    production: true
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ast_prov, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles: { provision: per_identity, map: [ { groups: [eng], role: ast_rw } ] }
                guardrails:
                  - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, action: require_approval, approvers: [dba] }
                masking: { defaults: off }
                audit: { sinks: [ { type: file, dir: "${DIR}/audit" } ] }
                approvals:
                  timeout: 30s
                  store: { type: postgres, url_env: APPROVALS_URL }
                """;
        warden = WardenServer.start(PolicyLoader.parse(yaml, dir, "store.yaml", Map.of("ISSUER", issuer.issuer(),
                "PG_PORT", Integer.toString(pg.port()), "DATABASE", database, "DIR", dir.toString(),
                "APPROVALS_URL", pg.jdbcUrl(database) + "&user=ast_store")));
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
        issuer.close();
        pg.close();
    }

    private static Connection alice(String env) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "alice@example.com");
        p.setProperty("password", issuer.token().email("alice@example.com").groups("eng").sign());
        // application_name in the startup packet, not a SET: with alice's "=" planted, Warden judges every "=" as
        // possibly running it (a write, which prod holds for approval).
        p.setProperty("assumeMinServerVersion", "16");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + warden.port() + "/" + env
                + "?sslmode=require", p);
    }

    @Test
    void anOperatorOrFunctionPlantedInPublicNeverRunsAsTheApprovalStoresRole() throws Exception {
        try (Connection a = alice("dev"); Statement s = a.createStatement()) {
            s.execute("CREATE TABLE public.ast_seen (who text)");
            s.execute("GRANT INSERT ON public.ast_seen TO PUBLIC");
            s.execute("""
                    CREATE FUNCTION public.ast_eq(text, varchar) RETURNS boolean LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.ast_seen VALUES (current_user::text);
                      RETURN $1 OPERATOR(pg_catalog.=) $2::text;
                    END $$""");
            s.execute("CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.ast_eq)");
            s.execute("""
                    CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.ast_seen VALUES (current_user::text);
                      RETURN pg_catalog.lower($1::text);
                    END $$""");
        }
        try (Connection a = alice("prod")) {
            Statement st = a.createStatement();
            CompletableFuture<Object> held = CompletableFuture.supplyAsync(() -> {
                try {
                    return st.executeUpdate("UPDATE billing SET amount = 1 WHERE id = 1");
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(1500); // the request is stored and polled (every 500 ms) by id
            st.cancel();
            held.get(10, TimeUnit.SECONDS);
        }
        try (Connection c = pg.connect(database)) {
            assertEquals("0", WardenHarness.scalar(c, "SELECT count(*) FROM public.ast_seen WHERE who = 'ast_store'"),
                    "alice's operator or function ran as the approval store's role");
            assertEquals("1", WardenHarness.scalar(c, "SELECT count(*) FROM warden_approvals"), "precision: the request was stored");
            assertEquals("100", WardenHarness.scalar(c, "SELECT amount FROM billing WHERE id = 1"));
        }
    }
}
