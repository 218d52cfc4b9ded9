package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generated PL/pgSQL bodies against the real server: each is made as a function and called in a transaction that is
 * rolled back; where the server changed the table, Warden's reading of the body must hold a write of it (or count the
 * body as SQL it cannot follow). The spellings are the ones an attacker's pass (a120) hid writes behind: a cursor
 * variable named by its block's label, by its function's name, or as a parameter, in OPEN; CTEs named by PL/pgSQL's
 * keywords ({@code loop}, {@code open}, {@code exit} ...); FOR ... IN loops over a write; with controls that write
 * nothing.
 *
 * <p>CI runs {@value #CI_CASES} cases with seed {@value #CI_SEED}. A longer run: {@code mvn -o -pl sql test
 * -Dtest=BodyWritesDifferentialTest -Dwarden.bodyFuzz.cases=2000 -Dwarden.bodyFuzz.seed=N}.
 */
class BodyWritesDifferentialTest {

    static final int CI_CASES = 150;
    static final long CI_SEED = 20261206;

    private static TestPostgres postgres;
    private static Connection connection;
    private final Analyzer analyzer = new Analyzer(1000);

    private static final List<String> CTE_NAMES = List.of("loop", "open", "exit", "return", "elsif", "cursor",
            "execute", "raise", "scroll", "k");

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_bodies"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE w (id int, v int)");
            s.execute("INSERT INTO w SELECT g, g FROM generate_series(1, 5) g");
        }
        connection.setAutoCommit(false);
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void whatTheServerWritesFromABodyWardenReadsAsAWrite() throws SQLException {
        int cases = Integer.getInteger("warden.bodyFuzz.cases", CI_CASES);
        long seed = Long.getLong("warden.bodyFuzz.seed", CI_SEED);
        System.out.println("BodyWritesDifferentialTest: " + cases + " cases, seed " + seed);
        Random random = new Random(seed);
        List<String> missed = new ArrayList<>();
        int wrote = 0;
        int controls = 0;
        for (int n = 0; n < cases; n++) {
            String function = "g" + n;
            boolean control = random.nextInt(5) == 0;
            String body = body(random, function, control);
            long before = fingerprint();
            boolean ran;
            try (Statement s = connection.createStatement()) {
                s.execute("CREATE FUNCTION " + function + "(k refcursor DEFAULT 'k" + n + "') RETURNS int "
                        + "LANGUAGE plpgsql AS $body$" + body + "$body$");
                s.execute("SELECT " + function + "()");
                ran = true;
            } catch (SQLException e) {
                ran = false; // a spelling the server does not take: nothing to compare
            }
            long after = ran ? fingerprint() : before;
            connection.rollback();
            if (!ran) {
                continue;
            }
            if (after == before) {
                controls++;
                continue;
            }
            wrote++;
            Analyzer.RoutineAnalysis reading = analyzer.analyzeRoutineBody("plpgsql", body, true);
            boolean seen = reading.dynamic() || reading.statements().stream().anyMatch(f -> f.dynamicSql()
                    || f.writes() && f.tablesWritten().stream().anyMatch(t -> t.name().equals("w")));
            if (!seen) {
                missed.add("seed " + seed + " case " + n + ": " + body);
            }
        }
        System.out.println("BodyWritesDifferentialTest: " + wrote + " bodies wrote, " + controls + " did not");
        assertTrue(wrote >= cases / 4, "too few generated bodies ran a write (" + wrote + "): the generator is broken");
        assertTrue(controls > 0, "no control ran");
        assertEquals(List.of(), missed);
    }

    /** The table's rows, as one number: a write by the body changes it. */
    private static long fingerprint() throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) * 1000003 + coalesce(sum(id * 31 + v), 0) FROM w")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String body(Random random, String function, boolean control) {
        String write = control ? "SELECT id FROM w WHERE id = 1" : pick(random, List.of(
                "DELETE FROM w WHERE id = (SELECT min(id) FROM w) RETURNING id",
                "UPDATE w SET v = v + 1 WHERE id = 2 RETURNING id",
                "INSERT INTO w VALUES (100, 100) RETURNING id",
                "DELETE FROM ONLY (w) WHERE id = 3 RETURNING id"));
        String cte = pick(random, CTE_NAMES);
        if (random.nextBoolean()) {
            // The statement with a CTE of a PL/pgSQL keyword's name before it.
            write = "WITH " + cte + " AS (SELECT 1 AS one) " + write.replace("WHERE id =", "WHERE id >= (SELECT one FROM "
                    + cte + ") AND id =");
        }
        String label = "blk";
        String cursor = pick(random, List.of("c", label + ".c", label + " . c", "$1", "k", function + ".k", "\"c\""));
        String scroll = pick(random, List.of("", " SCROLL", " NO SCROLL"));
        String declare = "DECLARE c refcursor; r record; n int := 0;";
        String statement = switch (random.nextInt(3)) {
            case 0 -> "OPEN " + cursor + scroll + " FOR " + write + "; FETCH " + cursor + " INTO r; CLOSE " + cursor + ";";
            case 1 -> "FOR r IN " + write + " LOOP n := n + 1; END LOOP;";
            default -> write.contains("RETURNING") ? "PERFORM 1; " + write.replace("RETURNING id", "") + ";"
                    : write + ";";
        };
        String prefix = random.nextBoolean() ? "<<" + label + ">> " : "";
        if (!prefix.isEmpty() || cursor.startsWith(label)) {
            prefix = "<<" + label + ">> ";
        }
        return " " + prefix + declare + " BEGIN " + statement + " RETURN n; END ";
    }

    private static String pick(Random random, List<String> options) {
        return options.get(random.nextInt(options.size()));
    }
}
