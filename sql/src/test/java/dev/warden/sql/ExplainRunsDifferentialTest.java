package dev.warden.sql;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated EXPLAIN option lists (seed printed): whether Warden reads an EXPLAIN as running its statement must be
 * what the server does. The oracle is the server's: {@code EXPLAIN (options) SELECT nextval('s')} advances the
 * sequence exactly when the server analysed, so ran, the statement. Options name ANALYZE unquoted in any case,
 * quoted and Unicode-escaped (a quoted name is ANALYZE only in lower case), with every kind of value the grammar
 * takes (words, quoted names, strings, signed integers, decimals) and other options and comments around it; a list
 * the server refuses is not compared. Before, a quoted {@code "analyze"} was not read as ANALYZE: an
 * {@code EXPLAIN ("analyze") UPDATE ...} was judged a plan of a write, which writes nothing, and its audit record
 * named no table.
 *
 * <p>{@code -Dwarden.explainDiff.rounds=N} (default 400) and {@code -Dwarden.explainDiff.seed=S}.
 */
class ExplainRunsDifferentialTest {

    private static final List<String> NAMES = List.of("analyze", "ANALYZE", "Analyse", "analyse", "\"analyze\"",
            "\"ANALYZE\"", "\"analyse\"", "U&\"\\0061nalyze\"", "U&\"\\0061NALYZE\"", "U&\"!0061nalyze\" UESCAPE '!'",
            "\"Analyze\"");
    private static final List<String> VALUES = List.of("", "", "true", "false", "on", "off", "ON", "OFF", "1", "0",
            "00", "-0", "+0", "+1", "-1", "2", "0.0", "1.0", "'on'", "'off'", "'OFF'", "'false'", "'0'", "'1'",
            "\"off\"", "\"OFF\"", "\"true\"", "TRUE", "FALSE", "'yes'", "no", "E'of\\x66'", "E'\\x6fn'", "$$off$$",
            "$q$true$q$", "U&'\\006ff'", "/*c*/ off", "yes");
    private static final List<String> OTHERS = List.of("verbose", "costs off", "buffers", "summary", "format json",
            "\"verbose\" false", "wal", "settings", "costs", "format 'text'", "timing off");

    private static TestPostgres postgres;
    private static Connection connection;

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_explain"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE SEQUENCE IF NOT EXISTS explain_ran");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    @Test
    void wardenReadsWhetherAnExplainRunsItsStatementAsTheServerDoes() throws SQLException {
        long seed = Long.getLong("warden.explainDiff.seed", System.nanoTime());
        int rounds = Integer.getInteger("warden.explainDiff.rounds", 400);
        System.out.println("ExplainRunsDifferentialTest seed=" + seed + " rounds=" + rounds);
        Random random = new Random(seed);
        Analyzer analyzer = new Analyzer(0);
        int compared = 0;
        int ran = 0;
        List<String> differences = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            String options = options(random);
            String sql = "EXPLAIN " + options + " SELECT nextval('explain_ran')";
            Boolean server = serverRan(sql);
            if (server == null) {
                continue; // the server refused the options
            }
            compared++;
            ran += server ? 1 : 0;
            boolean warden = Analyzer.explainRuns(sql, true);
            StatementFacts facts = analyzer.analyze(sql.replace("SELECT nextval('explain_ran')",
                    "UPDATE t SET v = 1")).statements().get(0);
            if (warden != server || facts.writes() != server) {
                differences.add("seed " + seed + ", round " + round + ": " + sql + " server ran: " + server
                        + ", Warden: runs " + warden + ", writes " + facts.writes());
            }
        }
        System.out.println("ExplainRunsDifferentialTest compared=" + compared + " ran=" + ran);
        assertEquals(List.of(), differences);
        assertTrue(compared > rounds / 4 && ran > compared / 8 && ran < compared,
                "too few option lists compared: " + compared + " (ran " + ran + ")");
    }

    /** One to three options, one of them naming ANALYZE in most lists, a comment here and there. */
    private static String options(Random random) {
        if (random.nextInt(6) == 0) {
            return random.nextBoolean() ? "ANALYZE" : random.nextBoolean() ? "VERBOSE" : "ANALYSE VERBOSE";
        }
        List<String> list = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            if (i == 0 || random.nextInt(3) == 0) {
                String value = VALUES.get(random.nextInt(VALUES.size()));
                list.add(NAMES.get(random.nextInt(NAMES.size())) + (value.isEmpty() ? "" : " " + value));
            } else {
                list.add(OTHERS.get(random.nextInt(OTHERS.size())));
            }
        }
        java.util.Collections.shuffle(list, random);
        return "(" + String.join(random.nextInt(4) == 0 ? " /* , */ , " : ", ", list) + ")";
    }

    /** Whether the server ran the explained statement (its sequence moved), or null when it refused the options. */
    private static Boolean serverRan(String sql) throws SQLException {
        long before = lastValue();
        try (Statement s = connection.createStatement()) {
            s.execute(sql);
        } catch (SQLException refused) {
            return null;
        }
        return lastValue() != before;
    }

    private static long lastValue() throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM explain_ran")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
