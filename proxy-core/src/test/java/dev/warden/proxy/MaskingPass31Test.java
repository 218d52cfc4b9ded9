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
 * Attacker pass a137 (2026-12-07), on the a136 fixes, in {@link MaskingPass28Test}'s manner: a function body reading a
 * name later given to a view over the masked table (replaced in the same text, between Parse and Execute, under a
 * cursor, through a view it reads), a column renamed to a masked name under rules bound to it, a CHECK casting the
 * masked column to a domain whose check raises it, a counter moved as often as a value says, and chains of writes
 * longer than Warden follows. Each test checks that a harmless neighbour still runs.
 */
class MaskingPass31Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp31");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** F6, F7, F9 (and a136's common thread): the name a body reads, or what a view of that name reads, replaced. */
    @Test
    void aNameAFunctionBodyReadsDoesNotComeToHoldSensitiveValues() throws Exception {
        String gw = "CREATE FUNCTION pg_temp.gw() RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                + "INSERT INTO tc SELECT reverse(v) FROM srcw; RETURN 1; END $$";
        String[][] attempts = {
                {"CREATE TEMP TABLE tc (x text)", "CREATE TEMP VIEW srcw AS SELECT 'abc'::text AS v", gw,
                        "CREATE TEMP VIEW vw AS SELECT pg_temp.gw() AS z",
                        "CREATE OR REPLACE TEMP VIEW srcw AS SELECT ssn AS v FROM mp31; SELECT * FROM vw",
                        "SELECT x FROM tc"},
                {"CREATE TEMP TABLE tc (x text)", "CREATE TEMP VIEW srcw AS SELECT 'abc'::text AS v", gw,
                        "CREATE TEMP VIEW vw AS SELECT pg_temp.gw() AS z", "PREPARE p AS SELECT * FROM vw",
                        "CREATE OR REPLACE TEMP VIEW srcw AS SELECT ssn AS v FROM mp31", "EXECUTE p",
                        "SELECT x FROM tc"},
                {"CREATE TEMP TABLE tc (x text)", "CREATE TEMP VIEW srcw AS SELECT 'abc'::text AS v", gw,
                        "CREATE TEMP VIEW vw AS SELECT pg_temp.gw() AS z", "BEGIN",
                        "DECLARE c2 CURSOR FOR SELECT * FROM vw",
                        "CREATE OR REPLACE TEMP VIEW srcw AS SELECT ssn AS v FROM mp31", "FETCH ALL FROM c2", "COMMIT",
                        "SELECT x FROM tc"},
                // Through a view the body's view reads, replaced instead of it.
                {"CREATE TEMP TABLE tc (x text)", "CREATE TEMP VIEW srcx AS SELECT 'abc'::text AS v",
                        "CREATE TEMP VIEW srcw AS SELECT v FROM srcx", gw,
                        "CREATE TEMP VIEW vw AS SELECT pg_temp.gw() AS z",
                        "CREATE OR REPLACE TEMP VIEW srcx AS SELECT ssn AS v FROM mp31", "SELECT * FROM vw",
                        "SELECT x FROM tc"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP VIEW srcx AS SELECT 'abc'::text AS v");
            a.query("CREATE TEMP VIEW srcw AS SELECT v FROM srcx");
            a.query(gw.replace("tc", "pg_temp.tc"));
            String replaced = a.query("CREATE OR REPLACE TEMP VIEW srcx AS SELECT ssn AS v FROM mp31");
            assertTrue(MaskedAttacker.refused(replaced), replaced);
            // A view over the masked table under a name no body reads is made as before, and read masked.
            String mine = a.query("CREATE TEMP VIEW mine AS SELECT id, ssn FROM mp31");
            assertFalse(MaskedAttacker.refused(mine), mine);
            assertTrue(MaskedAttacker.seedsIn(a.query("SELECT ssn FROM mine")).isEmpty());
        }
    }

    /** F12, F13: a clear column renamed to a masked name under rules and SQL-standard bodies bound to it. */
    @Test
    void aClearColumnIsNotRenamedToAMaskedName() throws Exception {
        String[][] attempts = {
                {"CREATE TEMP TABLE tc (x text)", "CREATE TEMP TABLE m0 (x text)", "CREATE TEMP TABLE m1 (x text)",
                        "CREATE RULE r0 AS ON INSERT TO pg_temp.m0 DO ALSO INSERT INTO pg_temp.m1 VALUES (new.x)",
                        "CREATE RULE r1 AS ON INSERT TO pg_temp.m1 DO ALSO INSERT INTO pg_temp.tc VALUES (new.x)",
                        "ALTER TABLE pg_temp.m0 RENAME COLUMN x TO ssn", "ALTER TABLE pg_temp.m1 RENAME x TO ssn",
                        "INSERT INTO pg_temp.m0 SELECT reverse(ssn) FROM mp31", "SELECT x FROM tc"},
                {"CREATE TEMP TABLE m2 (x text)", "CREATE FUNCTION pg_temp.imm2() RETURNS text LANGUAGE sql "
                        + "IMMUTABLE BEGIN ATOMIC SELECT string_agg(x, ',') FROM pg_temp.m2; END",
                        "CREATE TEMP VIEW vi2 AS SELECT pg_temp.imm2() AS z",
                        "ALTER TABLE pg_temp.m2 RENAME COLUMN x TO ssn",
                        "INSERT INTO pg_temp.m2 SELECT reverse(ssn) FROM mp31", "EXPLAIN VERBOSE SELECT * FROM vi2"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE mine (x text, ssn text)");
            String renamed = a.query("ALTER TABLE pg_temp.mine RENAME COLUMN x TO email");
            assertTrue(MaskedAttacker.refused(renamed), renamed);
            // Renames between clear names, and of the relation, go on.
            assertFalse(MaskedAttacker.refused(a.query("ALTER TABLE pg_temp.mine RENAME COLUMN x TO note")));
            assertFalse(MaskedAttacker.refused(a.query("ALTER TABLE pg_temp.mine RENAME TO mine2")));
        }
    }

    /** F10: a CHECK casting the masked column to a domain whose check raises it, or passing it to an operator. */
    @Test
    void aCheckReachingABodyByACastOrAnOperatorHasItsNoticesRedacted() throws Exception {
        String raiser = "CREATE FUNCTION pg_temp.raiser(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
                + "RAISE NOTICE 'R %', t; RETURN t; END $$";
        String[][] attempts = {
                {raiser, "CREATE DOMAIN pg_temp.dt AS text CHECK (pg_temp.raiser(value) IS NOT NULL)",
                        "CREATE TEMP TABLE m4 (id serial, ssn text CHECK (ssn::pg_temp.dt IS NOT NULL))",
                        "INSERT INTO pg_temp.m4 (ssn) SELECT reverse(ssn) FROM mp31",
                        "UPDATE pg_temp.m4 SET id = id WHERE true"},
                {"CREATE FUNCTION pg_temp.opf(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
                        + "RAISE NOTICE 'O %', a; RETURN true; END $$",
                        "CREATE OPERATOR pg_temp.### (leftarg = text, rightarg = text, function = pg_temp.opf)",
                        "CREATE TEMP TABLE m7 (id serial, ssn text CHECK (ssn OPERATOR(pg_temp.###) 'x'))",
                        "INSERT INTO pg_temp.m7 (ssn) SELECT reverse(ssn) FROM mp31",
                        "UPDATE pg_temp.m7 SET id = id WHERE true"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A CHECK over the masked column calling no user code raises nothing, and the write goes on.
            a.query("CREATE TEMP TABLE m8 (id serial, ssn text CHECK (length(ssn) < 20))");
            String write = a.query("INSERT INTO pg_temp.m8 (ssn) SELECT ssn FROM mp31");
            assertFalse(MaskedAttacker.refused(write), write);
        }
    }

    /** F12: EXPLAIN VERBOSE of a view calling an immutable function shows the value the planner folded. */
    @Test
    void aPlanOfAViewWhoseFunctionReadsSensitiveValuesIsMasked() throws Exception {
        try (java.sql.Connection c = warden.direct(); java.sql.Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION public.mp31_all() RETURNS text LANGUAGE sql IMMUTABLE AS "
                    + "$$ SELECT string_agg(reverse(ssn), ',') FROM public.mp31 $$");
            s.execute("CREATE VIEW public.mp31_folded AS SELECT public.mp31_all() AS z");
            s.execute("CREATE VIEW public.mp31_plain AS SELECT id FROM public.mp31");
            s.execute("GRANT SELECT ON public.mp31_folded, public.mp31_plain TO PUBLIC");
        }
        String[][] attempts = {{"EXPLAIN VERBOSE SELECT * FROM mp31_folded"}, {"SELECT * FROM mp31_folded"}};
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A plan of a view that calls nothing is shown as it is.
            String plan = a.query("EXPLAIN VERBOSE SELECT * FROM mp31_plain");
            assertTrue(plan.contains("Seq Scan") || plan.contains("Index"), plan);
        }
    }

    /** F1: a counter moved as many times as a value says keeps the value. */
    @Test
    void aCounterIsNotMovedByASensitiveValue() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP SEQUENCE s2");
            String moved = a.query("SELECT count(nextval('pg_temp.s2')) FROM mp31 c, "
                    + "generate_series(1, ascii(substr(c.ssn, 1, 1))) g WHERE c.id = 1");
            assertTrue(MaskedAttacker.refused(moved), moved);
            String unlinked = a.query("SELECT lo_unlink(70000 + ascii(substr(ssn, 1, 1))) FROM mp31 WHERE id = 1");
            assertTrue(MaskedAttacker.refused(unlinked), unlinked);
            // A sequence moved by a read of clear values only goes on.
            assertEquals("1", MaskedAttacker.firstValue(a.query("SELECT nextval('pg_temp.s2')")));
        }
    }

    /** F2: triggers writing on for more tables than Warden follows. */
    @Test
    void aChainOfWritesLongerThanWardenFollowsIsRefused() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (int i = 0; i <= 5; i++) {
                a.query("CREATE TEMP TABLE t" + i + " (v int)");
            }
            for (int i = 0; i < 5; i++) {
                a.query("CREATE FUNCTION pg_temp.tf" + i + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        + "INSERT INTO pg_temp.t" + (i + 1) + " VALUES (new.v); RETURN new; END $$");
                a.query("CREATE TRIGGER tr" + i + " AFTER INSERT ON pg_temp.t" + i + " FOR EACH ROW EXECUTE "
                        + "FUNCTION pg_temp.tf" + i + "()");
            }
            String deep = a.query("INSERT INTO pg_temp.t0 VALUES (1)");
            assertTrue(MaskedAttacker.refused(deep), deep);
            // Three tables along stays within what Warden follows.
            String near = a.query("INSERT INTO pg_temp.t2 VALUES (1)");
            assertFalse(MaskedAttacker.refused(near), near);
        }
    }
}
