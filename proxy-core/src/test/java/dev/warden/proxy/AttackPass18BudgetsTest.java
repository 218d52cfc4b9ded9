package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18, denial of service: what one identity's traffic costs everyone else. Pass/fail bounds with
 * generous margins, not benchmarks.
 */
class AttackPass18BudgetsTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """, """
                guardrails:
                  rules:
                    - { name: prod-reads-closed, environments: [prod], match: { statements: [SELECT] }, action: block }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** The slowest of another identity's {@code SELECT 1}s over {@code millis}, in ms. */
    static long slowestSelectOne(Statement st, long millis) throws SQLException, InterruptedException {
        long slowest = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            st.executeQuery("SELECT 1").close();
            slowest = Math.max(slowest, (System.nanoTime() - t0) / 1_000_000);
            Thread.sleep(5);
        }
        return slowest;
    }

    /**
     * Statements of 24 MiB each, every one refused (a known shape: the comment is not analysed again), each written
     * whole into its audit record by the one audit writer every session's statements wait for. Held: another
     * identity's statements keep answering. What it costs is disk, at the attacker's rate (README, Limits).
     */
    @Test
    void hugeRefusedStatementsFromOneUserLeaveAnotherSessionsSelectOneUnderTwoSeconds() throws Exception {
        String bob = warden.issuer.token().email("bob@example.com").groups("eng").sign();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger sent = new AtomicInteger();
        ExecutorService attackers = Executors.newFixedThreadPool(2);
        long slowest;
        long auditBefore = auditBytes();
        try (Connection alice = warden.connect("preferQueryMode=simple")) {
            Statement st = alice.createStatement();
            for (int i = 0; i < 20; i++) {
                st.executeQuery("SELECT 1").close();
            }
            List<Future<?>> running = new ArrayList<>();
            for (int a = 0; a < 2; a++) {
                int attacker = a;
                running.add(attackers.submit(() -> {
                    ParseFloodThroughWardenTest.outOfTheWay();
                    String filler = "x".repeat(24 << 20);
                    try (Connection c = warden.connect("prod", "bob@example.com", bob, "preferQueryMode=simple")) {
                        Statement s = c.createStatement();
                        for (int round = 0; !stop.get(); round++) {
                            sent.incrementAndGet();
                            try {
                                s.execute("SELECT " + attacker + round + " /* " + filler + " */");
                            } catch (SQLException e) {
                                // refused, as expected
                            }
                        }
                    }
                    return null;
                }));
            }
            long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (sent.get() < 3 && System.nanoTime() < warm) {
                Thread.sleep(50);
            }
            slowest = slowestSelectOne(st, 8_000);
            stop.set(true);
            for (Future<?> f : running) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            attackers.shutdownNow();
        }
        long written = auditBytes() - auditBefore;
        String summary = "slowest SELECT 1 " + slowest + " ms; " + sent.get() + " texts of 24 MiB sent; audit grew by "
                + (written >> 20) + " MiB";
        System.out.println("huge statements: " + summary);
        assertTrue(slowest < 2_000, summary);
        assertTrue(sent.get() >= 3, summary);
    }

    static long auditBytes() throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(warden.auditDir())) {
            return files.filter(java.nio.file.Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
