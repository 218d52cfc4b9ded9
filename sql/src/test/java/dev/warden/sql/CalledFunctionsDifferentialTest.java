package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Which user functions a statement runs, as the server counts them ({@code track_functions = all},
 * {@code pg_stat_xact_user_functions}, each statement in a transaction rolled back) and as Warden lists them: a
 * function by its name, an operator's function by the operator's {@code op:} key. Functions named like the syntax
 * around them ({@code operator}, {@code gist2}) show a name read as a call where the grammar makes it none: Warden
 * judged {@code SELECT 1 OPERATOR(s.###) 2} a call of an unknown function {@code operator} (a write), and the access
 * method of {@code CREATE INDEX ... USING gist2 (b)} (PostgreSQL's create_am.sql) a call of a user function, which a
 * masked identity may not index over. Where the server does run the function, Warden must list it: the relation of
 * {@code CREATE INDEX ON t (...)}, also listed as a call, hid a call of a function {@code t} made in the same text.
 */
class CalledFunctionsDifferentialTest {

    private static TestPostgres postgres;
    private static Connection connection;
    private final Analyzer analyzer = new Analyzer(1000);

    /** Each user function of the database, and the key under which Warden lists a call of it. */
    private static final Map<String, String> KEYS = new java.util.HashMap<>(Map.of("add", "op:###", "neg", "op:@-@",
            "operator", "operator", "gist2", "gist2", "t", "t"));

    /**
     * Words the grammar takes a parenthesis after (a rule's DO ALSO (, FOREIGN KEY (a), INCLUDE (b), OPTIONS (...))
     * that also name a user function called unqualified elsewhere: in a SELECT, a PL/pgSQL IF condition or
     * assignment. Warden passed over every {@code options(1)} as syntax, and a function so named ran unjudged.
     */
    private static final List<String> SYNTAX_WORDS = List.of("over", "filter", "within", "join", "set", "by", "key",
            "partition", "sets", "cube", "rollup", "is", "like", "ilike", "conflict", "include", "tablesample",
            "ordinality", "of", "if", "elsif", "while", "return", "returns", "loop", "begin", "options", "without",
            "materialized", "recursive", "cursor", "execute", "perform", "exclude", "nulls", "escape", "verbose",
            "vacuum", "explain", "copy", "revoke", "lock", "declare", "notify", "listen", "raise", "assert", "call",
            "prepare", "also", "instead", "nothing");

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_calls"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE SCHEMA s");
            s.execute("CREATE FUNCTION s.add(a int, b int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS "
                    + "$$BEGIN RETURN a + b; END$$");
            s.execute("CREATE OPERATOR s.### (leftarg = int, rightarg = int, function = s.add)");
            s.execute("CREATE FUNCTION s.neg(b int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS "
                    + "$$BEGIN RETURN -b; END$$");
            s.execute("CREATE OPERATOR s.@-@ (rightarg = int, function = s.neg)");
            s.execute("CREATE FUNCTION public.operator(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS "
                    + "$$BEGIN RETURN i; END$$");
            // create_am.sql's access method, and a function of the same name.
            s.execute("CREATE FUNCTION public.gist2(b box) RETURNS box LANGUAGE plpgsql IMMUTABLE AS "
                    + "$$BEGIN RETURN b; END$$");
            s.execute("CREATE ACCESS METHOD gist2 TYPE INDEX HANDLER gisthandler");
            s.execute("CREATE OPERATOR CLASS box_ops DEFAULT FOR TYPE box USING gist2 AS OPERATOR 1 <<, "
                    + "OPERATOR 2 &<, OPERATOR 3 &&, OPERATOR 4 &>, OPERATOR 5 >>, OPERATOR 6 ~=, OPERATOR 7 @>, "
                    + "OPERATOR 8 <@, OPERATOR 9 &<|, OPERATOR 10 <<|, OPERATOR 11 |>>, OPERATOR 12 |&>, "
                    + "FUNCTION 1 gist_box_consistent(internal, box, smallint, oid, internal), "
                    + "FUNCTION 2 gist_box_union(internal, internal), "
                    + "FUNCTION 5 gist_box_penalty(internal, internal, internal), "
                    + "FUNCTION 6 gist_box_picksplit(internal, internal), "
                    + "FUNCTION 7 gist_box_same(box, box, internal)");
            s.execute("CREATE TABLE t (id int, b box)");
            s.execute("INSERT INTO t VALUES (1, box '(1,1),(0,0)'), (2, box '(5,5),(4,4)')");
            s.execute("CREATE FUNCTION public.t(b box) RETURNS box LANGUAGE plpgsql IMMUTABLE AS "
                    + "$$BEGIN RETURN b; END$$");
            for (String w : SYNTAX_WORDS) {
                s.execute("CREATE FUNCTION public.\"" + w + "\"(i int) RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN RETURN i; END$$");
                KEYS.put(w, w);
            }
            s.execute("CREATE TABLE k (a int PRIMARY KEY, b int)");
            s.execute("INSERT INTO k VALUES (1, 1), (2, 2)");
            s.execute("SET track_functions = 'all'");
        }
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
    void theCallsWardenListsAreTheFunctionsTheServerRuns() throws SQLException {
        List<String> texts = List.of(
                "SELECT 1 OPERATOR(s.###) 2",
                "SELECT 1 operator ( s . ### ) 2",
                "SELECT 1 OPERATOR(\"s\".###) 2",
                "SELECT OPERATOR(s.@-@) 2",
                "SELECT 1 OPERATOR(pg_catalog.+) 2",
                "SELECT 1 OPERATOR(pg_catalog.+) 2 AS true",
                "SELECT id FROM t WHERE id OPERATOR(s.###) 1 > 2",
                "SELECT \"operator\"(1)",
                "SELECT public.operator(1) OPERATOR(s.###) 2",
                "CREATE INDEX ON t USING gist2 (b)",
                "CREATE INDEX i ON ONLY t USING gist2 (b box_ops)",
                "CREATE INDEX IF NOT EXISTS i ON public.t USING \"gist2\" (b) WHERE id > 0",
                "CREATE INDEX ON t USING gist2 ((gist2(b)))",
                "CREATE INDEX ON t USING gist2 (b) WHERE gist2(b) IS NOT NULL",
                "ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist2 (b WITH &&)",
                "ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist2 ((gist2(b)) WITH &&)",
                "CREATE TABLE u (b box, EXCLUDE USING gist2 (b WITH &&))",
                // A function named like the relation an index is built on.
                "CREATE INDEX ON t (id)",
                "CREATE INDEX ON ONLY public.t (id)",
                "CREATE TABLE IF NOT EXISTS t (id int)",
                "CREATE INDEX ON t USING gist2 ((t(b)))",
                "CREATE INDEX ON ONLY t (id) WHERE t(b) IS NOT NULL",
                // After another USING a name is a call.
                "DELETE FROM t USING gist2(box '(1,1),(0,0)') g WHERE t.b ~= g",
                "ALTER TABLE t ALTER b TYPE box USING gist2(b)");
        assertEquals(List.of(), wrongListings(texts));
    }

    @Test
    void aFunctionNamedLikeTheGrammarsOwnWordIsListedWhereTheServerCallsIt() throws SQLException {
        List<String> texts = new ArrayList<>();
        for (String w : SYNTAX_WORDS) {
            texts.add("SELECT " + w + "(1)");
            texts.add("SELECT a FROM k WHERE a > 0 AND " + w + "(a) > 0");
            texts.add("DO $$BEGIN IF " + w + "(1) > 0 THEN NULL; END IF; END$$");
            texts.add("DO $$DECLARE x int; BEGIN x := " + w + "(1); END$$");
        }
        // Where the grammar reads the word otherwise, no function runs.
        texts.addAll(List.of(
                "CREATE TABLE u (a int PRIMARY KEY, b int REFERENCES k (a) ON DELETE CASCADE, "
                        + "CONSTRAINT f FOREIGN KEY (b) REFERENCES u (a), UNIQUE (b) INCLUDE (a), EXCLUDE (a WITH =))",
                "CREATE INDEX ON k (a) INCLUDE (b)",
                "ALTER TABLE k ADD UNIQUE (b) INCLUDE (a)",
                "CREATE TABLE v (a int) WITH (fillfactor = 50)",
                "CREATE FOREIGN DATA WRAPPER w OPTIONS (debug 'true')",
                "CREATE RULE r AS ON UPDATE TO k DO ALSO (SELECT 1; SELECT 2)",
                "CREATE RULE r AS ON UPDATE TO k DO INSTEAD (SELECT 1)",
                "CREATE RULE r AS ON UPDATE TO k DO INSTEAD NOTHING",
                "INSERT INTO k VALUES (1, 2) ON CONFLICT (a) DO NOTHING",
                "INSERT INTO k VALUES (1, 2) ON CONFLICT (a) WHERE b > 0 DO UPDATE SET (b) = ROW(3)",
                "INSERT INTO k SELECT k.a + 1, k.b FROM k JOIN k j ON conflict(j.a) > 0 ON CONFLICT DO NOTHING",
                "SELECT a, count(*) FROM k GROUP BY GROUPING SETS ((a), (b))",
                "SELECT a FROM k ORDER BY cube(a)",
                "WITH x AS NOT MATERIALIZED (SELECT 1) SELECT * FROM x",
                "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x",
                "SELECT count(*) FILTER (WHERE a > 0) OVER (PARTITION BY b) FROM k",
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM k",
                "SELECT * FROM k JOIN (k j JOIN k l ON j.a = l.a) ON k.a = j.a",
                "EXPLAIN (COSTS OFF) SELECT 1",
                "SELECT * FROM k FOR KEY SHARE",
                "SELECT * FROM generate_series(1, 2) WITH ORDINALITY AS g (x, n)",
                "DO $$BEGIN IF (1 > 0) THEN NULL; END IF; WHILE (false) LOOP END LOOP; ASSERT (true); END$$",
                "DO $$BEGIN LOOP EXIT; END LOOP; PERFORM (SELECT 1); END$$"));
        assertEquals(List.of(), wrongListings(texts));
    }

    /** For each text whose calls Warden lists otherwise than the server runs them: what each did. */
    private List<String> wrongListings(List<String> texts) throws SQLException {
        List<String> wrong = new ArrayList<>();
        for (String sql : texts) {
            Set<String> warden = new TreeSet<>();
            for (StatementFacts f : analyzer.analyze(sql).statements().get(0).allStatements()) {
                f.functions().forEach(fn -> warden.add(fn.substring(fn.lastIndexOf('.') + 1)));
                warden.addAll(f.implicitCalls());
            }
            compare(sql, runs(sql), warden, wrong);
        }
        return wrong;
    }

    /** Adds to {@code wrong} when Warden's listing of the user functions of {@link #KEYS} is not the server's. */
    private static void compare(String text, Set<String> server, Set<String> warden, List<String> wrong) {
        warden.retainAll(KEYS.values());
        if (!warden.equals(server)) {
            wrong.add(text + ": the server ran " + server + ", Warden lists " + warden);
        }
    }

    /**
     * The same words in a PL/pgSQL function's own expressions (an IF condition, an assignment, a RETURN), as Warden
     * reads a body it finds in the catalog: the calls there were passed over, so a STABLE function whose IF called a
     * writing {@code options(int)} was judged a read when called in a SELECT.
     */
    @Test
    void aFunctionNamedLikeTheGrammarsOwnWordIsListedInAFunctionsBody() throws SQLException {
        List<String> wrong = new ArrayList<>();
        int n = 0;
        List<String> bodies = new ArrayList<>();
        for (String w : SYNTAX_WORDS) {
            bodies.add("BEGIN IF " + w + "(1) > 0 THEN RETURN 1; END IF; RETURN 0; END");
            bodies.add("DECLARE x int; BEGIN x := " + w + "(1); RETURN 0; END");
            bodies.add("BEGIN RETURN " + w + "(1); END");
            bodies.add("BEGIN ASSERT " + w + "(1) > 0; RETURN 0; END");
            if (!w.equals("loop")) { // (a WHILE condition ends at the word LOOP)
                bodies.add("DECLARE x int := 0; BEGIN WHILE x > 0 OR " + w + "(x) < 0 LOOP END LOOP; RETURN x; END");
            }
        }
        // The grammar's own parentheses at a statement's start, where no function runs. (After THEN or ELSE,
        // IF (a) is listed: a CASE's THEN f(x) is not told from it here.)
        bodies.add("BEGIN IF (1 > 0) THEN NULL; END IF; WHILE (false) LOOP RETURN (1); END LOOP; ASSERT (true); "
                + "PERFORM (SELECT 1); RETURN (0); END");
        for (String body : bodies) {
            String name = "body_" + n++;
            try (Statement s = connection.createStatement()) {
                s.execute("CREATE FUNCTION public." + name + "() RETURNS int LANGUAGE plpgsql AS $b$" + body
                        + "$b$");
            }
            KEYS.put(name, name);
            Set<String> server = runs("SELECT public." + name + "()");
            server.remove(name);
            Set<String> warden = new TreeSet<>();
            Analyzer.RoutineAnalysis read = analyzer.analyzeRoutineBody("plpgsql", body, true);
            read.functions().forEach(fn -> warden.add(fn.substring(fn.lastIndexOf('.') + 1)));
            for (StatementFacts s : read.statements()) {
                for (StatementFacts f : s.allStatements()) {
                    f.functions().forEach(fn -> warden.add(fn.substring(fn.lastIndexOf('.') + 1)));
                }
            }
            compare(body, server, warden, wrong);
        }
        assertEquals(List.of(), wrong);
    }

    /**
     * The keys of the user functions {@code sql} ran, in a transaction rolled back; the server must run it. (The view
     * holds the counts not yet flushed, of earlier transactions too; none are flushed inside a transaction block.)
     */
    private static Set<String> runs(String sql) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN");
            try {
                Map<String, Long> before = calls(s);
                s.execute(sql);
                Set<String> out = new TreeSet<>();
                calls(s).forEach((function, n) -> {
                    if (n > before.getOrDefault(function, 0L)) {
                        out.add(KEYS.get(function));
                    }
                });
                return out;
            } finally {
                s.execute("ROLLBACK");
            }
        }
    }

    private static Map<String, Long> calls(Statement s) throws SQLException {
        Map<String, Long> out = new java.util.HashMap<>();
        try (ResultSet rs = s.executeQuery("SELECT funcname, calls FROM pg_stat_xact_user_functions")) {
            while (rs.next()) {
                out.merge(rs.getString(1), rs.getLong(2), Long::sum);
            }
        }
        return out;
    }
}
