package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The notices of a statement over sensitive data, as a channel: their texts are redacted, but their number, their
 * order and their level were the code's to choose. A masked identity runs each statement through Warden against
 * the real server and counts the NoticeResponse frames it receives. The first two probes failed before the relay
 * withheld a sensitive statement's notices beyond the first and levelled RAISE's levels: the first e-mail's
 * first letter ({@code z}, 122) came back as 122 notices, and WARNING against NOTICE told each letter's half of
 * the alphabet.
 */
class MaskingNoticeChannelTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "nc_people");
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : new String[] {
                    "CREATE FUNCTION nc_count(text) RETURNS int LANGUAGE plpgsql AS "
                            + "$$BEGIN FOR i IN 1..ascii(substr($1, 1, 1)) LOOP RAISE NOTICE 'tick'; END LOOP; "
                            + "RETURN 0; END$$",
                    "CREATE FUNCTION nc_level(text) RETURNS int LANGUAGE plpgsql AS "
                            + "$$BEGIN IF substr($1, 1, 1) > 'm' THEN RAISE WARNING 'tick'; "
                            + "ELSE RAISE NOTICE 'tick'; END IF; RETURN 0; END$$",
                    "CREATE FUNCTION nc_drops(text) RETURNS int LANGUAGE plpgsql AS "
                            + "$$BEGIN FOR i IN 1..ascii(substr($1, 1, 1)) LOOP DROP TABLE IF EXISTS nc_none; "
                            + "END LOOP; RETURN 0; END$$"}) {
                String answer = a.query(sql);
                assertFalse(answer.startsWith("E"), sql + " -> " + answer);
            }
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** The NoticeResponse frames of an answer, as MaskedAttacker prints them (type byte, then the fields). */
    private static List<String> notices(String answer) {
        List<String> out = new ArrayList<>();
        for (String line : answer.split("\n")) {
            if (line.startsWith("N") && line.contains("\0")) {
                out.add(line);
            }
        }
        return out;
    }

    private static String run(String sql) throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            return a.query(sql);
        }
    }

    private static List<String> raised(String answer) {
        return notices(answer).stream().filter(n -> n.contains("exec_stmt_raise")).toList();
    }

    @Test
    void howManyNoticesASensitiveStatementRaisesIsNotShown() throws Exception {
        String answer = run("SELECT nc_count(email) FROM nc_people WHERE id = 1");
        assertTrue(answer.contains("\nC"), answer); // the statement ran to its end
        assertEquals(1, raised(answer).size(), answer);
    }

    @Test
    void theLevelARaiseChoosesIsNotShownForASensitiveStatement() throws Exception {
        for (int id = 1; id <= 3; id++) {
            String answer = run("SELECT nc_level(email) FROM nc_people WHERE id = " + id);
            List<String> raised = raised(answer);
            assertEquals(1, raised.size(), answer);
            assertTrue(raised.get(0).contains("\0VNOTICE\0") && raised.get(0).contains("\0C00000\0"), answer);
            assertFalse(answer.contains("WARNING"), answer);
        }
    }

    @Test
    void howOftenTheServersOwnNoticeComesIsNotShownEither() throws Exception {
        String answer = run("SELECT nc_drops(email) FROM nc_people WHERE id = 1");
        long skipping = notices(answer).stream().filter(n -> n.contains("does not exist, skipping")).count();
        assertTrue(skipping <= 1, answer);
        assertTrue(answer.contains("\nC") || answer.startsWith("E"), answer);
    }

    @Test
    void aStatementOverNothingSensitiveKeepsEveryNoticeAndItsLevel() throws Exception {
        assertEquals(97, raised(run("SELECT nc_count('abc')")).size());
        String warning = run("SELECT nc_level('zebra')");
        assertTrue(raised(warning).get(0).contains("\0VWARNING\0"), warning);
        assertEquals(1, raised(run("SELECT nc_level(id::text) FROM nc_people WHERE id = 1")).size());
    }

    /**
     * What a sensitive statement leaves behind, read afterwards: notifications, a sequence's value, rows of a
     * clear table, a setting, advisory locks. Each loop runs as often as the first e-mail's first letter's code
     * (122). These held before the notices' change (each is refused as a handoff); kept as the notices' neighbours.
     * A loop's count of nextval calls is not refused: it tells what the rows of a set-returning function would, a
     * number, which {@code protect_filters} refuses only for built-in set-returning functions (README).
     */
    @Test
    void aSensitiveStatementsSideEffectsDoNotCountAValue() throws Exception {
        String[] bodies = {
                "PERFORM pg_notify('nc_chan', i::text);",
                "PERFORM setval('nc_seq', i);",
                "INSERT INTO nc_clear VALUES (i);",
                "PERFORM set_config('nc.count', i::text, false);",
                "PERFORM pg_advisory_lock(i);"};
        String[] reads = {
                null,
                "SELECT last_value FROM nc_seq",
                "SELECT count(*) FROM nc_clear",
                "SELECT current_setting('nc.count', true)",
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"};
        List<String> counted = new ArrayList<>();
        for (int k = 0; k < bodies.length; k++) {
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                a.query("CREATE SEQUENCE IF NOT EXISTS nc_seq");
                a.query("CREATE TABLE IF NOT EXISTS nc_clear (v int)");
                a.query("LISTEN nc_chan");
                String f = "nc_side" + k;
                String made = a.query("CREATE FUNCTION " + f + "(text) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                        + "FOR i IN 1..ascii(substr($1, 1, 1)) LOOP " + bodies[k] + " END LOOP; RETURN 0; END$$");
                assertFalse(made.startsWith("E"), made);
                String ran = a.query("SELECT " + f + "(email) FROM nc_people WHERE id = 1");
                String after = reads[k] == null ? a.query("SELECT 1") : a.query(reads[k]);
                String all = ran + after;
                long notifications = all.lines().filter(l -> l.startsWith("A")).count();
                if (notifications >= 122 || after.lines().anyMatch(l -> l.startsWith("D") && l.endsWith("122"))) {
                    counted.add(bodies[k] + " -> " + (notifications >= 122 ? notifications + " notifications" : after));
                }
                System.out.println(">>> " + bodies[k] + "\n" + ran + after);
            }
        }
        assertEquals(List.of(), counted);
    }

    /** A write to a table with a masked column whose trigger reads none of it raises its notices as they are. */
    @Test
    void aWriteWhoseTriggerReadsNothingMaskedKeepsItsNotices() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : new String[] {
                    "CREATE TABLE nc_written (id int, email text)",
                    "CREATE FUNCTION nc_each_row() RETURNS trigger LANGUAGE plpgsql AS "
                            + "$$BEGIN RAISE INFO 'row'; RETURN NEW; END$$",
                    "CREATE TRIGGER nc_each AFTER INSERT ON nc_written FOR EACH ROW EXECUTE FUNCTION nc_each_row()"}) {
                String answer = a.query(sql);
                assertFalse(answer.startsWith("E"), sql + " -> " + answer);
            }
            String answer = a.query("INSERT INTO nc_written (id) SELECT g FROM generate_series(1, 5) g");
            assertEquals(5, raised(answer).size(), answer);
            assertTrue(raised(answer).stream().allMatch(n -> n.contains("\0VINFO\0")), answer);
        }
    }

    @Test
    void aSensitiveStatementsErrorStillArrivesAfterItsWithheldNotices() throws Exception {
        String answer = run("SELECT nc_count(email), 1 / (id - 1) FROM nc_people WHERE id = 1");
        assertEquals(1, raised(answer).size(), answer);
        assertTrue(answer.contains("22012"), answer);
    }
}
