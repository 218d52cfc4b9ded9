package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With {@code provision: per_identity} each identity's routines are owned by its own role, so a masked identity
 * may not overload an exempt identity's routine made through Warden (its overload would take the exempt
 * identity's calls, with their clear values), while its own routines' names stay its own.
 */
class RoutineOwnersPerIdentityTest {

    static final String CAROL = "carol@example.com";
    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE ro_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE ro_app NOLOGIN");
            s.execute("GRANT ro_app TO ro_provisioner WITH ADMIN OPTION");
        }
        warden = WardenHarness.start(pg, "", """
                  owners:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ro_provisioner, tls: require }
                    allow: [ { groups: [eng, pii-readers] } ]
                    roles:
                      provision: per_identity
                      map: [ { role: ro_app } ]
                """, """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("GRANT USAGE, CREATE ON SCHEMA public TO ro_app");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection as(String user, String group) throws SQLException {
        return warden.connect("owners", user, warden.issuer.token().email(user).groups(group).sign(), "");
    }

    private static void run(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void aMaskedIdentityMayOverloadItsOwnRoutinesButNotAnotherIdentitys() throws SQLException {
        try (Connection carol = as(CAROL, "pii-readers"); Connection alice = as(WardenHarness.USER, "eng")) {
            run(carol, "CREATE FUNCTION public.ro_fmt(t text) RETURNS text LANGUAGE sql AS $$SELECT upper(t)$$");
            SQLException refused = assertThrows(SQLException.class, () -> run(alice,
                    "CREATE FUNCTION public.ro_fmt(t varchar) RETURNS text LANGUAGE sql AS $$SELECT t$$"));
            assertEquals("42501", refused.getSQLState(), refused.getMessage());
            assertTrue(refused.getMessage().contains("masking-handoff"), refused.getMessage());
            // Her own: made, overloaded and replaced.
            run(alice, "CREATE FUNCTION public.ro_mine(t text) RETURNS text LANGUAGE sql AS $$SELECT t$$");
            run(alice, "CREATE FUNCTION public.ro_mine(t int) RETURNS text LANGUAGE sql AS $$SELECT t::text$$");
            run(alice, "CREATE OR REPLACE FUNCTION public.ro_mine(t int) RETURNS text LANGUAGE sql AS "
                    + "$$SELECT (t + 1)::text$$");
            try (Connection direct = warden.direct()) {
                assertEquals("ro_fmt:1 ro_mine:2", WardenHarness.scalar(direct, "SELECT string_agg(proname || ':' "
                        + "|| n, ' ' ORDER BY proname) FROM (SELECT proname, count(*) AS n FROM pg_proc "
                        + "WHERE proname IN ('ro_fmt', 'ro_mine') GROUP BY proname) p"));
                assertEquals("wd_alice@example.com", WardenHarness.scalar(direct, "SELECT DISTINCT "
                        + "pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'ro_mine'"));
            }
        }
    }
}
