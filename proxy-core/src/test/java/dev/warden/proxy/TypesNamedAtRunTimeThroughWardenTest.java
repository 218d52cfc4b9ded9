package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A value converted to a domain runs the domain's checks, wherever the statement's text names the type: in a string
 * computed at run time (pg_input_is_valid), in a JSON function's RETURNING clause, or as a function-style cast
 * ({@code d('x')}). An attacker's pass (a109, 2026-12-06) emptied a table through each of these with a check whose
 * function deletes every row, where the baseline refuses the DELETE when it is spelled {@code '1'::d}.
 */
class TypesNamedAtRunTimeThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", """
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: warden_scram, password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """, "");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA canary");
            s.execute("CREATE TABLE canary.m (id int)");
            s.execute("CREATE FUNCTION canary.chk(int) RETURNS boolean LANGUAGE plpgsql AS "
                    + "$$ BEGIN DELETE FROM canary.m; RETURN true; END $$");
            s.execute("CREATE DOMAIN canary.ddt AS text CHECK (canary.chk(length(VALUE)))");
            s.execute("CREATE DOMAIN canary.dd AS int CHECK (canary.chk(VALUE))");
            s.execute("GRANT USAGE ON SCHEMA canary TO PUBLIC");
            s.execute("GRANT ALL ON canary.m TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static int rows() throws SQLException {
        try (Connection c = warden.direct(); ResultSet rs = c.createStatement()
                .executeQuery("SELECT count(*) FROM canary.m")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static Connection staging() throws SQLException {
        return warden.connect("staging", WardenHarness.USER, warden.token(), "");
    }

    /** Each statement through Warden; those the server ran to the end of canary.m's rows. */
    private static List<String> emptied(List<String> statements) throws SQLException {
        List<String> emptied = new ArrayList<>();
        try (Connection c = staging()) {
            for (String sql : statements) {
                refill();
                String error = WardenHarness.run(c, sql);
                if (rows() == 0) {
                    emptied.add(sql + " -> " + (error == null ? "ran" : error));
                }
            }
        }
        return emptied;
    }

    /** canary.m's three rows back, on the direct connection. */
    private static void refill() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DELETE FROM canary.m");
            s.execute("INSERT INTO canary.m VALUES (1), (2), (3)");
        }
    }

    @Test
    void theSpelledCastIsRefused() throws SQLException {
        // The control: what the pass's inputs must be judged like.
        assertEquals(List.of(), emptied(List.of("SELECT '1'::canary.dd", "SELECT CAST('abc' AS canary.ddt)",
                "SELECT pg_input_is_valid('1', 'canary.dd')")));
    }

    @Test
    void aTypeNamedByAComputedStringRunsItsChecks() throws SQLException {
        assertEquals(List.of(), emptied(List.of(
                "SELECT pg_input_is_valid('1', 'canary.' || 'dd')",
                "SELECT pg_input_is_valid('1', format('%s.%s', 'canary', 'dd'))",
                "SELECT pg_input_is_valid('1', (SELECT 'canary.dd'))",
                "SELECT (pg_input_error_info('1', lower('CANARY.DD'))).message",
                // A first argument of more than one token, then a plain string.
                "SELECT pg_input_is_valid('1' || '', 'canary.dd')",
                "SELECT pg_catalog.pg_input_is_valid(lower('1'), 'canary.dd')")));
        // A parameter names the type at Bind.
        refill();
        try (Connection c = staging();
             PreparedStatement ps = c.prepareStatement("SELECT pg_input_is_valid('1', ?)")) {
            ps.setString(1, "canary.dd");
            try {
                ps.executeQuery().close();
            } catch (SQLException refused) {
                // Refused is what is wanted; the count below says whether the check ran.
            }
        }
        assertEquals(3, rows(), "the domain's check ran through a bound type name");
    }

    @Test
    void aJsonFunctionsReturningTypeRunsItsChecks() throws SQLException {
        assertEquals(List.of(), emptied(List.of(
                "SELECT JSON_OBJECT('a': 1 RETURNING canary.ddt)",
                "SELECT JSON_OBJECT('a' VALUE 1 RETURNING canary.ddt)",
                "SELECT JSON_ARRAY(1, 2 RETURNING canary.ddt)",
                "SELECT JSON_ARRAY(SELECT 1 RETURNING canary.ddt)",
                "SELECT JSON_ARRAYAGG(g RETURNING canary.ddt) FROM generate_series(1, 2) g",
                "SELECT JSON_OBJECTAGG('k' : g RETURNING canary.ddt) FROM generate_series(1, 2) g",
                "SELECT JSON_SERIALIZE('{\"a\": 1}' RETURNING canary.ddt)",
                "SELECT JSON_VALUE('{\"a\": \"x\"}', '$.a' RETURNING canary.ddt)",
                "SELECT JSON_QUERY('{\"a\": 1}', '$' RETURNING canary.ddt)")));
    }

    @Test
    void aFunctionStyleCastRunsItsChecks() throws SQLException {
        assertEquals(List.of(), emptied(List.of("SELECT canary.ddt('abc')", "SELECT canary.dd(1)")));
    }
}
