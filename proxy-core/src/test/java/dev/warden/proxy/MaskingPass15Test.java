package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 15 over masking, in {@link MaskingRedTeamTest}'s manner: each test seeds the PII of
 * {@link MaskedAttacker} in a table of its own, attacks as a masked identity through Warden and searches every byte
 * received with {@link MaskedAttacker#seedsIn}. Tests whose javadoc starts with LEAK failed on the code this pass
 * attacked (their javadoc says what came back and why); they pass since its fixes, but for the disabled ones,
 * which stay open. The others are attempts that held, kept as probes.
 */
class MaskingPass15Test {

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

    /** Runs each statement as a masked identity, returns the whole transcript. */
    private static String run(String... sqls) throws Exception {
        StringBuilder all = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            for (String sql : sqls) {
                if (sql.startsWith("SLEEP")) {
                    Thread.sleep(Long.parseLong(sql.substring(5).trim()));
                    continue;
                }
                all.append(">>> ").append(sql).append('\n').append(a.query(sql));
            }
        }
        return all.toString();
    }

    /** Runs attempts (each on its own session); a statement "SLEEP" waits 6 s. Returns leaks, prints transcripts. */
    private static List<String> attempts(String[][] attempts) throws Exception {
        List<String> leaked = new ArrayList<>();
        for (String[] attempt : attempts) {
            StringBuilder all = new StringBuilder();
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                for (String sql : attempt) {
                    if (sql.equals("SLEEP")) { Thread.sleep(6000); continue; }
                    String ans = a.query(sql);
                    all.append(">>> ").append(sql).append('\n').append(ans);
                    if (!seedsIn(ans).isEmpty()) { leaked.add(sql + " -> " + seedsIn(ans)); }
                }
            }
            System.out.println(all);
        }
        return leaked;
    }

    @Test
    void writesThatWouldStoreASensitiveValueInAClearColumnAreRefused() throws Exception {
        seed("b2_people");
        String rd = "translate(%s, '@.-', '   ')";
        String[][] attempts = {
            {"CREATE TABLE b2_u1 (id int primary key, email text, note text)",
             "INSERT INTO b2_u1 (id) VALUES (1), (2), (3)",
             "INSERT INTO b2_u1 (id, email) SELECT id, email FROM b2_people ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.email",
             "SELECT " + rd.formatted("note") + " FROM b2_u1"},
            {"CREATE TABLE b2_u2 (id int primary key, email text, note text[])",
             "INSERT INTO b2_u2 (id) VALUES (1), (2), (3)",
             "UPDATE b2_u2 SET note[1] = p.email FROM b2_people p WHERE p.id = b2_u2.id",
             "SELECT " + rd.formatted("note[1]") + " FROM b2_u2"},
            {"CREATE TABLE b2_u3 (id int primary key, email text, note text[])",
             "INSERT INTO b2_u3 (id, note[1]) SELECT id, email FROM b2_people",
             "SELECT " + rd.formatted("note[1]") + " FROM b2_u3"},
            {"CREATE TYPE b2_ct AS (f text)",
             "CREATE TABLE b2_u4 (id int primary key, email text, note b2_ct)",
             "INSERT INTO b2_u4 (id) VALUES (1), (2), (3)",
             "UPDATE b2_u4 SET note.f = p.email FROM b2_people p WHERE p.id = b2_u4.id",
             "SELECT " + rd.formatted("(note).f") + " FROM b2_u4"},
            {"CREATE TABLE b2_u5 (id int primary key, email text, note text)",
             "INSERT INTO b2_u5 (id) VALUES (1), (2), (3)",
             "UPDATE b2_u5 SET (email, note) = (SELECT p.email, p.email FROM b2_people p WHERE p.id = b2_u5.id)",
             "SELECT " + rd.formatted("note") + " FROM b2_u5"},
            {"CREATE TABLE b2_u6 (id int primary key, email text, note text)",
             "INSERT INTO b2_u6 (id) VALUES (1), (2), (3)",
             "MERGE INTO b2_u6 u USING b2_people p ON u.id = p.id WHEN MATCHED THEN UPDATE SET note = p.email",
             "SELECT " + rd.formatted("note") + " FROM b2_u6"},
            {"CREATE TABLE b2_u7 (id int primary key, email text, note text)",
             "INSERT INTO b2_u7 AS t (email, note) SELECT email, email FROM b2_people",
             "SELECT " + rd.formatted("note") + " FROM b2_u7"},
            {"CREATE TABLE b2_u8 (id int, email text, note text)",
             "INSERT INTO b2_u8 (email, note) VALUES ((SELECT email FROM b2_people WHERE id = 1), 'x'), ('y', (SELECT email FROM b2_people WHERE id = 2))",
             "SELECT " + rd.formatted("note") + " FROM b2_u8"},
            {"CREATE TABLE b2_u9 (id int, email text, note text)",
             "INSERT INTO b2_u9 (email, note) SELECT email, x FROM b2_people, LATERAL (SELECT email) l(x)",
             "SELECT " + rd.formatted("note") + " FROM b2_u9"},
            {"CREATE TABLE b2_u10 (id int primary key, email text, note text)",
             "INSERT INTO b2_u10 (id) VALUES (1), (2), (3)",
             "UPDATE b2_u10 SET email = p.email, note = b2_u10.email FROM b2_people p WHERE p.id = b2_u10.id",
             "UPDATE b2_u10 SET note = email",
             "SELECT " + rd.formatted("note") + " FROM b2_u10"},
        };
        assertEquals(List.of(), attempts(attempts));
    }

    @Test
    void routineBodiesThatRenameAMaskedColumnAreRefusedAtCreation() throws Exception {
        seed("b3_people");
        String rd = "translate(%s, '@.-', '   ')";
        String[][] attempts = {
            {"CREATE TABLE b3_m1 (email text)",
             "INSERT INTO b3_m1 (email) SELECT email FROM b3_people",
             "CREATE FUNCTION b3_r1() RETURNS int LANGUAGE sql AS $$ALTER TABLE b3_m1 RENAME COLUMN email TO x; SELECT 1$$",
             "SELECT b3_r1()",
             "SELECT " + rd.formatted("x") + " FROM b3_m1"},
            {"CREATE TABLE b3_m2 (email text)",
             "INSERT INTO b3_m2 (email) SELECT email FROM b3_people",
             "CREATE FUNCTION b3_r2() RETURNS int LANGUAGE plpgsql AS $$BEGIN ALTER TABLE b3_m2 RENAME COLUMN email TO x; RETURN 1; END$$",
             "SELECT b3_r2()",
             "SELECT " + rd.formatted("x") + " FROM b3_m2"},
            {"CREATE TABLE b3_m3 (email text)",
             "INSERT INTO b3_m3 (email) SELECT email FROM b3_people",
             "CREATE PROCEDURE b3_p3() LANGUAGE sql AS $$ALTER TABLE b3_m3 RENAME COLUMN email TO x$$",
             "CALL b3_p3()",
             "SELECT " + rd.formatted("x") + " FROM b3_m3"},
            {"CREATE TABLE b3_t4 (a text)",
             "CREATE RULE \"_RETURN\" AS ON SELECT TO b3_t4 DO INSTEAD SELECT translate(email, '@.-', '   ') AS a FROM b3_people",
             "SELECT a FROM b3_t4"},
            {"CREATE TABLE b3_t5 (a text)",
             "SELECT a FROM b3_t5",
             "CREATE RULE \"_RETURN\" AS ON SELECT TO b3_t5 DO INSTEAD SELECT translate(email, '@.-', '   ') AS a FROM b3_people",
             "SELECT a FROM b3_t5"},
        };
        assertEquals(List.of(), attempts(attempts));
    }

    @Test
    void setOperationsAndJoinsOverClearAndSensitiveArmsAreMasked() throws Exception {
        seed("b4_people");
        direct("CREATE TABLE b4_clear (id int, note text)");
        direct("INSERT INTO b4_clear VALUES (1, 'kettle')");
        direct("GRANT ALL ON b4_clear TO PUBLIC");
        String t = "translate(email, '@.-', '   ')";
        String[][] attempts = {
            {"SELECT c.note FROM b4_clear c UNION ALL SELECT " + t + " FROM b4_people"},
            {"SELECT note FROM b4_clear UNION ALL SELECT " + t + " FROM b4_people"},
            {"WITH x AS (SELECT note FROM b4_clear UNION ALL SELECT " + t + " FROM b4_people) SELECT note FROM x"},
            {"SELECT x.note FROM (SELECT note FROM b4_clear UNION ALL SELECT " + t + " FROM b4_people) x"},
            {"WITH RECURSIVE r(note, n) AS (SELECT note, 1 FROM b4_clear UNION ALL SELECT " + t + ", 2 FROM b4_people WHERE false) SELECT note FROM r"},
            {"SELECT note FROM b4_clear c, LATERAL (SELECT " + t + " AS note2 FROM b4_people) p ORDER BY 1"},
            {"SELECT (SELECT note FROM b4_clear LIMIT 1) || '' FROM b4_people"},
            {"SELECT COALESCE(c.note, " + t + ") FROM b4_people p LEFT JOIN b4_clear c ON false"},
            {"SELECT note FROM b4_clear c RIGHT JOIN (SELECT " + t + " AS note FROM b4_people) p USING (note)"},
            {"SELECT note FROM b4_clear c FULL JOIN (SELECT " + t + " AS note FROM b4_people) p USING (note)"},
            {"SELECT note FROM b4_clear c NATURAL FULL JOIN (SELECT " + t + " AS note FROM b4_people) p"},
        };
        assertEquals(List.of(), attempts(attempts));
    }

    @Test
    void wholeRowSpellingsAreMasked() throws Exception {
        seed("b5_people");
        String[][] attempts = {
            {"SELECT translate(to_jsonb(b5_people)::text, '@.-', '   ') FROM b5_people"},
            {"SELECT translate(x::text, '@.-', '   ') FROM b5_people, LATERAL to_jsonb(b5_people) x"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people p"},
            {"SELECT translate(\"P\"::text, '@.-', '   ') FROM b5_people \"P\""},
            {"SELECT translate(U&\"\\0070\"::text, '@.-', '   ') FROM b5_people AS p"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people AS U&\"\\0070\""},
            {"SELECT translate(ROW(p.*)::text, '@.-', '   ') FROM b5_people p"},
            {"SELECT translate(s::text, '@.-', '   ') FROM (TABLE b5_people) s"},
            {"SELECT translate(j::text, '@.-', '   ') FROM b5_people JOIN b5_people q USING (id) AS j"},
            {"SELECT translate(q::text, '@.-', '   ') FROM b5_people, LATERAL (SELECT b5_people) q"},
            {"SELECT translate(p::text, '@.-', '   ') FROM public . b5_people p"},
            {"SELECT translate(p::text, '@.-', '   ') FROM ONLY b5_people p"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people p TABLESAMPLE SYSTEM (100)"},
            {"SELECT translate(p::text, '@.-', '   ') FROM (b5_people p)"},
            {"SELECT translate(p::text, '@.-', '   ') FROM ((b5_people) AS p)"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people p WHERE p IS NOT NULL"},
            {"SELECT translate(array_agg(p)::text, '@.-', '   ') FROM b5_people p"},
            {"SELECT translate(b5_people::text, '@.-', '   ') FROM b5_people"},
            {"SELECT translate(\"b5_people\"::text, '@.-', '   ') FROM b5_people"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people /* x */ p"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people\np"},
            {"SELECT translate((SELECT p::text), '@.-', '   ') FROM b5_people p"},
            {"SELECT translate(p.*::text, '@.-', '   ') FROM b5_people p"},
            {"SELECT translate(format('%s', p), '@.-', '   ') FROM b5_people p"},
            {"WITH w AS MATERIALIZED (SELECT 1) SELECT translate(p::text, '@.-', '   ') FROM w, b5_people p"},
            {"SELECT translate(r::text, '@.-', '   ') FROM b5_people AS r(id)"},
            {"SELECT translate(x::text, '@.-', '   ') FROM b5_people p CROSS JOIN LATERAL (VALUES (p)) v(x)"},
            {"SELECT translate(p::text, '@.-', '   ') FROM b5_people p FOR UPDATE"}
        };
        assertEquals(List.of(), attempts(attempts));
    }


    // ------------------------------------------------------------------------------------------------------------
    // LEAKS (each test below fails on current code)
    // ------------------------------------------------------------------------------------------------------------

    /**
     * LEAK. A typed table's column names are its composite type's attribute names: ALTER TYPE ... RENAME ATTRIBUTE
     * ... CASCADE renames the table's columns without naming the table. The attacker makes a typed table whose
     * columns are named email and ssn (masked by name), copies the seeded values in as they are (allowed: a copy
     * into a masked column), renames the type's attributes to a and b (the ALTER TYPE names no relation, so it is
     * not sensitive and not refused as a rename), and reads a and b, now clear columns of a table with no masked
     * column: every e-mail and SSN comes back (translate/reverse only defeat value detection).
     */
    @Test
    void aTypedTablesMaskedColumnRenamedThroughItsTypeComesOutClear() throws Exception {
        seed("ty_people");
        String out = run(
                "CREATE TYPE ty_ct AS (email text, ssn text)",
                "CREATE TABLE ty_typed OF ty_ct",
                "INSERT INTO ty_typed (email, ssn) SELECT email, ssn FROM ty_people",
                "ALTER TYPE ty_ct RENAME ATTRIBUTE email TO a CASCADE",
                "ALTER TYPE ty_ct RENAME ATTRIBUTE ssn TO b CASCADE",
                "SELECT translate(a, '@.-', '   ') AS x, reverse(b) AS y FROM ty_typed");
        // The same for a plain table made typed afterwards (ALTER TABLE ... OF names no sensitive column).
        out += run(
                "CREATE TABLE ty_plain (email text)",
                "INSERT INTO ty_plain (email) SELECT email FROM ty_people",
                "CREATE TYPE ty_pt AS (email text)",
                "ALTER TABLE ty_plain OF ty_pt",
                "ALTER TYPE ty_pt RENAME ATTRIBUTE email TO c CASCADE",
                "SELECT translate(c, '@.-', '   ') AS z FROM ty_plain");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK. A generated column declared in CREATE TABLE (before the table holds anything, so the CREATE names no
     * sensitive relation) computes from a column named email; the copy of the seeded e-mails into that column as
     * they are is allowed, and the server computes the generated column from them. Reading the generated column
     * (named g: no detector) returns translate(email, ...) in clear; so does the server's "Failing row contains"
     * detail of a CHECK violation by an UPDATE that names no sensitive column (only its email field is redacted,
     * by value detection). Only ALTER TABLE ... ADD COLUMN ... GENERATED over a masked column is refused.
     */
    @Test
    void aGeneratedColumnDeclaredBeforeTheCopyComesOutClear() throws Exception {
        seed("gd_people");
        String out = run(
                "CREATE TABLE gd_own (email text, g text GENERATED ALWAYS AS (translate(email, '@.-', '   ')) STORED, "
                        + "n int CHECK (n < 10))",
                "INSERT INTO gd_own (email) SELECT email FROM gd_people",
                "SELECT g FROM gd_own",
                "SELECT * FROM gd_own",
                "UPDATE gd_own SET n = 100");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK. A unique index on an expression over a column named email of the attacker's own table (made before the
     * table holds anything), the seeded e-mails copied into it as they are, twice (n = 1, then NULL): an UPDATE that
     * names no sensitive column makes two rows collide, and the server's duplicate-key detail echoes the existing
     * key, the index expression's value: "Key (translate(email, ...), n)=(zq feather quixmail example, 2) already
     * exists". The UPDATE is judged not sensitive, so the detail is only value-scanned.
     */
    @Test
    void aUniqueExpressionIndexEchoesAStoredValueInClear() throws Exception {
        seed("ui_people");
        String out = run(
                "CREATE TABLE ui_own (email text, n int)",
                "CREATE UNIQUE INDEX ui_own_k ON ui_own ((translate(email, '@.-', '   ')), n)",
                "INSERT INTO ui_own (email) SELECT email FROM ui_people",
                "UPDATE ui_own SET n = 1 WHERE n IS NULL",
                "INSERT INTO ui_own (email) SELECT email FROM ui_people",
                "UPDATE ui_own SET n = 2");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK (needs the upstream login to be a superuser, as WardenHarness's is: allow_superuser). An UPDATE of
     * pg_attribute with the table and column named only by concatenations renames the seeded table's email column;
     * the UPDATE names no sensitive relation or column, so it runs, and the renamed column is read in clear.
     */
    @Test
    void aSuperuserCatalogUpdateRenamesTheSeededColumn() throws Exception {
        seed("pa_people");
        String out = run(
                "UPDATE pg_attribute SET attname = 'zz' || 'a' WHERE attrelid = ('pa_' || 'people')::regclass "
                        + "AND attname = 'em' || 'ail'",
                "SELECT translate(zza, '@.-', '   ') FROM pa_people");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * DOCUMENTED LIMIT (README: "dynamic SQL and DO blocks that never name a sensitive column (names assembled by
     * concatenation) run, and what they print is only value-scanned"), shown for completeness: the RAISE NOTICE
     * carries every seeded e-mail.
     */
    @Test
    @org.junit.jupiter.api.Disabled("a documented limit (README: DO blocks and dynamic SQL that never name a sensitive column)")
    void aDoBlockWithConcatenatedNamesRaisesClearValues() throws Exception {
        seed("dc_people");
        String out = run("DO $$DECLARE r text; BEGIN EXECUTE 'SELECT string_agg(translate(em' || 'ail, ''@.-'', "
                + "''   ''), '','') FROM dc_pe' || 'ople' INTO r; RAISE NOTICE '%', r; END$$");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK, simplest form of the error-detail channel: a value computed from a sensitive read may be stored in a
     * column masked with redact (only email, partial, hash and tokenize columns refuse computed values), here
     * translate(email, ...) into the attacker's own table's ssn column. Reading ssn is masked, but a later UPDATE
     * of that table names no sensitive column, so it is judged not sensitive and its error's detail is only
     * value-scanned: "Failing row contains (zq feather quixmail example, 100)" for a CHECK violation and
     * "Key (n, ssn)=(3, zq feather quixmail example) already exists" for a unique one.
     */
    @Test
    void aConstraintErrorOfAClearWriteEchoesAComputedValueStoredInARedactedColumn() throws Exception {
        seed("ce_people");
        String t = "translate(email, '@.-', '   ')";
        String out = run(
                "CREATE TABLE ce_own (ssn text, n int CHECK (n < 10), UNIQUE (n, ssn))",
                "INSERT INTO ce_own (ssn, n) SELECT " + t + ", 1 FROM ce_people",
                "SELECT ssn FROM ce_own",
                "UPDATE ce_own SET n = 100",
                "INSERT INTO ce_own (ssn, n) SELECT " + t + ", 2 FROM ce_people",
                "UPDATE ce_own SET n = 3");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK, the same channel through a partition key: an expression over the attacker's own email column (copied
     * in as it is) in the partition key, and an UPDATE naming no sensitive column that moves a row where no
     * partition takes it: "Partition key of the failing row contains (n, translate(email, ...)) = (5, zq feather
     * quixmail example)".
     */
    @Test
    void aPartitionKeyErrorOfAClearWriteEchoesAStoredValue() throws Exception {
        seed("pk_people");
        String out = run(
                "CREATE TABLE pk_own (email text, n int) PARTITION BY RANGE (n, (translate(email, '@.-', '   ')))",
                "CREATE TABLE pk_own1 PARTITION OF pk_own FOR VALUES FROM (1, MINVALUE) TO (2, MINVALUE)",
                "INSERT INTO pk_own (email, n) SELECT email, 1 FROM pk_people",
                "UPDATE pk_own SET n = 5");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * LEAK. A materialized view stores the rows its definition computed when it was made (or refreshed), but it is
     * judged by what its definition reaches now. Made over a view that reads translate(email, ...), it holds the
     * translated e-mails; CREATE OR REPLACE VIEW then gives that view a clear definition with the same column (the
     * materialized view's stored rows do not change), and reading the materialized view is judged clear: every
     * e-mail comes back. Likewise with a function its definition calls, replaced after a REFRESH. Closed: a
     * materialized view whose rows may predate such a change is masked whole (see MaterializedViewStaleRowsTest).
     */
    @Test
    void aMaterializedViewKeepsRowsAViewItReadsNoLongerComputes() throws Exception {
        seed("mx_people");
        String t = "translate(email, '@.-', '   ')";
        String out = run(
                "CREATE VIEW mx_v AS SELECT " + t + " AS x FROM mx_people",
                "CREATE MATERIALIZED VIEW mx_mv AS SELECT x FROM mx_v",
                "SELECT x FROM mx_mv",
                "CREATE OR REPLACE VIEW mx_v AS SELECT 'a'::text AS x",
                "SELECT x FROM mx_mv");
        out += run(
                "CREATE FUNCTION mx_f() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$",
                "CREATE MATERIALIZED VIEW mx_mf AS SELECT mx_f() AS x",
                "CREATE OR REPLACE FUNCTION mx_f() RETURNS text LANGUAGE sql AS $$SELECT string_agg(" + t
                        + ", ',') FROM public.mx_people$$",
                "REFRESH MATERIALIZED VIEW mx_mf",
                "CREATE OR REPLACE FUNCTION mx_f() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$",
                "SELECT x FROM mx_mf");
        System.out.println(out);
        assertNoSeed(out);
    }

    /**
     * Precision for the fix of the race below: another session's open transaction makes only what its DDL changed
     * judged with care, and a replacement that reads nothing sensitive leaves the function clear; its rollback
     * ends the care.
     */
    @Test
    void anotherSessionsOpenDdlLeavesWhatItDoesNotChangeClear() throws Exception {
        seed("oc_people");
        String t = "translate(email, '@.-', '   ')";
        // B is exempt: a masked identity may not replace a function with one that reads masked values at all.
        try (MaskedAttacker a = new MaskedAttacker(warden);
             MaskedAttacker b = new MaskedAttacker(warden, "dev", MaskedAttacker.exemptToken(warden))) {
            a.query("CREATE FUNCTION oc_f() RETURNS text LANGUAGE sql AS $$SELECT 'first-oc'::text$$");
            a.query("CREATE FUNCTION oc_g() RETURNS text LANGUAGE sql AS $$SELECT 'gee-oc'::text$$");
            b.query("BEGIN");
            b.query("CREATE OR REPLACE FUNCTION oc_g() RETURNS text LANGUAGE sql AS $$SELECT string_agg(" + t
                    + ", ',') FROM public.oc_people$$");
            String untouched = a.query("SELECT oc_f() AS v");
            b.query("CREATE OR REPLACE FUNCTION oc_f() RETURNS text LANGUAGE sql AS $$SELECT 'second-oc'::text$$");
            String clearReplacement = a.query("SELECT oc_f() AS v");
            String replaced = a.query("SELECT oc_g() AS v");
            b.query("ROLLBACK");
            String afterRollback = a.query("SELECT oc_g() AS v");

            assertTrue(untouched.contains("first-oc"), untouched);
            assertTrue(clearReplacement.contains("first-oc"), clearReplacement);
            assertFalse(replaced.contains("gee-oc"), "judged with what the open transaction may commit: " + replaced);
            assertTrue(afterRollback.contains("gee-oc"), afterRollback);
        }
    }

    /**
     * LEAK, RACY (two masked sessions, both through Warden). Session B replaces a clear SQL function with one that
     * reads translate(email, ...) inside an open transaction and locks a clear table; session A at once runs
     * SELECT f() FROM that table; A waits on B's lock during parse analysis, B commits, and the server plans A's
     * statement with the new body. When Warden judged A's statement before it learnt of B's DDL, by the committed
     * clear body, every e-mail came back in clear; otherwise A's answer is masked. Tried 12 times, each with its own
     * function and table; the test fails if any round leaked (and prints how many did). It leaked in 5 of 12 rounds
     * before the fix (2026-12-04): Warden now judges a statement with what other sessions' open transactions changed
     * (CatalogCache#openDdlElsewhere), published before their DDL reaches the server.
     */
    @Test
    void aReadWaitingOnAnotherSessionsFunctionReplacementRunsTheNewBodyJudgedClear() throws Exception {
        seed("rc_people");
        String t = "translate(email, '@.-', '   ')";
        StringBuilder all = new StringBuilder();
        int leakedRounds = 0;
        for (int k = 0; k < 12; k++) {
            String f = "rc_f" + k;
            String lock = "rc_lock" + k;
            StringBuilder round = new StringBuilder();
            // B is exempt: a masked identity may not replace a function with one that reads masked values at all.
            try (MaskedAttacker a = new MaskedAttacker(warden);
                 MaskedAttacker b = new MaskedAttacker(warden, "dev", MaskedAttacker.exemptToken(warden))) {
                clearFunctionOver(a, f, lock, round);
                round.append(b.query("BEGIN"));
                round.append(b.query("CREATE OR REPLACE FUNCTION " + f + "() RETURNS text LANGUAGE sql AS $$SELECT "
                        + "string_agg(" + t + ", ',') FROM public.rc_people$$"));
                round.append(b.query("LOCK TABLE " + lock + " IN ACCESS EXCLUSIVE MODE"));
                a.send(new FrontendMessage.Query("SELECT " + f + "() AS v FROM " + lock));
                Thread.sleep(700);
                round.append(b.query("COMMIT"));
                round.append(">>> A's answer, round ").append(k).append('\n').append(a.untilReady());
            }
            leakedRounds += seedsIn(round.toString()).isEmpty() ? 0 : 1;
            all.append(round);
        }
        System.out.println("rounds leaked: " + leakedRounds + "/12\n" + all);
        assertNoSeed(all.toString());
    }

    /** {@code lock}, a table of one row, and {@code f()}, a clear function, read once over it by {@code a}. */
    private static void clearFunctionOver(MaskedAttacker a, String f, String lock, StringBuilder round)
            throws Exception {
        round.append(a.query("CREATE TABLE " + lock + " (id int)"));
        round.append(a.query("INSERT INTO " + lock + " VALUES (1)"));
        round.append(a.query("CREATE FUNCTION " + f + "() RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$"));
        round.append(a.query("SELECT " + f + "() FROM " + lock));
    }

    /**
     * The lock first, then the DDL: B locks the table, A's SELECT of {@code f()} from it is judged with nothing open
     * elsewhere (f's committed body is clear) and waits on the lock; B then replaces f to read the e-mails and
     * commits. The server plans A's statement with the new body. Its answer was masked before too (results are
     * judged when they come, with B's DDL still open or the catalog dropped), but the statement ran; now B's COMMIT
     * first has it cancelled on the server (57014, 0 of 4 rounds before), and A's next run of it is judged with
     * the new body and masked.
     */
    @Test
    void aReadWaitingOnALockTakenBeforeTheReplacementIsCancelledAtTheCommit() throws Exception {
        seed("lf_people");
        String t = "translate(email, '@.-', '   ')";
        StringBuilder all = new StringBuilder();
        int cancelled = 0;
        for (int k = 0; k < 4; k++) {
            String f = "lf_f" + k;
            String lock = "lf_lock" + k;
            StringBuilder round = new StringBuilder();
            // B is exempt: a masked identity may not replace a function with one that reads masked values at all.
            try (MaskedAttacker a = new MaskedAttacker(warden);
                 MaskedAttacker b = new MaskedAttacker(warden, "dev", MaskedAttacker.exemptToken(warden))) {
                clearFunctionOver(a, f, lock, round);
                round.append(b.query("BEGIN"));
                round.append(b.query("LOCK TABLE " + lock + " IN ACCESS EXCLUSIVE MODE"));
                a.send(new FrontendMessage.Query("SELECT " + f + "() AS v FROM " + lock));
                Thread.sleep(500);
                round.append(b.query("CREATE OR REPLACE FUNCTION " + f + "() RETURNS text LANGUAGE sql AS $$SELECT "
                        + "string_agg(" + t + ", ',') FROM public.lf_people$$"));
                String commit = b.query("COMMIT");
                round.append(commit);
                String answer = a.untilReady();
                round.append(">>> A's answer, round ").append(k).append('\n').append(answer);
                cancelled += answer.contains("57014") ? 1 : 0;
                assertTrue(commit.contains("CCOMMIT"), commit);
                String again = a.query("SELECT " + f + "() AS v FROM " + lock);
                round.append(">>> again\n").append(again);
                assertTrue(again.contains("SELECT 1") && again.contains("[redacted]"), again);
            }
            all.append(round);
        }
        System.out.println("rounds cancelled: " + cancelled + "/4\n" + all);
        assertNoSeed(all.toString());
        assertEquals(4, cancelled, all.toString());
    }

    /**
     * Precision: a PL/pgSQL function that only OPENs a cursor (a refcursor it returns) cannot take a name in use, so
     * the session's own cursor stays known and its clear rows come back as they are, not masked whole.
     */
    @Test
    void aFunctionThatOnlyOpensACursorLeavesTheSessionsCursorsKnown() throws Exception {
        seed("op_people");
        String out = run("CREATE FUNCTION op_r() RETURNS refcursor LANGUAGE plpgsql AS $$DECLARE c refcursor; "
                        + "BEGIN OPEN c FOR SELECT 'x'::text; RETURN c; END$$",
                "BEGIN",
                "DECLARE opc CURSOR FOR SELECT 'kept-in-clear'::text AS v",
                "SELECT op_r() IS NOT NULL AS opened",
                "FETCH ALL FROM opc",
                "COMMIT");
        System.out.println(out);
        assertTrue(out.contains("kept-in-clear"), out);
    }

    @Test
    void aRoutineBodyReplacesAPreparedStatementOrCursorWardenJudgedClear() throws Exception {
        seed("pq_people");
        String t = "translate(email, '@.-', '   ')";
        String[][] attempts = {
            {"PREPARE pq AS SELECT 'a'::text AS v",
             "CREATE FUNCTION pq_f() RETURNS int LANGUAGE sql AS $$DEALLOCATE pq; PREPARE pq AS SELECT " + t + " AS v FROM pq_people; SELECT 1$$",
             "SELECT pq_f()",
             "EXECUTE pq"},
            {"PREPARE pq2 AS SELECT 'a'::text AS v",
             "CREATE PROCEDURE pq_p() LANGUAGE sql AS $$DEALLOCATE pq2; PREPARE pq2 AS SELECT " + t + " AS v FROM pq_people$$",
             "CALL pq_p()",
             "EXECUTE pq2"},
            {"BEGIN",
             "DECLARE pc CURSOR FOR SELECT 'a'::text AS v",
             "CREATE FUNCTION pq_c() RETURNS int LANGUAGE sql AS $$CLOSE pc; DECLARE pc CURSOR FOR SELECT " + t + " AS v FROM pq_people; SELECT 1$$",
             "SELECT pq_c()",
             "FETCH ALL FROM pc"},
            // PL/pgSQL, no dynamic SQL: CLOSE and OPEN of a refcursor variable holding the top-level cursor's name.
            {"BEGIN",
             "DECLARE pcx CURSOR FOR SELECT 'a'::text AS v",
             "CREATE FUNCTION pq_g() RETURNS int LANGUAGE plpgsql AS $$DECLARE c refcursor := 'pcx'; BEGIN CLOSE c; "
                     + "OPEN c FOR SELECT " + t + " AS v FROM pq_people; RETURN 1; END$$",
             "SELECT pq_g()",
             "FETCH ALL FROM pcx"},
        };
        assertEquals(List.of(), attempts(attempts));
    }

    @Test
    void routineBodiesThatShadowOrReplaceAViewAreFollowed() throws Exception {
        seed("bd_people");
        direct("CREATE TABLE bd_clear (note text)");
        direct("INSERT INTO bd_clear VALUES ('kettle')");
        direct("GRANT ALL ON bd_clear TO PUBLIC");
        String t = "translate(email, '@.-', '   ')";
        String[][] attempts = {
            {"SELECT note FROM bd_clear",
             "CREATE FUNCTION bd_f() RETURNS int LANGUAGE sql AS $$CREATE TEMP VIEW bd_clear AS SELECT " + t + " AS note FROM public.bd_people; SELECT 1$$",
             "SELECT bd_f()",
             "SELECT note FROM bd_clear"},
            {"CREATE VIEW bd_v AS SELECT 'a'::text AS note",
             "SELECT note FROM bd_v",
             "CREATE FUNCTION bd_g() RETURNS int LANGUAGE sql AS $$CREATE OR REPLACE VIEW bd_v AS SELECT " + t + " AS note FROM public.bd_people; SELECT 1$$",
             "SELECT bd_g()",
             "SELECT note FROM bd_v"},
            {"CREATE VIEW bd_w AS SELECT 'a'::text AS note",
             "SELECT note FROM bd_w",
             "CREATE PROCEDURE bd_p() LANGUAGE sql AS $$CREATE OR REPLACE VIEW bd_w AS SELECT " + t + " AS note FROM public.bd_people$$",
             "CALL bd_p()",
             "SELECT note FROM bd_w"},
        };
        assertEquals(List.of(), attempts(attempts));
    }

    @Test
    void aReadWaitingOnAViewReplacedToCallASensitiveFunctionIsMasked() throws Exception {
        seed("lv_people");
        String t = "translate(email, '@.-', '   ')";
        StringBuilder all = new StringBuilder();
        try (MaskedAttacker a = new MaskedAttacker(warden); MaskedAttacker b = new MaskedAttacker(warden)) {
            all.append(a.query("CREATE FUNCTION lv_f() RETURNS text LANGUAGE sql AS $$SELECT string_agg(" + t
                    + ", ',') FROM public.lv_people$$"));
            all.append(a.query("CREATE VIEW lv_v AS SELECT 'x'::text AS e"));
            all.append(">>> B first\n").append(b.query("SELECT e FROM lv_v"));
            all.append(a.query("BEGIN"));
            all.append(a.query("CREATE OR REPLACE VIEW lv_v AS SELECT lv_f() AS e"));
            b.send(new FrontendMessage.Query("SELECT e FROM lv_v"));
            Thread.sleep(700);
            all.append(a.query("COMMIT"));
            all.append(">>> B's answer\n").append(b.untilReady());
        }
        System.out.println(all);
        assertNoSeed(all.toString());
    }
}
