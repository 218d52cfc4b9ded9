package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each identity runs as its own PostgreSQL role, provisioned by a Warden login that is no superuser (CREATEROLE
 * and ADMIN OPTION on the mapped roles only), so PostgreSQL itself keeps people and agents apart and holds the
 * line where Warden's guardrails are switched off.
 */
class LeastPrivilegeTest {

    static final String CAROL = "carol@example.com";
    static final String BOT = "etl@example.com";
    static final String OPS = "olga@example.com";

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE lp_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE lp_shared_reader LOGIN");
            for (String role : new String[] {"lp_readonly", "lp_readwrite", "lp_admin"}) {
                s.execute("CREATE ROLE " + role + " NOLOGIN");
                s.execute("GRANT " + role + " TO lp_provisioner WITH ADMIN OPTION");
            }
        }
        // "least": guardrails off, so only PostgreSQL's privileges stand between a session and the data.
        // "guarded": the baseline on, to show Warden still refuses role changes above the database's floor.
        String roles = """
                    roles:
                      provision: per_identity
                      map:
                        - { agents: true, role: lp_readonly }
                        - { groups: [dba], role: lp_admin }
                        - { groups: [eng], role: lp_readwrite }
                """;
        warden = WardenHarness.start(pg, "", """
                  least:
                    baseline_guardrails: false
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: lp_provisioner, tls: require }
                    allow: [ { groups: [eng, dba, ops] }, { users: [etl@example.com] } ]
                %s
                  shared:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: lp_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles: { map: [ { groups: [eng], role: lp_shared_reader } ] }
                  guarded:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: lp_provisioner, tls: require }
                    allow: [ { groups: [eng, dba] } ]
                %s
                  opaque:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: lp_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles:
                      provision: per_identity
                      role_names: opaque
                      role_name_key_env: ROLE_NAME_KEY
                      map: [ { groups: [eng], role: lp_readwrite } ]
                """.formatted(roles.stripTrailing(), roles.stripTrailing()),
                // Role names carry e-mail addresses, which masking would hide from these non-pii-readers.
                "masking:\n  defaults: off\n");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE lp_items (id int PRIMARY KEY, v int NOT NULL)");
            s.execute("INSERT INTO lp_items SELECT g, g FROM generate_series(1, 5) g");
            s.execute("GRANT SELECT ON lp_items TO lp_readonly");
            s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON lp_items TO lp_readwrite");
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

    private static Connection agent(String env) throws SQLException {
        return warden.connect(env, BOT, warden.issuer.token().email(BOT).groups("bots").claim("azp", "etl-bot")
                .sign(), "");
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    @Test
    void currentUserNamesAlicesRoleAndCarolsSessionNamesHers() throws SQLException {
        try (Connection alice = as("least", WardenHarness.USER, "eng"); Connection carol = as("least", CAROL, "eng")) {
            assertEquals("wd_alice@example.com|wd_alice@example.com|true",
                    scalar(alice, "SELECT current_user || '|' || session_user || '|' "
                            + "|| pg_has_role(current_user, 'lp_readwrite', 'MEMBER')"));
            assertEquals("wd_carol@example.com", scalar(carol, "SELECT current_user"));
            // pg_stat_activity (and so the server log and pgAudit) names the person, not a shared login.
            assertEquals("wd_carol@example.com", scalar(alice, "SELECT usename FROM pg_stat_activity WHERE pid = "
                    + scalar(carol, "SELECT pg_backend_pid()")));
        }
        try (Connection direct = warden.direct()) {
            assertEquals("false|false|false", scalar(direct, "SELECT rolsuper || '|' || rolcreaterole || '|' || rolbypassrls "
                    + "FROM pg_roles WHERE rolname = 'wd_alice@example.com'"));
            // The password was rotated for the session and is valid for minutes only.
            assertEquals("true", scalar(direct, "SELECT (rolvaliduntil < now() + interval '11 minutes')::text "
                    + "FROM pg_roles WHERE rolname = 'wd_alice@example.com'"));
        }
    }

    /**
     * Every role may read pg_roles and the roles' comments: readable names (and their comments) listed everyone who
     * uses the database, e-mail addresses included (an attacker's pass, 2026-12-05). With {@code role_names: opaque}
     * neither names anyone, and each identity still has a role of its own.
     */
    @Test
    void opaqueRoleNamesListNoOneAndStillKeepIdentitiesApart() throws SQLException {
        String aliceRole;
        try (Connection alice = as("opaque", WardenHarness.USER, "eng"); Connection carol = as("opaque", CAROL, "eng")) {
            aliceRole = scalar(alice, "SELECT current_user");
            String carolRole = scalar(carol, "SELECT current_user");
            assertTrue(aliceRole.matches("wd_[0-9a-f]{32}"), aliceRole);
            assertTrue(carolRole.matches("wd_[0-9a-f]{32}"), carolRole);
            assertTrue(!aliceRole.equals(carolRole), "each identity has a role of its own");
            assertEquals(aliceRole + "|true", scalar(alice, "SELECT session_user || '|' "
                    + "|| pg_has_role(current_user, 'lp_readwrite', 'MEMBER')"));
            // What carol can read of alice's role: its name and comment, and neither names her.
            String seen = scalar(carol, "SELECT r.rolname || ' ' || coalesce(pg_catalog.shobj_description(r.oid, "
                    + "'pg_authid'), '') FROM pg_catalog.pg_roles r WHERE r.rolname = '" + aliceRole + "'");
            assertEquals(aliceRole + " warden per-identity role (opaque name)", seen);
            assertEquals("1", scalar(carol, "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + aliceRole + "'"));
            // PostgreSQL still keeps them apart.
            String alicePid = scalar(alice, "SELECT pg_backend_pid()");
            SQLException terminate = assertThrows(SQLException.class,
                    () -> scalar(carol, "SELECT pg_terminate_backend(" + alicePid + ")"));
            assertEquals("42501", terminate.getSQLState());
        }
        try (Connection again = as("opaque", WardenHarness.USER, "eng")) {
            assertEquals(aliceRole, scalar(again, "SELECT current_user"), "the same identity gets the same role");
        }
        try (Connection direct = warden.direct()) {
            assertEquals("0", scalar(direct, "SELECT count(*) FROM pg_catalog.pg_roles r WHERE r.rolname ~ '^wd_[0-9a-f]{32}$' "
                    + "AND (r.rolname ~ 'alice|carol|example' OR coalesce(pg_catalog.shobj_description(r.oid, "
                    + "'pg_authid'), '') ~ 'alice|carol|example')"));
        }
    }

    @Test
    void eachIdentitysRoleCarriesTheSessionBudgetAsItsConnectionLimit() throws SQLException {
        // A helper's pass (2026-12-05) left backends running past Warden's count of sessions (a statement that traps
        // the cancel outlives its client), 96 of them against budgets.sessions.per_identity 64: the server counts them.
        try (Connection alice = as("least", WardenHarness.USER, "eng")) {
            assertEquals("64", scalar(alice, "SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user"));
        }
    }

    @Test
    void withSharedProvisioningTheSessionLogsInAsTheMappedRoleItself() throws SQLException {
        try (Connection alice = as("shared", WardenHarness.USER, "eng")) {
            assertEquals("lp_shared_reader", scalar(alice, "SELECT current_user"));
        }
    }

    @Test
    void aliceCannotTerminateOrCancelCarolsBackendPostgresRefuses() throws SQLException {
        try (Connection alice = as("least", WardenHarness.USER, "eng"); Connection carol = as("least", CAROL, "eng")) {
            String carolPid = scalar(carol, "SELECT pg_backend_pid()");
            SQLException terminate = assertThrows(SQLException.class,
                    () -> scalar(alice, "SELECT pg_terminate_backend(" + carolPid + ")"));
            assertEquals("42501", terminate.getSQLState(), terminate.getMessage());
            assertTrue(terminate.getMessage().contains("permission denied to terminate process"),
                    terminate.getMessage());
            SQLException cancel = assertThrows(SQLException.class,
                    () -> scalar(alice, "SELECT pg_cancel_backend(" + carolPid + ")"));
            assertEquals("42501", cancel.getSQLState(), cancel.getMessage());
            assertTrue(cancel.getMessage().contains("permission denied to cancel query"), cancel.getMessage());
            assertEquals("1", scalar(carol, "SELECT 1"), "carol's session lives on");
        }
    }

    @Test
    void pgStatActivityShowsCarolsQueryToAliceAsInsufficientPrivilege() throws SQLException {
        try (Connection alice = as("least", WardenHarness.USER, "eng"); Connection carol = as("least", CAROL, "eng")) {
            String carolPid = scalar(carol, "SELECT pg_backend_pid()");
            scalar(carol, "SELECT 'carols-secret-statement'");
            String seen = scalar(alice, "SELECT query FROM pg_stat_activity WHERE pid = " + carolPid);
            assertEquals("<insufficient privilege>", seen);
            try (Connection direct = warden.direct()) {
                // The superuser does see it: there was text to hide.
                assertEquals("SELECT 'carols-secret-statement'", scalar(direct,
                        "SELECT query FROM pg_stat_activity WHERE pid = " + carolPid));
            }
        }
    }

    @Test
    void withEveryGuardrailOffTheAgentsUpdateAndDropAreRefusedByPostgres() throws SQLException {
        try (Connection bot = agent("least")) {
            assertEquals("wd_etl@example.com", scalar(bot, "SELECT current_user"));
            assertEquals("5", scalar(bot, "SELECT count(*) FROM lp_items"));
            try (Statement s = bot.createStatement()) {
                SQLException update = assertThrows(SQLException.class,
                        () -> s.executeUpdate("UPDATE lp_items SET v = 0 WHERE id = 1"));
                assertEquals("42501", update.getSQLState());
                assertTrue(update.getMessage().contains("permission denied for table lp_items"), update.getMessage());
                SQLException drop = assertThrows(SQLException.class, () -> s.execute("DROP TABLE lp_items"));
                assertEquals("42501", drop.getSQLState());
                assertTrue(drop.getMessage().contains("must be owner of table lp_items"), drop.getMessage());
            }
        }
        try (Connection direct = warden.direct()) {
            assertEquals("1", scalar(direct, "SELECT v FROM lp_items WHERE id = 1"));
        }
    }

    @Test
    void anIdentityMovedToAnotherGroupLosesTheOldMappedRole() throws SQLException {
        String dave = "dave@example.com";
        try (Connection asDba = as("least", dave, "dba")) {
            assertEquals("true|false", scalar(asDba, "SELECT pg_has_role(current_user, 'lp_admin', 'MEMBER') || '|' "
                    + "|| pg_has_role(current_user, 'lp_readwrite', 'MEMBER')"));
        }
        try (Connection asEng = as("least", dave, "eng")) {
            assertEquals("false|true", scalar(asEng, "SELECT pg_has_role(current_user, 'lp_admin', 'MEMBER') || '|' "
                    + "|| pg_has_role(current_user, 'lp_readwrite', 'MEMBER')"));
        }
    }

    @Test
    void anIdentityNoRuleMapsIsRefusedNamingTheEnvironment() {
        SQLException e = assertThrows(SQLException.class, () -> as("least", OPS, "ops"));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("environment \"least\""), e.getMessage());
        assertTrue(e.getMessage().contains(OPS), e.getMessage());
    }

    @Test
    void twoSessionsOfOneIdentityAtOnceBothLogIn() throws Exception {
        // Each login rotates the role's password: the second must wait for the first to authenticate.
        for (String user : carolLoginsAtOnce(4, warden.port())) {
            assertEquals("wd_carol@example.com", user);
        }
    }

    @Test
    void twoWardenReplicasLoggingOneIdentityInAtOnceTakeTurns() throws Exception {
        // Each replica rotates the role's password; the advisory lock keeps one's rotation out of the other's login.
        try (var second = dev.warden.proxy.server.WardenServer.start(warden.policy())) {
            for (String user : carolLoginsAtOnce(12, warden.port(), second.port())) {
                assertEquals("wd_carol@example.com", user);
            }
        }
    }

    /** {@code current_user} of {@code logins} concurrent logins of carol, spread over the Wardens on {@code ports}. */
    private static java.util.List<String> carolLoginsAtOnce(int logins, int... ports) throws Exception {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(6);
        try {
            java.util.List<java.util.concurrent.Future<String>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < logins; i++) {
                int port = ports[i % ports.length];
                futures.add(pool.submit(() -> {
                    java.util.Properties props = new java.util.Properties();
                    props.setProperty("user", CAROL);
                    props.setProperty("password", warden.issuer.token().email(CAROL).groups("eng").sign());
                    try (Connection c = java.sql.DriverManager.getConnection(
                            "jdbc:postgresql://127.0.0.1:" + port + "/least?sslmode=require", props)) {
                        return scalar(c, "SELECT current_user");
                    }
                }));
            }
            java.util.List<String> users = new java.util.ArrayList<>();
            for (var f : futures) {
                users.add(f.get());
            }
            return users;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void startupOptionsThatChangeTheRoleAreRefused() {
        // Also behind other switches in one word, as the server's getopt reads them (an attacker's pass found these
        // four logging in as the role: current_user was the role named).
        for (String extra : new String[] {"options=-c%20role%3Dlp_admin", "options=--role%3Dlp_admin",
                "options=-csession_authorization%3Dpostgres", "options=-Ecrole%3Dlp_admin", "options=-E-role%3Dlp_admin",
                "options=-Ec%20role%3Dlp_admin", "options=-ec%20role%3Dlp_admin"}) {
            SQLException e = assertThrows(SQLException.class,
                    () -> warden.connect("least", WardenHarness.USER, warden.token(), extra).close(), extra);
            assertEquals("42501", e.getSQLState(), extra + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("would change the database role"), e.getMessage());
        }
    }

    @Test
    void guardrailsStillRefuseEveryFormOfRoleChange() throws SQLException {
        try (Connection alice = as("guarded", WardenHarness.USER, "eng"); Statement s = alice.createStatement()) {
            for (String sql : new String[] {"SET ROLE lp_admin", "SET ROLE NONE", "RESET ROLE",
                    "SET SESSION AUTHORIZATION postgres", "RESET SESSION AUTHORIZATION",
                    "SELECT set_config('role', 'lp_admin', false)",
                    "SELECT set_config('session_authorization', 'postgres', false)",
                    // A helper's pass (2026-12-05): a setting name built of literals ran as the group role, unseen.
                    "SELECT set_config('ro' || 'le', 'lp_admin', false)",
                    "DO $$BEGIN PERFORM set_config('ro' || 'le', 'lp_admin', false); END$$"}) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql);
                assertTrue(e.getMessage().contains("role-escalation"), sql + ": " + e.getMessage());
                // Named by what it does (set_config('role', ...) was called SET SESSION AUTHORIZATION).
                assertTrue(!sql.contains("'role'") || e.getMessage().contains("a change of role"), e.getMessage());
            }
            // Naming the session's own role changes nothing and stays allowed.
            s.execute("SET ROLE \"wd_alice@example.com\"");
            assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"));
        }
    }

    private static String loginSettings(String role) throws SQLException {
        return warden.loginSettings(role);
    }

    /**
     * A role may set its own login settings, and the server applies them at the next login, before Warden sees a
     * statement (an attacker's pass): {@code local_preload_libraries} naming no library made every later login of
     * the identity fail until an administrator reset the role, and a {@code search_path} pointed its later sessions'
     * unqualified names at its own objects. Warden resets an identity's role's settings at each login, in every
     * database; settings of the shared roles an administrator made stay.
     */
    @Test
    void anIdentityThatSetItsOwnLoginSettingsLogsInAgainWithNoneOfThem() throws SQLException {
        String gina = "gina@example.com";
        String role = "wd_gina@example.com";
        // With every guardrail off the database takes what the identity sets on its own role, through Warden.
        try (Connection g = as("least", gina, "eng"); Statement s = g.createStatement()) {
            s.execute("ALTER ROLE CURRENT_USER SET search_path = lp_evil, public");
            s.execute("ALTER USER CURRENT_USER IN DATABASE " + warden.database + " SET statement_timeout = '3s'");
        }
        // What the baseline refuses through Warden, planted directly: the lock-out, in both scopes.
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("ALTER ROLE \"" + role + "\" SET local_preload_libraries = 'lp_no_such_library'");
            s.execute("ALTER ROLE \"" + role + "\" IN DATABASE " + warden.database
                    + " SET local_preload_libraries = 'lp_no_such_library'");
            s.execute("ALTER ROLE lp_shared_reader SET statement_timeout = '17s'");
        }
        assertTrue(loginSettings(role).startsWith("2 "), loginSettings(role));
        try {
            try (Connection g = as("least", gina, "eng")) {
                assertEquals(role, scalar(g, "SELECT current_user"));
                assertEquals("\"$user\", public", scalar(g, "SHOW search_path"));
                assertEquals("", scalar(g, "SHOW local_preload_libraries"));
                assertEquals("0", scalar(g, "SHOW statement_timeout"));
            }
            assertEquals("0", loginSettings(role), "the identity's role has no login settings left");
            // The shared role is the administrator's: its settings stay, and its sessions start with them.
            try (Connection shared = as("shared", WardenHarness.USER, "eng")) {
                assertEquals("17s", scalar(shared, "SHOW statement_timeout"));
            }
            assertEquals("1 *:statement_timeout=17s", loginSettings("lp_shared_reader"));
        } finally {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("ALTER ROLE lp_shared_reader RESET ALL");
            }
        }
    }

    /**
     * Every spelling of a change of the session's own role's login settings is refused (42501, role-escalation),
     * wherever it runs: in a transaction, behind another statement, in a DO block (EXECUTE of a constant too), in a
     * function. Nothing reaches the database; another role's settings are the database's to refuse.
     */
    @Test
    void guardrailsRefuseEveryChangeOfTheOwnRolesLoginSettings() throws SQLException {
        String role = "wd_alice@example.com";
        String db = warden.database;
        String[] spellings = {
            "ALTER ROLE CURRENT_USER SET local_preload_libraries = 'lp_no_such_library'",
            "ALTER USER CURRENT_USER SET search_path = lp_evil, public",
            "ALTER ROLE CURRENT_ROLE SET application_name = 'not-warden'",
            "ALTER ROLE SESSION_USER SET search_path TO DEFAULT",
            "alter user session_user reset all",
            "ALTER ROLE \"" + role + "\" SET search_path = lp_evil",
            "ALTER USER U&\"wd_alice\\0040example.com\" RESET search_path",
            "ALTER ROLE CURRENT_USER IN DATABASE " + db + " SET search_path = lp_evil",
            "ALTER USER \"" + role + "\" IN DATABASE \"" + db + "\" RESET ALL",
            "ALTER ROLE CURRENT_USER SET work_mem FROM CURRENT",
            "ALTER ROLE CURRENT_USER SET plpgsql.extra_warnings = 'all'",
            "ALTER ROLE ALL SET search_path = lp_evil",
            "/* mine */ ALTER /* x */ ROLE current_user -- y\n SET search_path = lp_evil",
            "SELECT 1; ALTER ROLE CURRENT_USER SET search_path = lp_evil",
            "DO $$BEGIN ALTER ROLE CURRENT_USER SET search_path = lp_evil; END$$",
            "DO $$BEGIN EXECUTE 'ALTER ROLE CURRENT_USER SET local_preload_libraries = ''lp_no_such_library'''; END$$",
        };
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION public.lp_settle() RETURNS void LANGUAGE plpgsql AS "
                    + "$$BEGIN ALTER ROLE CURRENT_USER SET search_path = lp_evil; END$$");
        }
        java.util.List<String> failures = notRefusedInEitherMode(spellings, "every later login",
                "ALTER ROLE CURRENT_USER SET search_path = lp_evil", (alice, s, mode, found) -> {
                    // A function's body: judged when it is made, and (made by someone else) when it is called.
                    for (String sql : new String[] {"CREATE FUNCTION pg_temp.lp_settle() RETURNS void LANGUAGE "
                            + "plpgsql AS $$BEGIN ALTER ROLE CURRENT_USER SET search_path = lp_evil; END$$",
                            "SELECT public.lp_settle()"}) {
                        String error = WardenHarness.run(alice, sql);
                        if (error == null || !error.startsWith("42501") || !error.contains("role-escalation")) {
                            found.add(mode + " " + sql + ": " + error);
                        }
                    }
                    // Another role's settings: the database refuses (no CREATEROLE), not Warden's rule.
                    SQLException other = assertThrows(SQLException.class,
                            () -> s.execute("ALTER ROLE lp_readonly SET search_path = lp_evil"));
                    assertEquals("42501", other.getSQLState(), other.getMessage());
                    assertTrue(!other.getMessage().contains("role-escalation"), other.getMessage());
                    assertEquals(role, scalar(alice, "SELECT current_user"), "the session goes on");
                });
        assertEquals(java.util.List.of(), failures);
        assertEquals("0", loginSettings(role), "nothing reached the database");
        // A shared role is every sharer's login: locking it out locks them all out.
        try (Connection shared = as("shared", WardenHarness.USER, "eng")) {
            for (String sql : new String[] {"ALTER ROLE CURRENT_USER SET local_preload_libraries = 'lp_no_such_library'",
                    "ALTER ROLE lp_shared_reader SET search_path = lp_evil"}) {
                String error = WardenHarness.run(shared, sql);
                assertTrue(error != null && error.startsWith("42501") && error.contains("role-escalation"),
                        sql + ": " + error);
            }
        }
        assertEquals("0", loginSettings("lp_shared_reader"));
    }

    /** What a caller of {@link #notRefusedInEitherMode} checks further in each session; failures go to the list. */
    private interface SessionCheck {
        void check(Connection alice, Statement s, String mode, java.util.List<String> failures) throws SQLException;
    }

    /**
     * Runs each of {@code spellings} in a session of alice in "guarded", in extended and in simple mode, then
     * {@code inTransaction} after a statement of an open transaction (refused, 42501), then {@code more}; returns
     * what was not refused as role-escalation (42501, with {@code phrase} in the message).
     */
    private static java.util.List<String> notRefusedInEitherMode(String[] spellings, String phrase,
                                                                String inTransaction, SessionCheck more)
            throws SQLException {
        java.util.List<String> failures = new java.util.ArrayList<>();
        for (String mode : new String[] {"", "preferQueryMode=simple"}) {
            try (Connection alice = warden.connect("guarded", WardenHarness.USER,
                    warden.issuer.token().email(WardenHarness.USER).groups("eng").sign(), mode);
                 Statement s = alice.createStatement()) {
                for (String sql : spellings) {
                    String error = WardenHarness.run(alice, sql);
                    if (error == null || !error.startsWith("42501") || !error.contains("role-escalation")
                            || !error.contains(phrase)) {
                        failures.add(mode + " " + sql + ": " + error);
                    }
                }
                alice.setAutoCommit(false);
                s.execute("SELECT 1");
                SQLException refused = assertThrows(SQLException.class, () -> s.execute(inTransaction));
                assertEquals("42501", refused.getSQLState(), refused.getMessage());
                alice.rollback();
                alice.setAutoCommit(true);
                more.check(alice, s, mode, failures);
            }
        }
        return failures;
    }

    /** The settings PostgreSQL applies at every login to {@code database}, of every role, read directly. */
    private static String databaseSettings(String database) throws SQLException {
        try (Connection direct = warden.direct()) {
            return scalar(direct, "SELECT count(*) || coalesce(' ' || string_agg(array_to_string(s.setconfig, ','), "
                    + "' '), '') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                    + "WHERE s.setrole = 0 AND d.datname = '" + database + "'");
        }
    }

    /**
     * A database's settings apply at every login to it, of every role, before Warden sees a statement, and its owner
     * may change them: an identity whose mapped role owns the database (here lp_readwrite owns lp_owned) planted a
     * {@code search_path} for everyone's sessions with every guardrail off. The baseline refuses every spelling of
     * ALTER DATABASE ... SET/RESET (42501, role-escalation), wherever it runs; other ALTER DATABASE forms still reach
     * the database. Warden's login-time reset does not touch these rows: they are the administrator's.
     */
    @Test
    void guardrailsRefuseEveryChangeOfADatabasesLoginSettings() throws SQLException {
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("CREATE DATABASE lp_owned OWNER lp_readwrite");
            s.execute("CREATE OR REPLACE FUNCTION public.lp_db_settle() RETURNS void LANGUAGE plpgsql AS "
                    + "$$BEGIN ALTER DATABASE lp_owned SET search_path = lp_evil; END$$");
        }
        try {
            // With every guardrail off the database takes it from a member of the owning role.
            try (Connection alice = as("least", WardenHarness.USER, "eng"); Statement s = alice.createStatement()) {
                s.execute("ALTER DATABASE lp_owned SET search_path = lp_evil, public");
            }
            assertEquals("1 search_path=lp_evil, public", databaseSettings("lp_owned"));
            // The next login of the identity leaves it: a database's settings are not Warden's to reset.
            try (Connection alice = as("least", WardenHarness.USER, "eng")) {
                assertEquals("wd_alice@example.com", scalar(alice, "SELECT current_user"));
            }
            assertEquals("1 search_path=lp_evil, public", databaseSettings("lp_owned"));
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("ALTER DATABASE lp_owned RESET ALL");
            }
            String db = warden.database;
            String[] spellings = {
                "ALTER DATABASE lp_owned SET local_preload_libraries = 'lp_no_such_library'",
                "ALTER DATABASE lp_owned SET session_preload_libraries = 'lp_no_such_library'",
                "alter database LP_OWNED set search_path to lp_evil, public",
                "ALTER DATABASE \"lp_owned\" SET search_path TO DEFAULT",
                "ALTER DATABASE U&\"lp\\006fwned\" RESET ALL",
                "ALTER DATABASE lp_owned RESET search_path",
                "ALTER DATABASE lp_owned SET work_mem FROM CURRENT",
                "ALTER DATABASE lp_owned SET plpgsql.extra_warnings = 'all'",
                "ALTER DATABASE " + db + " SET search_path = lp_evil",
                "/* mine */ ALTER /* x */ DATABASE -- y\n lp_owned SET search_path = lp_evil",
                "SELECT 1; ALTER DATABASE lp_owned SET search_path = lp_evil",
                "DO $$BEGIN ALTER DATABASE lp_owned SET search_path = lp_evil; END$$",
                "DO $$BEGIN EXECUTE 'ALTER DATABASE lp_owned SET local_preload_libraries = ''lp_no_such_library'''; "
                        + "END$$",
                "CREATE FUNCTION pg_temp.lp_db_settle() RETURNS void LANGUAGE plpgsql "
                        + "AS $$BEGIN ALTER DATABASE lp_owned SET search_path = lp_evil; END$$",
                "SELECT public.lp_db_settle()",
            };
            java.util.List<String> failures = notRefusedInEitherMode(spellings, "every later login to that database",
                    "ALTER DATABASE lp_owned SET search_path = lp_evil", (alice, s, mode, found) -> {
                        // Other forms of ALTER DATABASE change no setting: the database judges them.
                        for (String sql : new String[] {"ALTER DATABASE lp_owned WITH CONNECTION LIMIT 5",
                                "ALTER DATABASE lp_owned SET TABLESPACE pg_default"}) {
                            String error = WardenHarness.run(alice, sql);
                            if (error != null && error.contains("role-escalation")) {
                                found.add(mode + " " + sql + ": " + error);
                            }
                        }
                    });
            assertEquals(java.util.List.of(), failures);
            assertEquals("0", databaseSettings("lp_owned"), "nothing reached the database");
        } finally {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("DROP FUNCTION IF EXISTS public.lp_db_settle()");
                s.execute("DROP DATABASE IF EXISTS lp_owned");
            }
        }
    }

    /**
     * A statement that traps {@code query_canceled} while another session's COMMIT of DDL reaching it waits (attacker
     * pass 21) has its backend terminated, on the catalog's connection: here Warden's login is lp_provisioner, and
     * carol's backend runs as her own role, which that login may not signal. Then the COMMIT is refused
     * ({@code ddl-commit-waits}, as before the termination existed); once the login is granted
     * {@code pg_signal_backend} (what the README advises for {@code provision: per_identity}), carol's backend is
     * terminated (57P01) and the COMMIT goes through.
     */
    @Test
    void aStatementTrappingTheCancelIsTerminatedOnlyWhenWardensLoginMaySignalIt() throws Exception {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE lp_dos (id int)");
            s.execute("GRANT SELECT ON lp_dos TO lp_readwrite");
            s.execute("GRANT CREATE ON SCHEMA public TO lp_admin");
            s.execute("CREATE FUNCTION lp_dosf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
            // The whole loop inside the trap: PL/pgSQL checks for interrupts before each statement, so with a block per
            // iteration a cancel landing between two blocks ended the statement (once in a full run, 2026-12-05). Warden
            // sends the cancel again every 100 ms, and one landing just after a trap, before its loop entered the block
            // again, still ended it (1 run in 2, 2026-12-06): three traps nested, so that only three such landings in a
            // row get out.
            String trapped = "WHILE clock_timestamp() < t0 + interval '9 s' LOOP PERFORM count(*) FROM public.lp_dos; "
                    + "PERFORM pg_sleep(0.05); END LOOP; RETURN 1;";
            for (int level = 0; level < 3; level++) {
                trapped = "LOOP BEGIN " + trapped + " EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP;";
            }
            s.execute("CREATE FUNCTION lp_stubborn() RETURNS int LANGUAGE plpgsql AS $$DECLARE "
                    + "t0 timestamptz := clock_timestamp(); BEGIN " + trapped + " END$$");
        }
        try {
            String[] refused = stubbornWhileOpsCommits("lp_mine1");
            assertTrue(refused[0] != null && refused[0].startsWith("42501") && refused[0].contains("ddl-commit-waits"),
                    "without pg_signal_backend the COMMIT is refused: " + refused[0]);
            assertEquals(null, refused[1], "carol's statement ran to its end");
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("GRANT pg_signal_backend TO lp_provisioner");
            }
            String[] terminated = stubbornWhileOpsCommits("lp_mine2");
            assertEquals(null, terminated[0], "with pg_signal_backend the COMMIT goes through; carol: "
                    + terminated[1]);
            assertTrue(terminated[1] != null && terminated[1].startsWith("57P01"), "carol's backend: " + terminated[1]);
        } finally {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("REVOKE pg_signal_backend FROM lp_provisioner");
                s.execute("DROP TABLE IF EXISTS lp_dos, lp_mine1, lp_mine2");
                s.execute("DROP FUNCTION IF EXISTS lp_dosf() CASCADE");
                s.execute("DROP FUNCTION IF EXISTS lp_stubborn()");
                s.execute("REVOKE CREATE ON SCHEMA public FROM lp_admin");
            }
        }
    }

    /**
     * Carol runs lp_stubborn() while olga (lp_admin) commits a trigger on her new table {@code table}: the COMMIT's
     * answer (null: it ran) and carol's (null: her statement ran).
     */
    private static String[] stubbornWhileOpsCommits(String table) throws Exception {
        try (Connection carol = as("least", CAROL, "eng"); Connection olga = as("least", OPS, "dba")) {
            java.util.concurrent.CompletableFuture<String> stubborn = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> WardenHarness.run(carol, "SELECT lp_stubborn()"));
            Thread.sleep(500);
            assertTrue(!stubborn.isDone(), "carol's statement runs: " + (stubborn.isDone() ? stubborn.get() : ""));
            assertEquals(null, WardenHarness.run(olga, "BEGIN"));
            assertEquals(null, WardenHarness.run(olga, "CREATE TABLE " + table + " (id int)"));
            assertEquals(null, WardenHarness.run(olga, "CREATE TRIGGER " + table + "_t BEFORE INSERT ON " + table
                    + " FOR EACH ROW EXECUTE FUNCTION lp_dosf()"));
            String commit = WardenHarness.run(olga, "COMMIT");
            WardenHarness.run(olga, "ROLLBACK");
            return new String[] {commit, stubborn.get(30, java.util.concurrent.TimeUnit.SECONDS)};
        }
    }
}
