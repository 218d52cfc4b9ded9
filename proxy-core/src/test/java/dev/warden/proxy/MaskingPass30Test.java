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
 * Attacker pass a136's named-open findings F5, F6 and F7, in {@link MaskingPass28Test}'s manner: a function made
 * while the name its body reads did not exist yet is reached later, after that name became a view over the masked
 * table, through a view's definition, an operator, or a table a trigger writes (its CHECK).
 */
class MaskingPass30Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp30");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static final String SRC = "CREATE TEMP VIEW srcw AS SELECT id, reverse(ssn) AS t FROM mp30";

    /**
     * The bodies' source held in a table whose column is masked by its name, filled with the values (allowed: masked
     * into masked), so that the routes below are judged where the body runs, not where the name is made.
     */
    private static final String[] SRC_TABLE = {"CREATE TEMP TABLE srct (id int, ssn text)",
            "INSERT INTO srct SELECT id, ssn FROM mp30"};

    /** A body reading {@link #SRC_TABLE}'s values reversed into {@code t}: the same leaks, from a table. */
    private static String fromTable(String sql) {
        return sql.replace("SELECT t FROM srcw", "SELECT reverse(ssn) FROM srct");
    }

    /** {@code attempts}, each also with its source a table filled before its function is made. */
    private static String[][] withTableSources(String[][] attempts) {
        List<String[]> out = new java.util.ArrayList<>(List.of(attempts));
        for (String[] attempt : attempts) {
            List<String> steps = new java.util.ArrayList<>(List.of(SRC_TABLE));
            for (String step : attempt) {
                if (!step.equals(SRC)) {
                    steps.add(fromTable(step));
                }
            }
            out.add(steps.toArray(String[]::new));
        }
        return out.toArray(String[][]::new);
    }

    /** A relation over sensitive values may not take a name a function body reads; its neighbours may be made. */
    @Test
    void aRelationOverSensitiveValuesMayNotTakeANameAFunctionBodyReads() throws Exception {
        String body = "CREATE FUNCTION pg_temp.rd(x int) RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
                + "RETURN (SELECT t FROM srcw WHERE id = x); END $$";
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query(body);
            String made = a.query(SRC);
            assertTrue(MaskedAttacker.refused(made), made);
            assertFalse(MaskedAttacker.refused(a.query("CREATE TEMP VIEW srcw AS SELECT 1 AS id, 'x'::text AS t")));
            String replaced = a.query("CREATE OR REPLACE TEMP VIEW srcw AS SELECT id, reverse(ssn) AS t FROM mp30");
            assertTrue(MaskedAttacker.refused(replaced), replaced);
            assertFalse(MaskedAttacker.refused(a.query("CREATE TEMP VIEW other AS SELECT id, ssn AS t FROM mp30")));
            a.query("DROP VIEW srcw");
            String renamed = a.query("ALTER VIEW other RENAME TO srcw");
            assertTrue(MaskedAttacker.refused(renamed), renamed);
            assertTrue(MaskedAttacker.seedsIn(a.query("SELECT pg_temp.rd(1)")).isEmpty());
        }
    }

    /** F7: a view calls a function (by name, or through an operator) whose body reads a view made later. */
    @Test
    void whatAViewsFunctionsDoWithValuesTheyReadNowIsJudged() throws Exception {
        String[][] attempts = {
                {"CREATE TEMP TABLE rt (id int)", "INSERT INTO rt VALUES (1), (2), (3)", "CREATE TEMP TABLE lg (v text)",
                        "CREATE FUNCTION pg_temp.chk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "RAISE NOTICE '%', (SELECT t FROM srcw WHERE id = x); RETURN true; END $$",
                        "CREATE TEMP VIEW vf AS SELECT id FROM rt WHERE pg_temp.chk(id)", SRC,
                        "SELECT count(*) FROM vf"},
                {"CREATE TEMP TABLE rt (id int)", "INSERT INTO rt VALUES (1), (2), (3)", "CREATE TEMP TABLE lg (v text)",
                        "CREATE FUNCTION pg_temp.chk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "INSERT INTO lg SELECT t FROM srcw WHERE id = x; RETURN true; END $$",
                        "CREATE TEMP VIEW vf AS SELECT id FROM rt WHERE pg_temp.chk(id)", SRC,
                        "SELECT count(*) FROM vf", "SELECT v FROM lg"},
                {"CREATE TEMP TABLE rt (id int)", "INSERT INTO rt VALUES (1), (2), (3)", "CREATE TEMP TABLE lg (v text)",
                        "CREATE FUNCTION pg_temp.chk2(x int, y int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "INSERT INTO lg SELECT t FROM srcw WHERE id = x; RETURN true; END $$",
                        "CREATE OPERATOR pg_temp.=== (function = pg_temp.chk2, leftarg = int, rightarg = int)",
                        "CREATE TEMP VIEW vo AS SELECT id FROM rt WHERE id OPERATOR(pg_temp.===) 0", SRC,
                        "SELECT count(*) FROM vo", "SELECT v FROM lg"},
                {"CREATE TEMP TABLE rt (id int)", "INSERT INTO rt VALUES (1), (2), (3)",
                        "CREATE FUNCTION pg_temp.chk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "PERFORM set_config('my.x', (SELECT t FROM srcw WHERE id = x), false); "
                                + "RETURN true; END $$",
                        "CREATE TEMP VIEW vf AS SELECT id FROM rt WHERE pg_temp.chk(id)", SRC,
                        "SELECT count(*) FROM vf", "SHOW my.x"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, withTableSources(attempts)));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A view calling a function that reads and stores clear values only is read as it is.
            a.query("CREATE TEMP TABLE rt (id int)");
            a.query("INSERT INTO rt VALUES (1), (2)");
            a.query("CREATE TEMP TABLE lg (v int)");
            a.query("CREATE FUNCTION pg_temp.keep(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO lg SELECT id FROM rt WHERE id = x; RETURN true; END $$");
            a.query("CREATE TEMP VIEW vk AS SELECT id FROM rt WHERE pg_temp.keep(id)");
            String read = a.query("SELECT count(*) FROM vk");
            assertEquals("2", MaskedAttacker.firstValue(read), read);
        }
    }

    /** F5, F6: a trigger writes another table whose CHECK calls a function reading a view made later. */
    @Test
    void whatATriggersWritesRunIsJudgedAsTheDirectWritesIs() throws Exception {
        String trigger = "CREATE FUNCTION pg_temp.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "INSERT INTO c2 VALUES (new.id); RETURN new; END $$";
        String fire = "CREATE TRIGGER t1 AFTER INSERT ON c1 FOR EACH ROW EXECUTE FUNCTION pg_temp.tf()";
        String[][] attempts = {
                {"CREATE TEMP TABLE c1 (id int)", "CREATE TEMP TABLE c2 (id int)",
                        "CREATE FUNCTION pg_temp.nchk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "RAISE NOTICE '%', (SELECT t FROM srcw WHERE id = x); RETURN true; END $$",
                        "ALTER TABLE c2 ADD CONSTRAINT ck CHECK (pg_temp.nchk(id))", trigger, fire, SRC,
                        "INSERT INTO c1 SELECT generate_series(1, 3)"},
                {"CREATE TEMP TABLE c1 (id int)", "CREATE TEMP TABLE c2 (id int)", "CREATE TEMP TABLE lg (v text)",
                        "CREATE FUNCTION pg_temp.nchk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "INSERT INTO lg SELECT t FROM srcw WHERE id = x; RETURN true; END $$",
                        "ALTER TABLE c2 ADD CONSTRAINT ck CHECK (pg_temp.nchk(id))", trigger, fire, SRC,
                        "INSERT INTO c1 SELECT generate_series(1, 3)", "SELECT v FROM lg"},
                {"CREATE TEMP TABLE c1 (id int)", "CREATE TEMP TABLE c2 (id int)",
                        "CREATE FUNCTION pg_temp.nchk(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                                + "PERFORM set_config('my.y', (SELECT t FROM srcw WHERE id = x), false); "
                                + "RETURN true; END $$",
                        "ALTER TABLE c2 ADD CONSTRAINT ck CHECK (pg_temp.nchk(id))", trigger, fire, SRC,
                        "INSERT INTO c1 VALUES (2)", "SHOW my.y"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, withTableSources(attempts)));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A trigger writing a table whose CHECK calls a function over clear values only runs as it did.
            a.query("CREATE TEMP TABLE c1 (id int)");
            a.query("CREATE TEMP TABLE c2 (id int)");
            a.query("CREATE FUNCTION pg_temp.pos(x int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN "
                    + "RAISE NOTICE 'checked %', x; RETURN x > 0; END $$");
            a.query("ALTER TABLE c2 ADD CONSTRAINT ck CHECK (pg_temp.pos(id))");
            a.query(trigger);
            a.query(fire);
            String write = a.query("INSERT INTO c1 VALUES (5)");
            assertFalse(MaskedAttacker.refused(write), write);
            assertTrue(write.contains("checked 5"), write);
        }
    }
}
