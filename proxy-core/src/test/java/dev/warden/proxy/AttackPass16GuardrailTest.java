package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.column;
import static dev.warden.proxy.WardenHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 16 over what the server runs for a type: a domain whose CHECK calls gw_wipe(VALUE) (which deletes the
 * ledger row of that id), made directly by the owner; gw_login may only use it. The rule gw-ledger-kept (no DELETE of
 * gw_ledger in prod) must refuse every statement that makes the server check a value of that domain. Each attempt
 * (statements run in order in one session) fills gw_ledger with 3 rows; the server's ledger is read afterwards.
 */
class AttackPass16GuardrailTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        warden.directly("CREATE DOMAIN gw_wd AS int CHECK (public.gw_wipe(VALUE) > 0)",
                "CREATE TYPE gw_wc AS (a gw_wd)",
                "CREATE TABLE gw_plain (v int)", "GRANT SELECT, INSERT ON gw_plain TO gw_login",
                "CREATE TABLE gw_holder (c gw_wc)", "INSERT INTO gw_holder VALUES (NULL)",
                "GRANT SELECT ON gw_holder TO gw_login",
                // What jsonb_populate_record and its kin may be handed a value of the domain through (below).
                "CREATE TYPE gw_wn AS (n gw_wc)", "CREATE TABLE gw_nested (n gw_wn, arr gw_wc[])",
                "INSERT INTO gw_nested VALUES (NULL, '{NULL}')", "GRANT SELECT ON gw_nested TO gw_login",
                "CREATE FUNCTION gw_fill(v anyelement) RETURNS anyelement STABLE LANGUAGE sql "
                        + "AS $$SELECT jsonb_populate_record(v, '{\"a\": 2}')$$",
                "CREATE FUNCTION gw_fill_pl(v anyelement) RETURNS anyelement STABLE LANGUAGE plpgsql "
                        + "AS $$BEGIN RETURN jsonb_populate_record(v, '{\"a\": 2}'); END$$",
                "CREATE EXTENSION hstore",
                // ... and what must still run: composites with no domain, or one whose CHECK calls no user function.
                "CREATE DOMAIN gw_pos AS int CHECK (VALUE > 0)", "CREATE TYPE gw_pc AS (a int)",
                "CREATE TYPE gw_posc AS (a gw_pos)", "CREATE TABLE gw_kept (p gw_pc, q gw_posc)",
                "INSERT INTO gw_kept VALUES (NULL, NULL)", "GRANT SELECT ON gw_kept TO gw_login");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /** Runs each attempt in a session of its own; a line for each that changed gw_ledger on the server. */
    static List<String> changedLedger(String testName, String[][] attempts) throws Exception {
        List<String> changed = new ArrayList<>();
        List<String> shown = new ArrayList<>();
        for (String[] attempt : attempts) {
            warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
            List<String> answers = new ArrayList<>();
            try (Connection c = warden.prod()) {
                for (String sql : attempt) {
                    String error = run(c, sql);
                    answers.add(error == null ? "let it run" : error.replace('\n', ' '));
                }
            }
            String l = warden.ledger();
            String line = String.join(" ;; ", attempt) + "\n    Warden: " + answers + "\n    server's gw_ledger rows/unchanged: " + l;
            shown.add((l.equals("3/3") ? "held    " : "CHANGED ") + line);
            if (!l.equals("3/3")) {
                changed.add(line);
            }
        }
        System.out.println("=== " + testName + "\n" + String.join("\n", shown));
        return changed;
    }

    /**
     * FINDING. A column definition list (of json_to_record and kin, in ROWS FROM, LATERAL) types a column by the
     * domain, and the server checks each value: the CHECK deletes ledger row 2. Warden judges casts that name the
     * domain (SELECT 2::gw_wd is refused) but not a type in a column definition list.
     */
    @Test
    void aColumnDefinitionListChecksItsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("aColumnDefinitionListChecksItsDomain", new String[][] {
            {"SELECT * FROM json_to_record('{\"a\": 2}') AS x(a gw_wd)"},
            {"SELECT * FROM jsonb_to_recordset('[{\"a\": 2}]') AS x(a gw_wd)"},
            {"SELECT * FROM json_to_recordset('[{\"a\": 2}]') AS x(a gw_wd)"},
            {"SELECT * FROM ROWS FROM (json_to_record('{\"a\": 2}') AS (a gw_wd))"},
            {"SELECT * FROM generate_series(1, 1), LATERAL jsonb_to_record('{\"a\": 2}') AS x(a gw_wd)"},
            {"INSERT INTO gw_plain SELECT a FROM json_to_record('{\"a\": 2}') AS x(a gw_wd)"},
        }));
    }

    /**
     * FINDING. A type named in a string: pg_input_is_valid and pg_input_error_info (PostgreSQL 16) run the type's
     * input function, a domain's CHECK included.
     */
    @Test
    void aTypeNamedInAStringIsChecked() throws Exception {
        assertEquals(List.of(), changedLedger("aTypeNamedInAStringIsChecked", new String[][] {
            {"SELECT pg_input_is_valid('2', 'gw_wd')"},
            {"SELECT pg_input_is_valid('(2)', 'gw_wc')"},
            {"SELECT * FROM pg_input_error_info('2', 'public.gw_wd')"},
        }));
    }

    /**
     * FINDING. SQL PREPARE with a parameter of the domain, then EXECUTE (separate statements, or one text): the server
     * converts the EXECUTE's argument to the domain and checks it. README: an SQL EXECUTE "judges its parameters' casts
     * on its own"; the type in PREPARE's parameter list is not read as one.
     */
    @Test
    void anSqlPrepareWithADomainParameterChecksItAtExecute() throws Exception {
        assertEquals(List.of(), changedLedger("anSqlPrepareWithADomainParameterChecksItAtExecute", new String[][] {
            {"PREPARE gp(gw_wd) AS SELECT $1", "EXECUTE gp(2)"},
            {"PREPARE gp2(gw_wd) AS SELECT $1; EXECUTE gp2(2)"},
        }));
    }

    /**
     * FINDING. A temporary table with a column of the domain and an INSERT into it in the same text: the INSERT runs the
     * CHECK. (In two statements the INSERT is refused, see {@link #heldOverTheDomain}.)
     */
    @Test
    void aTableMadeInTheSameTextChecksItsColumnsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("aTableMadeInTheSameTextChecksItsColumnsDomain", new String[][] {
            {"CREATE TEMP TABLE gt2 (a gw_wd); INSERT INTO gt2 VALUES (2)"},
        }));
    }

    /**
     * FINDING. A value of a composite type that holds the domain, read from a table (gw_holder.c, NULL), filled by
     * jsonb_populate_record: the server checks the field it fills. The read of gw_holder is judged with the casts out of
     * its column types, not with what filling a value of them runs.
     */
    @Test
    void aRowReadFromATableAndPopulatedChecksItsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("aRowReadFromATableAndPopulatedChecksItsDomain", new String[][] {
            {"SELECT jsonb_populate_record(c, '{\"a\": 2}') FROM gw_holder"},
            {"SELECT * FROM gw_holder, jsonb_populate_record(c, '{\"a\": 2}')"},
        }));
    }

    /**
     * The same through the kin of jsonb_populate_record and the ways a value of the composite reaches one: a nested
     * composite, an array's element, a whole row, a subquery's or a temporary view's column under another name, a
     * CTE, PostgreSQL 17's jsonb_populate_record_valid, hstore's populate_record, a polymorphic parameter of a body
     * (in a statement, in a PL/pgSQL expression). Each deleted a ledger row while Warden did not type the value
     * filled. Not here: DO blocks, which production refuses whole, and hstore's {@code c #= h}, refused as code
     * Warden cannot read.
     */
    @Test
    void aValueOfTheCompositeReachingAPopulateFunctionAnyWayChecksItsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("aValueOfTheCompositeReachingAPopulateFunctionAnyWayChecksItsDomain",
                new String[][] {
            {"SELECT * FROM gw_holder, json_populate_recordset(c, '[{\"a\": 2}]')"},
            {"SELECT json_populate_record(c, '{\"a\": 2}') FROM gw_holder"},
            {"SELECT jsonb_populate_recordset(c, '[{\"a\": 2}]') FROM gw_holder"},
            {"SELECT jsonb_populate_record_valid(c, '{\"a\": 2}') FROM gw_holder"},
            {"SELECT jsonb_populate_record(n, '{\"n\": {\"a\": 2}}') FROM gw_nested"},
            {"SELECT jsonb_populate_record(arr[1], '{\"a\": 2}') FROM gw_nested"},
            {"SELECT jsonb_populate_record(g, '{\"arr\": [{\"a\": 2}]}') FROM gw_nested g"},
            {"SELECT jsonb_populate_record(h, '{\"c\": {\"a\": 2}}') FROM gw_holder h"},
            {"SELECT jsonb_populate_record(v, '{\"a\": 2}') FROM (SELECT c AS v FROM gw_holder) s"},
            {"SELECT jsonb_populate_record((SELECT c FROM gw_holder), '{\"a\": 2}')"},
            {"WITH w (v) AS (SELECT c FROM gw_holder) SELECT jsonb_populate_record(w.v, '{\"a\": 2}') FROM w"},
            {"SELECT jsonb_populate_record(coalesce(c, NULL), '{\"a\": 2}') FROM gw_holder"},
            {"CREATE TEMP VIEW gw_tv AS SELECT c AS z FROM gw_holder",
                "SELECT jsonb_populate_record(z, '{\"a\": 2}') FROM gw_tv"},
            {"SELECT populate_record(c, 'a=>2') FROM gw_holder"},
            {"SELECT gw_fill(c) FROM gw_holder"},
            {"SELECT gw_fill_pl(c) FROM gw_holder"},
        }));
    }

    /**
     * FINDING (attacker pass 17). A type's input function called by hand takes the type to make by OID, which no cast
     * names: record_in, array_in and domain_in (its result, of type "any", counted) check the domain.
     */
    @Test
    void anInputFunctionGivenTheTypesOidChecksItsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("anInputFunctionGivenTheTypesOidChecksItsDomain", new String[][] {
            {"SELECT record_in('(2)', 'gw_wc'::regtype, -1)"},
            {"SELECT array_in('{2}', 'gw_wd'::regtype, -1)"},
            {"SELECT count(domain_in('2', 'public.gw_wd'::regtype::oid, -1))"},
            {"SELECT count(domain_in('2', t.oid, -1)) FROM pg_type t WHERE t.typname = 'gw_wd'"},
            {"SELECT record_in('(2)', to_regtype('gw_wc'), -1)"},
        }));
    }

    /**
     * FINDING (attacker pass 17). XMLTABLE's columns are typed as a column definition list's are, and the server
     * checks each value against its domain; the first follows COLUMNS, with no parenthesis before it.
     */
    @Test
    void anXmlTablesFirstColumnChecksItsDomain() throws Exception {
        assertEquals(List.of(), changedLedger("anXmlTablesFirstColumnChecksItsDomain", new String[][] {
            {"SELECT * FROM XMLTABLE('/r' PASSING ('<r><a>2</a></r>'::xml) COLUMNS a gw_wd PATH 'a')"},
            {"SELECT * FROM XMLTABLE('/r' PASSING ('<r><a>2</a></r>'::xml) COLUMNS n int PATH 'a', a gw_wd PATH 'a')"},
            {"SELECT * FROM JSON_TABLE('{\"a\": 2}', '$' COLUMNS (a gw_wd PATH '$.a'))"},
        }));
    }

    /**
     * Precision: filling a composite whose fields run no user function (no domain, or a domain whose CHECK is
     * {@code VALUE > 0}) runs, in a database that has gw_wd; the server still checks the built-in CHECK.
     */
    @Test
    void aCompositeWhoseChecksCallNoFunctionIsPopulatedNormally() throws Exception {
        try (Connection c = warden.prod()) {
            assertEquals(List.of("(2)"), column(c, "SELECT jsonb_populate_record(p, '{\"a\": 2}') FROM gw_kept"));
            assertEquals(List.of("(2)"), column(c, "SELECT jsonb_populate_record(q, '{\"a\": 2}') FROM gw_kept"));
            assertEquals(List.of("2"), column(c,
                    "SELECT a FROM gw_kept, json_populate_recordset(q, '[{\"a\": 2}]') WHERE p IS NULL"));
            assertEquals(List.of("(2)"), column(c,
                    "SELECT jsonb_populate_record(v, '{\"a\": 2}') FROM (SELECT q AS v FROM gw_kept) s"));
            String refused = run(c, "SELECT jsonb_populate_record(q, '{\"a\": -1}') FROM gw_kept");
            assertTrue(refused != null && refused.startsWith("23514"), refused);
        }
    }

    /** Held: the temporary table's INSERT as a statement of its own; the table's row type named in a cast. */
    @Test
    void heldOverTheDomain() throws Exception {
        assertEquals(List.of(), changedLedger("heldOverTheDomain", new String[][] {
            {"CREATE TEMP TABLE gt (a gw_wd)", "INSERT INTO gt VALUES (2)"},
            {"SELECT jsonb_populate_record(NULL::gw_holder, '{\"c\": {\"a\": 2}}')"},
        }));
    }

    /** Held (kept: forms the fuzzer's domain trap, a column type, does not reach): casts naming the domain. */
    @Test
    void castsNamingTheDomainAreRefused() throws Exception {
        assertEquals(List.of(), changedLedger("castsNamingTheDomainAreRefused", new String[][] {
            {"SELECT 2::gw_wd"}, {"SELECT CAST('2' AS public.gw_wd)"}, {"SELECT '{2}'::gw_wd[]"},
            {"SELECT ROW(2)::gw_wc"}, {"SELECT '(2)'::gw_wc"}, {"SELECT json_populate_record(NULL::gw_wc, '{\"a\": 2}')"},
            {"SELECT * FROM json_populate_recordset(NULL::gw_wc, '[{\"a\": 2}]')"}, {"SELECT gw_wd '2'"},
            {"SELECT 2::\"gw_wd\""}, {"SELECT 2::GW_WD"}, {"SELECT format('%s', 2)::gw_wd"},
            {"SELECT * FROM unnest('{2}'::gw_wd[])"}, {"CREATE TEMP TABLE gt3 AS SELECT 2::gw_wd AS a"},
        }));
    }
}
