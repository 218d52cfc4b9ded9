package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
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
 * One user floods Warden with statements built to exhaust its parser; everyone else's known statements keep
 * their latency. The attack of the adversarial pass: four sessions, each sending ~250 KB Queries of 40 deeply
 * nested SELECTs, every one a new shape.
 *
 * <p>One run measures another identity's {@code SELECT 1} twice: first with no attack (the machine's own noise:
 * on a build machine shared with other work that alone can exceed 50 ms at p99), then under the attack. It
 * prints both, with the load average.
 *
 * <ul>
 *   <li>CI mode (default, ~30 s): three seconds each; the attack may add at most {@code warden.flood.addedMs}
 *       (default 150) to the quiet p99 measured in the same run.</li>
 *   <li>The target, a load test to run on a machine not busy with other work:
 *       {@code mvn -o -pl proxy-core -am verify -Dtest=ParseFloodThroughWardenTest -Dwarden.flood=true
 *       -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=none}: six seconds each
 *       ({@code -Dwarden.flood.seconds}), and p99 under attack below 50 ms ({@code -Dwarden.flood.p99Ms=N}).</li>
 * </ul>
 */
class ParseFloodThroughWardenTest {

    static WardenHarness warden;

    /** An environment where every SELECT is blocked after Warden's analysis (with {@link #PROD_READS_CLOSED}). */
    static final String PROD = """
              prod:
                production: true
                upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                allow: [ { groups: [eng] } ]
            """;
    static final String PROD_READS_CLOSED = """
            guardrails:
              rules:
                - { name: prod-reads-closed, environments: [prod], match: { statements: [SELECT] }, action: block }
            """;

    @BeforeAll
    static void start() {
        // The flood goes to an environment where Warden blocks it after analysing it ("even a blocked query
        // cost 4.3 s"): what is measured is Warden's own cost, not PostgreSQL's.
        warden = WardenHarness.start("", PROD, PROD_READS_CLOSED);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * Parenthesised UNIONs nested {@code depth} deep: ~6 KB that JSqlParser needs hundreds of ms for; {@code tag}
     * names a column, so every text is a shape Warden has not seen.
     */
    static String nestedUnions(int depth, String tag) {
        return "SELECT " + "( ".repeat(depth) + "SELECT 0 AS " + tag + " " + "UNION SELECT 0 ) ".repeat(depth);
    }

    /** ~250 KB: forty such statements. */
    static String floodText(int variant) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            text.append(nestedUnions(300 + i, "c" + variant + "_" + i)).append(";\n");
        }
        return text.toString();
    }

    /** Latencies of one phase, in microseconds, and when the three slowest started (to match with a JFR). */
    record Phase(List<Long> micros, List<String> slowest) {
        long p(double q) {
            List<Long> sorted = new ArrayList<>(micros);
            Collections.sort(sorted);
            return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(sorted.size() * q))) / 1000;
        }

        @Override
        public String toString() {
            return "SELECT 1 x" + micros.size() + " p50=" + p(0.5) + "ms p99=" + p(0.99) + "ms max=" + p(1) + "ms "
                    + slowest;
        }
    }

    static Phase measure(Statement st, long millis) throws Exception {
        List<Long> latencies = new ArrayList<>();
        java.util.TreeMap<Long, String> slow = new java.util.TreeMap<>();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            java.time.LocalTime at = java.time.LocalTime.now();
            long t0 = System.nanoTime();
            st.executeQuery("SELECT 1").close();
            long micros = (System.nanoTime() - t0) / 1000;
            latencies.add(micros);
            slow.put(micros, micros / 1000 + "ms@" + at);
            if (slow.size() > 3) {
                slow.pollFirstEntry();
            }
            Thread.sleep(5);
        }
        return new Phase(latencies, List.copyOf(slow.descendingMap().values()));
    }

    /**
     * The attackers' clients share this JVM and its two cores with Warden; a real attacker's run elsewhere. At
     * nice 19 (Linux) the cost of building, encoding and encrypting their 250 KB texts does not count as
     * Warden's. Best effort: without renice they compete, and the measure is only harsher.
     */
    static void outOfTheWay() {
        try {
            String tid = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self"))
                    .getFileName().toString();
            new ProcessBuilder("renice", "-n", "19", "-p", tid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(10, TimeUnit.SECONDS);
        } catch (java.io.IOException | UnsupportedOperationException e) {
            // not Linux: the attackers' clients compete with Warden
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    @Test
    void aParseFloodFromOneUserLeavesAnotherSessionsSelectOneUnder50msAtP99() throws Exception {
        boolean target = Boolean.getBoolean("warden.flood");
        long p99Limit = Long.getLong("warden.flood.p99Ms", 50);
        long addedLimit = Long.getLong("warden.flood.addedMs", 150);
        long seconds = Long.getLong("warden.flood.seconds", target ? 6 : 3);
        int attackerCount = Integer.getInteger("warden.flood.attackers", 4);
        String bob = warden.issuer.token().email("bob@example.com").groups("eng").sign();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger floods = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        ExecutorService attackers = Executors.newFixedThreadPool(Math.max(1, attackerCount));
        Phase quiet;
        Phase attacked;
        String loadBefore = loadAverage();
        try (Connection alice = warden.connect("preferQueryMode=simple")) {
            Statement st = alice.createStatement();
            for (int i = 0; i < 50; i++) {
                st.executeQuery("SELECT 1").close(); // warm: known statement, JIT
            }
            quiet = measure(st, TimeUnit.SECONDS.toMillis(seconds));
            List<Future<?>> running = new ArrayList<>();
            for (int a = 0; a < attackerCount; a++) {
                int attacker = a;
                running.add(attackers.submit(() -> {
                    outOfTheWay();
                    try (Connection c = warden.connect("prod", "bob@example.com", bob, "preferQueryMode=simple")) {
                        Statement s = c.createStatement();
                        for (int round = 0; !stop.get(); round++) {
                            floods.incrementAndGet();
                            try {
                                s.execute(floodText(attacker * 1000 + round));
                            } catch (SQLException e) {
                                refused.incrementAndGet();
                            }
                        }
                    }
                    return null;
                }));
            }
            // Measured once every attacker has had one text refused: the parser's code is compiled by then, and
            // what remains is the attack's steady state (the first texts cost JIT compilation at normal priority).
            long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (refused.get() < attackerCount && System.nanoTime() < warm) {
                Thread.sleep(50);
            }
            attacked = measure(st, TimeUnit.SECONDS.toMillis(seconds));
            stop.set(true);
            for (Future<?> f : running) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            attackers.shutdownNow();
        }
        long added = attacked.p(0.99) - quiet.p(0.99);
        String summary = "without attack: " + quiet + "; under attack: " + attacked + " (p99 +" + added
                + "ms); flood queries sent=" + floods.get() + " refused=" + refused.get() + "; loadavg before "
                + loadBefore + ", after " + loadAverage();
        System.out.println("parse flood: " + summary);
        assertTrue(floods.get() >= attackerCount, summary);
        assertTrue(refused.get() == floods.get(), "every flood query is blocked: " + summary);
        assertTrue(floodText(0).length() > 240_000 && floodText(0).length() < 280_000);
        if (target) {
            assertTrue(attacked.p(0.99) < p99Limit, summary);
        } else {
            assertTrue(added < addedLimit, summary);
        }
    }
}
