package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a134 (2026-12-07), in {@link MaskingPass27Test}'s manner: a masked identity with temporary objects
 * only. Each attack reads the seeded values reversed (past the value detectors) through a data-modifying WITH query,
 * a cursor or statement whose exposure was replaced or unknown, a view or policy that evaluates masked values where
 * its columns do not show them, or the failing row a write's trigger, rule, foreign key or view echoes. Each test
 * checks that a harmless neighbour still runs.
 */
class MaskingPass28Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp28");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** F0, F0b: a data-modifying WITH query stores what it computes from a masked column, top level or in a body. */
    @Test
    void aDataModifyingWithQueryIsJudgedAsTheWriteItMakes() throws Exception {
        String[][] attempts = {
                {"CREATE TEMP TABLE tn (id int, ssn text, note text)",
                        "WITH w AS (INSERT INTO tn (note) SELECT reverse(ssn) FROM mp28 RETURNING 1) SELECT 1",
                        "SELECT note FROM tn"},
                {"CREATE TEMP TABLE te (id int, email text)",
                        "WITH w AS (INSERT INTO te (email) SELECT 'x@' || reverse(ssn) || '.com' FROM mp28 RETURNING 1) "
                                + "SELECT 1", "SELECT email FROM te"},
                {"CREATE TEMP TABLE tu (id int, ssn text, note text)", "INSERT INTO tu (id) VALUES (1), (2), (3)",
                        "WITH w AS (UPDATE tu SET note = reverse(m.ssn) FROM mp28 m WHERE m.id = tu.id RETURNING 1) "
                                + "SELECT 1", "SELECT note FROM tu"},
                {"CREATE TEMP TABLE clr (x text)",
                        "CREATE FUNCTION pg_temp.f5() RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN "
                                + "WITH w AS (INSERT INTO clr (x) SELECT q::text FROM tx5 q RETURNING 1) "
                                + "SELECT count(*) INTO n FROM w; RETURN n; END $$",
                        "CREATE TEMP TABLE tx5 (id int, ssn text)",
                        "INSERT INTO tx5 (ssn) SELECT reverse(ssn) FROM mp28", "SELECT pg_temp.f5()",
                        "SELECT reverse(x) FROM clr"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE ok (id int, note text)");
            String clear = a.query("WITH w AS (INSERT INTO ok (note) SELECT 'n' || id FROM mp28 RETURNING 1) SELECT 1");
            assertFalse(MaskedAttacker.refused(clear), clear);
            assertEquals("n1", MaskedAttacker.firstValue(a.query("SELECT note FROM ok ORDER BY note")));
        }
    }

    /** F5: a FETCH of a cursor Warden did not see declared, or declared in the same text. */
    @Test
    void aCursorWardenDidNotSeeDeclaredIsMaskedWhole() throws Exception {
        String[][] attempts = {
                {"CREATE FUNCTION pg_temp.o1() RETURNS refcursor LANGUAGE plpgsql AS $$ DECLARE r refcursor := 'm1'; "
                        + "BEGIN OPEN r FOR SELECT id, x FROM vl3; RETURN r; END $$",
                        "CREATE TEMP VIEW vl3 AS SELECT id, reverse(ssn) AS x FROM mp28", "BEGIN",
                        "SELECT pg_temp.o1()", "FETCH 3 FROM m1", "COMMIT"},
                {"CREATE TEMP VIEW vs AS SELECT id, reverse(ssn) AS x FROM mp28",
                        "DECLARE k CURSOR FOR SELECT * FROM vs; FETCH 2 FROM k"},
                {"CREATE TEMP VIEW vh AS SELECT id, reverse(email) AS x FROM mp28",
                        "BEGIN; DECLARE c1 CURSOR WITH HOLD FOR SELECT * FROM vh; COMMIT; FETCH 1 FROM c1;",
                        "FETCH 2 FROM c1"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String clear = a.query("DECLARE kc CURSOR FOR SELECT id * 10 AS n FROM mp28 ORDER BY id; FETCH 1 FROM kc");
            assertEquals("10", MaskedAttacker.firstValue(clear), clear);
        }
    }

    /** F6, F7: a call of pg_cursor(), or a FETCH or EXECUTE in the same text, replaced the statement's exposure. */
    @Test
    void whatATextReadsBySessionStateAddsToItsOwnExposure() throws Exception {
        String view = "CREATE TEMP VIEW vw AS SELECT id, reverse(ssn) AS x FROM mp28";
        String[][] attempts = {
                {view, "SELECT v.id, v.x FROM vw v WHERE EXISTS (SELECT 1 FROM pg_prepared_statement()) OR true"},
                {view, "SELECT v.id, v.x, (SELECT count(*) FROM pg_cursor()) AS n FROM vw v"},
                {view, "PREPARE ps AS SELECT id FROM mp28 LIMIT 1", "SELECT * FROM vw; EXECUTE ps"},
                {view, "BEGIN", "DECLARE cs CURSOR FOR SELECT id, ssn FROM mp28", "SELECT * FROM vw; FETCH 1 FROM cs"},
                {"CREATE TEMP TABLE clr (x text)",
                        "INSERT INTO clr SELECT reverse(ssn) FROM mp28 WHERE EXISTS (SELECT 1 FROM pg_cursor()) OR true",
                        "SELECT x FROM clr"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String clear = a.query("SELECT id FROM mp28 WHERE EXISTS (SELECT 1 FROM pg_cursor()) OR true ORDER BY id");
            assertEquals("1", MaskedAttacker.firstValue(clear), clear);
        }
    }

    /** F8, F9: a view's WHERE, a function it calls, or a table's policy evaluates masked values and raises them. */
    @Test
    void whatAViewOrPolicyEvaluatesOverMaskedValuesDoesNotComeBackInItsErrors() throws Exception {
        String[][] attempts = {
                {"CREATE TEMP VIEW cq AS SELECT id FROM mp28 WHERE reverse(ssn)::int > 0", "SELECT id FROM cq WHERE id = 1"},
                {"CREATE TEMP VIEW cq2 AS SELECT id FROM mp28 WHERE reverse(email)::int > 0", "SELECT count(*) FROM cq2"},
                {"CREATE FUNCTION pg_temp.boom(t text) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'v=%', t; "
                        + "END $$", "CREATE TEMP VIEW vs2 AS SELECT id FROM mp28 WHERE pg_temp.boom(reverse(ssn))",
                        "SELECT 1 FROM vs2"},
                {"CREATE TEMP TABLE rt (a int)", "INSERT INTO rt VALUES (1)", "ALTER TABLE rt ENABLE ROW LEVEL SECURITY",
                        "ALTER TABLE rt FORCE ROW LEVEL SECURITY",
                        "CREATE POLICY p1 ON rt USING ((SELECT reverse(ssn)::int FROM mp28 WHERE id = 1) > 0)",
                        "SELECT * FROM rt"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE rt2 (a int)");
            a.query("INSERT INTO rt2 VALUES (1), (-1)");
            a.query("ALTER TABLE rt2 ENABLE ROW LEVEL SECURITY");
            a.query("ALTER TABLE rt2 FORCE ROW LEVEL SECURITY");
            String policy = a.query("CREATE POLICY p2 ON rt2 USING (a > 0)");
            assertFalse(MaskedAttacker.refused(policy), policy);
            assertEquals("1", MaskedAttacker.firstValue(a.query("SELECT a FROM rt2")));
            a.query("CREATE TEMP VIEW clearv AS SELECT id FROM mp28 WHERE id > 1");
            assertEquals("2", MaskedAttacker.firstValue(a.query("SELECT id FROM clearv ORDER BY id")));
        }
    }

    /** F10: a function a view calls, replaced after the view was made to hand its argument to set_config. */
    @Test
    void aFunctionAViewCallsIsScreenedAsItIsNow() throws Exception {
        String[][] attempts = {
                {"CREATE FUNCTION pg_temp.pass(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$",
                        "CREATE TEMP VIEW vn3 AS SELECT id FROM mp28 WHERE pg_temp.pass(reverse(ssn)) IS NOT NULL",
                        "CREATE OR REPLACE FUNCTION pg_temp.pass(t text) RETURNS text LANGUAGE sql AS $$ SELECT "
                                + "set_config('myapp.y', coalesce(current_setting('myapp.y', true), '') || t || ';', "
                                + "false) $$", "SELECT count(id) FROM vn3", "SELECT current_setting('myapp.y', true)"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
    }

    /** F1, F2, F3: the failing row a write echoes, through a WITH query, a trigger, a rule, a foreign key, a view. */
    @Test
    void theFailingRowOfATableWithAMaskedColumnIsRedactedWhateverWritesIt() throws Exception {
        String table = "CREATE TEMP TABLE t (id int, ssn text, n int DEFAULT 0 CHECK (n < 10))";
        String load = "INSERT INTO t (ssn) SELECT reverse(ssn) FROM mp28 WHERE id = 1";
        String[][] attempts = {
                {table, load, "WITH x AS (UPDATE t SET n = 100 WHERE true RETURNING 1) SELECT 1"},
                {table, load, "CREATE TEMP TABLE t2 (a int)",
                        "CREATE FUNCTION pg_temp.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET n = 100 "
                                + "WHERE true; RETURN NEW; END $$",
                        "CREATE TRIGGER trg AFTER INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION pg_temp.tf()",
                        "INSERT INTO t2 VALUES (1)"},
                {table, load, "CREATE TEMP TABLE t3 (a int)",
                        "CREATE RULE r3 AS ON INSERT TO t3 DO ALSO UPDATE t SET n = 100 WHERE true",
                        "INSERT INTO t3 VALUES (1)"},
                {"CREATE TEMP TABLE p (k int PRIMARY KEY)", "INSERT INTO p VALUES (1)",
                        "CREATE TEMP TABLE t (ssn text, n int NOT NULL DEFAULT 1 REFERENCES p (k) ON DELETE SET NULL "
                                + "ON UPDATE CASCADE CHECK (n < 10))",
                        "INSERT INTO t (ssn) SELECT reverse(ssn) FROM mp28 WHERE id = 2", "UPDATE p SET k = 100 WHERE k = 1",
                        "DELETE FROM p WHERE k = 1"},
                {"CREATE TEMP TABLE t (id int, ssn text, n int DEFAULT 0)", load,
                        "CREATE TEMP VIEW v3 AS SELECT id, n FROM t WHERE n < 10 WITH CHECK OPTION",
                        "UPDATE v3 SET n = 100 WHERE true"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE plain (n int CHECK (n < 10))");
            String error = a.query("WITH x AS (INSERT INTO plain VALUES (42) RETURNING 1) SELECT 1");
            assertTrue(error.contains("(42)"), error); // a table with no masked column echoes its row as it was
        }
    }
}
