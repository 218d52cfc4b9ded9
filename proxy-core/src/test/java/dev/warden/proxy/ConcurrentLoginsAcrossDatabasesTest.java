package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
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

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        String staging = pg.createDatabase("staging");
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
        warden = WardenHarness.start(pg, "", """
                  prod:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: cl_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                %s
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: %s, user: cl_provisioner, tls: require }
                    allow: [ { groups: [eng] } ]
                %s
                """.formatted(roles, staging, roles), "masking:\n  defaults: off\n");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    @Test
    void oneIdentityLogsInToTwoDatabasesOfOneClusterAtOnceAndEveryLoginSucceeds() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(THREADS);
        List<String> failures = new ArrayList<>();
        int succeeded = 0;
        try {
            for (int round = 0; round < ROUNDS; round++) {
                List<Future<String>> logins = new ArrayList<>();
                for (int i = 0; i < THREADS; i++) {
                    String env = i % 2 == 0 ? "prod" : "staging";
                    logins.add(threads.submit(login(env)));
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

    /** Logs carol in to {@code env}; returns her role and database, or the error the login met. */
    private static Callable<String> login(String env) {
        return () -> {
            try (Connection c = warden.connect(env, CAROL, warden.issuer.token().email(CAROL).groups("eng").sign(), "");
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
