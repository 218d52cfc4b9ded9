package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 15 over the guardrails. Each probe checks what the server did.
 */
class GuardrailPass15Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        warden.directly("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_boss') THEN "
                + "CREATE ROLE gw_boss NOLOGIN; END IF; END$$", "GRANT gw_boss TO gw_login");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection prodWith(String extra) throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(),
                "preferQueryMode=simple&assumeMinServerVersion=12&" + extra);
    }

    /** Fills gw_ledger with three rows, runs {@code sql} through Warden in production; a failure when the server changed gw_ledger. */
    private static String changedLedger(String sql) throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        String error;
        try (Connection c = warden.prod()) {
            error = run(c, sql);
        }
        String l = warden.ledger();
        return l.equals("3/3") ? null : sql + ": PostgreSQL changed gw_ledger (rows/unchanged " + l + "), Warden: "
                + (error == null ? "let it run" : error);
    }

    /**
     * The server reads startup {@code options} with getopt, which lets switches cluster: {@code -Ecrole=x} is
     * {@code -E} then {@code -c role=x}; {@code -E-role=x} is {@code -E} then {@code --role=x}; {@code -Ec role=x}
     * takes the next word as the argument of c. Warden looks only at words that start with -c or --.
     */
    @Test
    void clusteredStartupSwitchesChangeTheRole() throws SQLException {
        List<String> failures = new ArrayList<>();
        for (String options : new String[] {"-Ecrole=gw_boss", "-E-role=gw_boss", "-Ec role=gw_boss",
                "-ec role=gw_boss"}) {
            String extra = "options=" + URLEncoder.encode(options, StandardCharsets.UTF_8).replace("+", "%20");
            try (Connection c = prodWith(extra)) {
                String user = scalar(c, "SELECT current_user");
                if (!user.equals("gw_login")) {
                    failures.add("options '" + options + "': logged in through Warden, current_user = " + user);
                }
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) {
                    failures.add("options '" + options + "': " + e.getSQLState() + " " + e.getMessage());
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    /**
     * A SET role clause of CREATE/ALTER FUNCTION runs the body as that role. Warden reads such clauses from the
     * statement's tokens but stops at the first word {@code update} (meant for an UPDATE ... SET col in a body), and
     * UPDATE is an unreserved keyword, so a parameter may be named {@code update}. The call is not judged for the
     * role its SET clause switches to at all (proconfig is never read).
     */
    @Test
    void setRoleClauseAfterAParameterNamedUpdate() throws SQLException {
        List<String> failures = new ArrayList<>();
        try (Connection c = warden.prod(); Statement s = c.createStatement()) {
            String create = "CREATE FUNCTION gw_as_boss(update int) RETURNS text LANGUAGE sql "
                    + "SET role = gw_boss AS 'SELECT current_user::text'";
            String e = run(c, create);
            if (e == null) {
                String e2 = null;
                try {
                    String user = scalar(c, "SELECT gw_as_boss(1)");
                    if (user.equals("gw_boss")) {
                        failures.add(create + " then SELECT gw_as_boss(1): the body ran as " + user);
                    }
                } catch (SQLException x) {
                    e2 = x.getMessage();
                }
                if (e2 != null && !e2.contains("role-escalation")) {
                    failures.add("call failed otherwise: " + e2);
                }
            } else if (!e.contains("role-escalation")) {
                failures.add(create + ": refused otherwise: " + e);
            }
            String plain = "CREATE FUNCTION gw_plain(int) RETURNS text LANGUAGE sql AS 'SELECT current_user::text'";
            String e3 = run(c, plain);
            if (e3 != null) {
                failures.add(plain + ": " + e3);
            } else {
                String alter = "ALTER FUNCTION gw_plain(update int) SET role = gw_boss";
                String e4 = run(c, alter);
                if (e4 == null) {
                    String user = scalar(c, "SELECT gw_plain(1)");
                    if (user.equals("gw_boss")) {
                        failures.add(alter + " then SELECT gw_plain(1): the body ran as " + user);
                    }
                }
                // (Refused by any rule: held. Today update-without-where refuses it, reading the parameter name.)
            }
        } finally {
            warden.directly("DROP FUNCTION IF EXISTS gw_as_boss(int)", "DROP FUNCTION IF EXISTS gw_plain(int)");
        }
        assertEquals(List.of(), failures);
    }

    /**
     * A non-production environment with the baseline on and the ledger rule: the same policy as prod but
     * {@code production: false} (so unparsed statements are not refused by production's rule).
     */
    private static WardenHarness staging() throws SQLException {
        dev.warden.testkit.TestPostgres pg = dev.warden.testkit.TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        WardenHarness h = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("staging", false, "gw_login"),
                WardenHarness.unmaskedWithRules("{ name: gw-ledger-kept, environments: [staging], match: { "
                        + "statements: [DELETE, UPDATE], tables: [public.gw_ledger] }, action: block }"));
        h.makeLedger();
        return h;
    }

    /**
     * A CTE may be named by an unreserved or column-name keyword: {@code WITH values AS (...) DELETE ...} and
     * {@code WITH insert AS (...) UPDATE ...}. Warden takes the first statement keyword outside parentheses
     * (LexicalAnalysis.mainKeyword) as the statement's kind, so the CTE's name decides it: SELECT (writing
     * nothing) or INSERT into a table named "as". JSqlParser disagrees, so the lexer's reading stands, unparsed;
     * production refuses unparsed statements, other environments keep their baseline (delete-without-where,
     * update-without-where) and rules on DELETE/UPDATE of a table, and those do not see the DELETE or UPDATE.
     */
    @Test
    void cteNamedLikeAStatementKeywordHidesTheDeleteOutsideProduction() throws SQLException {
        List<String> failures = new ArrayList<>();
        try (WardenHarness st = staging()) {
            for (String sql : new String[] {"DELETE FROM gw_ledger", "WITH values AS (SELECT 1) DELETE FROM gw_ledger",
                    "WITH insert AS (SELECT 1) UPDATE gw_ledger SET total = 0",
                    "WITH values AS (SELECT 1) DELETE FROM gw_ledger WHERE id = 2"}) {
                st.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
                String error;
                try (Connection c = st.connect("staging", WardenHarness.USER, st.token(),
                        "preferQueryMode=simple&assumeMinServerVersion=12")) {
                    error = run(c, sql);
                } catch (SQLException e) {
                    error = e.getMessage();
                }
                String l = st.ledger();
                if (!l.equals("3/3")) {
                    failures.add(sql + ": PostgreSQL changed gw_ledger (rows/unchanged " + l + "), Warden: "
                            + (error == null ? "let it run" : error));
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    /**
     * PostgreSQL's lexer turns the operator {@code !=} into {@code <>} (scan.l returns NOT_EQUALS, which the
     * grammar names "<>"), and CREATE OPERATOR stores {@code !=} as {@code <>} too. Warden keys the call as
     * {@code op:!=} and looks it up in pg_operator by that name, where no operator is called so: the user function
     * of the {@code <>} operator the server runs is never judged.
     */
    @Test
    void notEqualsIsTheLessGreaterOperator() throws SQLException {
        makePair2();
        warden.directly(
                "CREATE FUNCTION gw_pair2_ne(gw_pair2, gw_pair2) RETURNS bool LANGUAGE plpgsql AS "
                        + "$$BEGIN DELETE FROM public.gw_ledger WHERE id IS NOT NULL; RETURN ($1).x <> ($2).x; END$$",
                "CREATE OPERATOR <> (leftarg = gw_pair2, rightarg = gw_pair2, function = gw_pair2_ne)");
        List<String> failures = new ArrayList<>();
        for (String sql : new String[] {"SELECT ROW(1)::gw_pair2 <> ROW(2)::gw_pair2",
                "SELECT ROW(1)::gw_pair2 != ROW(2)::gw_pair2",
                "SELECT count(*) FROM gw_pairs2 a, gw_pairs2 b WHERE a.p != b.p",
                "SELECT ROW(1)::gw_pair2 OPERATOR(public.!=) ROW(2)::gw_pair2"}) {
            String f = changedLedger(sql);
            if (f != null) {
                failures.add(f);
            }
        }
        assertEquals(List.of(), failures);
    }

    private static boolean pair2Made;

    /** A composite type gw_pair2 and a table gw_pairs2 of it, which gw_login may read (made directly, once). */
    private static void makePair2() throws SQLException {
        if (!pair2Made) {
            warden.directly("CREATE TYPE gw_pair2 AS (x int)", "CREATE TABLE gw_pairs2 (p gw_pair2)",
                    "INSERT INTO gw_pairs2 VALUES (ROW(1)), (ROW(2))", "GRANT SELECT ON gw_pairs2 TO gw_login");
            pair2Made = true;
        }
    }

    /**
     * scan.l cuts trailing {@code +} and {@code -} off a multi-character operator made only of SQL's operator
     * characters: {@code <-1} is {@code <} applied to {@code -1}, {@code =-1} is {@code =} and {@code -1}. Warden's
     * lexer keeps {@code <-} whole (Lexer.operator), keys the call {@code op:<-}, finds no operator of that name,
     * and never judges the {@code <} the server runs.
     */
    @Test
    void trailingMinusIsCutOffAnOperator() throws SQLException {
        makePair2();
        warden.directly("CREATE FUNCTION gw_pair2_lt(gw_pair2, int) RETURNS bool LANGUAGE plpgsql AS "
                        + "$$BEGIN DELETE FROM public.gw_ledger WHERE id IS NOT NULL; RETURN true; END$$",
                "CREATE OPERATOR < (leftarg = gw_pair2, rightarg = int, function = gw_pair2_lt)");
        List<String> failures = new ArrayList<>();
        for (String sql : new String[] {"SELECT ROW(1)::gw_pair2 < -1", "SELECT ROW(1)::gw_pair2 <-1",
                "SELECT count(*) FROM gw_pairs2 WHERE p <-1", "SELECT count(*) FROM gw_pairs2 WHERE p <--1"}) {
            String f = changedLedger(sql);
            if (f != null) {
                failures.add(f);
            }
        }
        assertEquals(List.of(), failures);
    }

    /**
     * {@code PREPARE transaction AS ...} is SQL PREPARE of a statement named "transaction" (TRANSACTION is an
     * unreserved keyword; the grammar tells it from PREPARE TRANSACTION 'gid' by the token after it). Warden reads
     * every PREPARE TRANSACTION as a two-phase COMMIT (LexicalAnalysis.analyse, case "prepare") and never analyses
     * the statement prepared; the EXECUTE of a name it never saw prepared is let through. Sent as two Query
     * messages, the tripwire ends the session at PREPARE's tag before the EXECUTE; sent as one text, the server has
     * run both statements before the tripwire reads the first tag.
     */
    @Test
    void preparedStatementNamedTransaction() throws SQLException {
        List<String> failures = new ArrayList<>();
        for (String[] texts : new String[][] {
                {"PREPARE transaction AS DELETE FROM gw_ledger", "EXECUTE transaction"},
                {"PREPARE transaction AS DELETE FROM gw_ledger; EXECUTE transaction"},
                {"PREPARE transaction (int) AS UPDATE gw_ledger SET total = 0 WHERE id > $1", "EXECUTE transaction (0)"}}) {
            warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
            List<String> answers = new ArrayList<>();
            try (Connection c = warden.prod()) {
                for (String sql : texts) {
                    answers.add(sql + " -> " + run(c, sql));
                }
            }
            String l = warden.ledger();
            if (!l.equals("3/3")) {
                failures.add(answers + ": PostgreSQL changed gw_ledger (rows/unchanged " + l + ")");
            }
        }
        assertEquals(List.of(), failures);
    }
}
