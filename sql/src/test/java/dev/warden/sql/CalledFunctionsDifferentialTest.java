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
    private static final Map<String, String> KEYS = Map.of("add", "op:###", "neg", "op:@-@", "operator", "operator",
            "gist2", "gist2", "t", "t");

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
        List<String> wrong = new ArrayList<>();
        for (String sql : texts) {
            Set<String> server = runs(sql);
            Set<String> warden = new TreeSet<>();
            for (StatementFacts f : analyzer.analyze(sql).statements().get(0).allStatements()) {
                f.functions().forEach(fn -> warden.add(fn.substring(fn.lastIndexOf('.') + 1)));
                warden.addAll(f.implicitCalls());
            }
            warden.retainAll(KEYS.values());
            if (!warden.equals(server)) {
                wrong.add(sql + ": the server ran " + server + ", Warden lists " + warden);
            }
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
