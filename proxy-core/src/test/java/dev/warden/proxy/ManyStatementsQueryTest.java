package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.FrontendMessage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One simple Query of many statements from a masked identity. Masking plans each result with the exposure of the
 * whole text, and used to work it out again for every result by walking every statement: time quadratic in their
 * number, on the session's event loop, which other sessions share (16,000 {@code SELECT 1;} took 16 s through
 * Warden, 0.66 s direct; 120,000 did not finish in ten minutes), and the tripwire added the kinds of every statement
 * again at each CommandComplete. Both now work a text out once (per state, for masking). On the 2-core development
 * machine, before and after: 20,000 {@code SELECT 1;} 19.9 s and 1.4 s, 20,000 {@code SELECT now(), lower('X')}
 * 44 s and 3.6 s (masking's part only), 10,000 reads of a table 11 s and 2.3 s, 60,000 {@code SELECT 1;} 2.6 s. The
 * bounds are several times those, and below what the texts took before; a run slower than a bound (a loaded CI
 * machine) passes only if its time grew about linearly from a smaller text's.
 */
class ManyStatementsQueryTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** Sends {@code count} copies of {@code statement} as one Query; returns how long until ReadyForQuery, in ms. */
    private static long millisFor(String statement, int count) throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String text = (statement + ";").repeat(count);
            long start = System.nanoTime();
            a.send(new FrontendMessage.Query(text));
            String answer = a.untilReady();
            long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            System.out.println(count + " x " + statement + ": " + millis + " ms");
            assertEquals(count, answer.lines().filter(l -> l.startsWith("C")).count(), "every statement's result");
            return millis;
        }
    }

    /**
     * {@code large} copies of {@code statement} answer within {@code boundMillis}, or, on a machine slowed by other
     * work, in time growing with their number: at most twice the ratio of the counts over what {@code small} copies
     * took (quadratic time gives the ratio squared). A failure needs both: slow and superlinear.
     */
    private static void assertLinear(String statement, int small, int large, long boundMillis) throws Exception {
        long first = millisFor(statement, small);
        long second = millisFor(statement, large);
        double ratio = (double) large / small;
        assertTrue(second < boundMillis || second < 2 * ratio * first, large + " x " + statement + " took "
                + second + " ms, " + small + " took " + first + " ms (quadratic time would give about "
                + Math.round(ratio * ratio) + " times)");
    }

    @Test
    void aQueryOfManyConstantSelectsIsPlannedInLinearTime() throws Exception {
        assertLinear("SELECT 1", 10_000, 60_000, 20_000);
    }

    @Test
    void aQueryOfManySelectsCallingFunctionsIsPlannedInLinearTime() throws Exception {
        assertLinear("SELECT now() AS t, lower('X') AS l", 5_000, 20_000, 10_000);
    }

    @Test
    void aQueryOfManySelectsOfATableIsPlannedInLinearTime() throws Exception {
        assertLinear("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'public'", 2_500, 10_000, 10_000);
    }
}
