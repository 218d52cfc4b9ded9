package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A statement prepared while what it calls was harmless, executed after the session replaced that (through Warden,
 * which lets a CREATE OR REPLACE run: making a function runs nothing): the server runs the new body at Execute,
 * so Warden must judge the statement by the new body there, not by the one it read at Parse. The login is
 * {@code gw_login}, no superuser; each case asserts what the server did to {@code gw_ledger}.
 */
class PreparedRejudgedThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON SCHEMA public TO gw_login");
            s.execute("CREATE TABLE gw_ledger (id int, total int)");
            s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON gw_ledger TO gw_login");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static String ledger() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT count(*) FROM gw_ledger");
        }
    }

    private static void refill() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("TRUNCATE gw_ledger");
            s.execute("INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        }
    }

    private static final String HARMLESS = "RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$";
    private static final String WIPING = "RETURNS int LANGUAGE plpgsql AS $$BEGIN DELETE FROM public.gw_ledger "
            + "WHERE id > 0; RETURN 1; END$$";

    /** Runs {@code sql} as one simple Query in {@code c}; the errors. */
    private static List<String> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        return RawClient.errors(c.untilReady());
    }

    /** Binds {@code statement} to {@code values} (text), executes it and syncs; the errors. */
    private static List<String> bindExecute(RawClient c, String statement, String... values) throws Exception {
        List<byte[]> bound = new java.util.ArrayList<>();
        for (String v : values) {
            bound.add(v.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        c.send(new FrontendMessage.Bind("", statement, List.of(), bound, List.of()));
        c.send(new FrontendMessage.Execute("", 0));
        c.send(new FrontendMessage.Sync());
        return RawClient.errors(c.untilReady());
    }

    @Test
    void aProtocolStatementIsJudgedByTheBodyItsFunctionHasAtExecute() throws Exception {
        refill();
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            assertEquals(List.of(), query(c, "CREATE FUNCTION gw_swap() " + HARMLESS));
            c.send(new FrontendMessage.Parse("s1", "SELECT gw_swap()", List.of()));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            assertEquals(List.of(), bindExecute(c, "s1"), "the harmless body runs");
            List<String> replaced = query(c, "CREATE OR REPLACE FUNCTION gw_swap() " + WIPING);
            List<String> errors = bindExecute(c, "s1");
            assertEquals("3", ledger(), "replace: " + replaced + ", execute: " + errors);
            if (replaced.isEmpty()) {
                assertTrue(errors.toString().contains("gw-ledger-kept"), errors.toString());
            }
        }
    }

    /** What runs the prepared statement once (Bind and Execute, or SQL EXECUTE): the errors. */
    private interface Run {
        List<String> errors() throws Exception;
    }

    /**
     * Runs {@code setup} directly, logs in through Warden, runs {@code prepare} and {@code execute} (both must pass),
     * then {@code migration} directly as a migration would, waits until Warden's catalog entries expire, and runs
     * {@code execute} again: it must be refused by gw-ledger-kept with gw_ledger intact.
     */
    private static void assertJudgedAfterMigration(String setup, java.util.function.Function<RawClient, Run> prepare,
                                                   java.util.function.Function<RawClient, Run> execute,
                                                   String migration) throws Exception {
        refill();
        direct(setup);
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            assertEquals(List.of(), prepare.apply(c).errors(), "prepare");
            assertEquals(List.of(), execute.apply(c).errors(), "before the migration");
            direct(migration);
            Thread.sleep(6_000); // Warden reads the catalog again after a few seconds
            List<String> errors = execute.apply(c).errors();
            assertEquals("3", ledger(), "execute: " + errors);
            assertTrue(errors.toString().contains("gw-ledger-kept"), errors.toString());
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute(sql);
        }
    }

    private static Run parse(RawClient c, String name, String sql, List<Integer> types) {
        return () -> {
            c.send(new FrontendMessage.Parse(name, sql, types));
            c.send(new FrontendMessage.Sync());
            return RawClient.errors(c.untilReady());
        };
    }

    /** The same, the function replaced by its owner outside Warden (a migration) between Parse and Execute. */
    @Test
    void aProtocolStatementIsJudgedByTheBodyAMigrationGaveItsFunction() throws Exception {
        assertJudgedAfterMigration("CREATE FUNCTION gw_migrated() " + HARMLESS + "; "
                        + "GRANT EXECUTE ON FUNCTION gw_migrated() TO gw_login",
                c -> parse(c, "s3", "SELECT gw_migrated()", List.of()), c -> () -> bindExecute(c, "s3"),
                "CREATE OR REPLACE FUNCTION gw_migrated() " + WIPING);
    }

    /**
     * A parameter's type given by OID at Parse: a domain that a migration gives a check which deletes, between Parse
     * and Execute. Binding a value runs the check.
     */
    @Test
    void aParametersDomainIsJudgedAsItIsAtExecute() throws Exception {
        direct("CREATE DOMAIN gw_later AS int");
        int oid;
        try (Connection d = warden.direct()) {
            oid = Integer.parseInt(scalar(d, "SELECT 'gw_later'::regtype::oid"));
        }
        assertJudgedAfterMigration("CREATE FUNCTION gw_wipes(int) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN "
                        + "DELETE FROM public.gw_ledger WHERE id > 0; RETURN true; END$$",
                c -> parse(c, "s4", "SELECT $1", List.of(oid)), c -> () -> bindExecute(c, "s4", "1"),
                "ALTER DOMAIN gw_later ADD CONSTRAINT gw_later_check CHECK (gw_wipes(VALUE))");
    }

    /** SQL PREPARE and EXECUTE, the function replaced by a migration between them. */
    @Test
    void anSqlPreparedStatementIsJudgedByTheBodyAMigrationGaveItsFunction() throws Exception {
        assertJudgedAfterMigration("CREATE FUNCTION gw_migrated2() " + HARMLESS + "; "
                        + "GRANT EXECUTE ON FUNCTION gw_migrated2() TO gw_login",
                c -> () -> query(c, "PREPARE p3 AS SELECT gw_migrated2()"), c -> () -> query(c, "EXECUTE p3"),
                "CREATE OR REPLACE FUNCTION gw_migrated2() " + WIPING);
    }

    /**
     * What runs a statement SQL PREPARE made besides EXECUTE: EXPLAIN ANALYZE EXECUTE, after a migration replaced
     * the function it calls. (CREATE TABLE ... AS EXECUTE is not parsed: production refuses it.)
     */
    @Test
    void everyFormThatRunsAnSqlPreparedStatementIsJudgedByIt() throws Exception {
        assertJudgedAfterMigration("CREATE FUNCTION gw_migrated4() " + HARMLESS + "; "
                        + "GRANT EXECUTE ON FUNCTION gw_migrated4() TO gw_login",
                c -> () -> query(c, "PREPARE p6 AS SELECT gw_migrated4() AS n"),
                c -> () -> query(c, "EXPLAIN ANALYZE EXECUTE p6"),
                "CREATE OR REPLACE FUNCTION gw_migrated4() " + WIPING);
    }

    @Test
    void anSqlPreparedStatementIsJudgedByTheBodyItsFunctionHasAtExecute() throws Exception {
        refill();
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            assertEquals(List.of(), query(c, "CREATE FUNCTION gw_swap2() " + HARMLESS));
            assertEquals(List.of(), query(c, "PREPARE p2 AS SELECT gw_swap2()"));
            assertEquals(List.of(), query(c, "EXECUTE p2"), "the harmless body runs");
            List<String> replaced = query(c, "CREATE OR REPLACE FUNCTION gw_swap2() " + WIPING);
            List<String> errors = query(c, "EXECUTE p2");
            assertEquals("3", ledger(), "replace: " + replaced + ", execute: " + errors);
        }
    }
}
