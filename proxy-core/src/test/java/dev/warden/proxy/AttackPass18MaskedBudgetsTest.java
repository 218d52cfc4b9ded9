package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18, denial of service under masking: for a masked identity Warden looks up in the catalog what
 * each new statement names, over connections the environment's sessions share.
 */
class AttackPass18MaskedBudgetsTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        warden.directly("CREATE TABLE t18m (id int, email text)", "INSERT INTO t18m VALUES (1, 'a@example.com')",
                "GRANT ALL ON t18m TO PUBLIC");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** One statement naming {@code count} relations and functions no one has seen, {@code tag} keeping them new. */
    static String thousandsOfNames(String tag, int count) {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < count; i++) {
            sql.append(i == 0 ? "" : ", ").append("fn_").append(tag).append('_').append(i).append("(1)");
        }
        sql.append(" FROM ");
        for (int i = 0; i < count; i++) {
            sql.append(i == 0 ? "" : ", ").append("rel_").append(tag).append('_').append(i);
        }
        return sql.toString();
    }

    /**
     * Another identity's new statements (each needs the catalog) keep answering while one identity sends
     * statements naming thousands of unknown relations and functions each.
     */
    @Test
    void catalogLookupsOfThousandsOfNamesLeaveAnotherSessionsNewStatementsUnderTwoSeconds() throws Exception {
        String bob = warden.issuer.token().email("bob@example.com").groups("eng").sign();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger sent = new AtomicInteger();
        Thread attacker = new Thread(() -> {
            ParseFloodThroughWardenTest.outOfTheWay();
            try (Connection c = warden.connect("dev", "bob@example.com", bob, "preferQueryMode=simple");
                 Statement s = c.createStatement()) {
                for (int round = 0; !stop.get(); round++) {
                    try {
                        s.execute(thousandsOfNames("r" + round, 3000));
                    } catch (SQLException e) {
                        // refused or unknown: either way the names were looked up
                    }
                    sent.incrementAndGet();
                }
            } catch (SQLException e) {
                System.out.println("catalog flood attacker: " + e);
            }
        });
        attacker.setDaemon(true);
        attacker.start();
        long slowest = 0;
        int asked = 0;
        try (Connection alice = warden.connect("preferQueryMode=simple"); Statement st = alice.createStatement()) {
            long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (sent.get() < 1 && System.nanoTime() < warm) {
                Thread.sleep(50);
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                st.executeQuery("SELECT email AS e" + asked + " FROM t18m").close();
                slowest = Math.max(slowest, (System.nanoTime() - t0) / 1_000_000);
                asked++;
                Thread.sleep(20);
            }
        } finally {
            stop.set(true);
        }
        attacker.join(60_000);
        String summary = "slowest new statement " + slowest + " ms of " + asked + "; " + sent.get()
                + " statements of 6,000 unknown names";
        System.out.println("catalog flood: " + summary);
        assertTrue(sent.get() >= 1, summary);
        assertTrue(slowest < 2_000, summary);
    }
}
