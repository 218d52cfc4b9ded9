package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

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

    /**
     * Generated (seed printed; {@code -Dwarden.overload.seed=N} repeats a run): carol (exempt) makes routines under
     * some names; alice (masked) makes, replaces and renames functions and procedures under names spelt every way
     * the server reads alike (unquoted in any case, quoted, Unicode-escaped) or not alike (a quoted upper case name is
     * another name). Warden must refuse with masking-handoff exactly the statements whose name, as the server reads
     * it, is one of carol's, and in the end no name outside pg_catalog has routines of both roles (the catalog's
     * answer, not Warden's).
     */
    @Test
    void generatedNamesAreJudgedAsTheServerReadsThem() throws SQLException {
        long seed = Long.getLong("warden.overload.seed", System.nanoTime());
        System.out.println("RoutineOwnersPerIdentityTest overload seed=" + seed);
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        // Spellings and the name the server makes of each.
        String[][] spellings = {
                {"gen_a", "gen_a"}, {"GEN_A", "gen_a"}, {"Gen_A", "gen_a"}, {"\"gen_a\"", "gen_a"},
                {"U&\"gen\\005fa\"", "gen_a"}, {"\"GEN_A\"", "GEN_A"}, {"\"Gen_B\"", "Gen_B"}, {"gen_b", "gen_b"},
                {"GEN_B", "gen_b"}, {"U&\"Gen\\005f\\0042\"", "Gen_B"}, {"gen_c", "gen_c"}, {"\"gen_c \"", "gen_c "}};
        java.util.Set<String> carols = java.util.Set.of("gen_a", "Gen_B");
        String[] types = {"int", "text", "varchar", "numeric", "bigint"};
        try (Connection carol = as(CAROL, "pii-readers"); Connection alice = as(WardenHarness.USER, "eng")) {
            run(carol, "CREATE FUNCTION public.gen_a(x int) RETURNS text LANGUAGE sql AS $$SELECT x::text$$");
            run(carol, "CREATE PROCEDURE public.\"Gen_B\"(x text) LANGUAGE sql AS $$SELECT 1$$");
            List<String> own = new java.util.ArrayList<>(); // alice's routines made so far, as signatures
            for (int i = 0; i < 30; i++) {
                String[] name = spellings[random.nextInt(spellings.length)];
                String type = types[random.nextInt(types.length)];
                String sql;
                int verb = own.isEmpty() ? random.nextInt(2) : random.nextInt(3);
                String made = "public.own_" + i + "(" + type + ")";
                if (verb == 0) {
                    sql = (random.nextBoolean() ? "CREATE OR REPLACE" : "CREATE") + " FUNCTION public." + name[0]
                            + "(x " + type + ") RETURNS text LANGUAGE sql AS $$SELECT 'alice'$$";
                } else if (verb == 1) {
                    sql = "CREATE PROCEDURE public." + name[0] + "(x " + type + ") LANGUAGE sql AS $$SELECT 1$$";
                } else {
                    String from = own.get(random.nextInt(own.size()));
                    sql = "ALTER ROUTINE " + from + " RENAME TO " + name[0];
                }
                String what = sql + " (seed " + seed + ", step " + i + ")";
                String error = null;
                try {
                    run(alice, sql);
                } catch (SQLException e) {
                    error = e.getMessage();
                }
                boolean refused = error != null && error.contains("masking-handoff");
                assertEquals(carols.contains(name[1]), refused, what + ": " + error);
                // Her own routine to rename later, under a name no one else has.
                run(alice, "CREATE FUNCTION " + made + " RETURNS int LANGUAGE sql AS $$SELECT 1$$");
                own.add(made);
            }
            try (Connection direct = warden.direct()) {
                assertEquals("", WardenHarness.scalar(direct, "SELECT coalesce(string_agg(proname, ', '), '') FROM "
                        + "(SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        + "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE "
                        + "'pg_temp%' GROUP BY proname HAVING count(DISTINCT proowner) > 1) x"),
                        "names with routines of two roles (seed " + seed + ")");
            }
        } finally {
            try (Connection direct = warden.direct()) {
                run(direct, "DO $$DECLARE r record; BEGIN FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p "
                        + "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND (p.proname "
                        + "ILIKE 'gen%' OR p.proname LIKE 'own_%') LOOP EXECUTE 'DROP ROUTINE ' || r.f; END LOOP; "
                        + "END$$");
            }
        }
    }
}
