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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Whether a DELETE, UPDATE or ON CONFLICT DO UPDATE has a WHERE, against what the server did: every keyword
 * PostgreSQL has ({@code pg_get_keywords()}, the server is the list) as a RETURNING column's label, with and
 * without AS where the server takes it bare. Each statement runs in a transaction rolled back; one that touched
 * every row must not read as filtered. A helper's pass (2026-12-05): {@code delete from orders returning id as
 * where} deleted 400 rows in staging, read as a DELETE with a WHERE (the text falls back to the lexical reading,
 * which took the label for the clause).
 */
class WhereClauseDifferentialTest {

    private static TestPostgres postgres;
    private static Connection connection;
    private final Analyzer analyzer = new Analyzer(1000);

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_where"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE t (id int PRIMARY KEY, a int)");
            s.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 5) g");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    /**
     * After a dot any keyword is a name too (attr_name is a ColLabel): a helper's review of the AS fix deleted every row
     * with {@code DELETE FROM t USING pg_temp.where}, read as filtered.
     */
    @Test
    void aRelationNamedLikeAClauseIsNotTheClause() throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS \"where\" (x int)");
            s.execute("CREATE TABLE IF NOT EXISTS \"returning\" (x int)");
        }
        List<String> wrong = new ArrayList<>();
        for (String name : List.of("where", "returning")) {
            for (String sql : List.of("DELETE FROM t USING public." + name, "UPDATE t SET a = a FROM public." + name,
                    "DELETE FROM t USING public." + name + " RETURNING t.id", "DELETE FROM t USING public." + name + " w")) {
                Integer rows = rowsTouched(sql);
                if (rows != null && analyzer.analyze(sql).statements().get(0).hasWhere()) {
                    wrong.add(sql + " (server: " + rows + " rows, read as filtered)");
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void aReturningLabelIsNeverTakenForTheWhereClause() throws SQLException {
        List<String[]> keywords = new ArrayList<>();
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT word, barelabel FROM pg_get_keywords() ORDER BY word")) {
            while (rs.next()) {
                keywords.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        assertTrue(keywords.size() > 400, "the server's keywords: " + keywords.size());
        int compared = 0;
        List<String> wrong = new ArrayList<>();
        for (String[] k : keywords) {
            List<String> labels = new ArrayList<>(List.of("AS " + k[0], "AS " + k[0].toUpperCase()));
            if ("t".equals(k[1])) {
                labels.add(k[0]);
            }
            for (String label : labels) {
                // Each text, and whether it filters the rows it writes.
                String[] texts = {
                    "DELETE FROM t RETURNING id " + label, "DELETE FROM t WHERE id = 1 RETURNING id " + label,
                    "UPDATE t SET a = a RETURNING a " + label, "UPDATE t SET a = a WHERE id = 1 RETURNING a " + label,
                    "INSERT INTO t VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET a = 2 RETURNING a " + label,
                    "INSERT INTO t VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET a = 2 WHERE t.id = 1 RETURNING a "
                            + label};
                for (int i = 0; i < texts.length; i++) {
                    String sql = texts[i];
                    boolean filtered = i % 2 == 1;
                    Integer rows = rowsTouched(sql);
                    if (rows == null) {
                        continue; // the server refused the text: nothing ran
                    }
                    compared++;
                    boolean read = analyzer.analyze(sql).statements().get(0).hasWhere();
                    if (read != filtered) {
                        wrong.add(sql + " (server: " + rows + " rows; Warden: " + (read ? "a WHERE" : "no WHERE") + ")");
                    }
                }
            }
        }
        assertTrue(compared > 2_000, "statements the server ran: " + compared);
        assertEquals(List.of(), wrong);
    }

    /** The rows the server's statement touched (rolled back), or null when it refused the text. */
    private static Integer rowsTouched(String sql) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN");
            try {
                s.execute(sql);
                int n = 0;
                try (ResultSet rs = s.getResultSet()) {
                    while (rs != null && rs.next()) {
                        n++;
                    }
                }
                return n;
            } catch (SQLException refused) {
                return null;
            } finally {
                s.execute("ROLLBACK");
            }
        }
    }

    /**
     * A label hides nothing Warden reads: the kind, the WHERE, what is written and what is read are all still there.
     * (Three words are read as more than a label where JSqlParser gives up: {@code AS from}, {@code AS join} and
     * {@code AS into} add names the server does not read or write, {@code "from"}, which errs towards refusing;
     * the production environments refuse such texts as unparsed.)
     */
    @Test
    void aLabelIsReadAsNothingButALabel() throws SQLException {
        List<String> wrong = new ArrayList<>();
        int compared = 0;
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT word, barelabel FROM pg_get_keywords() ORDER BY word")) {
            while (rs.next()) {
                String word = rs.getString(1);
                List<String> texts = new ArrayList<>(List.of("SELECT id AS " + word + " FROM t",
                        "DELETE FROM t WHERE id = 1 RETURNING id AS " + word,
                        "UPDATE t SET a = 1 WHERE id = 1 RETURNING a AS " + word));
                if (rs.getBoolean(2)) {
                    texts.add("SELECT id " + word + " FROM t");
                }
                for (String sql : texts) {
                    if (rowsTouched(sql) == null) {
                        continue;
                    }
                    compared++;
                    StatementFacts f = analyzer.analyze(sql).statements().get(0);
                    boolean select = sql.startsWith("SELECT");
                    String read = f.kind() + " " + f.tablesWritten() + " " + f.hasWhere();
                    boolean hides = !f.kind().name().equals(sql.substring(0, 6)) || f.hasWhere() == select
                            || !select && f.tablesWritten().stream().noneMatch(x -> x.toString().equals("t"))
                            || select && f.tablesRead().stream().noneMatch(x -> x.toString().equals("t"));
                    if (hides) {
                        wrong.add(sql + " read as " + read + " reading " + f.tablesRead());
                    }
                }
            }
        }
        assertTrue(compared > 1_500, "statements the server ran: " + compared);
        assertEquals(List.of(), wrong);
    }
}
