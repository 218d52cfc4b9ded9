package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Differential check of the analyzer's shape cache: for generated statements that share a shape (same tokens,
 * other literal values and literal spellings), the facts a warmed analyzer hands out (its cache filled by the
 * same-shaped statements before, in random order) must be exactly the facts an analyzer without a cache finds
 * for that statement alone. The text of a statement is its own in both; everything else must agree.
 *
 * <p>Default: 400 rounds (a few seconds). Longer: {@code -Dwarden.shapeDiff.rounds=100000}; one seed again:
 * {@code -Dwarden.shapeDiff.seed=N} (every failure names its seed and round).
 */
class ShapeCacheDifferentialTest {

    /** Statements whose literals ({s}: a string, {n}: a number) the cache abstracts away. */
    private static final String[] TEMPLATES = {
        "SELECT set_config({s}, {s}, false)",
        "SELECT pg_catalog.set_config({s}, {s}, true) AS v",
        "SELECT set_config({s}, {s}, false), set_config({s}, {s}, false)",
        "SELECT {n}; SELECT set_config({s}, {s}, false)",
        "INSERT INTO t VALUES ({n}, set_config({s}, {s}, false))",
        "WITH x AS (SELECT set_config({s}, {s}, false) AS v) SELECT v FROM x",
        "PREPARE p AS SELECT set_config({s}, {s}, false)",
        "EXPLAIN ANALYZE SELECT set_config({s}, {s}, false)",
        "COPY (SELECT set_config({s}, {s}, false)) TO STDOUT",
        "CREATE TABLE t2 AS SELECT set_config({s}, {s}, false) AS v",
        "DECLARE c CURSOR FOR SELECT set_config({s}, {s}, false)",
        "UPDATE t SET a = set_config({s}, {s}, false) WHERE id = {n}",
        "MERGE INTO t USING src s ON t.id + {n} = t.id + {n} WHEN MATCHED THEN DELETE",
        "MERGE INTO t AS x USING src s ON x.a || {s} = x.a || {s} WHEN MATCHED THEN UPDATE SET a = {s}",
        "MERGE INTO t USING src s ON t.id = {n} WHEN MATCHED THEN DELETE",
        "MERGE INTO t USING src s ON t.id = t.id WHEN MATCHED AND s.id > {n} THEN DELETE",
        "INSERT INTO t VALUES ({n}, {s}) ON CONFLICT (id) DO UPDATE SET a = {s}",
        "SELECT count(*) FROM t WHERE a = {s} AND id > {n}",
        "UPDATE t SET a = {s} WHERE id = {n}",
        "DELETE FROM t WHERE id = {n} OR a = {s}",
        "SELECT * FROM t ORDER BY {n} LIMIT {n}",
        "SELECT query_to_xml({s}, true, false, {s})",
        "SELECT {s}::regclass, nextval({s}), current_setting({s})",
        "SELECT pg_read_file({s}), {n} + {n}",
        "CREATE VIEW v AS SELECT {s} AS a, {n} AS b",
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT {s}",
        "SELECT * FROM t WHERE a LIKE {s} ESCAPE {s}",
    };

    private static final String[] STRINGS = {"role", "ROLE", " role", "session_authorization", "application_name",
        "search_path", "cc_admin", "postgres", "x", "", "a", "b", "yes", "DROP TABLE t", "public.t", "t", "it's"};

    private static final String[] NUMBERS = {"0", "1", "2", "42", "1.5", ".5", "1.", "1e5", "1E-3", "0x1F", "0o17",
        "0b101", "1_000", "00"};

    @Test
    void aWarmedAnalyzerReadsEveryStatementAsAColdOneDoes() {
        long seed = Long.getLong("warden.shapeDiff.seed", System.nanoTime());
        int rounds = Integer.getInteger("warden.shapeDiff.rounds", 400);
        SplittableRandom random = new SplittableRandom(seed);
        Duration timeout = Duration.ofSeconds(5); // no timeouts: a cut-off parse would differ for other reasons
        Analyzer warmed = new Analyzer(10_000, timeout);
        Analyzer cold = new Analyzer(0, timeout);
        for (int round = 0; round < rounds; round++) {
            String template = TEMPLATES[random.nextInt(TEMPLATES.length)];
            List<String> texts = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                texts.add(fill(template, random));
            }
            for (String text : texts) {
                boolean scs = random.nextInt(4) != 0;
                String expected = describe(cold.analyze(text, scs));
                String where = "seed " + seed + " round " + round + " (same-shaped before: " + texts + ")\n" + text;
                Analysis cached = warmed.analyzeCached(text, scs);
                if (cached != null) {
                    assertEquals(expected, describe(cached), "analyzeCached, " + where);
                }
                assertEquals(expected, describe(warmed.analyze(text, scs)), "analyze, " + where);
            }
        }
    }

    private static String fill(String template, SplittableRandom random) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < template.length(); i++) {
            if (template.startsWith("{s}", i)) {
                out.append(string(STRINGS[random.nextInt(STRINGS.length)], random));
                i += 2;
            } else if (template.startsWith("{n}", i)) {
                out.append(NUMBERS[random.nextInt(NUMBERS.length)]);
                i += 2;
            } else {
                out.append(template.charAt(i));
            }
        }
        return out.toString();
    }

    /** One spelling of a string constant: plain, E'', dollar-quoted, U&'' or N''. */
    private static String string(String value, SplittableRandom random) {
        String doubled = value.replace("'", "''");
        return switch (random.nextInt(5)) {
            case 0 -> "E'" + doubled + "'";
            case 1 -> "$q$" + value + "$q$";
            case 2 -> "U&'" + doubled + "'";
            case 3 -> "N'" + doubled + "'";
            default -> "'" + doubled + "'";
        };
    }

    private static String describe(Analysis analysis) {
        StringBuilder out = new StringBuilder();
        for (StatementFacts f : analysis.statements()) {
            describe(f, out, 0);
        }
        return out.toString();
    }

    /** Every fact but the text, nested and inner statements included. */
    private static void describe(StatementFacts f, StringBuilder out, int depth) {
        String indent = "  ".repeat(depth);
        out.append(indent).append(f.kind()).append(' ').append(f.objectType()).append(" fp=").append(f.fingerprint())
                .append(" writes=").append(f.writes()).append(" hasWhere=").append(f.hasWhere())
                .append(" unparsed=").append(f.unparsed()).append(" dynamic=").append(f.dynamicSql())
                .append(" dmCte=").append(f.dataModifyingCte()).append('\n')
                .append(indent).append(" read=").append(f.tablesRead()).append(" written=").append(f.tablesWritten())
                .append(" colsRead=").append(f.columnsRead()).append(" colsWritten=").append(f.columnsWritten())
                .append('\n')
                .append(indent).append(" functions=").append(f.functions()).append(" implicit=")
                .append(f.implicitCalls()).append(" innerKinds=").append(f.innerKinds()).append(" role=")
                .append(f.roleTarget()).append(" prepared=").append(f.preparedName()).append(" copy=")
                .append(f.copy()).append('\n');
        f.inner().ifPresent(in -> {
            out.append(indent).append(" inner:\n");
            describe(in, out, depth + 1);
        });
        for (StatementFacts n : f.nested()) {
            out.append(indent).append(" nested:\n");
            describe(n, out, depth + 1);
        }
    }
}
