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
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
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
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
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
