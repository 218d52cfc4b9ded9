package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A helper's finding (2026-12-06): words the grammar takes a parenthesis after ({@code OPTIONS (...)},
 * {@code FOREIGN KEY (a)}, {@code DO ALSO (}, {@code INCLUDE (b)}, PL/pgSQL's {@code ASSERT}) also name a user
 * function called unqualified wherever they are not reserved: {@code options(1)} runs {@code public.options(int)}.
 * Warden passed over every such call as syntax, so a writing function of that name ran in production, called in a
 * SELECT, in a STABLE function's IF condition or assignment, or in a DO block, while Warden judged a read.
 * {@code prod} (production) and {@code reviewed} (not production: it lets DO blocks and what Warden cannot parse
 * through) refuse every write; each function makes a large object, which must not appear.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SyntaxWordFunctionsThroughWardenTest {

    static WardenHarness warden;

    private static final String WRITES = "{ name: prod-writes-refused, environments: [prod, reviewed], "
            + "match: { writes: true }, action: block }";

    /** Each word of the grammar a user function may be named and called by unqualified (checked on the server). */
    private static final List<String> WORDS = List.of("over", "filter", "within", "join", "set", "by", "key",
            "partition", "sets", "cube", "rollup", "is", "like", "ilike", "conflict", "include", "tablesample",
            "ordinality", "of", "if", "elsif", "while", "return", "returns", "loop", "begin", "options", "without",
            "materialized", "recursive", "cursor", "execute", "perform", "exclude", "nulls", "escape", "verbose",
            "vacuum", "explain", "copy", "revoke", "lock", "declare", "notify", "listen", "raise", "assert", "call",
            "prepare", "also", "instead", "nothing");

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        WardenHarness.onCluster(pg, "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sw_login') THEN "
                + "CREATE ROLE sw_login LOGIN; END IF; END$$");
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "sw_login")
                        + WardenHarness.environmentAs("reviewed", false, "sw_login"),
                WardenHarness.unmaskedWithRules(WRITES));
        warden.directly("CREATE TABLE public.sw_t (a int PRIMARY KEY, b int)",
                "INSERT INTO public.sw_t VALUES (1, 1), (2, 2)", "GRANT SELECT ON public.sw_t TO sw_login");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /**
     * A failure when Warden let {@code sql} run, refused it otherwise than with 42501, or a large object was made.
     * (Production refuses some of these texts before their calls are judged: a DO block, what JSqlParser cannot
     * parse, a call of a function named execute, read as dynamic SQL; {@code reviewed} judges them.)
     */
    private static String refused(Connection c, String sql) throws SQLException {
        long before = warden.largeObjects();
        String error = run(c, sql);
        long made = warden.largeObjects() - before;
        if (error == null || !error.startsWith("42501") || made != 0) {
            return sql + ": Warden " + (error == null ? "let it run" : error) + "; " + made + " large object(s) made";
        }
        return null;
    }

    /**
     * The grammar's own uses of these words stay reads in production while no function has their name (a name
     * listed as a call that the catalog does not know is judged as the syntax it then is): GROUP BY CUBE (JSqlParser
     * lists cube as a call), PL/pgSQL's IF (a) THEN, RETURN (x), ASSERT (true).
     */
    @Test
    @Order(1)
    void theGrammarsOwnUsesOfTheseWordsAreStillReads() throws SQLException {
        warden.directly("CREATE FUNCTION public.sw_fine(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ "
                + "DECLARE n int; BEGIN IF (i > 0) THEN IF (n IS NULL) THEN n := (i); END IF; ELSE RETURN (i); "
                + "END IF; ASSERT (true); WHILE (n > 5) LOOP n := n - 1; END LOOP; RETURN (n); END $$");
        List<String> failures = new ArrayList<>();
        try (Connection prod = warden.simpleSession("prod")) {
            for (String sql : List.of("SELECT a, count(*) FROM public.sw_t GROUP BY CUBE (a, b)",
                    "SELECT a, count(*) FROM public.sw_t GROUP BY ROLLUP (a), b",
                    "WITH x AS NOT MATERIALIZED (SELECT 1) SELECT * FROM x",
                    "SELECT count(*) FILTER (WHERE a > 0) OVER (PARTITION BY b) FROM public.sw_t",
                    "SELECT * FROM public.sw_t t JOIN (public.sw_t j JOIN public.sw_t l ON j.a = l.a) ON t.a = 1",
                    "SELECT public.sw_fine(1)")) {
                String error = run(prod, sql);
                if (error != null) {
                    failures.add(sql + ": " + error);
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    @Order(2)
    void aWritingFunctionNamedLikeAWordOfTheGrammarIsJudgedWhereverItIsCalled() throws SQLException {
        List<String> failures = new ArrayList<>();
        for (String w : WORDS) {
            warden.directly("CREATE FUNCTION public.\"" + w + "\"(i int) RETURNS int VOLATILE LANGUAGE sql AS "
                            + "$$SELECT lo_from_bytea(0, 'made by " + w + "')::int$$",
                    "CREATE FUNCTION public.\"sw_" + w + "\"(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ "
                            + "DECLARE x int; BEGIN IF " + w + "(i) > 0 THEN RETURN i; END IF; RETURN i; END $$",
                    "CREATE FUNCTION public.\"sw_set_" + w + "\"(i int) RETURNS int STABLE LANGUAGE plpgsql AS $$ "
                            + "DECLARE x int; BEGIN x := " + w + "(i); RETURN i; END $$");
        }
        try (Connection prod = warden.simpleSession("prod"); Connection reviewed = warden.simpleSession("reviewed")) {
            for (String w : WORDS) {
                for (Connection c : List.of(prod, reviewed)) {
                    collect(failures, refused(c, "SELECT " + w + "(1)"));
                    collect(failures, refused(c, "SELECT a FROM public.sw_t WHERE a > 0 AND " + w + "(a) > 0"));
                    collect(failures, refused(c, "SELECT public.\"sw_" + w + "\"(1)"));
                    collect(failures, refused(c, "SELECT public.\"sw_set_" + w + "\"(1)"));
                }
                collect(failures, refused(reviewed, "DO $$BEGIN IF " + w + "(1) > 0 THEN NULL; END IF; END$$"));
                collect(failures, refused(reviewed, "DO $$DECLARE x int; BEGIN x := " + w + "(1); END$$"));
            }
        }
        assertEquals(List.of(), failures);
    }

    private static void collect(List<String> failures, String failure) {
        if (failure != null) {
            failures.add(failure);
        }
    }
}
