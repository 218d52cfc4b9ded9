package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 16 over masking, in {@link MaskingPass15Test}'s manner: each test seeds the PII of
 * {@link MaskedAttacker} in a table of its own, attacks as a masked identity through Warden and searches every byte
 * received with {@link MaskedAttacker#seedsIn}. Tests whose javadoc starts with LEAK fail on the code this pass
 * attacked (HEAD 38f8b29); {@link #attemptsThatHeld} passes. The probes of partitions' and children's triggers, of
 * writes through views and of ALTER DOMAIN ... VALIDATE CONSTRAINT (and their variants), added later, fail on f06c227.
 */
class MaskingPass16Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static void seed(String name) throws SQLException {
        MaskedAttacker.seed(warden, name);
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static void assertNoSeed(String received) {
        assertEquals(List.of(), seedsIn(received), received);
    }

    private static String run(String... sqls) throws Exception {
        StringBuilder all = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : sqls) {
                all.append(">>> ").append(sql).append('\n').append(a.query(sql));
            }
        }
        return all.toString();
    }

    private static List<String> attempts(String[][] attempts) throws Exception {
        List<String> leaked = new ArrayList<>();
        for (String[] attempt : attempts) {
            StringBuilder all = new StringBuilder();
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                for (String sql : attempt) {
                    String ans = a.query(sql);
                    all.append(">>> ").append(sql).append('\n').append(ans);
                    if (!seedsIn(ans).isEmpty()) { leaked.add(sql + " -> " + seedsIn(ans)); }
                }
            }
            System.out.println(all);
        }
        return leaked;
    }

    /** translate() only defeats value detection: seedsIn still finds the address. */
    static final String T = "translate(email, '@.-', '   ')";

    /**
     * LEAK (no superuser needed). A CHECK constraint declared in CREATE TABLE (the table is new and empty, so the
     * CREATE is not judged) calls a user function that stores its argument in a clear table of the attacker's. The
     * seeded e-mails are then copied as they are into the new table's email column (allowed: a copy into a masked
     * column), the server runs the CHECK for each row, and the function writes each e-mail into sh_log, which a
     * later statement reads in clear. Built-in handoffs in a CHECK are not seen either: set_config('my.a', ssn)
     * in a CHECK, then SHOW my.a. Why: RelationCatalog.runTexts listed what a write runs as
     * "SELECT f() AS checked_over_every_row", without the call's arguments (so the body's INSERT of $1 stored a
     * parameter, not a sensitive value), and only for user functions (p.oid >= 16384), so a built-in set_config,
     * pg_notify or advisory lock in a CHECK was not listed at all. Held since: each CHECK (and domain check, policy,
     * trigger WHEN, generated column) is read as its expression over the table's columns and judged on its own at
     * every write (ResultMasking.whatRowsEvaluate): the INSERT is refused (42501, masking-handoff).
     */
    @Test
    void aCheckConstraintOfANewTableHandsEachStoredValueToAFunction() throws Exception {
        seed("ck_people");
        String out = run(
                "CREATE TABLE ck_log (v text)",
                "CREATE FUNCTION ck_keep(text) RETURNS boolean LANGUAGE plpgsql AS "
                        + "$$BEGIN INSERT INTO public.ck_log VALUES ($1); RETURN true; END$$",
                "CREATE TABLE ck_own (email text CHECK (ck_keep(email)))",
                "INSERT INTO ck_own (email) SELECT email FROM ck_people",
                "SELECT translate(v, '@.-', '   ') FROM ck_log");
        out += run(
                "CREATE TABLE ck_own2 (email text CHECK (set_config('my.ck', translate(email, '@.-', '   '), false) "
                        + "IS NOT NULL))",
                "INSERT INTO ck_own2 (email) SELECT email FROM ck_people WHERE id = 1",
                "SHOW my.ck");
        // A CHECK that only an UPDATE of a clear column trips (n), and a domain's CHECK on the column's type.
        out += run(
                "CREATE TABLE ck_log3 (v text)",
                "CREATE FUNCTION ck_keep3(text) RETURNS boolean LANGUAGE plpgsql AS "
                        + "$$BEGIN INSERT INTO public.ck_log3 VALUES ($1); RETURN true; END$$",
                "CREATE TABLE ck_own3 (n int, email text, CHECK (n IS NULL OR ck_keep3(" + T + ")))",
                "INSERT INTO ck_own3 (email) SELECT email FROM ck_people",
                "UPDATE ck_own3 SET n = 1",
                "SELECT v FROM ck_log3");
        out += run(
                "CREATE TABLE ck_log4 (v text)",
                "CREATE FUNCTION ck_keep4(text) RETURNS boolean LANGUAGE plpgsql AS "
                        + "$$BEGIN INSERT INTO public.ck_log4 VALUES ($1); RETURN true; END$$",
                "CREATE DOMAIN ck_d4 AS text CHECK (ck_keep4(VALUE))",
                "CREATE TABLE ck_own4 (email ck_d4)",
                "INSERT INTO ck_own4 (email) SELECT email FROM ck_people",
                "SELECT translate(v, '@.-', '   ') FROM ck_log4");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed). PL/pgSQL's OPEN names the portal by the refcursor variable's value when it is not
     * null: a function sets the variable to translate(email, ...) and opens it (no dynamic SQL). The call is judged
     * sensitive and its result masked, but the portal lives on to the end of the transaction under that name, and
     * SELECT name FROM pg_cursors (naming nothing sensitive) returns every e-mail. Why: RoutineBodies reads OPEN only
     * as a CLOSE ALL for cursor judgements; a portal's name is no handoff (ResultMasking.HANDOFFS), and pg_cursors
     * is not treated as sensitive.
     */
    @Test
    void aPortalNamedByASensitiveValueShowsInPgCursors() throws Exception {
        seed("pc_people");
        String out = run(
                "CREATE FUNCTION pc_f() RETURNS int LANGUAGE plpgsql AS $$DECLARE c refcursor; r record; BEGIN "
                        + "FOR r IN SELECT " + T + " AS x FROM public.pc_people LOOP c := r.x; OPEN c FOR SELECT 1; "
                        + "END LOOP; RETURN 1; END$$",
                "BEGIN",
                "SELECT pc_f()",
                "SELECT name FROM pg_cursors",
                "SELECT translate(statement, '@.-', '   '), name AS n FROM pg_catalog.pg_cursors",
                "SELECT name FROM pg_catalog.pg_cursor()",
                "SELECT c.name FROM pg_cursor() c",
                "COMMIT");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed). The built-in trigger function tsvector_update_trigger(tv, config, col) copies a
     * column into a tsvector column of the same row. On the attacker's own table it copies the masked email column
     * (filled as it is from the seeded table: allowed) into tv, a clear column; SELECT tv names nothing sensitive.
     * With translate(email, '@', '/') stored in a redact column (ssn) value detection misses the token as well.
     * Why: RelationCatalog.runTexts turns a trigger into "SELECT f() AS sets_the_written_row" and judges f's body;
     * a built-in C trigger function has no body, and its arguments (tgargs: the column names it copies) are not
     * read.
     */
    @Test
    void aBuiltInTriggerCopiesAMaskedColumnIntoAClearTsvector() throws Exception {
        seed("tv_people");
        String out = run(
                "CREATE TABLE tv_own (email text, tv tsvector)",
                "CREATE TRIGGER tv_t BEFORE INSERT OR UPDATE ON tv_own FOR EACH ROW "
                        + "EXECUTE FUNCTION tsvector_update_trigger(tv, 'pg_catalog.simple', email)",
                "INSERT INTO tv_own (email) SELECT email FROM tv_people",
                "SELECT translate(tv::text, '@.-', '   ') FROM tv_own");
        out += run(
                "CREATE TABLE tv_own2 (ssn text, tv tsvector)",
                "CREATE TRIGGER tv_t2 BEFORE INSERT OR UPDATE ON tv_own2 FOR EACH ROW "
                        + "EXECUTE FUNCTION tsvector_update_trigger(tv, 'pg_catalog.simple', ssn)",
                "INSERT INTO tv_own2 (ssn) SELECT translate(email, '@', '/') FROM tv_people",
                "SELECT tv FROM tv_own2");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed; the RLS part needs a role that is no superuser, made here with SET ROLE). Values
     * stored in the attacker's own masked columns (a copy as is, allowed) come back in the MESSAGE of a cast error
     * raised by a statement that names no sensitive column, which is judged clear, so the message is only
     * value-scanned (translate defeats that). README: only the DETAIL of such errors is redacted. Four carriers:
     * ALTER DOMAIN ... ADD CONSTRAINT validating the stored rows; a CHECK declared in CREATE TABLE over email and n
     * that an UPDATE of n trips (built-in functions only, which hand nothing on: the error's text is what tells); an
     * expression index
     * an UPDATE of n recomputes; a row security policy's USING evaluated for SELECT n.
     */
    @Test
    void castErrorsOfClearStatementsEchoStoredValues() throws Exception {
        seed("ee_people");
        String out = run(
                "CREATE DOMAIN ee_d AS text",
                "CREATE TABLE ee_own (email ee_d)",
                "INSERT INTO ee_own (email) SELECT email FROM ee_people",
                "ALTER DOMAIN ee_d ADD CONSTRAINT ee_c CHECK (translate(VALUE, '@.-', '   ')::int > 0)");
        out += run(
                "CREATE TABLE ee_own2 (n int, email text, CHECK (n IS NULL OR " + T + "::int > 0))",
                "INSERT INTO ee_own2 (email) SELECT email FROM ee_people",
                "UPDATE ee_own2 SET n = 1");
        out += run(
                "CREATE TABLE ee_own3 (n int, email text)",
                "INSERT INTO ee_own3 (email) SELECT email FROM ee_people",
                "CREATE INDEX ee_own3_i ON ee_own3 ((CASE WHEN n IS NOT NULL THEN " + T + "::int END))",
                "UPDATE ee_own3 SET n = 1");
        out += run(
                "CREATE TABLE ee_own4 (n int, email text)",
                "INSERT INTO ee_own4 (email) SELECT email FROM ee_people",
                "CREATE ROLE ee_r",
                "GRANT ALL ON ee_own4 TO ee_r",
                "ALTER TABLE ee_own4 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY ee_p ON ee_own4 USING (" + T + "::int > 0)",
                "SET ROLE ee_r",
                "SELECT n FROM ee_own4",
                "RESET ROLE");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK, with a superuser upstream login (WardenHarness's: allow_superuser). Names and raw pages carry values
     * where no result masking follows them: pg_replication_origin_create / pg_create_physical_replication_slot
     * take any text (the call is masked, the names stay in pg_replication_origin / pg_replication_slots, readable
     * by every session); pageinspect's heap_page_items over get_raw_page of a computed relation name returns the
     * tuples' bytes; pg_read_binary_file of pg_relation_filepath(computed name) after a CHECKPOINT, the table's
     * file. None of these functions is in ResultMasking.HANDOFFS, and a relation named by a computed string is not
     * followed.
     */
    @Test
    void superuserOnlyChannelsCarryValuesOut() throws Exception {
        seed("su_people");
        String out;
        try {
            out = run(
                    "SELECT pg_replication_origin_create(" + T + ") FROM su_people",
                    "SELECT roname FROM pg_replication_origin");
            out += run(
                    "SELECT pg_create_physical_replication_slot(translate(email, '@.-', '___')) FROM su_people",
                    "SELECT slot_name FROM pg_replication_slots");
            out += run(
                    "CREATE EXTENSION IF NOT EXISTS pageinspect",
                    "SELECT translate(encode(t_data, 'escape'), '@.-', '   ') FROM "
                            + "heap_page_items(get_raw_page('su_' || 'people', 0))");
            out += run(
                    "CHECKPOINT",
                    "SELECT translate(encode(pg_read_binary_file(pg_relation_filepath('su_' || 'people')), 'escape'), "
                            + "'@.-', '   ')");
        } finally {
            direct("SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname LIKE '% quixmail %'");
            direct("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '%quixmail%'");
        }
        System.out.println(out);
        assertNoSeed(out.replace("\\000", ""));
    }

    /** Attempts that held (kept as probes). */
    @Test
    void attemptsThatHeld() throws Exception {
        seed("hd_people");
        String tt = "translate(p.email, '@.-', '   ')";
        String[][] a = {
            {"CREATE TABLE hd_own (id int primary key, ssn text unique)",
             "INSERT INTO hd_own VALUES (1, 'a'), (2, 'b'), (3, 'c')",
             "CREATE TABLE hd_clr (x text REFERENCES hd_own (ssn) ON UPDATE CASCADE)",
             "INSERT INTO hd_clr VALUES ('a'), ('b'), ('c')",
             "UPDATE hd_own o SET ssn = " + T + " FROM hd_people p WHERE p.id = o.id",
             "SELECT x FROM hd_clr"},
            {"SELECT set_config('my.x', 'a', false)",
             "UPDATE pg_settings SET setting = (SELECT " + T + " FROM hd_people WHERE id = 1) WHERE name = 'my.x'",
             "SHOW my.x"},
            {"CREATE TABLE hd_own5 (n int, email text)",
             "CREATE INDEX hd_own5_i ON hd_own5 ((CASE WHEN n IS NULL THEN NULL ELSE pg_notify('hdch', " + T + ") END))"},
            {"CREATE TABLE hd_own6 (n int, email text)",
             "CREATE POLICY hd_p ON hd_own6 USING (set_config('my.f', " + T + ", false) IS NOT NULL)"},
            {"COPY (SELECT " + T + " AS e FROM hd_people) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)"},
            {"COPY (SELECT " + T + " AS e FROM hd_people) TO STDOUT WITH (FORMAT binary)"},
            {"BEGIN", "DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT " + T + " AS e FROM hd_people", "COMMIT",
             "MOVE ABSOLUTE 2 IN c", "FETCH ABSOLUTE 1 FROM c", "FETCH BACKWARD ALL FROM c", "FETCH ALL FROM c"},
            {"CREATE FUNCTION hd_a() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT string_agg(" + T + ", ',') FROM hd_people; END",
             "SELECT hd_a()", "SELECT * FROM hd_a()"},
            {"SELECT translate(encode(pg_read_binary_file(pg_relation_filepath('hd_people')), 'escape'), '@.-', '   ')"},
            {"SELECT x.id FROM hd_people p, jsonb_to_record(jsonb_build_object('id', " + tt + ")) AS x(id text)"},
            {"SELECT t.id FROM hd_people p, xmltable('/a' PASSING xmlelement(name a, " + tt + ") COLUMNS id text PATH '.') t"},
            {"SELECT m.id FROM hd_people p, regexp_matches(" + tt + ", '(.*)') AS m(id)"},
            {"SELECT r.id FROM hd_people p, ROWS FROM (upper(" + tt + ")) r(id)"},
            {"SELECT x.id FROM hd_people p, jsonb_each_text(jsonb_build_object('k', " + tt + ")) AS x(k, id)"},
            {"SELECT key FROM hd_people p, jsonb_each(jsonb_build_object(" + tt + ", 1))"},
            {"SELECT k FROM hd_people p, jsonb_object_keys(jsonb_build_object(" + tt + ", 1)) k"},
            {"SELECT id FROM hd_people p GROUP BY GROUPING SETS ((id), (" + tt + "))"},
            {"SELECT array_to_string(xpath('/a/text()', xmlelement(name a, " + tt + ")), '') FROM hd_people p"},
            {"SELECT ts_headline('simple', " + tt + ", to_tsquery('simple', 'quixmail')) FROM hd_people p"},
            {"SELECT ts_debug('simple', " + tt + ") FROM hd_people p"},
        };
        assertEquals(List.of(), attempts(a));
    }


    /**
     * LEAK (no superuser needed; the policy part reads as a role that is no superuser, made here with SET ROLE).
     * CREATE POLICY and CREATE TRIGGER ... WHEN are judged where they are made (one calling a logging function on
     * email is refused), but not again when a column they read is later renamed into a masked name: a policy
     * USING (rn_k2(x)) and a trigger WHEN (rn_k1(NEW.x)) on a clear column x, then ALTER TABLE ... RENAME COLUMN x
     * TO email (a rename into a masked name is allowed), then the seeded e-mails copied in as they are. A SELECT n
     * (the policy) and an UPDATE of n (the trigger's condition) call the function with each e-mail, and it writes
     * them into a clear table. Why: as in aCheckConstraintOfANewTableHandsEachStoredValueToAFunction, runTexts
     * listed the policy's and the condition's calls without their arguments. Held since, as there: the copy into the
     * renamed column is refused, judged with the policy and the condition as the catalog has them then.
     */
    @Test
    void aPolicyOrTriggerConditionOverAColumnRenamedToAMaskedNameHandsItsValuesOut() throws Exception {
        seed("rn_people");
        String keep = "CREATE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.%s "
                + "VALUES (translate($1, '@.-', '   ')); RETURN true; END$$";
        String out = run(
                "CREATE TABLE rn_l1 (v text)", keep.formatted("rn_k1", "rn_l1"),
                "CREATE TABLE rn_own1 (n int, x text)",
                "CREATE TRIGGER rn_t1 BEFORE UPDATE ON rn_own1 FOR EACH ROW WHEN (rn_k1(NEW.x)) "
                        + "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
                "ALTER TABLE rn_own1 RENAME COLUMN x TO email",
                "INSERT INTO rn_own1 (email) SELECT email FROM rn_people",
                "UPDATE rn_own1 SET n = 1",
                "SELECT v FROM rn_l1");
        out += run(
                "CREATE TABLE rn_l2 (v text)", keep.formatted("rn_k2", "rn_l2"),
                "CREATE TABLE rn_own2 (n int, x text)",
                "ALTER TABLE rn_own2 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY rn_p2 ON rn_own2 USING (rn_k2(x))",
                "ALTER TABLE rn_own2 RENAME COLUMN x TO email",
                "INSERT INTO rn_own2 (email) SELECT email FROM rn_people",
                "CREATE ROLE rn_r2", "GRANT ALL ON rn_own2 TO rn_r2", "GRANT ALL ON rn_l2 TO rn_r2",
                "SET ROLE rn_r2", "SELECT n FROM rn_own2", "RESET ROLE",
                "SELECT v FROM rn_l2");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * Variants of the two tests above (held after RelationCatalog.runTexts judged each expression with its
     * arguments): a policy's WITH CHECK and a trigger's WHEN over OLD on a column renamed to a masked name; a CHECK
     * over a generated column computed from one (the generated column itself would hold the e-mails under a clear
     * name); a domain's CHECK added after the values are stored (ALTER DOMAIN checks them all) and one over an
     * array of the domain; a CHECK's and a policy's function replaced by one that logs after the values are stored,
     * then an UPDATE and a read by a role row security applies to; a WHEN calling pg_notify; a partition's CHECK
     * met by a write through the partitioned table; a CHECK Warden cannot deparse because the session's own
     * transaction holds its table (after ALTER TABLE in it).
     */
    @Test
    void expressionsEvaluatedOverEachRowHandNothingOut() throws Exception {
        seed("va_people");
        String keep = "CREATE %sFUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.%s "
                + "VALUES (translate($1, '@.-', '   ')); RETURN true; END$$";
        String harmless = "CREATE FUNCTION %s(text) RETURNS boolean LANGUAGE sql AS $$SELECT $1 IS NOT NULL$$";
        String out = run(
                "CREATE TABLE va_l1 (v text)", keep.formatted("", "va_k1", "va_l1"),
                "CREATE TABLE va_o1 (n int, x text)", "ALTER TABLE va_o1 ENABLE ROW LEVEL SECURITY",
                "ALTER TABLE va_o1 FORCE ROW LEVEL SECURITY",
                "CREATE POLICY va_p1 ON va_o1 USING (true) WITH CHECK (va_k1(x))",
                "ALTER TABLE va_o1 RENAME COLUMN x TO email",
                "INSERT INTO va_o1 (email) SELECT email FROM va_people",
                "SELECT v FROM va_l1");
        out += run(
                "CREATE TABLE va_l2 (v text)", keep.formatted("", "va_k2", "va_l2"),
                "CREATE TABLE va_o2 (n int, x text)",
                "CREATE TRIGGER va_t2 BEFORE UPDATE ON va_o2 FOR EACH ROW WHEN (va_k2(OLD.x)) "
                        + "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
                "ALTER TABLE va_o2 RENAME COLUMN x TO email",
                "INSERT INTO va_o2 (email) SELECT email FROM va_people",
                "UPDATE va_o2 SET n = 1",
                "SELECT v FROM va_l2");
        out += run(
                "CREATE TABLE va_l3 (v text)", keep.formatted("", "va_k3", "va_l3"),
                "CREATE TABLE va_o3 (x text, g text GENERATED ALWAYS AS (lower(x)) STORED, CHECK (va_k3(g)))",
                "ALTER TABLE va_o3 RENAME COLUMN x TO email",
                "INSERT INTO va_o3 (email) SELECT email FROM va_people",
                "SELECT v FROM va_l3",
                "SELECT translate(g, '@.-', '   ') FROM va_o3");
        out += run(
                "CREATE TABLE va_l4 (v text)", keep.formatted("", "va_k4", "va_l4"),
                "CREATE DOMAIN va_d4 AS text", "CREATE TABLE va_o4 (email va_d4)",
                "INSERT INTO va_o4 (email) SELECT email FROM va_people",
                "ALTER DOMAIN va_d4 ADD CONSTRAINT va_c4 CHECK (va_k4(VALUE))",
                "SELECT v FROM va_l4");
        out += run(
                "CREATE TABLE va_l5 (v text)", keep.formatted("", "va_k5", "va_l5"),
                "CREATE DOMAIN va_d5 AS text CHECK (va_k5(VALUE))", "CREATE TABLE va_o5 (email va_d5[])",
                "INSERT INTO va_o5 (email) SELECT ARRAY[email]::va_d5[] FROM va_people",
                "SELECT v FROM va_l5");
        out += run(
                "CREATE TABLE va_l6 (v text)", harmless.formatted("va_k6"),
                "CREATE TABLE va_o6 (n int, email text CHECK (va_k6(email)))",
                "INSERT INTO va_o6 (email) SELECT email FROM va_people",
                keep.formatted("OR REPLACE ", "va_k6", "va_l6"),
                "UPDATE va_o6 SET n = 1",
                "SELECT v FROM va_l6");
        out += run(
                "CREATE TABLE va_l7 (v text)", harmless.formatted("va_k7"),
                "CREATE TABLE va_o7 (n int, email text)", "ALTER TABLE va_o7 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY va_p7 ON va_o7 USING (va_k7(email))",
                "INSERT INTO va_o7 (email) SELECT email FROM va_people",
                keep.formatted("OR REPLACE ", "va_k7", "va_l7"),
                "CREATE ROLE va_r7", "GRANT ALL ON va_o7 TO va_r7", "GRANT ALL ON va_l7 TO va_r7",
                "SET ROLE va_r7", "SELECT n FROM va_o7", "RESET ROLE",
                "SELECT v FROM va_l7");
        out += run(
                "LISTEN va_ch", "CREATE TABLE va_o8 (n int, x text)",
                "CREATE TRIGGER va_t8 AFTER INSERT ON va_o8 FOR EACH ROW "
                        + "WHEN (pg_notify('va_ch', translate(NEW.x, '@.-', '   ')) IS NULL) "
                        + "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
                "ALTER TABLE va_o8 RENAME COLUMN x TO email",
                "INSERT INTO va_o8 (email) SELECT email FROM va_people",
                "SELECT 1");
        out += run(
                "CREATE TABLE va_l10 (v text)", keep.formatted("", "va_k10", "va_l10"),
                "CREATE TABLE va_o10 (n int, x text) PARTITION BY LIST (n)",
                "CREATE TABLE va_o10a PARTITION OF va_o10 FOR VALUES IN (1)",
                "ALTER TABLE va_o10a ADD CONSTRAINT va_c10 CHECK (va_k10(x))",
                "ALTER TABLE va_o10 RENAME COLUMN x TO email",
                "INSERT INTO va_o10 (n, email) SELECT 1, email FROM va_people",
                "SELECT v FROM va_l10");
        out += run(
                "CREATE TABLE va_l9 (v text)", keep.formatted("", "va_k9", "va_l9"),
                "CREATE TABLE va_o9 (n int, x text CHECK (va_k9(x)))",
                "ALTER TABLE va_o9 RENAME COLUMN x TO email",
                "BEGIN", "ALTER TABLE va_o9 ADD COLUMN z int",
                "INSERT INTO va_o9 (email) SELECT email FROM va_people", "COMMIT",
                "SELECT v FROM va_l9");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed), found while fixing the runTexts gap: a trigger of a partition (a BEFORE INSERT
     * trigger whose function logs row_to_json(NEW)), made while the column was clear and renamed to email through the
     * partitioned table, fires for the rows the INSERT through the parent routes to it. Why:
     * ResultMasking.whatWritesRun judged what writing the named table runs (CatalogCache.runBy of the parent), not
     * what its partitions' and children's triggers run (their CHECKs, policies and WHENs were judged:
     * CatalogCache.evaluatedOver follows the children). Held since: the row and TRUNCATE triggers of each partition
     * or child the write reaches are judged with that table's rows (CatalogCache.runThroughParent).
     */
    @Test
    void aPartitionsTriggerFiresForAWriteThroughItsParent() throws Exception {
        seed("sp_people");
        String out = run(
                "CREATE TABLE sp_l (v text)",
                "CREATE FUNCTION sp_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.sp_l "
                        + "VALUES (translate(row_to_json(NEW)::text, '@.-', '   ')); RETURN NEW; END$$",
                "CREATE TABLE sp_o (n int, x text) PARTITION BY LIST (n)",
                "CREATE TABLE sp_o1 PARTITION OF sp_o FOR VALUES IN (1)",
                "CREATE TRIGGER sp_t BEFORE INSERT ON sp_o1 FOR EACH ROW EXECUTE FUNCTION sp_f()",
                "ALTER TABLE sp_o RENAME COLUMN x TO email",
                "INSERT INTO sp_o (n, email) SELECT 1, email FROM sp_people",
                "SELECT v FROM sp_l");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed): a domain's CHECK added NOT VALID over a function that only tests its argument (the
     * ALTER DOMAIN is judged and allowed, and checks no stored value), the function then replaced by one that copies
     * its argument into a clear table, or RAISEs it; ALTER DOMAIN ... VALIDATE CONSTRAINT runs the check over every
     * value stored as the domain, the masked e-mails included. Why: ResultMasking.domainCheckHandingOn judged ALTER
     * DOMAIN ... ADD ... CHECK only; a VALIDATE names no function (the domain's checks were not looked up by name).
     */
    @Test
    void validatingADomainCheckRunsItsReplacedFunction() throws Exception {
        seed("vc_people");
        String harmless = "CREATE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN $1 IS NOT NULL; "
                + "END$$";
        String keep = "CREATE OR REPLACE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO "
                + "public.%s VALUES (translate($1, '@.-', '   ')); RETURN true; END$$";
        String raise = "CREATE OR REPLACE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS "
                + "$$BEGIN RAISE NOTICE '%%', translate($1, '@.-', '   '); RETURN true; END$$";
        String out = run(
                "CREATE TABLE vc_l1 (v text)", harmless.formatted("vc_k1"),
                "CREATE DOMAIN vc_d1 AS text", "CREATE TABLE vc_o1 (email vc_d1)",
                "INSERT INTO vc_o1 (email) SELECT email FROM vc_people",
                "ALTER DOMAIN vc_d1 ADD CONSTRAINT vc_c1 CHECK (vc_k1(VALUE)) NOT VALID",
                keep.formatted("vc_k1", "vc_l1"),
                "ALTER DOMAIN vc_d1 VALIDATE CONSTRAINT vc_c1",
                "SELECT v FROM vc_l1");
        out += run(
                harmless.formatted("vc_k2"),
                "CREATE DOMAIN vc_d2 AS text", "CREATE TABLE vc_o2 (email vc_d2)",
                "INSERT INTO vc_o2 (email) SELECT email FROM vc_people",
                "ALTER DOMAIN vc_d2 ADD CONSTRAINT vc_c2 CHECK (vc_k2(VALUE)) NOT VALID",
                raise.formatted("vc_k2"),
                "ALTER DOMAIN vc_d2 VALIDATE CONSTRAINT vc_c2");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * Variants of the test above, each validating a check added NOT VALID whose function was replaced by one that
     * logs: through a domain over the domain the column holds; a quoted, schema-qualified domain and a quoted
     * constraint name; a comment between VALIDATE and CONSTRAINT; a check whose harmless function calls the one
     * replaced; a check that casts the value to another domain, whose own check's function was replaced; and ADD
     * CHECK (validating at once) over a function that RAISEs its argument.
     */
    @Test
    void validatingADomainCheckVariants() throws Exception {
        seed("vv_people");
        String harmless = "CREATE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN $1 IS NOT NULL; "
                + "END$$";
        String keep = "CREATE OR REPLACE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO "
                + "public.%s VALUES (translate($1, '@.-', '   ')); RETURN true; END$$";
        String out = run(
                "CREATE TABLE vv_l1 (v text)", harmless.formatted("vv_k1"),
                "CREATE DOMAIN vv_b1 AS text", "CREATE DOMAIN vv_d1 AS vv_b1", "CREATE TABLE vv_o1 (email vv_d1)",
                "INSERT INTO vv_o1 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN vv_b1 ADD CONSTRAINT vv_c1 CHECK (vv_k1(VALUE)) NOT VALID",
                keep.formatted("vv_k1", "vv_l1"),
                "ALTER DOMAIN vv_b1 VALIDATE CONSTRAINT vv_c1",
                "SELECT v FROM vv_l1");
        out += run(
                "CREATE TABLE vv_l2 (v text)", harmless.formatted("vv_k2"),
                "CREATE DOMAIN \"Vv D2\" AS text", "CREATE TABLE vv_o2 (email \"Vv D2\")",
                "INSERT INTO vv_o2 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN public.\"Vv D2\" ADD CONSTRAINT \"Vv \"\"C2\" CHECK (vv_k2(VALUE)) NOT VALID",
                keep.formatted("vv_k2", "vv_l2"),
                "ALTER DOMAIN public.\"Vv D2\" VALIDATE CONSTRAINT \"Vv \"\"C2\"",
                "SELECT v FROM vv_l2");
        out += run(
                "CREATE TABLE vv_l3 (v text)", harmless.formatted("vv_k3"),
                "CREATE DOMAIN vv_d3 AS text", "CREATE TABLE vv_o3 (email vv_d3)",
                "INSERT INTO vv_o3 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN vv_d3 ADD CONSTRAINT vv_c3 CHECK (vv_k3(VALUE)) NOT VALID",
                keep.formatted("vv_k3", "vv_l3"),
                "ALTER DOMAIN vv_d3 VALIDATE /* now */ CONSTRAINT vv_c3",
                "SELECT v FROM vv_l3");
        out += run(
                "CREATE TABLE vv_l4 (v text)", harmless.formatted("vv_k4"),
                "CREATE FUNCTION vv_w4(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN public.vv_k4($1); END$$",
                "CREATE DOMAIN vv_d4 AS text", "CREATE TABLE vv_o4 (email vv_d4)",
                "INSERT INTO vv_o4 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN vv_d4 ADD CONSTRAINT vv_c4 CHECK (vv_w4(VALUE)) NOT VALID",
                keep.formatted("vv_k4", "vv_l4"),
                "ALTER DOMAIN vv_d4 VALIDATE CONSTRAINT vv_c4",
                "SELECT v FROM vv_l4");
        out += run(
                "CREATE TABLE vv_l5 (v text)", harmless.formatted("vv_k5"),
                "CREATE DOMAIN vv_x5 AS text CHECK (vv_k5(VALUE))",
                "CREATE DOMAIN vv_d5 AS text", "CREATE TABLE vv_o5 (email vv_d5)",
                "INSERT INTO vv_o5 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN vv_d5 ADD CONSTRAINT vv_c5 CHECK ((VALUE::text::vv_x5) IS NOT NULL) NOT VALID",
                keep.formatted("vv_k5", "vv_l5"),
                "ALTER DOMAIN vv_d5 VALIDATE CONSTRAINT vv_c5",
                "SELECT v FROM vv_l5");
        out += run(
                "CREATE FUNCTION vv_k6(text) RETURNS boolean LANGUAGE plpgsql AS "
                        + "$$BEGIN RAISE NOTICE '%', translate($1, '@.-', '   '); RETURN true; END$$",
                "CREATE DOMAIN vv_d6 AS text", "CREATE TABLE vv_o6 (email vv_d6)",
                "INSERT INTO vv_o6 (email) SELECT email FROM vv_people",
                "ALTER DOMAIN vv_d6 ADD CONSTRAINT vv_c6 CHECK (vv_k6(VALUE))");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * What the fix for the two tests above must not refuse (through Warden with pgJDBC, as the masked identity):
     * validating a domain's check of built-in tests, and one whose function only tests its argument, over masked
     * values, where the domain has another check (an administrator's) whose function logs: VALIDATE evaluates the
     * named check only (checked on the server: the other check's function runs for no stored value).
     */
    @Test
    void validatingADomainCheckThatOnlyTestsStaysAllowed() throws Exception {
        seed("vw_people");
        direct("CREATE TABLE vw_l (v text)");
        direct("CREATE FUNCTION vw_keep(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.vw_l "
                + "VALUES ($1); RETURN true; END$$");
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION vw_ok(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN $1 LIKE '%@%'; "
                    + "END$$");
            s.execute("CREATE DOMAIN vw_d AS text");
            s.execute("CREATE TABLE vw_o (email vw_d)");
            assertEquals(3, s.executeUpdate("INSERT INTO vw_o SELECT email FROM vw_people"));
            s.execute("ALTER DOMAIN vw_d ADD CONSTRAINT vw_c1 CHECK (length(VALUE) < 100) NOT VALID");
            s.execute("ALTER DOMAIN vw_d ADD CONSTRAINT vw_c2 CHECK (vw_ok(VALUE)) NOT VALID");
            direct("ALTER DOMAIN vw_d ADD CONSTRAINT vw_c3 CHECK (vw_keep(VALUE)) NOT VALID");
            s.execute("ALTER DOMAIN vw_d VALIDATE CONSTRAINT vw_c1");
            s.execute("ALTER DOMAIN vw_d VALIDATE CONSTRAINT vw_c2");
        }
        try (Connection c = warden.direct()) {
            assertEquals("0", WardenHarness.scalar(c, "SELECT count(*) FROM vw_l"));
        }
    }

    /**
     * What the server fires for a write through a partitioned or parent table, as Warden's judgement of such a write
     * reads it (CatalogCache.runThroughAncestor): an INSERT or COPY routed into a partition (two levels down too)
     * fires the leaf's row triggers, not its statement triggers; an INSERT into an inheritance parent fires none of
     * its children's; an UPDATE or DELETE fires the row triggers of each partition or child it reaches (not with
     * ONLY), not their statement triggers; a TRUNCATE fires each truncated child's TRUNCATE triggers; a child's rule
     * is not applied to a write through its parent (the rewriter applies the named table's); a partition's DEFAULT
     * is not used for a row routed to it.
     */
    @Test
    void whatAWriteThroughAParentFiresOnTheServer() throws Exception {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ps_log (what text)");
            s.execute("CREATE FUNCTION ps_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO ps_log "
                    + "VALUES (TG_TABLE_NAME || ' ' || TG_LEVEL || ' ' || TG_OP); RETURN COALESCE(NEW, OLD); END$$");
            s.execute("CREATE TABLE ps_p (n int, m int, v text) PARTITION BY LIST (n)");
            s.execute("CREATE TABLE ps_p1 PARTITION OF ps_p FOR VALUES IN (1)");
            s.execute("CREATE TABLE ps_p2 PARTITION OF ps_p FOR VALUES IN (2) PARTITION BY LIST (m)");
            s.execute("CREATE TABLE ps_p2a PARTITION OF ps_p2 FOR VALUES IN (1)");
            s.execute("ALTER TABLE ps_p1 ALTER COLUMN v SET DEFAULT 'partition default'");
            s.execute("CREATE TABLE ps_i (n int, v text)");
            s.execute("CREATE TABLE ps_i1 (w text) INHERITS (ps_i)");
            s.execute("CREATE TABLE ps_ilog (v text)");
            s.execute("CREATE RULE ps_r AS ON UPDATE TO ps_i1 DO ALSO INSERT INTO ps_ilog VALUES (NEW.v)");
            for (String t : List.of("ps_p1", "ps_p2a", "ps_i1")) {
                s.execute("CREATE TRIGGER ps_r_" + t + " BEFORE INSERT OR UPDATE OR DELETE ON " + t
                        + " FOR EACH ROW EXECUTE FUNCTION ps_f()");
                s.execute("CREATE TRIGGER ps_s_" + t + " AFTER INSERT OR UPDATE OR DELETE ON " + t
                        + " FOR EACH STATEMENT EXECUTE FUNCTION ps_f()");
                s.execute("CREATE TRIGGER ps_t_" + t + " AFTER TRUNCATE ON " + t
                        + " FOR EACH STATEMENT EXECUTE FUNCTION ps_f()");
            }
            String fired = "SELECT coalesce(string_agg(what, ',' ORDER BY what), '') FROM ps_log";
            s.execute("INSERT INTO ps_p (n, m) VALUES (1, 1), (2, 1)");
            s.execute("COPY ps_p (n, m) FROM PROGRAM 'echo 1,1' (FORMAT csv)");
            s.execute("INSERT INTO ps_i VALUES (1, 'x')");
            assertEquals("ps_p1 ROW INSERT,ps_p1 ROW INSERT,ps_p2a ROW INSERT", WardenHarness.scalar(c, fired));
            assertEquals("0", WardenHarness.scalar(c, "SELECT count(v) FROM ps_p1"));
            s.execute("INSERT INTO ps_i1 VALUES (1, 'y')");
            s.execute("DELETE FROM ps_log");
            s.execute("UPDATE ps_p SET v = 'u'");
            s.execute("UPDATE ps_i SET v = 'u'");
            s.execute("UPDATE ONLY ps_i SET v = 'o'");
            s.execute("DELETE FROM ps_i WHERE n = 1");
            assertEquals("ps_i1 ROW DELETE,ps_i1 ROW UPDATE,ps_p1 ROW UPDATE,ps_p1 ROW UPDATE,ps_p2a ROW UPDATE",
                    WardenHarness.scalar(c, fired));
            s.execute("DELETE FROM ps_log");
            s.execute("TRUNCATE ps_p, ps_i");
            assertEquals("ps_i1 STATEMENT TRUNCATE,ps_p1 STATEMENT TRUNCATE,ps_p2a STATEMENT TRUNCATE",
                    WardenHarness.scalar(c, fired));
            assertEquals("0", WardenHarness.scalar(c, "SELECT count(*) FROM ps_ilog"));
        }
    }

    /**
     * Variants of {@link #aPartitionsTriggerFiresForAWriteThroughItsParent}, each an AFTER trigger logging the row: a
     * partition's partition two levels down; an inheritance child's UPDATE and DELETE triggers (made once the e-mails
     * were stored) met by a write through its parent, over the parent's column and over a column only the child has; a
     * partition's trigger made in the transaction of the INSERT; a partition with a trigger attached after the INSERT
     * through its parent was prepared (extended protocol); a trigger function replaced by one that logs after the
     * INSERT was allowed once; a partition eleven levels down, deeper than Warden reads, with a trigger and with a
     * CHECK that log (refused: what it runs is not known).
     */
    @Test
    void aChildsTriggerFiresForAWriteThroughItsParent() throws Exception {
        seed("sq2_people");
        String log = "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.%s "
                + "VALUES (translate(row_to_json(%s)::text, '@.-', '   ')); RETURN NULL; END$$";
        String out = run(
                "CREATE TABLE sq2_l1 (v text)", log.formatted("sq2_f1", "sq2_l1", "NEW"),
                "CREATE TABLE sq2_o1 (n int, m int, x text) PARTITION BY LIST (n)",
                "CREATE TABLE sq2_o1a PARTITION OF sq2_o1 FOR VALUES IN (1) PARTITION BY LIST (m)",
                "CREATE TABLE sq2_o1aa PARTITION OF sq2_o1a FOR VALUES IN (1)",
                "CREATE TRIGGER sq2_t1 AFTER INSERT ON sq2_o1aa FOR EACH ROW EXECUTE FUNCTION sq2_f1()",
                "ALTER TABLE sq2_o1 RENAME COLUMN x TO email",
                "INSERT INTO sq2_o1 (n, m, email) SELECT 1, 1, email FROM sq2_people",
                "SELECT v FROM sq2_l1");
        out += run(
                "CREATE TABLE sq2_l2 (v text)", log.formatted("sq2_f2", "sq2_l2", "NEW"),
                "CREATE TABLE sq2_o2 (n int, email text)", "CREATE TABLE sq2_o2c () INHERITS (sq2_o2)",
                "INSERT INTO sq2_o2c (email) SELECT email FROM sq2_people",
                "CREATE TRIGGER sq2_t2 AFTER UPDATE ON sq2_o2c FOR EACH ROW EXECUTE FUNCTION sq2_f2()",
                "UPDATE sq2_o2 SET n = 2",
                "SELECT v FROM sq2_l2");
        out += run(
                "CREATE TABLE sq2_l3 (v text)", log.formatted("sq2_f3", "sq2_l3", "OLD"),
                "CREATE TABLE sq2_o3 (n int)", "CREATE TABLE sq2_o3c (email text) INHERITS (sq2_o3)",
                "INSERT INTO sq2_o3c (email) SELECT email FROM sq2_people",
                "CREATE TRIGGER sq2_t3 AFTER DELETE ON sq2_o3c FOR EACH ROW EXECUTE FUNCTION sq2_f3()",
                "DELETE FROM sq2_o3",
                "SELECT v FROM sq2_l3");
        out += run(
                "CREATE TABLE sq2_l4 (v text)", log.formatted("sq2_f4", "sq2_l4", "NEW"),
                "CREATE TABLE sq2_o4 (n int, email text) PARTITION BY LIST (n)",
                "CREATE TABLE sq2_o4a PARTITION OF sq2_o4 FOR VALUES IN (1)",
                "BEGIN", "CREATE TRIGGER sq2_t4 AFTER INSERT ON sq2_o4a FOR EACH ROW EXECUTE FUNCTION sq2_f4()",
                "INSERT INTO sq2_o4 (n, email) SELECT 1, email FROM sq2_people", "COMMIT",
                "SELECT v FROM sq2_l4");
        out += run(
                "CREATE TABLE sq2_l6 (v text)",
                "CREATE FUNCTION sq2_f6() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
                "CREATE TABLE sq2_o6 (n int, email text) PARTITION BY LIST (n)",
                "CREATE TABLE sq2_o6a PARTITION OF sq2_o6 FOR VALUES IN (1)",
                "CREATE TRIGGER sq2_t6 AFTER INSERT ON sq2_o6a FOR EACH ROW EXECUTE FUNCTION sq2_f6()",
                "INSERT INTO sq2_o6 (n, email) SELECT 1, email FROM sq2_people WHERE id = 1",
                log.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").formatted("sq2_f6", "sq2_l6", "NEW"),
                "INSERT INTO sq2_o6 (n, email) SELECT 1, email FROM sq2_people",
                "SELECT v FROM sq2_l6");
        List<String> deep = new ArrayList<>(List.of("CREATE TABLE sq2_l7 (v text)",
                log.formatted("sq2_f7", "sq2_l7", "NEW"), "CREATE TABLE sq2_o7 (n int, email text) PARTITION BY LIST (n)"));
        for (int level = 1; level <= 11; level++) {
            deep.add("CREATE TABLE sq2_o7_" + level + " PARTITION OF sq2_o7" + (level == 1 ? "" : "_" + (level - 1))
                    + " FOR VALUES IN (1)" + (level < 11 ? " PARTITION BY LIST (n)" : ""));
        }
        deep.addAll(List.of("CREATE TRIGGER sq2_t7 AFTER INSERT ON sq2_o7_11 FOR EACH ROW EXECUTE FUNCTION sq2_f7()",
                "INSERT INTO sq2_o7 (n, email) SELECT 1, email FROM sq2_people", "SELECT v FROM sq2_l7"));
        out += run(deep.toArray(new String[0]));
        deep.replaceAll(sql -> sql.replace("sq2_o7", "sq2_o8").replace("sq2_l7", "sq2_l8"));
        deep.removeIf(sql -> sql.contains("sq2_f7"));
        deep.add(0, "CREATE FUNCTION sq2_k8(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.sq2_l8 "
                + "VALUES (translate($1, '@.-', '   ')); RETURN true; END$$");
        deep.replaceAll(sql -> sql.replace("sq2_o8 (n int, email text)", "sq2_o8 (n int, x text)"));
        deep.add(deep.size() - 2, "ALTER TABLE sq2_o8_11 ADD CONSTRAINT sq2_c8 CHECK (sq2_k8(x))");
        deep.add(deep.size() - 2, "ALTER TABLE sq2_o8 RENAME COLUMN x TO email");
        out += run(deep.toArray(new String[0]));
        StringBuilder all = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : List.of("CREATE TABLE sq2_l5 (v text)", log.formatted("sq2_f5", "sq2_l5", "NEW"),
                    "CREATE TABLE sq2_o5 (n int, email text) PARTITION BY LIST (n)")) {
                all.append(">>> ").append(sql).append('\n').append(a.query(sql));
            }
            a.prepare("INSERT INTO sq2_o5 (n, email) SELECT 1, email FROM sq2_people");
            for (String sql : List.of("CREATE TABLE sq2_o5a (n int, email text)",
                    "CREATE TRIGGER sq2_t5 AFTER INSERT ON sq2_o5a FOR EACH ROW EXECUTE FUNCTION sq2_f5()",
                    "ALTER TABLE sq2_o5 ATTACH PARTITION sq2_o5a FOR VALUES IN (1)")) {
                all.append(">>> ").append(sql).append('\n').append(a.query(sql));
            }
            all.append(">>> (prepared INSERT)\n").append(a.runPrepared(true));
            all.append(">>> SELECT v FROM sq2_l5\n").append(a.query("SELECT v FROM sq2_l5"));
        }
        out += all;
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (no superuser needed), found while attacking the fix for the two tests above: a write through a view fires
     * the triggers of the table it writes (a partition's, routed through the view's partitioned table; a plain
     * table's) and meets its CHECKs (one whose function was replaced by one that logs), and an AFTER statement trigger
     * with a transition table (REFERENCING NEW TABLE AS nt) reads every row written under a name only its body knows.
     * Why: ResultMasking.whatWritesRun and whatRowsEvaluate judged what writing the named relation runs (a view runs
     * its definition's functions, not its table's triggers, CHECKs or policies), and read a trigger's body as reading
     * the written row only where it names NEW or OLD. Held since: a write through a view is judged with its tables'
     * triggers, rules, CHECKs and policies (CatalogCache.writtenThroughViews), and a trigger with a transition table
     * reads whole rows.
     */
    @Test
    void aWriteThroughAViewOrATransitionTableHandsTheRowsToATrigger() throws Exception {
        seed("zz_people");
        String log = "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.%s "
                + "VALUES (translate(row_to_json(%s)::text, '@.-', '   ')); RETURN NULL; END$$";
        String out = run(
                "CREATE TABLE zz_l1 (v text)", log.formatted("zz_f1", "zz_l1", "NEW"),
                "CREATE TABLE zz_o1 (n int, x text) PARTITION BY LIST (n)",
                "CREATE TABLE zz_o1a PARTITION OF zz_o1 FOR VALUES IN (1)",
                "CREATE TRIGGER zz_t1 AFTER INSERT ON zz_o1a FOR EACH ROW EXECUTE FUNCTION zz_f1()",
                "ALTER TABLE zz_o1 RENAME COLUMN x TO email",
                "CREATE VIEW zz_v1 AS SELECT * FROM zz_o1",
                "INSERT INTO zz_v1 (n, email) SELECT 1, email FROM zz_people",
                "SELECT v FROM zz_l1");
        out += run(
                "CREATE TABLE zz_l2 (v text)", log.formatted("zz_f2", "zz_l2", "NEW"),
                "CREATE TABLE zz_o2 (n int, x text)",
                "CREATE TRIGGER zz_t2 AFTER INSERT ON zz_o2 FOR EACH ROW EXECUTE FUNCTION zz_f2()",
                "ALTER TABLE zz_o2 RENAME COLUMN x TO email",
                "CREATE VIEW zz_v2 AS SELECT * FROM zz_o2",
                "INSERT INTO zz_v2 (n, email) SELECT 1, email FROM zz_people",
                "SELECT v FROM zz_l2");
        out += run(
                "CREATE TABLE zz_l3 (v text)",
                "CREATE FUNCTION zz_f3() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO public.zz_l3 "
                        + "SELECT translate(row_to_json(t)::text, '@.-', '   ') FROM nt t; RETURN NULL; END$$",
                "CREATE TABLE zz_o3 (n int, x text) PARTITION BY LIST (n)",
                "CREATE TABLE zz_o3a PARTITION OF zz_o3 FOR VALUES IN (1)",
                "CREATE TRIGGER zz_t3 AFTER INSERT ON zz_o3 REFERENCING NEW TABLE AS nt FOR EACH STATEMENT "
                        + "EXECUTE FUNCTION zz_f3()",
                "ALTER TABLE zz_o3 RENAME COLUMN x TO email",
                "INSERT INTO zz_o3 (n, email) SELECT 1, email FROM zz_people",
                "SELECT v FROM zz_l3");
        out += run(
                "CREATE TABLE zz_l4 (v text)",
                "CREATE FUNCTION zz_k4(text) RETURNS boolean LANGUAGE sql AS $$SELECT $1 IS NOT NULL$$",
                "CREATE TABLE zz_o4 (n int, email text CHECK (zz_k4(email)))",
                "CREATE VIEW zz_v4 AS SELECT * FROM zz_o4",
                "CREATE OR REPLACE FUNCTION zz_k4(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO "
                        + "public.zz_l4 VALUES (translate($1, '@.-', '   ')); RETURN true; END$$",
                "INSERT INTO zz_v4 (email) SELECT email FROM zz_people",
                "SELECT v FROM zz_l4");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * What the fixes for the three tests above must not refuse (through Warden with pgJDBC, as the masked identity):
     * masked values written through a partitioned table whose partition's triggers read only clear columns (NEW.n) or
     * none, and updated and deleted through it and through a view over it; through a view, a table whose CHECKs only
     * test; through an inheritance parent, an INSERT (which fires none of its children's triggers, one of which logs
     * the whole row), and an UPDATE of a parent whose child's rule copies the e-mail (an administrator's: the rewriter
     * applies the rules of the named table only).
     */
    @Test
    void partitionsWhoseTriggersReadClearColumnsStayWritable() throws Exception {
        seed("sc_people");
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE sc_audit (n int, what text)");
            s.execute("CREATE FUNCTION sc_n() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN INSERT INTO public.sc_audit VALUES (NEW.n, TG_OP); RETURN NEW; END$$");
            s.execute("CREATE FUNCTION sc_op() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN INSERT INTO public.sc_audit VALUES (NULL, TG_OP); RETURN NULL; END$$");
            s.execute("CREATE TABLE sc_p (n int, email text) PARTITION BY LIST (n)");
            s.execute("CREATE TABLE sc_p1 PARTITION OF sc_p FOR VALUES IN (1, 2)");
            s.execute("CREATE TRIGGER sc_t1 BEFORE INSERT OR UPDATE ON sc_p1 FOR EACH ROW EXECUTE FUNCTION sc_n()");
            s.execute("CREATE TRIGGER sc_t2 AFTER DELETE ON sc_p1 FOR EACH ROW EXECUTE FUNCTION sc_op()");
            assertEquals(3, s.executeUpdate("INSERT INTO sc_p (n, email) SELECT 1, email FROM sc_people"));
            assertEquals(3, s.executeUpdate("UPDATE sc_p SET n = 2"));
            assertEquals(3, s.executeUpdate("DELETE FROM sc_p"));
            s.execute("CREATE TABLE sc_log (v text)");
            s.execute("CREATE FUNCTION sc_row() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN INSERT INTO public.sc_log VALUES (row_to_json(NEW)::text); RETURN NULL; END$$");
            s.execute("CREATE TABLE sc_i (n int, email text)");
            s.execute("CREATE TABLE sc_i1 () INHERITS (sc_i)");
            // Made by the owner: a masked identity may not put a trigger that copies whole rows on a table with a
            // masked column (AttackPass23Test); a write to the parent does not fire it either way.
            direct("CREATE TRIGGER sc_t3 AFTER INSERT ON sc_i1 FOR EACH ROW EXECUTE FUNCTION sc_row()");
            assertEquals(3, s.executeUpdate("INSERT INTO sc_i (n, email) SELECT 1, email FROM sc_people"));
            s.execute("CREATE TABLE sc_j (n int, email text)");
            s.execute("CREATE TABLE sc_j1 () INHERITS (sc_j)");
            direct("CREATE RULE sc_r AS ON UPDATE TO sc_j1 DO ALSO INSERT INTO sc_log VALUES (NEW.email)");
            assertEquals(3, s.executeUpdate("INSERT INTO sc_j (n, email) SELECT 1, email FROM sc_people"));
            direct("INSERT INTO sc_j1 SELECT * FROM sc_j");
            assertEquals(6, s.executeUpdate("UPDATE sc_j SET n = 2"));
            s.execute("CREATE VIEW sc_v AS SELECT * FROM sc_p");
            assertEquals(3, s.executeUpdate("INSERT INTO sc_v (n, email) SELECT 1, email FROM sc_people"));
            assertEquals(3, s.executeUpdate("DELETE FROM sc_v"));
            s.execute("CREATE FUNCTION sc_ok(text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RETURN $1 LIKE '%@%'; "
                    + "END$$");
            s.execute("CREATE TABLE sc_k (n int, email text CHECK (length(email) < 100) CHECK (sc_ok(email)))");
            s.execute("CREATE VIEW sc_kv AS SELECT * FROM sc_k");
            assertEquals(3, s.executeUpdate("INSERT INTO sc_kv (n, email) SELECT 1, email FROM sc_people"));
        }
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            assertEquals("DELETE 6,INSERT 6,UPDATE 3", WardenHarness.scalar(c, "SELECT string_agg(what || ' ' || k, ',' "
                    + "ORDER BY what) FROM (SELECT what, count(*) k FROM sc_audit GROUP BY what) g"));
            assertEquals("0", WardenHarness.scalar(c, "SELECT count(*) FROM sc_log"));
        }
    }

    /**
     * A row security policy's function that RAISEs what it is given, over a read by a role row security applies to
     * (the statement names no sensitive column), and a CHECK's function that RAISEs over an UPDATE of a clear
     * column: the NOTICEs would carry each stored e-mail. Held: a statement whose tables' policies or checks pass a
     * masked column to a function body is judged sensitive, so what the body raises is redacted.
     */
    @Test
    void aPolicyOrCheckFunctionRaisesTheValuesItIsGiven() throws Exception {
        seed("vr_people");
        String raise = "CREATE FUNCTION %s(text) RETURNS boolean LANGUAGE plpgsql AS "
                + "$$BEGIN RAISE NOTICE '%%', translate($1, '@.-', '   '); RETURN true; END$$";
        String out = run(
                raise.formatted("vr_k1"),
                "CREATE TABLE vr_o1 (n int, email text)", "ALTER TABLE vr_o1 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY vr_p1 ON vr_o1 USING (vr_k1(email))",
                "INSERT INTO vr_o1 (email) SELECT email FROM vr_people",
                "CREATE ROLE vr_r1", "GRANT ALL ON vr_o1 TO vr_r1",
                "SET ROLE vr_r1", "SELECT n FROM vr_o1", "SELECT count(*) FROM vr_o1", "RESET ROLE");
        out += run(
                raise.formatted("vr_k2"),
                "CREATE TABLE vr_o2 (n int, email text CHECK (vr_k2(email)))",
                "INSERT INTO vr_o2 (email) SELECT email FROM vr_people",
                "UPDATE vr_o2 SET n = 1");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * What the fixes for the tests above must not refuse (through Warden with pgJDBC, as the masked identity): masked
     * values copied as they are into tables whose CHECK constraints, domain, row security policies and trigger WHEN
     * conditions only test them (with built-in functions, or a function that stores nothing), and a table whose
     * benign CHECK over a masked column sits beside an audit trigger that writes a clear table (each expression is
     * judged on its own, not with the triggers); an UPDATE that evaluates them over the stored rows; ALTER DOMAIN
     * adding such a check; a read of a table whose policy compares a masked column with a function's result.
     */
    @Test
    void expressionsThatOnlyTestMaskedValuesStayAllowed() throws Exception {
        seed("vp_people");
        try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE vp_a (n int, email text CHECK (length(email) < 100), "
                    + "ssn text CHECK (ssn ~ '^[0-9-]+$'), CHECK (email ~ '@' OR n IS NULL))");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_a (email, ssn) SELECT email, ssn FROM vp_people"));
            assertEquals(3, s.executeUpdate("UPDATE vp_a SET n = 1"));
            s.execute("CREATE DOMAIN vp_d AS text CHECK (VALUE ~ '@')");
            s.execute("CREATE TABLE vp_b (email vp_d)");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_b SELECT email FROM vp_people"));
            s.execute("ALTER DOMAIN vp_d ADD CONSTRAINT vp_c CHECK (length(VALUE) < 100)");
            s.execute("CREATE TABLE vp_c (n int, email text)");
            s.execute("ALTER TABLE vp_c ENABLE ROW LEVEL SECURITY");
            s.execute("ALTER TABLE vp_c FORCE ROW LEVEL SECURITY");
            s.execute("CREATE POLICY vp_p ON vp_c USING (email ~ '@') WITH CHECK (length(email) > 3)");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_c (email) SELECT email FROM vp_people"));
            assertEquals(3, s.executeUpdate("UPDATE vp_c SET n = 2"));
            s.execute("CREATE TABLE vp_e (n int, email text)");
            s.execute("CREATE TRIGGER vp_t BEFORE UPDATE ON vp_e FOR EACH ROW "
                    + "WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION suppress_redundant_updates_trigger()");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_e (email) SELECT email FROM vp_people"));
            assertEquals(3, s.executeUpdate("UPDATE vp_e SET n = 3"));
            s.execute("CREATE FUNCTION vp_ok(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT $1 LIKE '%@%'$$");
            s.execute("CREATE TABLE vp_f (n int, email text CHECK (vp_ok(email)))");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_f (email) SELECT email FROM vp_people"));
            s.execute("CREATE TABLE vp_audit (at timestamptz, what text)");
            s.execute("CREATE FUNCTION vp_log() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN INSERT INTO public.vp_audit VALUES (now(), TG_OP); RETURN NULL; END$$");
            s.execute("CREATE TABLE vp_g (n int, email text CHECK (email ~ '@'))");
            s.execute("CREATE TRIGGER vp_tg AFTER INSERT ON vp_g FOR EACH ROW EXECUTE FUNCTION vp_log()");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_g (email) SELECT email FROM vp_people"));
            // A policy that compares the masked column with a function's result hands the function nothing: a read
            // of the table stays clear (its count is not masked).
            s.execute("CREATE FUNCTION vp_me() RETURNS text LANGUAGE sql STABLE AS $$SELECT current_user::text$$");
            s.execute("CREATE TABLE vp_h (n int, email text)");
            s.execute("ALTER TABLE vp_h ENABLE ROW LEVEL SECURITY");
            s.execute("CREATE POLICY vp_hp ON vp_h USING (email = vp_me() OR n IS NULL)");
            assertEquals(3, s.executeUpdate("INSERT INTO vp_h (email) SELECT email FROM vp_people"));
            assertEquals("3", WardenHarness.scalar(c, "SELECT count(*) FROM vp_h"));
        }
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            assertEquals("3", WardenHarness.scalar(c, "SELECT count(*) FROM vp_audit"));
            assertEquals("3", WardenHarness.scalar(c, "SELECT count(*) FROM vp_a WHERE email LIKE '%quixmail%'"));
        }
    }

    /**
     * LEAK (no superuser needed). PL/pgSQL's RAISE ... USING ERRCODE = expr takes any five characters of [0-9A-Z]
     * as the SQLSTATE, and Warden keeps SQLSTATEs ("the server's own names and SQLSTATEs are kept") even where it
     * knows the statement is over sensitive data and redacts the message ("[redacted: raised by a statement over
     * sensitive data]"). A function raises one NOTICE per two characters of string_agg(email, ' '), each with the
     * pair's hex as its SQLSTATE (padded with 0): ONE call returns every seeded e-mail, exactly, in the C fields of
     * the notices. Why: UpstreamRelay / the error masking redacts message, detail, hint, context... but passes the
     * code field through as the server's own.
     */
    @Test
    void aRaisedSqlstateCarriesASensitiveValue() throws Exception {
        seed("sq_people");
        StringBuilder all = new StringBuilder();
        java.io.ByteArrayOutputStream decoded = new java.io.ByteArrayOutputStream();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String create = "CREATE FUNCTION sq_f() RETURNS int LANGUAGE plpgsql AS $$DECLARE s text; BEGIN "
                    + "s := (SELECT string_agg(email, ' ') FROM public.sq_people); "
                    + "FOR k IN 1..length(s) BY 2 LOOP RAISE NOTICE 'x' USING ERRCODE = "
                    + "rpad(upper(encode(convert_to(substr(s, k, 2), 'UTF8'), 'hex')), 5, '0'); END LOOP; "
                    + "RETURN 1; END$$";
            all.append(">>> ").append(create).append('\n').append(a.query(create));
            String answer = a.query("SELECT sq_f()");
            all.append(">>> SELECT sq_f()\n").append(answer);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\u0000C([0-9A-F]{4})[0-9A-F]?\u0000")
                    .matcher(answer);
            while (m.find()) {
                for (int i = 0; i < 4; i += 2) {
                    int b = Integer.parseInt(m.group(1).substring(i, i + 2), 16);
                    if (b != 0) {
                        decoded.write(b);
                    }
                }
            }
        }
        String text = decoded.toString(java.nio.charset.StandardCharsets.UTF_8);
        System.out.println(all + "\ndecoded from the SQLSTATEs: " + text);
        assertNoSeed(all + "\n" + text);
    }

    /**
     * LEAK (no superuser needed), the same in the CONTEXT field: Warden redacts a RAISE's message and, in a
     * sensitive statement, every number of the message outside quotes, except numbers that are whole words of the
     * statement (MessageText: the client wrote them). The CONTEXT "PL/pgSQL function f() line N at RAISE" gives the
     * body's line of the RAISE that ran. A body with one RAISE NOTICE per printable ASCII code on a line of its own
     * (line = code) raises, for each character of string_agg(email, ' '), the one on that character's line; the
     * call's statement also writes ARRAY[32, ..., 126], so every line number is kept: one call returns every
     * e-mail, exactly. A branch on the value inside a routine body (no filter clause): protect_filters would not
     * stop it either. (Without the ARRAY the line numbers are redacted: that held.)
     */
    @Test
    void theLineNumberOfARaiseCarriesASensitiveValue() throws Exception {
        seed("ln_people");
        StringBuilder body = new StringBuilder("DECLARE s text; c int; BEGIN s := (SELECT string_agg(email, ' ') "
                + "FROM public.ln_people); FOR k IN 1..length(s) LOOP c := ascii(substr(s, k, 1)); CASE");
        int line = 1;
        for (int code = 32; code < 127; code++) {
            while (line < code) {
                body.append('\n');
                line++;
            }
            body.append(" WHEN c = ").append(code).append(" THEN RAISE NOTICE 'x';");
        }
        body.append(" ELSE NULL; END CASE; END LOOP; RETURN 1; END");
        StringBuilder all = new StringBuilder();
        StringBuilder decoded = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            all.append(a.query("CREATE FUNCTION ln_f() RETURNS int LANGUAGE plpgsql AS $$" + body + "$$"));
            // Numbers the statement itself writes are kept in messages (MessageText: "a number that is a whole word
            // of the statement"): the select list names every line number the body could raise at.
            StringBuilder numbers = new StringBuilder();
            for (int code = 32; code < 127; code++) {
                numbers.append(code == 32 ? "" : ", ").append(code);
            }
            String call = "SELECT ln_f(), ARRAY[" + numbers + "] AS n";
            String answer = a.query(call);
            all.append(">>> ").append(call).append('\n').append(answer);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("line (\\d+) at RAISE").matcher(answer);
            while (m.find()) {
                decoded.append((char) Integer.parseInt(m.group(1)));
            }
        }
        System.out.println(all + "\ndecoded from the line numbers: " + decoded);
        assertNoSeed(all + "\n" + decoded);
    }

    /**
     * LEAK (no superuser, no function), the mechanism of theLineNumberOfARaiseCarriesASensitiveValue alone: in the
     * answer to a sensitive statement Warden redacts every number of an error outside quotes ("set_bit() ... print
     * the number they were given"), but keeps a number that is a whole word of the statement. set_bit's error
     * prints the index it was given ("index 122 out of valid range, 0..7"); the statement also writes
     * ARRAY[32, ..., 126], so the code of the e-mail's k-th character comes back: one statement per character.
     */
    @Test
    void aNumberTheStatementAlsoWritesIsKeptInAnErrorOverSensitiveData() throws Exception {
        seed("nw_people");
        StringBuilder numbers = new StringBuilder();
        for (int code = 32; code < 127; code++) {
            numbers.append(code == 32 ? "" : ", ").append(code);
        }
        StringBuilder all = new StringBuilder();
        StringBuilder decoded = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (int k = 1; k <= MaskedAttacker.EMAILS.get(0).length(); k++) {
                String sql = "SELECT set_bit('\\x00'::bytea, ascii(substr(email, " + k + ", 1)), 1), ARRAY["
                        + numbers + "] AS n FROM nw_people WHERE id = 1";
                String answer = a.query(sql);
                all.append(">>> ").append(sql).append('\n').append(answer);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("index (\\d+) out of valid range")
                        .matcher(answer);
                if (m.find()) {
                    decoded.append((char) Integer.parseInt(m.group(1)));
                }
            }
        }
        System.out.println(all + "\ndecoded from the errors: " + decoded);
        assertNoSeed(all + "\n" + decoded);
    }
}
