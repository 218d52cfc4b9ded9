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
 * Which ALTER TABLE ... ALTER COLUMN ... TYPE ... USING statements give every row one value, against what the server
 * did: generated statements (seed printed; {@code -Dwarden.fuzz.seed=S -Dwarden.fuzz.alters=N} for another run) over a
 * table whose column {@code c} holds five distinct values, each run in a transaction rolled back. One the server left
 * with a single distinct value must be read as an overwrite, and one that kept the five must not (attacker pass a109:
 * {@code USING 'const'} rewrote every row where the baseline refuses {@code UPDATE} without a WHERE). The
 * expressions that name the column are chosen so that they keep its values apart: one that names it and still
 * gives every row one value ({@code USING c IS NULL}) is the documented gap, not generated.
 */
class ColumnOverwriteDifferentialTest {

    private static TestPostgres postgres;
    private static Connection connection;

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_overwrite"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE t (id int PRIMARY KEY, c int, \"C\" int, d text)");
            s.execute("INSERT INTO t SELECT g, g * 10, 7, 'x' || g FROM generate_series(1, 5) g");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    private static final String[] NAMING = {"c::text", "(c + 1)::text", "lpad(c::text, 5, '0')", "c || ''",
            "format('%s', c)", "t.c::text", "coalesce(c, 0)::text", "\"c\"::text", "(c)::text",
            "CASE WHEN c > 0 THEN c::text ELSE 'neg' END"};
    private static final String[] CONSTANT = {"NULL", "'x'", "'0'", "now()::text", "1::text", "\"C\"::text",
            "(SELECT 'y')", "'c'", "current_user::text", "md5('c')", "('x' || 'y')"};

    @Test
    void aUsingThatGivesEveryRowOneValueIsReadAsAnOverwrite() throws SQLException {
        long seed = Long.getLong("warden.fuzz.seed", System.nanoTime());
        int alters = Integer.getInteger("warden.fuzz.alters", 200);
        Random random = new Random(seed);
        List<String> wrong = new ArrayList<>();
        int overwrites = 0;
        int kept = 0;
        for (int i = 0; i < alters; i++) {
            boolean naming = random.nextBoolean();
            String expression = naming ? NAMING[random.nextInt(NAMING.length)] : CONSTANT[random.nextInt(CONSTANT.length)];
            String column = random.nextInt(4) == 0 ? "COLUMN " : "";
            String setData = random.nextInt(3) == 0 ? "SET DATA " : "";
            String before = random.nextInt(3) == 0 ? "ALTER COLUMN d SET DEFAULT 'q', " : "";
            String after = random.nextInt(3) == 0 ? ", ALTER COLUMN d DROP DEFAULT" : "";
            String sql = "ALTER TABLE " + (random.nextBoolean() ? "ONLY " : "") + "t " + before + "ALTER " + column
                    + (random.nextBoolean() ? "c" : "\"c\"") + " " + setData + "TYPE text USING " + expression + after;
            Integer distinct = distinctAfter(sql);
            if (distinct == null) {
                continue; // the server refused it: nothing to compare
            }
            boolean read = !ColumnOverwrite.of(sql).isEmpty();
            if (distinct == 1) {
                overwrites++;
            } else {
                kept++;
            }
            if (read != (distinct == 1)) {
                wrong.add(sql + " (server: " + distinct + " distinct values, read as " + (read ? "" : "no ")
                        + "overwrite)");
            }
        }
        System.out.printf("column overwrites: seed=%d alters=%d overwrites=%d kept=%d%n", seed, alters, overwrites,
                kept);
        assertTrue(overwrites > 0 && kept > 0, "both kinds ran: " + overwrites + " / " + kept);
        assertEquals(List.of(), wrong, "seed " + seed);
    }

    @Test
    void otherAlterTableFormsOverwriteNothing() {
        for (String sql : List.of("ALTER TABLE t ALTER COLUMN c SET DEFAULT 1", "ALTER TABLE t ALTER c TYPE text",
                "ALTER TABLE t ADD COLUMN e int DEFAULT 1", "ALTER TABLE t ALTER CONSTRAINT k DEFERRABLE",
                "ALTER TABLE t ALTER COLUMN c TYPE numeric(10, 2) USING c * 1.5",
                "ALTER TABLE t RENAME COLUMN c TO using", "ALTER INDEX i ALTER COLUMN 1 SET STATISTICS 10",
                "ALTER TABLE t ALTER c TYPE text COLLATE \"C\" USING c::text")) {
            assertEquals(List.of(), ColumnOverwrite.of(sql), sql);
        }
        // A column named like the type or function its USING names (attacker pass a112).
        assertEquals(List.of("text"), ColumnOverwrite.of("ALTER TABLE t ALTER text TYPE varchar USING 'x'::text"));
        assertEquals(List.of("now"), ColumnOverwrite.of("ALTER TABLE t ALTER now TYPE text USING now()::text"));
        assertEquals(List.of("upper"), ColumnOverwrite.of("ALTER TABLE t ALTER upper TYPE text USING upper('x')"));
        assertEquals(List.of("c"), ColumnOverwrite.of("ALTER TABLE t ALTER c TYPE text USING c(d)"));
        assertEquals(List.of("c"), ColumnOverwrite.of("ALTER TABLE t ALTER c TYPE text USING CAST('x' AS c)"));
        assertEquals(List.of(), ColumnOverwrite.of("ALTER TABLE t ALTER text TYPE varchar USING text::varchar"));
        assertEquals(List.of("c", "C"), ColumnOverwrite.of(
                "alter table t alter c type text using 'a', alter \"C\" type text using (lower('B'))"));
    }

    /** The distinct values of c (NULL one of them) after {@code sql}, rolled back; null when the server refused it. */
    private static Integer distinctAfter(String sql) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement s = connection.createStatement()) {
            try {
                s.execute(sql);
            } catch (SQLException refused) {
                return null;
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM (SELECT DISTINCT c FROM t) v")) {
                rs.next();
                return rs.getInt(1);
            }
        } finally {
            connection.rollback();
            connection.setAutoCommit(true);
        }
    }
}
