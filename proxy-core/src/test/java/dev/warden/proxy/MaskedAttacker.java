package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A masked session speaking the wire protocol, for the masking attack tests ({@link MaskingRedTeamTest},
 * {@link MaskingPass14Test}); {@link #query} returns every byte of the answer as text.
 */
final class MaskedAttacker implements AutoCloseable {
    /** The seeded PII of the masking attack tests: {@link #seedsIn} finds any of them in an answer. */
    static final List<String> EMAILS = List.of("zq.feather@quixmail.example", "mo.brandt@quixmail.example",
            "lu.ortega@quixmail.example");
    static final List<String> SSNS = List.of("536-22-8471", "611-40-9235", "702-18-3346");

    final RawClient client;

    MaskedAttacker(WardenHarness w) throws IOException {
        this(w, "dev");
    }

    /** Logged in to environment {@code environment} (its name is the database the client asks for). */
    MaskedAttacker(WardenHarness w, String environment) throws IOException {
        this(w, environment, w.token());
    }

    /** Logged in with {@code token}: an exempt identity's, for the other side of a race. */
    MaskedAttacker(WardenHarness w, String environment, String token) throws IOException {
        client = new RawClient(w.port());
        client.login(environment, WardenHarness.USER, token);
    }

    /** A token of the group the masking tests' policy exempts ({@code pii-readers}). */
    static String exemptToken(WardenHarness w) {
        return w.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
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

    /** Binds the named statement {@code statement} to the unnamed portal, describes and runs it. */
    String runNamed(String statement) throws IOException {
        send(new FrontendMessage.Bind("", statement, List.of(), List.of(), List.of()));
        send(new FrontendMessage.Describe('P', ""));
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
    /** A table {@code name (id, email, ssn)} in {@code w}'s database holding the seeded PII, readable by everyone. */
    static void seed(WardenHarness w, String name) throws SQLException {
        try (Connection c = w.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + name + " (id int primary key, email text, ssn text)");
            for (int i = 0; i < EMAILS.size(); i++) {
                s.execute("INSERT INTO " + name + " VALUES (" + (i + 1) + ", '" + EMAILS.get(i) + "', '"
                        + SSNS.get(i) + "')");
            }
            s.execute("GRANT ALL ON " + name + " TO PUBLIC");
        }
    }

    /** Lower-case letters and digits only: what survives an attacker's separators and case changes. */
    private static String normalized(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    /** The seeded values found in {@code received} (forwards or reversed), none when masking held. */
    static List<String> seedsIn(String received) {
        String text = normalized(received);
        String reversed = new StringBuilder(text).reverse().toString();
        List<String> found = new ArrayList<>();
        List<String> seeds = new ArrayList<>(EMAILS);
        seeds.addAll(SSNS);
        for (String seed : seeds) {
            String n = normalized(seed);
            if (text.contains(n) || reversed.contains(n)) {
                found.add(seed);
            }
        }
        return found;
    }

    /**
     * Runs each attempt's statements in order on a masked session of its own through {@code w}, then
     * {@code cleanup} directly. Returns the attempts whose answers carried a seeded value, with those values (at the
     * first statement that did).
     */
    static List<String> leaksOf(WardenHarness w, String[][] attempts, String... cleanup) throws Exception {
        List<String> leaked = new ArrayList<>();
        for (String[] attempt : attempts) {
            try (MaskedAttacker a = new MaskedAttacker(w)) {
                for (String sql : attempt) {
                    List<String> seeds = seedsIn(a.query(sql));
                    if (!seeds.isEmpty()) {
                        leaked.add(String.join(" / ", attempt) + ": " + seeds);
                        break;
                    }
                }
            }
            try (Connection c = w.direct(); Statement s = c.createStatement()) {
                for (String sql : cleanup) {
                    s.execute(sql);
                }
            }
        }
        return leaked;
    }

    /** The first field of the first data row in {@code answer} (as {@link #query} shows it), or "". */
    static String firstValue(String answer) {
        int d = answer.indexOf("\nD");
        return d < 0 ? "" : answer.substring(d + 8, answer.indexOf('\n', d + 1));
    }

    static boolean refused(String received) {
        return received.contains("42501");
    }
}
