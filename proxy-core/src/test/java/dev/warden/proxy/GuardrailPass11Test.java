package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 11 over the guardrails: code the server runs for a statement that names neither the code nor the
 * guarded table. Operators a construct implies (NULLIF, IN, CASE, IS DISTINCT FROM, LIKE, BETWEEN), operators in a
 * table's constraints, defaults and views, domain checks reached through a domain over a domain, an array or a
 * composite column, a partition key, an assignment cast into a column, a routine's own types and parameter
 * defaults, and ALTER TABLE or ALTER DOMAIN forms that compute those over the rows already there. Objects are made
 * beforehand (as a migration would); the session logs in as {@code gw_login}, no superuser, and asks only through
 * Warden. Each test asserts what the server did to {@code gw_ledger}.
 */
class GuardrailPass11Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE DOMAIN gw_checked_int AS int CHECK (gw_wipe(VALUE) > 0)");
            // (Its body uses none of the operators it implements below: it would call itself.)
            s.execute("CREATE FUNCTION gw_eq(int, text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id < $1 + 1 AND id > $1 - 1; RETURN true; END$$");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    static final String OPS = "CREATE OPERATOR = (leftarg = int, rightarg = text, function = gw_eq); "
            + "CREATE OPERATOR ~~ (leftarg = int, rightarg = text, function = gw_eq); "
            + "CREATE OPERATOR >= (leftarg = int, rightarg = text, function = gw_eq); "
            + "CREATE OPERATOR <= (leftarg = int, rightarg = text, function = gw_eq); "
            + "CREATE OPERATOR <> (leftarg = int, rightarg = text, function = gw_eq); ";
    static final String NO_OPS = "DROP OPERATOR = (int, text) CASCADE; DROP OPERATOR ~~ (int, text) CASCADE; DROP OPERATOR >= (int, text) CASCADE; "
            + "DROP OPERATOR <= (int, text) CASCADE; DROP OPERATOR <> (int, text) CASCADE";

    /**
     * A session in production. pgJDBC sends no SET of its own (no {@code =} for Warden to read before the test's
     * operators exist; Warden keeps what an operator runs for a few seconds).
     */
    private static Connection prod() throws SQLException {
        return warden.prod();
    }

    /** Waits out what Warden read of the operators before (it reads the catalog again after a few seconds). */
    private static void forgetOperators() {
        try {
            Thread.sleep(6_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Each (setup, sql) pair kept ({@link WardenHarness#keptAgainst}): an operator = over (int, text) in the setup
     * makes Warden refuse pgJDBC's own start-up statements, so the setup runs after the session logged in, and the
     * operators are dropped after.
     */
    private static void assertEachKept(String... setupAndSql) throws SQLException {
        assertEquals(List.of(), warden.failuresKeeping(setup -> setup != null && setup.startsWith(OPS) ? NO_OPS : null,
                setupAndSql));
    }

    /** NULLIF, IN, simple CASE and IS DISTINCT FROM run =, LIKE runs ~~, BETWEEN >= and <=, NOT IN <>. */
    @Test
    void operatorsAConstructImpliesAreJudged() throws SQLException {
        // (gw_wipe's body compares with =: what = runs may have been read, before the operators existed.)
        forgetOperators();
        assertEachKept(OPS, "SELECT NULLIF(1, 'a'::text)",
                OPS, "SELECT 1 IN ('a'::text)",
                OPS, "SELECT CASE 1 WHEN 'a'::text THEN 1 END",
                OPS, "SELECT 1 IS DISTINCT FROM 'a'::text",
                OPS, "SELECT 1 LIKE 'a'::text",
                OPS, "SELECT 1 BETWEEN 'a'::text AND 'b'::text",
                OPS, "SELECT 1 NOT IN ('a'::text)");
    }

    /** A CHECK constraint, a column default and a view that use a user-defined operator run its function. */
    @Test
    void operatorsInConstraintsDefaultsAndViewsAreJudged() throws SQLException {
        assertEachKept(OPS + "CREATE TABLE gw_opchk (id int CHECK (id = 'a'::text)); "
                        + "GRANT INSERT ON gw_opchk TO gw_login", "INSERT INTO gw_opchk VALUES (1)",
                OPS + "CREATE VIEW gw_opview AS SELECT 1 = 'a'::text AS x; GRANT SELECT ON gw_opview TO gw_login",
                "SELECT * FROM gw_opview",
                OPS + "CREATE TABLE gw_opdef (id int, b boolean DEFAULT (1 = 'a'::text)); "
                        + "GRANT INSERT ON gw_opdef TO gw_login", "INSERT INTO gw_opdef (id) VALUES (1)");
    }

    /**
     * A domain's check runs for a column of a domain over it, of an array of it, of a composite type with a field
     * of it; a partition key's function for each row routed; an assignment cast's function for each value stored.
     */
    @Test
    void whatAColumnsTypeOrAPartitionKeyRunsIsJudged() throws SQLException {
        assertEachKept("CREATE DOMAIN gw_dd AS gw_checked_int; CREATE TABLE gw_dd_tab (id gw_dd); "
                        + "GRANT INSERT ON gw_dd_tab TO gw_login", "INSERT INTO gw_dd_tab VALUES (1)",
                "CREATE TABLE gw_arr_tab (ids gw_checked_int[]); GRANT INSERT ON gw_arr_tab TO gw_login",
                "INSERT INTO gw_arr_tab VALUES (ARRAY[1])",
                "CREATE TYPE gw_cd AS (x gw_checked_int); CREATE TABLE gw_cd_tab (c gw_cd); "
                        + "GRANT INSERT ON gw_cd_tab TO gw_login", "INSERT INTO gw_cd_tab VALUES (ROW(1))",
                "CREATE TABLE gw_pk (id int) PARTITION BY LIST ((gw_key(id))); "
                        + "CREATE TABLE gw_pk_d PARTITION OF gw_pk DEFAULT; GRANT INSERT ON gw_pk TO gw_login",
                "INSERT INTO gw_pk VALUES (1)",
                "CREATE TYPE gw_box AS (x int); CREATE FUNCTION gw_to_box(int) RETURNS gw_box LANGUAGE plpgsql AS "
                        + "$$BEGIN DELETE FROM public.gw_ledger WHERE id = $1; RETURN ROW($1); END$$; "
                        + "CREATE CAST (int AS gw_box) WITH FUNCTION gw_to_box(int) AS ASSIGNMENT; "
                        + "CREATE TABLE gw_boxes (b gw_box); GRANT INSERT ON gw_boxes TO gw_login",
                "INSERT INTO gw_boxes VALUES (1)");
    }

    /**
     * A routine's return type, parameter types, parameter defaults and PL/pgSQL variables run domain checks and
     * default expressions the body's text does not show.
     */
    @Test
    void whatARoutinesSignatureAndDeclarationsRunIsJudged() throws SQLException {
        assertEachKept("CREATE FUNCTION gw_ret() RETURNS gw_checked_int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$",
                "SELECT gw_ret()",
                "CREATE FUNCTION gw_ret_sql() RETURNS gw_checked_int LANGUAGE sql AS 'SELECT 1'", "SELECT gw_ret_sql()",
                "CREATE FUNCTION gw_dom_arg(a gw_checked_int) RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN RETURN a; END$$", "SELECT gw_dom_arg(1)",
                "CREATE FUNCTION gw_defarg(a int DEFAULT public.gw_wipe(1)) RETURNS int LANGUAGE plpgsql AS "
                        + "$$BEGIN RETURN a; END$$", "SELECT gw_defarg()",
                "CREATE FUNCTION gw_decl() RETURNS int LANGUAGE plpgsql AS "
                        + "$$DECLARE v gw_checked_int := 1; BEGIN RETURN 1; END$$", "SELECT gw_decl()");
    }

    /**
     * ALTER TABLE and ALTER DOMAIN forms that compute checks, domain checks, index expressions or a partition key
     * over the rows already there.
     */
    @Test
    void alterFormsThatComputeOverTheRowsThereAreJudged() throws SQLException {
        assertEachKept("CREATE TABLE gw_nv (id int); INSERT INTO gw_nv VALUES (1); "
                        + "ALTER TABLE gw_nv ADD CONSTRAINT gw_nv_c CHECK (public.gw_wipe(id) > 0) NOT VALID; "
                        + "ALTER TABLE gw_nv OWNER TO gw_login", "ALTER TABLE gw_nv VALIDATE CONSTRAINT gw_nv_c",
                "CREATE DOMAIN gw_nvd AS int; CREATE TABLE gw_nvd_tab (id gw_nvd); INSERT INTO gw_nvd_tab VALUES (1); "
                        + "ALTER DOMAIN gw_nvd ADD CONSTRAINT gw_nvd_c CHECK (public.gw_wipe(VALUE) > 0) NOT VALID; "
                        + "ALTER DOMAIN gw_nvd OWNER TO gw_login", "ALTER DOMAIN gw_nvd VALIDATE CONSTRAINT gw_nvd_c",
                "CREATE TABLE gw_retype (id int); INSERT INTO gw_retype VALUES (1); "
                        + "ALTER TABLE gw_retype OWNER TO gw_login",
                "ALTER TABLE gw_retype ALTER COLUMN id TYPE gw_checked_int",
                "CREATE TABLE gw_addcol (id int); INSERT INTO gw_addcol VALUES (1); "
                        + "ALTER TABLE gw_addcol OWNER TO gw_login",
                "ALTER TABLE gw_addcol ADD COLUMN n gw_checked_int DEFAULT 1",
                "CREATE TABLE gw_unl (id int); INSERT INTO gw_unl VALUES (1); "
                        + "CREATE INDEX ON gw_unl ((gw_key(id))); ALTER TABLE gw_unl OWNER TO gw_login",
                "ALTER TABLE gw_unl SET UNLOGGED",
                "CREATE TABLE gw_pk2 (id int) PARTITION BY RANGE ((gw_key(id))); "
                        + "CREATE TABLE gw_att (id int); INSERT INTO gw_att VALUES (1); "
                        + "ALTER TABLE gw_pk2 OWNER TO gw_login; ALTER TABLE gw_att OWNER TO gw_login",
                "ALTER TABLE gw_pk2 ATTACH PARTITION gw_att FOR VALUES FROM (0) TO (100)");
    }

    /**
     * A trigger's WHEN condition runs for each row written, before (and whatever) its function does; a partition
     * key runs over the default partition's rows when a partition is made beside it.
     */
    @Test
    void triggerConditionsAndPartitionsMadeBesideADefaultAreJudged() throws SQLException {
        assertEachKept("CREATE FUNCTION gw_noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$; "
                        + "CREATE TABLE gw_when (id int); CREATE TRIGGER gw_when_t BEFORE INSERT ON gw_when FOR EACH ROW "
                        + "WHEN (public.gw_wipe(NEW.id) > 0) EXECUTE FUNCTION gw_noop(); GRANT INSERT ON gw_when TO gw_login",
                "INSERT INTO gw_when VALUES (1)",
                OPS + "CREATE TABLE gw_when_op (id int); CREATE TRIGGER gw_when_op_t BEFORE INSERT ON gw_when_op "
                        + "FOR EACH ROW WHEN (NEW.id = 'a'::text) EXECUTE FUNCTION gw_noop(); "
                        + "GRANT INSERT ON gw_when_op TO gw_login", "INSERT INTO gw_when_op VALUES (1)",
                "CREATE TABLE gw_pd (id int) PARTITION BY LIST ((gw_key(id))); "
                        + "CREATE TABLE gw_pd_d PARTITION OF gw_pd DEFAULT; INSERT INTO gw_pd VALUES (1); "
                        + "ALTER TABLE gw_pd OWNER TO gw_login; ALTER TABLE gw_pd_d OWNER TO gw_login",
                "CREATE TABLE gw_pd_5 PARTITION OF gw_pd FOR VALUES IN (5)");
    }

    /** A value cast to a composite type with a field of a domain, or to a domain whose check uses an operator. */
    @Test
    void castsIntoTypesThatReachADomainAreJudged() throws SQLException {
        assertEachKept("CREATE TYPE gw_cd2 AS (x gw_checked_int)", "SELECT '(1)'::gw_cd2",
                "CREATE TYPE gw_cd3 AS (x gw_checked_int)", "SELECT CAST(ROW(1) AS gw_cd3)",
                OPS + "CREATE DOMAIN gw_opdom AS int CHECK (VALUE = 'a'::text)", "SELECT 1::gw_opdom");
    }

    /**
     * A value of a user's type read from a column is cast out of it where a built-in function, or a column it is
     * stored into, takes another type: an implicit or assignment cast from the type runs its function.
     */
    @Test
    void castsOutOfAColumnsTypeAreJudged() throws SQLException {
        String made = "CREATE TYPE gw_src AS (x int); CREATE FUNCTION gw_src_int(gw_src) RETURNS int LANGUAGE plpgsql "
                + "AS $$BEGIN DELETE FROM public.gw_ledger WHERE id = ($1).x; RETURN ($1).x; END$$; "
                + "CREATE CAST (gw_src AS int) WITH FUNCTION gw_src_int(gw_src) AS IMPLICIT; "
                + "CREATE TABLE gw_srctab (c gw_src); INSERT INTO gw_srctab VALUES (ROW(1)); "
                + "CREATE TABLE gw_ints (id int); GRANT SELECT ON gw_srctab TO gw_login; GRANT INSERT ON gw_ints TO gw_login";
        assertEachKept(made, "SELECT abs(c) FROM gw_srctab",
                "DROP TABLE gw_srctab, gw_ints; DROP TYPE gw_src CASCADE; " + made,
                "INSERT INTO gw_ints SELECT c FROM gw_srctab");
    }

    /**
     * Held (kept as regression tests): a partition key runs for a row written into a partition directly, and for
     * a row routed through a partition that is partitioned itself; Warden judged both as writes of the tree.
     */
    @Test
    void partitionKeysAboveOrBelowTheWrittenTableAreJudged() throws SQLException {
        assertEachKept("CREATE TABLE gw_pl (id int) PARTITION BY LIST ((gw_key(id))); "
                        + "CREATE TABLE gw_pl_1 PARTITION OF gw_pl FOR VALUES IN (1); GRANT INSERT ON gw_pl_1 TO gw_login",
                "INSERT INTO gw_pl_1 VALUES (1)",
                "CREATE TABLE gw_pt (id int) PARTITION BY LIST (id); "
                        + "CREATE TABLE gw_pt_1 PARTITION OF gw_pt FOR VALUES IN (1) PARTITION BY LIST ((gw_key(id))); "
                        + "CREATE TABLE gw_pt_1_d PARTITION OF gw_pt_1 DEFAULT; GRANT INSERT ON gw_pt TO gw_login",
                "INSERT INTO gw_pt VALUES (1)");
    }

    /** Precise, not blanket: the same forms run where what they imply is built in or harmless. */
    @Test
    void harmlessNeighboursRun() throws SQLException {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        warden.directly("CREATE TABLE gw_fine (id int, ids int[], b boolean DEFAULT (1 = 1) CHECK (id <> 0)) "
                        + "PARTITION BY LIST ((abs(id)))",
                "CREATE TABLE gw_fine_d PARTITION OF gw_fine DEFAULT", "GRANT INSERT, SELECT ON gw_fine TO gw_login",
                "CREATE FUNCTION gw_fine_f(a int DEFAULT 2) RETURNS int LANGUAGE plpgsql AS "
                        + "$$DECLARE v int := 1; BEGIN RETURN a + v; END$$",
                "CREATE TABLE gw_fine_alter (id int)", "INSERT INTO gw_fine_alter VALUES (1)",
                "ALTER TABLE gw_fine_alter OWNER TO gw_login", "ALTER TABLE gw_fine OWNER TO gw_login",
                "ALTER TABLE gw_fine_d OWNER TO gw_login", "CREATE TYPE gw_fine_row AS (x int)",
                "CREATE FUNCTION gw_fine_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                "CREATE TABLE gw_fine_when (id int)", "CREATE TRIGGER gw_fine_when_t BEFORE INSERT ON gw_fine_when "
                        + "FOR EACH ROW WHEN (NEW.id > 0 AND abs(NEW.id) > 0) EXECUTE FUNCTION gw_fine_trg()",
                "GRANT INSERT ON gw_fine_when TO gw_login",
                "CREATE FUNCTION gw_fine_row_int(gw_fine_row) RETURNS int LANGUAGE sql AS 'SELECT 2'",
                "CREATE CAST (gw_fine_row AS int) WITH FUNCTION gw_fine_row_int(gw_fine_row) AS IMPLICIT",
                "CREATE TABLE gw_fine_rows (r gw_fine_row)", "INSERT INTO gw_fine_rows VALUES (ROW(1))",
                "GRANT SELECT ON gw_fine_rows TO gw_login",
                "CREATE FUNCTION gw_fine_pct() RETURNS int LANGUAGE plpgsql AS "
                        + "$$DECLARE v gw_fine_alter.id%TYPE := 1; BEGIN RETURN v; END$$");
        forgetOperators();
        try (Connection c = prod()) {
            for (String sql : List.of("SELECT NULLIF(1, 2), 1 IN (1, 2), CASE 1 WHEN 2 THEN 3 END, "
                            + "1 IS DISTINCT FROM 2, 'a' LIKE 'b', 2 BETWEEN 1 AND 3, 1 NOT IN (2)",
                    "INSERT INTO gw_fine (id, ids) VALUES (1, ARRAY[1])", "SELECT gw_fine_f()",
                    "ALTER TABLE gw_fine_alter ADD CONSTRAINT gw_fine_c CHECK (id > 0) NOT VALID",
                    "ALTER TABLE gw_fine_alter VALIDATE CONSTRAINT gw_fine_c",
                    "ALTER TABLE gw_fine_alter ALTER COLUMN id TYPE bigint",
                    "ALTER TABLE gw_fine_alter ADD COLUMN n int DEFAULT 1", "ALTER TABLE gw_fine_alter SET UNLOGGED",
                    "CREATE TABLE gw_fine_5 PARTITION OF gw_fine FOR VALUES IN (5)", "INSERT INTO gw_fine_when VALUES (1)",
                    "SELECT ROW(1)::gw_fine_row, '(2)'::gw_fine_row", "SELECT abs(r) FROM gw_fine_rows",
                    "SELECT gw_fine_pct()")) {
                assertEquals(null, run(c, sql), sql);
            }
        }
        assertEquals("3/3", warden.ledger());
        forgetOperators();
    }

    /**
     * A domain's check runs where the text names no type: for a parameter whose type Parse gives by OID (the
     * extended protocol). Warden counts each user type a Parse gives as a cast to it.
     */
    @Test
    void aParametersDomainGivenByParseIsJudged() throws Exception {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        List<String> errors = selectParameterOfType("gw_checked_int", "1");
        assertEquals("3/3", warden.ledger(), "Parse SELECT $1 with a parameter of type gw_checked_int: " + errors);
        // Precise: a user type that runs nothing (an enum) binds as before.
        warden.directly("DROP TYPE IF EXISTS gw_mood", "CREATE TYPE gw_mood AS ENUM ('calm')");
        assertEquals(List.of(), selectParameterOfType("gw_mood", "calm"));
    }

    /** Parse of {@code SELECT $1} with {@code type}'s OID, bound to {@code value} and executed: the errors. */
    private static List<String> selectParameterOfType(String type, String value) throws Exception {
        int oid;
        try (Connection d = warden.direct()) {
            oid = Integer.parseInt(scalar(d, "SELECT '" + type + "'::regtype::oid"));
        }
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Parse("", "SELECT $1", List.of(oid)));
            c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "", List.of(), List.of(value.getBytes()),
                    List.of()));
            c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            return RawClient.errors(c.untilReady());
        }
    }

    /** A domain's check runs for a PL/pgSQL variable declared as a column's type ({@code t.c%TYPE}). */
    @Test
    void aVariableOfAColumnsTypeIsJudged() throws Exception {
        assertEachKept("CREATE TABLE gw_ty (id gw_checked_int); CREATE FUNCTION gw_pct() RETURNS int "
                + "LANGUAGE plpgsql AS $$DECLARE v gw_ty.id%TYPE := 1; BEGIN RETURN 1; END$$", "SELECT gw_pct()");
    }
}
