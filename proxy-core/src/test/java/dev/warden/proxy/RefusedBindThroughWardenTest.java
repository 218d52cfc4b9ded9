package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static dev.warden.proxy.RawClient.errors;
import static dev.warden.proxy.RawClient.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Bind the server refuses creates no portal: the server keeps what it had under that name (a cursor declared
 * WITH HOLD outlives the transaction that the refusal aborts). Warden must keep it too, or it judges, audits and
 * masks an Execute of that name as the refused Bind's statement while the server runs its own portal.
 */
class RefusedBindThroughWardenTest {

    static WardenHarness warden;
    private static final String SECRET = "kestrel-5520";

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  rules:
                    - { column: public.rb_people.secret, strategy: redact }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE rb_people (id int, secret text)");
            s.execute("INSERT INTO rb_people SELECT g, '" + SECRET + "-' || g FROM generate_series(1, 4) g");
            s.execute("GRANT ALL ON rb_people TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    @Test
    void anExecuteOfAHeldCursorAfterARefusedBindOfItsNameIsMasked() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            assertEquals(List.of(), errors(query(c, "BEGIN")));
            assertEquals(List.of(), errors(query(c,
                    "DECLARE rb_c CURSOR WITH HOLD FOR SELECT secret FROM rb_people ORDER BY id")));
            assertEquals(List.of(), errors(query(c, "COMMIT")));
            // Control: the cursor's rows are masked when fetched.
            List<BackendMessage> control = query(c, "FETCH 1 FROM rb_c");
            assertEquals(List.of(), errors(control));
            assertEquals(1, values(control).size(), control.toString());
            assertFalse(values(control).get(0).contains(SECRET), "masked when fetched: " + values(control));

            // A harmless statement, described, bound to the cursor's name: the server refuses the Bind (the
            // portal exists) and skips the rest up to Sync.
            c.send(new FrontendMessage.Parse("rb_s", "SELECT 'harmless'::text AS x", List.of()));
            c.send(new FrontendMessage.Describe('S', "rb_s"));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), errors(c.untilReady()));
            c.send(new FrontendMessage.Bind("rb_c", "rb_s", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Sync());
            List<String> refused = errors(c.untilReady());
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("42P03"), "the portal exists: " + refused);

            // The server's portal rb_c is still the cursor: its next row must be masked.
            c.send(new FrontendMessage.Execute("rb_c", 1));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = c.untilReady();
            assertEquals(List.of(), errors(answers));
            assertEquals(1, values(answers).size(), "the cursor's second row: " + answers);
            assertFalse(values(answers).get(0).contains(SECRET), "the server ran the held cursor, and Warden "
                    + "relayed its value in clear as the refused Bind's statement: " + values(answers));
        }
    }

    private static List<BackendMessage> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        return c.untilReady();
    }
}
