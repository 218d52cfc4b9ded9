package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the baseline's {@code function-call-message} rule off (for psql's {@code \lo_import}), a FunctionCall is
 * judged as the SELECT of its function would be, with what the function's body does. Before, it passed every
 * rule: a helper's pass (a121) updated an order on prod, with no approval, through a FunctionCall of a function
 * whose SELECT is held.
 */
class FunctionCallRulesTest {

    static WardenHarness warden;
    static long touchOid;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  defaults: off
                guardrails:
                  baseline: true
                  disable: [function-call-message]
                  rules:
                    - { name: fc-orders-frozen, environments: [dev], match: { writes: true, tables: [fc_orders] }, action: block }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE fc_orders (id int PRIMARY KEY, total int)");
            s.execute("INSERT INTO fc_orders VALUES (1, 100)");
            s.execute("CREATE FUNCTION fc_touch(i int) RETURNS int LANGUAGE sql AS "
                    + "$$UPDATE fc_orders SET total = 0 WHERE id = i RETURNING id$$");
            try (var rs = s.executeQuery("SELECT 'fc_touch'::regproc::oid")) {
                rs.next();
                touchOid = rs.getLong(1);
            }
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static List<BackendMessage> call(RawClient c, long oid, String argument) throws Exception {
        c.send(new FrontendMessage.FunctionCall((int) oid, List.of((short) 0),
                List.of(argument.getBytes(StandardCharsets.UTF_8)), (short) 0));
        return c.untilReady();
    }

    @Test
    void aFunctionCallIsJudgedByWhatItsFunctionDoes() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            List<BackendMessage> abs = call(c, 1251, "-3"); // int4abs: reads nothing, writes nothing
            assertEquals(List.of(), RawClient.errors(abs), abs.toString());
            List<BackendMessage> touch = call(c, touchOid, "1");
            assertTrue(touch.toString().contains("fc-orders-frozen"), touch.toString());
            List<BackendMessage> none = call(c, 4_000_000_000L, "1");
            assertTrue(none.toString().contains("no function has OID 4000000000"), none.toString());
        }
        try (Connection c = warden.direct(); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT total FROM fc_orders WHERE id = 1")) {
            rs.next();
            assertEquals(100, rs.getInt(1), "the refused call ran nothing");
        }
    }
}
