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
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Which relations a query reads, against the server's plan: generated queries (seed printed;
 * {@code -Dwarden.tablesRead.seed=N} repeats a run, {@code -Dwarden.tablesRead.count=N} makes more) whose WITH names
 * and aliases collide with the tables' names at every level (a WITH query named like a table in a subquery, in its
 * own body, before or after its use; {@code FROM sa AS sb}), with {@code TABLE name} as a query in FROM, in ARRAY(),
 * in EXISTS and as a WITH query. Every table the server's {@code EXPLAIN} scans must be in the analysis's reads. A
 * helper's pass (a124) read blocked tables through {@code EXISTS (WITH t AS (SELECT 1) SELECT 1 FROM t)}, {@code
 * FROM orders AS t} in a subquery and {@code FROM (TABLE t) x}: a WITH name or alias anywhere hid the table
 * everywhere, and {@code WITH orders AS (SELECT * FROM orders)} hid the read inside the WITH query.
 */
class TablesReadDifferentialTest {

    private static final List<String> TABLES = List.of("sa", "sb", "sc", "sd");
    private static final Pattern RELATION = Pattern.compile("\"Relation Name\": \"([a-z]+)\"");

    private static TestPostgres postgres;
    private static Connection connection;
    private final Analyzer analyzer = new Analyzer(1000);

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_reads"));
        try (Statement s = connection.createStatement()) {
            for (String t : TABLES) {
                s.execute("CREATE TABLE " + t + " (id int)");
                s.execute("INSERT INTO " + t + " VALUES (1), (2)");
            }
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    @Test
    void everyTableThePlanScansIsRead() throws SQLException {
        long seed = Long.getLong("warden.tablesRead.seed", System.nanoTime());
        int count = Integer.getInteger("warden.tablesRead.count", 400);
        System.out.println("TablesReadDifferentialTest seed=" + seed);
        SplittableRandom random = new SplittableRandom(seed);
        List<String> missed = new ArrayList<>();
        int planned = 0;
        for (int i = 0; i < count; i++) {
            String sql = new Generator(random).query(0, Set.of());
            Set<String> scanned = scanned(sql);
            if (scanned == null) {
                continue; // the server does not take it (a name not in scope, a recursion it refuses)
            }
            planned++;
            Set<String> read = new TreeSet<>();
            for (StatementFacts f : analyzer.analyze(sql).statements()) {
                f.tablesRead().forEach(t -> read.add(t.name()));
                f.tablesWritten().forEach(t -> read.add(t.name()));
            }
            if (!read.containsAll(scanned)) {
                missed.add(sql + "\n    server scans " + scanned + ", analysis reads " + read);
            }
        }
        assertTrue(planned > count / 2, "the server planned " + planned + " of " + count + " (seed " + seed + ")");
        assertEquals(List.of(), missed, "seed " + seed);
    }

    /** The tables the server's plan of {@code sql} scans, or null when it refuses {@code sql}. */
    private static Set<String> scanned(String sql) throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("EXPLAIN (FORMAT JSON) " + sql)) {
            Set<String> out = new TreeSet<>();
            while (rs.next()) {
                Matcher m = RELATION.matcher(rs.getString(1));
                while (m.find()) {
                    out.add(m.group(1));
                }
            }
            return out;
        } catch (SQLException e) {
            if (Boolean.getBoolean("warden.tablesRead.verbose")) {
                System.out.println(sql + "\n    " + e.getMessage());
            }
            return null;
        }
    }

    /** Queries of one column, id, with WITH names and aliases drawn from the tables' names. */
    private static final class Generator {
        private final SplittableRandom random;
        private int fresh;

        Generator(SplittableRandom random) {
            this.random = random;
        }

        /** A WITH query's name: a table's, or one of its own. */
        private String name() {
            return random.nextInt(5) == 0 ? "w" + fresh++ : TABLES.get(random.nextInt(TABLES.size()));
        }

        /** A name to read: a table's, or a WITH query's in scope. */
        private String reference(Set<String> ctes) {
            List<String> names = new ArrayList<>(TABLES);
            ctes.stream().filter(n -> !TABLES.contains(n)).sorted().forEach(names::add);
            return names.get(random.nextInt(names.size()));
        }

        String query(int depth, Set<String> ctes) {
            StringBuilder out = new StringBuilder();
            Set<String> visible = new java.util.HashSet<>(ctes);
            if (depth < 3 && random.nextInt(3) == 0) {
                boolean recursive = random.nextInt(4) == 0;
                out.append("WITH ").append(recursive ? "RECURSIVE " : "");
                int items = 1 + random.nextInt(2);
                for (int k = 0; k < items; k++) {
                    String name = name();
                    out.append(k > 0 ? ", " : "").append(name).append(" AS (");
                    if (recursive && random.nextBoolean()) {
                        out.append("SELECT id FROM ").append(item(depth + 1, visible)).append(" AS r UNION ALL ")
                                .append("SELECT id FROM ").append(name).append(" WHERE id < 0");
                    } else {
                        out.append(query(depth + 1, visible));
                    }
                    out.append(')');
                    visible.add(name);
                }
                out.append(' ');
            }
            // Aliases named like the tables too (FROM sa AS sb).
            String x = random.nextInt(3) == 0 ? TABLES.get(random.nextInt(TABLES.size())) : "x";
            out.append("SELECT ").append(x).append(".id FROM ").append(item(depth, visible)).append(" AS ").append(x);
            if (random.nextInt(3) == 0) {
                String y = random.nextInt(3) == 0 ? TABLES.get(random.nextInt(TABLES.size())) : "y";
                out.append(", ").append(item(depth, visible)).append(" AS ").append(y.equals(x) ? "y" : y);
            }
            switch (depth < 3 ? random.nextInt(5) : 0) {
                case 1 -> out.append(" WHERE EXISTS (").append(query(depth + 1, visible)).append(')');
                case 2 -> out.append(" WHERE ").append(x).append(".id IN (").append(query(depth + 1, visible))
                        .append(')');
                case 3 -> out.append(" WHERE ").append(x).append(".id = ANY (ARRAY(TABLE ")
                        .append(reference(visible)).append("))");
                case 4 -> out.append(" WHERE EXISTS (TABLE ").append(reference(visible)).append(')');
                default -> { }
            }
            return out.toString();
        }

        private String item(int depth, Set<String> ctes) {
            return switch (depth < 3 ? random.nextInt(4) : random.nextInt(2)) {
                case 0 -> reference(ctes);
                case 1 -> "(TABLE " + reference(ctes) + ")";
                default -> "(" + query(depth + 1, ctes) + ")";
            };
        }
    }
}
