package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 17 (least privilege): an identity tries to act as another identity's role, as a shared mapped role
 * or as Warden's own login, or to leave Warden behind and log in to PostgreSQL directly. "least" has every guardrail
 * off, so only the database (and what Warden does to the roles) stands in the way; "guarded" has the baseline on.
 */
class AttackPass17PrivilegeTest {

    static final String ALICE = WardenHarness.USER;
    static final String CAROL = "carol@example.com";

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE ap_provisioner LOGIN CREATEROLE");
            for (String role : new String[] {"ap_readwrite", "ap_admin"}) {
                s.execute("CREATE ROLE " + role + " NOLOGIN");
                s.execute("GRANT " + role + " TO ap_provisioner WITH ADMIN OPTION");
            }
        }
        String roles = """
                    roles:
                      provision: per_identity
                      map:
                        - { groups: [dba], role: ap_admin }
                        - { groups: [eng], role: ap_readwrite }
                """;
        warden = WardenHarness.start(pg, "", """
                  least:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ap_provisioner, tls: require }
                    allow: [ { groups: [eng, dba] } ]
                %s
                  guarded:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ap_provisioner, tls: require }
                    allow: [ { groups: [eng, dba] } ]
                %s
                """.formatted(roles.stripTrailing(), roles.stripTrailing()), "masking:\n  defaults: off\n");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            // A common grant (and PostgreSQL 14's default for every role): the engineers' role may create in public.
            s.execute("GRANT CREATE ON SCHEMA public TO ap_readwrite");
            s.execute("CREATE TABLE ap_secrets (id int, v text)");
            s.execute("INSERT INTO ap_secrets VALUES (1, 'admin-only')");
            s.execute("GRANT SELECT ON ap_secrets TO ap_admin");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection as(String env, String user, String... groups) throws SQLException {
        return warden.connect(env, user, warden.issuer.token().email(user).groups(groups).sign(), "");
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    private static Connection directAs(String role, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", role);
        p.setProperty("password", password);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + warden.pg.port() + "/" + warden.database,
                p);
    }

    /**
     * A role may always change its own password (PostgreSQL allows it without CREATEROLE). With a password of its
     * choosing, an identity logs in to PostgreSQL directly, around Warden's guardrails, masking and audit, for as long
     * as the role's VALID UNTIL lasts (ten minutes after its last login through Warden), and keeps that session.
     */
    @Test
    void anIdentitySettingItsOwnPasswordCannotLogInAroundWarden() throws SQLException {
        try (Connection alice = as("least", ALICE, "eng"); Statement s = alice.createStatement()) {
            s.execute("ALTER ROLE CURRENT_USER PASSWORD 'chosen-by-alice'");
        } catch (SQLException refused) {
            // Refusing the statement is one way to hold the line; what matters is the direct login below.
        }
        SQLException direct = assertThrows(SQLException.class,
                () -> directAs("wd_alice@example.com", "chosen-by-alice").close(),
                "alice logged in to PostgreSQL directly with a password she chose");
        assertEquals("28P01", direct.getSQLState(), direct.getMessage());
    }

    /**
     * With the baseline on, the statement never reaches the database; nor does a change of the role's login settings
     * (they apply at its next login, before Warden sees a statement: LeastPrivilegeTest).
     */
    @Test
    void withTheBaselineOnAlterRolePasswordIsRefusedAndSoAreTheRolesLoginSettings() throws SQLException {
        try (Connection alice = as("guarded", ALICE, "eng"); Statement s = alice.createStatement()) {
            for (String sql : new String[] {"ALTER ROLE CURRENT_USER PASSWORD 'mine'",
                    "ALTER USER \"wd_alice@example.com\" WITH ENCRYPTED PASSWORD 'mine'",
                    "alter role current_user with login password 'mine' valid until 'infinity'",
                    "/* mine */ ALTER ROLE SESSION_USER PASSWORD 'mine'"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("role-escalation"), sql + ": " + e.getMessage());
            }
            // Another role's password is the database's to refuse (no CREATEROLE), not Warden's rule.
            SQLException other = assertThrows(SQLException.class, () -> s.execute("ALTER ROLE ap_readwrite PASSWORD 'x'"));
            assertEquals("42501", other.getSQLState());
            assertFalse(other.getMessage().contains("role-escalation"), other.getMessage());
            for (String sql : new String[] {"ALTER ROLE CURRENT_USER SET statement_timeout = '7s'",
                    "ALTER ROLE CURRENT_USER RESET statement_timeout"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("role-escalation"), sql + ": " + e.getMessage());
            }
        }
    }

    /** The same, while she keeps her Warden session open: the direct login must fail then too. */
    @Test
    void anIdentitySettingItsOwnPasswordCannotLogInAroundWardenWhileItsSessionLasts() throws SQLException {
        try (Connection alice = as("least", CAROL, "eng"); Statement s = alice.createStatement()) {
            try {
                s.execute("ALTER USER \"wd_carol@example.com\" PASSWORD 'chosen-by-carol'");
            } catch (SQLException refused) {
                // as above
            }
            SQLException direct = assertThrows(SQLException.class,
                    () -> directAs("wd_carol@example.com", "chosen-by-carol").close(),
                    "carol logged in to PostgreSQL directly with a password she chose");
            assertEquals("28P01", direct.getSQLState(), direct.getMessage());
            assertEquals("wd_carol@example.com", scalar(alice, "SELECT current_user"), "her Warden session lives on");
        }
    }

    /**
     * Warden's own login reads the catalog and provisions roles with queries such as {@code rolname = $1} (a varchar
     * parameter). An operator {@code =(name, varchar)} in a schema on that login's search_path is an exact match and
     * wins over pg_catalog's {@code =(name, text)}: its function then runs as Warden's login, which has CREATEROLE and
     * ADMIN OPTION on every mapped role.
     */
    @Test
    void anOperatorPlantedInPublicNeverRunsAsWardensOwnLogin() throws SQLException {
        String dave = "dave@example.com";
        try (Connection eng = as("least", dave, "eng"); Statement s = eng.createStatement()) {
            s.execute("CREATE TABLE public.ap_seen (who text)");
            s.execute("GRANT INSERT ON public.ap_seen TO PUBLIC");
            s.execute("""
                    CREATE FUNCTION public.ap_name_eq(name, varchar) RETURNS boolean LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.ap_seen VALUES (current_user::text);
                      IF current_user::text = 'ap_provisioner'::text THEN
                        GRANT ap_admin TO "wd_dave@example.com";
                      END IF;
                      RETURN $1::text = $2::text;
                    END $$""");
            s.execute("CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = varchar, FUNCTION = public.ap_name_eq)");
        }
        try {
            // Any login makes Warden provision, which reads pg_roles by name.
            try (Connection other = as("least", "erin@example.com", "eng")) {
                scalar(other, "SELECT 1");
            }
            try (Connection eng = as("least", dave, "eng")) {
                assertEquals("false", scalar(eng, "SELECT pg_has_role(current_user, 'ap_admin', 'MEMBER')::text"));
            }
            try (Connection eng = as("least", dave, "eng")) {
                // Precision: the operator is dave's to use in his own session.
                assertEquals("true", scalar(eng, "SELECT ('x'::name OPERATOR(public.=) 'x'::varchar)::text"));
            }
            try (Connection direct = warden.direct()) {
                assertEquals("1", scalar(direct, "SELECT count(*) FROM public.ap_seen WHERE who = 'wd_dave@example.com'"));
                assertEquals("0", scalar(direct, "SELECT count(*) FROM public.ap_seen WHERE who = 'ap_provisioner'"),
                        "dave's operator ran as Warden's own login");
                assertEquals("false", scalar(direct,
                        "SELECT pg_has_role('wd_dave@example.com', 'ap_admin', 'MEMBER')::text"));
            }
        } finally {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("DROP OPERATOR IF EXISTS public.= (name, varchar)");
                s.execute("DROP FUNCTION IF EXISTS public.ap_name_eq(name, varchar)");
                s.execute("DROP TABLE IF EXISTS public.ap_seen");
            }
        }
    }

    /**
     * A per-role default {@code role} makes every later session of the identity start as another role than its own
     * (the mapped role: pg_stat_activity, the server log and pgAudit then name the shared role, not the person).
     */
    @Test
    void aPerRoleDefaultRoleIsRefusedAndDoesNotOutliveTheNextLogin() throws SQLException {
        String frank = "frank@example.com";
        try (Connection f = as("guarded", frank, "eng"); Statement s = f.createStatement()) {
            for (String sql : new String[] {"ALTER ROLE CURRENT_USER SET role = 'ap_readwrite'",
                    "ALTER ROLE \"wd_frank@example.com\" SET role TO ap_readwrite",
                    "ALTER USER CURRENT_USER IN DATABASE " + warden.database + " SET role = 'ap_readwrite'",
                    "ALTER ROLE CURRENT_USER SET session_authorization = 'ap_readwrite'"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
            }
        }
        // Guardrails off: the database takes the setting, and the next login through Warden must not start with it.
        try (Connection f = as("least", frank, "eng"); Statement s = f.createStatement()) {
            s.execute("ALTER ROLE CURRENT_USER SET role = 'ap_readwrite'");
        }
        try (Connection f = as("least", frank, "eng")) {
            assertEquals("wd_frank@example.com", scalar(f, "SELECT current_user"));
        }
    }

    /**
     * Precision: the password expires once the login has finished, yet the session goes on, and the identity's next
     * login (another session of it still open) gets a fresh password that works.
     */
    @Test
    void theSessionOutlivesItsExpiredPasswordAndTheNextLoginWorks() throws Exception {
        String henry = "henry@example.com";
        try (Connection first = as("least", henry, "eng")) {
            assertEquals("-infinity", awaitValidUntil("wd_henry@example.com", "-infinity"));
            try (Connection second = as("least", henry, "eng")) {
                assertEquals("wd_henry@example.com", scalar(second, "SELECT current_user"));
            }
            assertEquals("wd_henry@example.com", scalar(first, "SELECT current_user"));
            assertEquals("-infinity", awaitValidUntil("wd_henry@example.com", "-infinity"));
        }
    }

    private static String awaitValidUntil(String role, String expected) throws Exception {
        String seen = null;
        for (int i = 0; i < 100; i++) {
            try (Connection direct = warden.direct()) {
                seen = scalar(direct, "SELECT rolvaliduntil::text FROM pg_roles WHERE rolname = '" + role + "'");
            }
            if (expected.equals(seen)) {
                return seen;
            }
            Thread.sleep(50);
        }
        return seen;
    }

    /**
     * Precision: the database's settings still apply to the identity's sessions, and RESET ROLE is harmless. Its
     * role's own login settings do not: Warden resets them at each login (LeastPrivilegeTest), an administrator's
     * too, since the server does not say who made them.
     */
    @Test
    void databaseSettingsStillApplyAndTheRolesOwnAreReset() throws SQLException {
        String ivan = "ivan@example.com";
        try (Connection first = as("least", ivan, "eng")) {
            scalar(first, "SELECT 1");
        }
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("ALTER ROLE \"wd_ivan@example.com\" SET statement_timeout = '12345ms'");
            s.execute("ALTER DATABASE " + warden.database + " SET lock_timeout = '23456ms'");
        }
        try (Connection c = as("least", ivan, "eng"); Statement s = c.createStatement()) {
            assertEquals("0", scalar(c, "SHOW statement_timeout"));
            assertEquals("23456ms", scalar(c, "SHOW lock_timeout"));
            s.execute("SET ROLE ap_readwrite");
            assertEquals("ap_readwrite", scalar(c, "SELECT current_user"));
            s.execute("RESET ROLE");
            assertEquals("wd_ivan@example.com", scalar(c, "SELECT current_user"));
        } finally {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("ALTER DATABASE " + warden.database + " RESET lock_timeout");
            }
        }
    }

    /**
     * Precision: a role Warden made before roles named their issuer (its comment names only the user) is taken by the
     * next login, which records its issuer; a role Warden did not make is still refused, with 28000.
     */
    @Test
    void aRoleFromBeforeIssuersWereRecordedIsKeptAndAForeignRoleIsRefused() throws SQLException {
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("SET ROLE ap_provisioner"); // as Warden's login made it
            s.execute("CREATE ROLE \"wd_judy@example.com\" LOGIN");
            s.execute("COMMENT ON ROLE \"wd_judy@example.com\" IS 'warden per-identity role of judy@example.com'");
            s.execute("RESET ROLE");
            s.execute("CREATE ROLE \"wd_kim@example.com\" LOGIN");
        }
        try (Connection judy = as("least", "judy@example.com", "eng")) {
            assertEquals("wd_judy@example.com", scalar(judy, "SELECT current_user"));
        }
        try (Connection direct = warden.direct()) {
            assertEquals("warden per-identity role of judy@example.com from issuer " + warden.issuer.issuer(),
                    scalar(direct, "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles "
                            + "WHERE rolname = 'wd_judy@example.com'"));
        }
        SQLException foreign = assertThrows(SQLException.class, () -> as("least", "kim@example.com", "eng").close());
        assertEquals("28000", foreign.getSQLState(), foreign.getMessage());
        assertTrue(foreign.getMessage().contains("was not created by Warden"), foreign.getMessage());
    }

    /** Every spelling of a role change leaves the session as its own role (baseline on). */
    @Test
    void everySpellingOfARoleChangeLeavesTheSessionItsOwnRole() throws SQLException {
        try (Connection alice = as("guarded", ALICE, "eng")) {
            for (String sql : new String[] {"SET role TO ap_readwrite", "SET \"role\" = 'ap_readwrite'",
                    "SET LOCAL ROLE ap_readwrite", "SET SESSION ROLE ap_readwrite", "set/**/role ap_readwrite",
                    "SELECT set_config('ROLE', 'ap_readwrite', false)", "SELECT set_config(E'rol\\x65', 'ap_readwrite', false)",
                    "SELECT pg_catalog.set_config('role', 'ap_readwrite', true)",
                    "SELECT set_config(lower('ROLE'), 'ap_readwrite', false)",
                    "SELECT set_config(x, 'ap_readwrite', false) FROM (VALUES ('role')) v(x)",
                    "UPDATE pg_settings SET setting = 'ap_readwrite' WHERE name = 'role'",
                    "CREATE FUNCTION ap_as_rw() RETURNS text LANGUAGE sql SET role = 'ap_readwrite' AS 'SELECT current_user::text'"}) {
                try (Statement s = alice.createStatement()) {
                    alice.setAutoCommit(!sql.startsWith("SET LOCAL"));
                    s.execute(sql);
                    if (sql.startsWith("CREATE FUNCTION")) {
                        assertEquals("wd_alice@example.com", scalar(alice, "SELECT ap_as_rw()"), sql);
                    }
                } catch (SQLException refused) {
                    assertNotEquals("", refused.getSQLState(), sql);
                }
                try {
                    if (!alice.getAutoCommit()) {
                        assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"), sql);
                        alice.rollback();
                        alice.setAutoCommit(true);
                    }
                } catch (SQLException inAbortedTransaction) {
                    alice.rollback();
                    alice.setAutoCommit(true);
                }
                assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"), sql);
            }
        }
    }

    /** DISCARD ALL and RESET ALL return to the login's defaults, which must be the identity's own role. */
    @Test
    void discardAllAndResetAllLeaveTheSessionItsOwnRole() throws SQLException {
        try (Connection alice = as("guarded", ALICE, "eng"); Statement s = alice.createStatement()) {
            s.execute("DISCARD ALL");
            assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"));
            s.execute("RESET ALL");
            assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"));
        }
    }

    /** An identity cannot hand itself another identity's role, nor Warden's, nor make roles. */
    @Test
    void grantsAndRoleDdlOnOthersAreRefusedByTheDatabase() throws SQLException {
        try (Connection carol = as("least", CAROL, "eng")) {
            scalar(carol, "SELECT 1");
        }
        try (Connection alice = as("least", ALICE, "eng"); Statement s = alice.createStatement()) {
            for (String sql : new String[] {"GRANT \"wd_carol@example.com\" TO CURRENT_USER",
                    "GRANT ap_provisioner TO CURRENT_USER", "GRANT ap_admin TO CURRENT_USER",
                    "CREATE ROLE ap_mine LOGIN PASSWORD 'x'", "ALTER ROLE \"wd_carol@example.com\" PASSWORD 'x'",
                    "ALTER ROLE CURRENT_USER CREATEROLE", "ALTER ROLE CURRENT_USER VALID UNTIL 'infinity'",
                    "COMMENT ON ROLE \"wd_alice@example.com\" IS 'warden per-identity role of carol@example.com'",
                    "SET ROLE \"wd_carol@example.com\"", "SET SESSION AUTHORIZATION ap_provisioner",
                    "SET ROLE ap_provisioner"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
            }
            assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"));
        }
    }

    /**
     * User names chosen in token claims: case, quotes, length past 63 bytes with a shared head, and names that read
     * as existing roles, each get a role of their own (never another's, never an existing role).
     */
    @Test
    void roleNamesFromClaimsNeverMeetAnotherIdentitysRoleOrABuiltInOne() throws SQLException {
        String head = "x".repeat(70);
        String[] users = {"Alice@example.com", head + "1@example.com", head + "2@example.com",
                "q\"; GRANT ap_admin TO \"wd_alice@example.com\"; --@example.com", "postgres", "pg_read_all_data",
                "ap_provisioner", "../ap_admin"};
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (Connection alice = as("least", ALICE, "eng")) {
            seen.add(scalar(alice, "SELECT current_user"));
        }
        for (String user : users) {
            try (Connection c = as("least", user, "eng")) {
                String role = scalar(c, "SELECT current_user");
                assertTrue(role.startsWith("wd_"), user + " -> " + role);
                assertTrue(seen.add(role), user + " shares role " + role);
                assertEquals("false", scalar(c, "SELECT pg_has_role(current_user, 'ap_admin', 'MEMBER')::text"));
            } catch (SQLException refused) {
                assertTrue(refused.getSQLState().startsWith("28"), user + ": " + refused.getMessage());
            }
        }
        try (Connection direct = warden.direct()) {
            assertEquals("false", scalar(direct,
                    "SELECT pg_has_role('wd_alice@example.com', 'ap_admin', 'MEMBER')::text"));
        }
    }

    /** The startup packet's user, database and application_name choose nothing about the database role. */
    @Test
    void startupParametersChooseNoRole() throws SQLException {
        for (String extra : new String[] {"ApplicationName=x%27%3B%20SET%20ROLE%20ap_admin%3B%20--",
                "options=-c%20search_path%3Dpublic%20-c%20role%3Dap_admin", "options=-c%20SESSION_AUTHORIZATION%3Dpostgres",
                "options=-c%20ROLE%3Dap_readwrite"}) {
            try (Connection c = warden.connect("least", ALICE, warden.token(), extra)) {
                assertEquals("wd_alice@example.com", scalar(c, "SELECT current_user"), extra);
            } catch (SQLException refused) {
                assertEquals("42501", refused.getSQLState(), extra + ": " + refused.getMessage());
            }
        }
        // The database names the environment, never the upstream database or a role.
        SQLException e = assertThrows(SQLException.class,
                () -> warden.connect(warden.database, ALICE, warden.token(), "").close());
        assertEquals("28000", e.getSQLState(), e.getMessage());
        SQLException asRole = assertThrows(SQLException.class,
                () -> warden.connect("least", "ap_provisioner", warden.token(), "").close());
        assertEquals("28000", asRole.getSQLState(), asRole.getMessage());
    }

    /** Two first logins of a new identity at once: both succeed, one role, granted exactly the mapped role. */
    @Test
    void twoFirstLoginsOfANewIdentityAtOnceMakeOneRole() throws Exception {
        String grace = "grace@example.com";
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<String>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                all.add(pool.submit(() -> {
                    try (Connection c = as("least", grace, "eng")) {
                        return scalar(c, "SELECT current_user");
                    }
                }));
            }
            for (var f : all) {
                assertEquals("wd_grace@example.com", f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        try (Connection direct = warden.direct()) {
            assertEquals("ap_readwrite", scalar(direct, "SELECT string_agg(g.rolname, ',') FROM pg_auth_members m "
                    + "JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member "
                    + "WHERE r.rolname = 'wd_grace@example.com'"));
        }
    }
}
