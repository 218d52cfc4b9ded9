package dev.warden.proxy;

import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One identity's role is one row of the cluster's {@code pg_authid}, whichever database a login goes to: logins
 * of one identity to two environments that are two databases of one cluster take turns, as logins to one
 * environment do. Before, each environment's provisioner kept turns of its own (and its advisory lock lived in
 * its own database), so a staging login set the role's password while a prod login was about to authenticate
 * with the one before it: {@code 28P01 password authentication failed}, or {@code tuple concurrently updated}
 * (a security pass, F1: 4 of 6 logins refused).
 */
class ConcurrentLoginsAcrossDatabasesTest {

    static final String CAROL = "carol@example.com";
    static final int THREADS = 10;
    static final int ROUNDS = 3;

    static WardenHarness warden;
    /** A second Warden with the same policy: another replica. */
    static WardenServer replica;
    static String staging;

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        staging = pg.createDatabase("staging");
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE cl_provisioner LOGIN CREATEROLE");
            s.execute("CREATE ROLE cl_readwrite NOLOGIN");
            s.execute("GRANT cl_readwrite TO cl_provisioner WITH ADMIN OPTION");
        }
        String roles = """
                    roles:
                      provision: per_identity
                      map: [ { groups: [eng], role: cl_readwrite } ]
                """.stripTrailing();
        String environments = """
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: cl_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                %s
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: %s, user: cl_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                %s
                  walled:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: %s, user: cl_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                %s
                """.formatted(roles, staging, roles, staging, roles);
        warden = WardenHarness.start(pg, "", environments, "masking:\n  defaults: off\n");
        try {
            replica = WardenServer.start(warden.policy());
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the second Warden: " + e.getMessage(), e);
        }
    }

    @AfterAll
    static void stop() {
        if (replica != null) {
            replica.close();
        }
        if (warden != null) {
            warden.close();
        }
    }

    @Test
    void oneIdentityLogsInToTwoDatabasesOfOneClusterAtOnceAndEveryLoginSucceeds() throws Exception {
        assertEveryLoginSucceeds(warden.port(), warden.port());
    }

    /**
     * The same through two Wardens, one logging carol in to prod, the other to staging. The advisory lock the
     * replicas share lives in one database, so it cannot order logins to two.
     */
    @Test
    void twoReplicasLogOneIdentityInToTwoDatabasesOfOneClusterAtOnceAndEveryLoginSucceeds() throws Exception {
        assertEveryLoginSucceeds(warden.port(), replica.port());
    }

    /**
     * Provisioning runs in the server's {@code postgres} database, which every environment of the server shares;
     * where Warden's login may not connect to it, in the environment's own, and the login still succeeds.
     */
    @Test
    void withoutConnectOnThePostgresDatabaseProvisioningRunsInTheEnvironmentsOwn() throws Exception {
        try (Connection su = warden.pg.connect("postgres"); Statement s = su.createStatement()) {
            s.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC");
            try {
                assertEquals("wd_carol@example.com|" + staging, login(warden.port(), "walled").call());
            } finally {
                s.execute("GRANT CONNECT ON DATABASE postgres TO PUBLIC");
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity "
                    + "WHERE application_name = 'warden-provisioner' AND datname = '" + staging + "'")) {
                rs.next();
                assertEquals(1, rs.getInt(1), "the walled environment's provisioner, in its own database");
            }
        }
    }

    /** Carol's logins, at once, alternating between prod through {@code toProd} and staging through {@code toStaging}. */
    private static void assertEveryLoginSucceeds(int toProd, int toStaging) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(THREADS);
        List<String> failures = new ArrayList<>();
        int succeeded = 0;
        try {
            for (int round = 0; round < ROUNDS; round++) {
                List<Future<String>> logins = new ArrayList<>();
                for (int i = 0; i < THREADS; i++) {
                    logins.add(threads.submit(i % 2 == 0 ? login(toProd, "prod") : login(toStaging, "staging")));
                }
                for (Future<String> login : logins) {
                    String outcome = login.get(60, TimeUnit.SECONDS);
                    if (outcome.startsWith("wd_carol@example.com|")) {
                        succeeded++;
                    } else {
                        failures.add(outcome);
                    }
                }
            }
        } finally {
            threads.shutdownNow();
        }
        assertTrue(failures.isEmpty(), failures.size() + " of " + THREADS * ROUNDS + " logins refused: " + failures);
        assertEquals(THREADS * ROUNDS, succeeded);
    }

    /** Logs carol in to {@code env} through the Warden at {@code port}; returns her role, or the error met. */
    private static Callable<String> login(int port, String env) {
        return () -> {
            Properties props = new Properties();
            props.setProperty("user", CAROL);
            props.setProperty("password", warden.issuer.token().email(CAROL).groups("eng").sign());
            try (Connection c = DriverManager.getConnection(
                    "jdbc:postgresql://127.0.0.1:" + port + "/" + env + "?sslmode=require", props);
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT current_user || '|' || current_database()")) {
                rs.next();
                return rs.getString(1);
            } catch (SQLException e) {
                return env + ": " + e.getSQLState() + " " + e.getMessage();
            }
        };
    }
}
