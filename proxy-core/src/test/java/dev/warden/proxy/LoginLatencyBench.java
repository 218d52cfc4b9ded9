package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Login-to-first-query time through Warden (pgJDBC connect over TLS, token check, upstream login, then
 * {@code SELECT current_user}), with per-identity provisioning and, for comparison, with the shared upstream
 * login. Not part of the build; run it with
 * <pre>
 * mvn -q -o -pl proxy-core -am verify -Dtest=LoginLatencyBench -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=none -Dwarden.bench.logins=200
 * </pre>
 * Logins go one after another; the identities cycle through {@code logins / 4} users, so a quarter of the
 * per-identity logins create their role and the rest rotate an existing role's password.
 */
@EnabledIfSystemProperty(named = "warden.bench.logins", matches = "\\d+")
class LoginLatencyBench {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE bench_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE bench_readwrite NOLOGIN");
            s.execute("GRANT bench_readwrite TO bench_provisioner WITH ADMIN OPTION");
        }
        warden = WardenHarness.start(pg, "", """
                  perid:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: bench_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                    roles: { provision: per_identity, map: [ { role: bench_readwrite } ] }
                """, "masking:\n  defaults: off\n");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    @Test
    void loginToFirstQuery() throws SQLException {
        int logins = Integer.parseInt(System.getProperty("warden.bench.logins"));
        int users = Math.max(1, logins / 4);
        // Warm up the JIT and both paths so the first figures do not measure class loading.
        measure("dev", 20, users, "warm");
        measure("perid", 20, users, "warm");
        long[] shared = measure("dev", logins, users, "u");
        long[] perIdentity = measure("perid", logins, users, "u");
        report("shared upstream login (dev)", shared);
        report("provision: per_identity (perid)", perIdentity);
    }

    private static long[] measure(String env, int logins, int users, String prefix) throws SQLException {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < logins; i++) {
            tokens.add(warden.issuer.token().email(user(prefix, i % users)).groups("eng").sign());
        }
        long[] micros = new long[logins];
        for (int i = 0; i < logins; i++) {
            long start = System.nanoTime();
            try (Connection c = warden.connect(env, user(prefix, i % users), tokens.get(i), "");
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user")) {
                assertTrue(rs.next());
                micros[i] = (System.nanoTime() - start) / 1000;
                if (env.equals("perid")) {
                    assertEquals("wd_" + user(prefix, i % users), rs.getString(1));
                }
            }
        }
        return micros;
    }

    private static String user(String prefix, int n) {
        return prefix + n + "@example.com";
    }

    private static void report(String what, long[] micros) {
        long[] sorted = micros.clone();
        Arrays.sort(sorted);
        System.out.printf(Locale.ROOT, "login-to-first-query, %s, %d logins: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                what, sorted.length, sorted[sorted.length / 2] / 1000.0,
                sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * 0.99) - 1)] / 1000.0,
                sorted[sorted.length - 1] / 1000.0);
    }
}
