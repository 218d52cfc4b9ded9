package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.FrontendMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code budgets.sessions.kept_bytes}: what one session's prepared statements and portals make Warden keep is bounded.
 * A helper's pass (a135 F1) pinned 656 MB of Warden's shared heap with 400 Parse messages of 65,535 declared types
 * each, and another identity's p99 went from 10 ms to 184 ms. Past the budget a Parse, a Bind, a PREPARE or a DECLARE
 * gets 53400; closing statements makes room again, and other sessions are not affected.
 */
class KeptBudgetThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                budgets:
                  sessions: { kept_bytes: 1048576 }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** The SQLSTATE of the first error in {@code answer} (as {@link MaskedAttacker#untilReady} shows it), or "". */
    private static String sqlState(String answer) {
        int e = answer.startsWith("E") ? 0 : answer.indexOf("\nE") + 1;
        if (e <= 0 && !answer.startsWith("E")) {
            return "";
        }
        int c = answer.indexOf("\u0000C", e);
        return c < 0 ? "?" : answer.substring(c + 2, c + 7);
    }

    @Test
    void parsesWithManyDeclaredTypesAreRefusedPastTheBudgetAndClosingMakesRoom() throws Exception {
        List<Integer> types = Collections.nCopies(65_535, 1043); // 256 KiB of declared types a Parse
        try (MaskedAttacker a = new MaskedAttacker(warden); MaskedAttacker other = new MaskedAttacker(warden)) {
            int taken = 0;
            String refused = "";
            for (int i = 0; i < 10; i++) {
                a.send(new FrontendMessage.Parse("t" + i, "SELECT 1", types));
                a.send(new FrontendMessage.Sync());
                String answer = a.untilReady();
                if (answer.contains("\n1\n") || answer.startsWith("1")) {
                    taken++;
                } else {
                    refused = answer;
                    break;
                }
            }
            assertEquals(3, taken, "1 MiB holds three statements of 256 KiB of types: " + refused);
            assertEquals("53400", sqlState(refused), refused);
            assertTrue(refused.contains("budgets.sessions.kept_bytes"), refused);
            // The session goes on: a query runs, and a statement it kept is still there.
            assertEquals("1", MaskedAttacker.firstValue(a.query("SELECT 1")));
            a.send(new FrontendMessage.Describe('S', "t0"));
            a.send(new FrontendMessage.Sync());
            assertEquals("", sqlState(a.untilReady()));
            // Another session has a budget of its own.
            other.send(new FrontendMessage.Parse("t0", "SELECT 1", types));
            other.send(new FrontendMessage.Sync());
            assertEquals("", sqlState(other.untilReady()));
            // Closing one makes room for one.
            a.send(new FrontendMessage.Close('S', "t1"));
            a.send(new FrontendMessage.Parse("t9", "SELECT 1", types));
            a.send(new FrontendMessage.Sync());
            assertEquals("", sqlState(a.untilReady()));
            // Replacing a kept statement under its name counts its own bytes once.
            a.send(new FrontendMessage.Parse("t9", "SELECT 2", types));
            a.send(new FrontendMessage.Sync());
            String replaced = a.untilReady();
            assertTrue(sqlState(replaced).isEmpty() || sqlState(replaced).equals("42P05"), replaced);
        }
    }

    /**
     * {@code kept_bytes_per_identity}: the sessions of one identity share a budget, so 64 sessions at the session
     * budget cannot pin 64 times it. Ending a session gives its bytes back; another identity has its own budget.
     */
    @Test
    void theSessionsOfOneIdentityShareABudget() throws Exception {
        List<Integer> types = Collections.nCopies(65_535, 1043); // 256 KiB a Parse, three a session
        try (WardenHarness shared = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                budgets:
                  sessions: { kept_bytes: 1048576, kept_bytes_per_identity: 2097152 }
                """);
             MaskedAttacker first = new MaskedAttacker(shared); MaskedAttacker second = new MaskedAttacker(shared);
             MaskedAttacker third = new MaskedAttacker(shared)) {
            for (MaskedAttacker a : List.of(first, second)) {
                for (int i = 0; i < 3; i++) {
                    assertEquals("", sqlState(parse(a, "t" + i, types)));
                }
            }
            // Six held (a little over 256 KiB each: seven fit in 2 MiB, eight do not): the third session of the
            // identity gets one statement, where a session alone would get three.
            assertEquals("", sqlState(parse(third, "t0", types)));
            String refused = parse(third, "t1", types);
            assertEquals("53400", sqlState(refused), refused);
            assertTrue(refused.contains("kept_bytes_per_identity"), refused);
            assertEquals("1", MaskedAttacker.firstValue(third.query("SELECT 1")));
            // Another identity is not held back by this one's statements.
            String bobToken = shared.issuer.token().email("bob@example.com").groups("eng").sign();
            try (RawClient bob = new RawClient(shared.port())) {
                bob.login("dev", "bob@example.com", bobToken);
                bob.send(new FrontendMessage.Parse("b0", "SELECT 1", types));
                bob.send(new FrontendMessage.Sync());
                assertEquals(List.of(), RawClient.errors(bob.untilReady()));
            }
            // A session that ends gives its bytes back (the server-side end is asynchronous: wait for it).
            first.close();
            String again = parse(third, "t1", types);
            for (int i = 0; i < 50 && !sqlState(again).isEmpty(); i++) {
                Thread.sleep(100);
                again = parse(third, "t1", types);
            }
            assertEquals("", sqlState(again), again);
        }
    }

    private static String parse(MaskedAttacker a, String name, List<Integer> types) throws Exception {
        a.send(new FrontendMessage.Parse(name, "SELECT 1", types));
        a.send(new FrontendMessage.Sync());
        return a.untilReady();
    }

    @Test
    void largeBoundValuesAndSqlPrepareCountToo() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            assertEquals("", sqlState(a.query("BEGIN")));
            a.send(new FrontendMessage.Parse("s", "SELECT $1::text", Collections.nCopies(8_000, 25)));
            a.send(new FrontendMessage.Sync());
            assertEquals("", sqlState(a.untilReady()));
            // 8,000 one-character values: 24 KB sent, each kept as a string of its own (about 430 KB a portal).
            List<byte[]> values = Collections.nCopies(8_000, "a".getBytes(StandardCharsets.UTF_8));
            String refused = "";
            int bound = 0;
            for (int i = 0; i < 6; i++) {
                a.send(new FrontendMessage.Bind("p" + i, "s", List.of(), values, List.of()));
                a.send(new FrontendMessage.Sync());
                String answer = a.untilReady();
                if (!sqlState(answer).isEmpty()) {
                    refused = answer;
                    break;
                }
                bound++;
            }
            assertEquals(2, bound, refused);
            assertEquals("53400", sqlState(refused), refused);
            assertEquals("", sqlState(a.query("ROLLBACK")));
            // The transaction's end dropped the portals: a PREPARE fits again, until the statements fill the budget.
            List<String> states = new ArrayList<>();
            String text = "SELECT '" + "y".repeat(60_000) + "'";
            for (int i = 0; i < 6; i++) {
                states.add(sqlState(a.query("PREPARE q" + i + " AS " + text)));
            }
            assertEquals(List.of("", "", "", "", "53400", "53400"), states);
            assertFalse(a.query("EXECUTE q0").contains("53400"));
            assertEquals("", sqlState(a.query("DEALLOCATE q0")));
            assertEquals("", sqlState(a.query("PREPARE q4 AS " + text)));
        }
    }
}
