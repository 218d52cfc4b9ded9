package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The login settings Warden resets on an identity's role ({@link LeastPrivilegeTest} shows the reset) are on the
 * audit trail. A Warden of its own: LeastPrivilegeTest runs a second replica on the same audit directory, which a
 * chain cannot verify.
 */
class RoleSettingsResetAuditTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE ra_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE ra_readwrite NOLOGIN");
            s.execute("GRANT ra_readwrite TO ra_provisioner WITH ADMIN OPTION");
        }
        warden = WardenHarness.start(pg, "", """
                  app:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: ra_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles:
                      provision: per_identity
                      map: [ { groups: [eng], role: ra_readwrite } ]
                """, "masking:\n  defaults: off\n");
    }

    @AfterAll
    static void stop() throws java.io.IOException {
        if (warden != null) {
            warden.closeAfterVerifyingAudit();
        }
    }

    private static Connection as(String env, String user, String... groups) throws SQLException {
        return warden.connect(env, user, warden.issuer.token().email(user).groups(groups).sign(), "");
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        return WardenHarness.scalar(c, sql);
    }


    /**
     * Resetting an identity's role's login settings at its login is an audit record, {@code role.settings_reset},
     * written before the session goes on (before its {@code session.start}): it names the identity, its role, and the
     * settings as the server stored them, values included (someone planted them); settings only a superuser may
     * reset stay, and the record says so. A login with nothing left to reset writes none. The trail verifies (at the end of the class).
     */
    @Test
    void theResetOfAnIdentitysLoginSettingsIsAuditedBeforeItsSessionStarts() throws Exception {
        String hana = "hana@example.com";
        String role = "wd_hana@example.com";
        try (Connection first = as("app", hana, "eng")) {
            scalar(first, "SELECT 1");
        }
        try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
            s.execute("ALTER ROLE \"" + role + "\" SET search_path = lp_evil, public");
            s.execute("ALTER ROLE \"" + role + "\" SET log_min_duration_statement = '12345'");
            s.execute("ALTER ROLE \"" + role + "\" IN DATABASE " + warden.database
                    + " SET local_preload_libraries = 'lp_no_such_library'");
        }
        try {
            String resetSession;
            try (Connection h = as("app", hana, "eng")) {
                assertEquals(role, scalar(h, "SELECT current_user"));
                java.util.List<dev.warden.audit.query.AuditRecord> all = records();
                dev.warden.audit.query.AuditRecord start = lastSessionStart(all, hana);
                java.util.List<dev.warden.audit.query.AuditRecord> mine = all.stream()
                        .filter(r -> r.session().equals(start.session())).toList();
                java.util.List<dev.warden.audit.query.AuditRecord> resets = mine.stream()
                        .filter(r -> r.type().equals("role.settings_reset")).toList();
                assertEquals(1, resets.size(), WardenHarness.describe(mine));
                dev.warden.audit.query.AuditRecord reset = resets.get(0);
                assertTrue(reset.seq() < start.seq(), "written before the session went on: "
                        + WardenHarness.describe(mine));
                assertEquals(hana, reset.get("identity").get("username").asText());
                assertEquals("app", reset.get("environment").asText());
                assertEquals(role, reset.get("role").asText());
                assertEquals("{\"\":[\"search_path=lp_evil, public\",\"log_min_duration_statement=12345\"],\""
                        + warden.database + "\":[\"local_preload_libraries=lp_no_such_library\"]}",
                        reset.get("settings").toString());
                assertEquals("{\"\":[\"log_min_duration_statement=12345\"]}", reset.get("kept").toString());
                String line = dev.warden.audit.query.AuditReader.render(reset, hana, "human", "app");
                assertTrue(line.contains("role.settings_reset role " + role + " reset: every database "
                        + "[search_path=lp_evil, public, log_min_duration_statement=12345] in " + warden.database
                        + " [local_preload_libraries=lp_no_such_library]; kept"), line);
                resetSession = start.session();
            }
            assertEquals("1 *:log_min_duration_statement=12345", warden.loginSettings(role));
            // Only the superuser's setting is left, on record already: the next login writes no record.
            try (Connection again = as("app", hana, "eng")) {
                java.util.List<dev.warden.audit.query.AuditRecord> all = records();
                String session = lastSessionStart(all, hana).session();
                assertTrue(!session.equals(resetSession));
                assertEquals(0, all.stream().filter(r -> r.session().equals(session))
                        .filter(r -> r.type().equals("role.settings_reset")).count());
            }
                    } finally {
            try (Connection direct = warden.direct(); Statement s = direct.createStatement()) {
                s.execute("ALTER ROLE \"" + role + "\" RESET ALL");
            }
        }
    }

    private static java.util.List<dev.warden.audit.query.AuditRecord> records() throws Exception {
        return dev.warden.audit.query.AuditReader.of(warden.auditDir()).search(dev.warden.audit.query.AuditFilter.all())
                .stream().map(dev.warden.audit.query.AuditReader.Line::record).toList();
    }

    private static dev.warden.audit.query.AuditRecord lastSessionStart(
            java.util.List<dev.warden.audit.query.AuditRecord> records, String user) {
        return records.stream().filter(r -> r.type().equals("session.start"))
                .filter(r -> r.get("identity").get("username").asText().equals(user))
                .reduce((a, b) -> b).orElseThrow(() -> new AssertionError("no session.start of " + user));
    }
}
