package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 14 over masking, in {@link MaskingRedTeamTest}'s manner: each test seeds distinctive PII in a table
 * of its own, runs the attack as a masked identity through Warden and searches every byte the client received
 * for the seeded values, in any case, without separators, reversed, and in the forms the attack decodes (a
 * character per statement, a number). Each test says what leaked before its fix, and checks that a harmless
 * neighbour of the attack still runs as it did.
 */
class MaskingPass14Test {

    static WardenHarness warden;

    private static final List<String> EMAILS = List.of("zq.feather@quixmail.example", "mo.brandt@quixmail.example",
            "lu.ortega@quixmail.example");
    private static final List<String> SSNS = List.of("536-22-8471", "611-40-9235", "702-18-3346");

    /** Seeds hide from value detection once {@code @}, {@code .} and {@code -} become spaces. */
    private static final String HIDE = "'@.-', '   '";

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** A table {@code name (id, email, ssn)} holding the seeded PII, readable by everyone. */
    private static void seed(String name) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + name + " (id int primary key, email text, ssn text)");
            for (int i = 0; i < EMAILS.size(); i++) {
                s.execute("INSERT INTO " + name + " VALUES (" + (i + 1) + ", '" + EMAILS.get(i) + "', '"
                        + SSNS.get(i) + "')");
            }
            s.execute("GRANT ALL ON " + name + " TO PUBLIC");
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Lower-case letters and digits only: what survives an attacker's separators and case changes. */
    private static String normalized(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    /** The seeded values found in {@code received} (forwards or reversed), none when masking held. */
    private static List<String> seedsIn(String received) {
        String text = normalized(received);
        String reversed = new StringBuilder(text).reverse().toString();
        List<String> found = new ArrayList<>();
        for (String seed : concat(EMAILS, SSNS)) {
            String n = normalized(seed);
            if (text.contains(n) || reversed.contains(n)) {
                found.add(seed);
            }
        }
        return found;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static void assertNoSeed(String received) {
        assertEquals(List.of(), seedsIn(received), received);
    }

    /** A masked session speaking the wire protocol; {@link #query} returns every byte of the answer as text. */
    private static final class Attacker implements AutoCloseable {
        final RawClient client;

        Attacker() throws IOException {
            client = new RawClient(warden.port());
            client.login("dev", WardenHarness.USER, warden.token());
        }

        String query(String sql) throws IOException {
            client.send(new FrontendMessage.Query(sql));
            return untilReady();
        }

        void send(FrontendMessage m) throws IOException {
            client.send(m);
        }

        /** Parses {@code sql} as the named statement {@code s1} and waits for the answer. */
        void prepare(String sql) throws IOException {
            send(new FrontendMessage.Parse("s1", sql, List.of()));
            send(new FrontendMessage.Sync());
            untilReady();
        }

        /** Parses, binds (text parameters), describes and runs {@code sql} unnamed, without a Sync. */
        void unnamed(String sql, byte[]... parameters) throws IOException {
            send(new FrontendMessage.Parse("", sql, List.of()));
            send(new FrontendMessage.Bind("", "", List.of(), List.of(parameters), List.of()));
            send(new FrontendMessage.Describe('P', ""));
            send(new FrontendMessage.Execute("", 0));
        }

        /** Binds {@code s1} to the unnamed portal, describes it if asked, runs it and returns the answer. */
        String runPrepared(boolean describe) throws IOException {
            send(new FrontendMessage.Bind("", "s1", List.of(), List.of(), List.of()));
            if (describe) {
                send(new FrontendMessage.Describe('P', ""));
            }
            send(new FrontendMessage.Execute("", 0));
            send(new FrontendMessage.Sync());
            return untilReady();
        }

        String untilReady() throws IOException {
            StringBuilder all = new StringBuilder();
            byte[] frame;
            do {
                frame = client.readFrame();
                all.append((char) frame[0]).append(new String(frame, 5, frame.length - 5, StandardCharsets.UTF_8))
                        .append('\n');
                if (frame[0] == 'G') {
                    // COPY ... FROM STDIN: one row of one text column ("x"), as an attacker's client would send.
                    client.send(new FrontendMessage.CopyData("x\n".getBytes(StandardCharsets.UTF_8)));
                    client.send(new FrontendMessage.CopyDone());
                }
            } while (frame[0] != 'Z');
            return all.toString();
        }

        @Override
        public void close() throws IOException {
            client.close();
        }
    }

    /**
     * Runs each attempt's statements in order on a session of its own, then {@code cleanup} directly. Returns the
     * attempts whose answers carried a seeded value, with those values (at the first statement that did).
     */
    private static List<String> leaksOf(String[][] attempts, String... cleanup) throws Exception {
        List<String> leaked = new ArrayList<>();
        for (String[] attempt : attempts) {
            try (Attacker a = new Attacker()) {
                for (String sql : attempt) {
                    List<String> seeds = seedsIn(a.query(sql));
                    if (!seeds.isEmpty()) {
                        leaked.add(String.join(" / ", attempt) + ": " + seeds);
                        break;
                    }
                }
            }
            for (String sql : cleanup) {
                direct(sql);
            }
        }
        return leaked;
    }

    /** The first field of the first data row in {@code answer} (as {@link Attacker#query} shows it), or "". */
    private static String firstValue(String answer) {
        int d = answer.indexOf("\nD");
        return d < 0 ? "" : answer.substring(d + 8, answer.indexOf('\n', d + 1));
    }

    private static boolean refused(String received) {
        return received.contains("42501");
    }


    /** Each character of the first seeded SSN, as the number of times EXPLAIN ANALYZE says a CASE ran its subplan. */
    private static String ssnByExplainAnalyze(Attacker a, String table) throws IOException {
        StringBuilder decoded = new StringBuilder();
        StringBuilder received = new StringBuilder();
        for (int k = 1; k <= SSNS.get(0).length(); k++) {
            String answer = a.query("EXPLAIN ANALYZE SELECT CASE WHEN g <= ascii(substr(p.ssn, " + k + ", 1)) "
                    + "THEN (SELECT g) END FROM " + table + " p, generate_series(1, 128) g WHERE p.id = 1");
            received.append(answer);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("SubPlan[^\\n]*\\n[^\\n]*loops=(\\d+)")
                    .matcher(answer);
            if (m.find()) {
                decoded.append((char) Integer.parseInt(m.group(1)));
            }
        }
        return decoded + "\n" + received;
    }

    /**
     * EXPLAIN ANALYZE runs the statement and reports what its rows did: how often a node ran ({@code loops}), how
     * many rows each returned or removed. A CASE over a sensitive value that runs its subplan only for some rows
     * makes the count of loops a number the value decides: the plan was kept as it holds no table value, and its
     * loops spelled the SSN one character at a time (536-22-8471) before EXPLAIN ANALYZE of a sensitive statement
     * was masked as the statement's rows would be.
     */
    @Test
    void explainAnalyzeDoesNotCountWhatASensitiveValueDecides() throws Exception {
        seed("xa_people");
        try (Attacker a = new Attacker()) {
            assertNoSeed(ssnByExplainAnalyze(a, "xa_people"));
            // What the plan says of a statement over nothing sensitive is kept, actual counts included.
            direct("CREATE TABLE xa_clear (id int primary key, v text)");
            direct("INSERT INTO xa_clear VALUES (1, 'x'), (2, 'y')");
            direct("GRANT ALL ON xa_clear TO PUBLIC");
            String clear = a.query("EXPLAIN ANALYZE SELECT * FROM xa_clear");
            assertTrue(clear.contains("actual time=") && clear.contains("rows=2 loops=1"), clear);
            // A plan without ANALYZE holds no table value and is kept over a sensitive table too.
            String plain = a.query("EXPLAIN SELECT email FROM xa_people WHERE id = 1");
            assertTrue(plain.contains("Index Scan using xa_people_pkey"), plain);
        }
    }
}
