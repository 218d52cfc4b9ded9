package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Values leave the database in more than rows: error and notice text, notification payloads, parameter
 * reports. For a masked identity every one of them is masked; an exempt identity sees them as the server sent
 * them (which also proves each statement really echoes the secret, so the masked checks cannot pass vacuously).
 */
class MessageMaskingThroughWardenTest {

    static WardenHarness warden;

    static final List<String> SECRETS = List.of("ann.lee@acme.com", "bob.ray@acme.com", "536-22-8471",
            "412-90-3310", "4111111111111111", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLF", "GB82WEST12345698765432",
            "DE89370400440532013000", "a@b.co", "c.de");

    /** Statements that echo seeded values outside result rows; each with the pieces it must not leak. */
    static final List<String> SIDE_CHANNELS = List.of(
            "SELECT string_agg(email || '|' || ssn, ';')::int FROM customers",
            "SELECT (SELECT email FROM customers WHERE id = 1)::date",
            "INSERT INTO customers (id, email, ssn) VALUES (3, 'ann.lee@acme.com', 'x')",
            "DO $$ DECLARE v text; BEGIN SELECT string_agg(email, ',') INTO v FROM customers; "
                    + "RAISE NOTICE 'got %', v; END $$",
            "DO $$ DECLARE v text; BEGIN SELECT string_agg(ssn, ',') INTO v FROM customers; "
                    + "RAISE EXCEPTION 'boom' USING DETAIL = v, HINT = v; END $$",
            "LISTEN leak; SELECT pg_notify('leak', string_agg(email, ',')) FROM customers",
            "SELECT set_config('application_name', (SELECT email FROM customers WHERE id = 2), false)",
            // Values glued by punctuation no token delimits ('+', '/', '|', '.'): one token, which passed in clear.
            "DO $$ DECLARE v text; BEGIN SELECT string_agg(k, '|' ORDER BY k) INTO v FROM api_keys; "
                    + "RAISE NOTICE '%', v; END $$");

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int primary key, email text UNIQUE, ssn text, card text)");
            s.execute("INSERT INTO customers VALUES (1, 'ann.lee@acme.com', '536-22-8471', '4111111111111111'),"
                    + " (2, 'bob.ray@acme.com', '412-90-3310', '5500005555555559')");
            s.execute("GRANT ALL ON customers TO PUBLIC");
            s.execute("CREATE TABLE api_keys (k text)");
            s.execute("INSERT INTO api_keys VALUES ('AKIAIOSFODNN7EXAMPLE+AKIAIOSFODNN7EXAMPLF/x'),"
                    + " ('GB82WEST12345698765432+DE89370400440532013000'), ('a@b.co.a@b.coa@c.de')");
            s.execute("GRANT ALL ON api_keys TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** Everything the client received for each statement, as text: every field of every message. */
    private static List<String> run(List<String> groups) throws Exception {
        String token = warden.issuer.token().email(WardenHarness.USER).groups(groups.toArray(String[]::new)).sign();
        List<String> received = new ArrayList<>();
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, token);
            for (String sql : SIDE_CHANNELS) {
                c.send(new FrontendMessage.Query(sql));
                StringBuilder all = new StringBuilder();
                BackendMessage m;
                do {
                    m = c.read();
                    all.append(m).append('\n');
                } while (!(m instanceof BackendMessage.ReadyForQuery));
                // A notification may arrive just after ReadyForQuery: ask once more to collect it.
                c.send(new FrontendMessage.Query("SELECT 1"));
                do {
                    m = c.read();
                    all.append(m).append('\n');
                } while (!(m instanceof BackendMessage.ReadyForQuery));
                received.add(all.toString());
            }
        }
        return received;
    }

    private static boolean leaks(String received) {
        String lower = received.toLowerCase(Locale.ROOT);
        return SECRETS.stream().anyMatch(s -> lower.contains(s.toLowerCase(Locale.ROOT)));
    }

    @Test
    void noSideChannelLeaksToAMaskedIdentity() throws Exception {
        List<String> clear = run(List.of("eng", "pii-readers"));
        List<String> masked = run(List.of("eng"));
        for (int i = 0; i < SIDE_CHANNELS.size(); i++) {
            assertTrue(leaks(clear.get(i)), "the statement must echo a secret to an exempt identity, or this test "
                    + "proves nothing: " + SIDE_CHANNELS.get(i) + "\n" + clear.get(i));
            assertFalse(leaks(masked.get(i)), "leaked through " + SIDE_CHANNELS.get(i) + ":\n" + masked.get(i));
        }
        assertTrue(masked.get(2).contains("23505"), "the unique violation still reports its code: " + masked.get(2));
        assertTrue(masked.get(2).contains("customers_email_key"), "constraint names are kept: " + masked.get(2));
    }
}
