package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.RawClient.errors;
import static dev.warden.proxy.RawClient.values;
import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An attacker's review of how Warden names what a statement reaches, against how the server resolves it: a
 * table along the session's {@code search_path} or with the database's name before it, a name longer than the
 * 63 bytes the server keeps in the policy, a cursor's name, and the functions that read relations or cursors
 * named by a value ({@code database_to_xml}, {@code cursor_to_xml}). Each test runs the attack on the real
 * server through Warden, as a masked identity, and asserts what PostgreSQL ran or returned.
 *
 * <p>The sessions log in as {@code nr_login}, no superuser, with the privileges each attack needs: only Warden's
 * rules stand between the session and the rows.
 */
class NameResolutionThroughWardenTest {

    static WardenHarness warden;
    /** A column name as the policy and a migration write it: 70 bytes, of which the server keeps 63. */
    static final String LONG_COLUMN = "kestrel_reference_of_the_customer_as_written_in_the_migration_file_abc";
    static final String LONG_TABLE = "nr_ledger_entries_of_the_customer_as_written_in_the_migration_abcdef";
    static final String SECRET = "kestrel-4471";

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE nr_login LOGIN");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: nr_login, tls: require }
                    allow: [ { groups: [eng] } ]
                  staging:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: nr_login, tls: require }
                    allow: [ { groups: [eng] } ]
                """, """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                  rules:
                    - { column: public.nr_long.%s, strategy: redact }
                    - { column: nr_alt.nr_docs.body, strategy: redact }
                    - { column: public.nr_owned.note, strategy: redact }
                    - { column: nr_mine.nr_kept.note, strategy: redact }
                    - { column: public.nr_events.note, strategy: redact }
                    - { column: public.nr_child.note, strategy: redact }
                    - { column: public.nr_copied.note, strategy: redact }
                guardrails:
                  rules:
                    - { name: nr-billing-kept, environments: [prod], match: { statements: [DELETE], tables: ["nr_billing.*"] }, action: block }
                    - { name: nr-ledger-kept, environments: [prod], match: { statements: [DELETE], tables: [public.nr_ledger] }, action: block }
                    - { name: nr-long-kept, environments: [prod], match: { statements: [DELETE], tables: [%s] }, action: block }
                """.formatted(LONG_COLUMN, LONG_TABLE));
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("GRANT CREATE ON DATABASE \"" + warden.database + "\" TO nr_login");
            s.execute("GRANT CREATE ON SCHEMA public TO nr_login");
            s.execute("CREATE SCHEMA nr_billing");
            s.execute("GRANT USAGE ON SCHEMA nr_billing TO nr_login");
            // A table of the same name where the default search_path finds it: a statement parsed with that path
            // reads it, until the path changes.
            s.execute("CREATE TABLE nr_invoices (id int, total int)");
            s.execute("GRANT SELECT, DELETE ON nr_invoices TO nr_login");
            s.execute("CREATE TABLE nr_notes (id int)");
            s.execute("GRANT SELECT, DELETE ON nr_notes TO nr_login");
            // The server cuts the long names to 63 bytes (with a NOTICE), as it does in a migration.
            for (String table : KEPT_TABLES) {
                s.execute("CREATE TABLE " + table + " (id int, total int)");
                s.execute("GRANT SELECT, DELETE ON " + table + " TO nr_login");
            }
            s.execute("CREATE TABLE nr_long (id int, " + LONG_COLUMN + " text)");
            s.execute("INSERT INTO nr_long VALUES (1, '" + SECRET + "')");
            s.execute("GRANT SELECT ON nr_long TO nr_login");
            // Two tables of one name: public's is clear, nr_alt's sensitive by a column: rule. A trigger on nr_trig
            // points the session's search_path at nr_alt.
            s.execute("CREATE SCHEMA nr_alt");
            s.execute("GRANT USAGE ON SCHEMA nr_alt TO nr_login");
            s.execute("CREATE TABLE nr_docs (body text)");
            s.execute("INSERT INTO nr_docs VALUES ('public-note')");
            s.execute("CREATE TABLE nr_alt.nr_docs (body text)");
            s.execute("INSERT INTO nr_alt.nr_docs VALUES ('" + SECRET + "')");
            s.execute("GRANT SELECT ON nr_docs, nr_alt.nr_docs TO nr_login");
            s.execute("CREATE TABLE nr_trig (id int)");
            s.execute("GRANT INSERT ON nr_trig TO nr_login");
            s.execute("CREATE FUNCTION nr_path_trigger() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM set_config('search_path', 'nr_alt, public', false); RETURN NEW; END$$");
            s.execute("CREATE TRIGGER nr_path BEFORE INSERT ON nr_trig FOR EACH ROW EXECUTE FUNCTION nr_path_trigger()");
            // Sensitive by its name (masking's defaults); the value looks like nothing a value detector knows.
            s.execute("CREATE TABLE nr_people (id int, ssn text)");
            s.execute("INSERT INTO nr_people VALUES (1, '" + SECRET + "')");
            s.execute("GRANT SELECT ON nr_people TO nr_login");
        }
    }

    /** The tables the guardrail tests try to delete from; each has three rows before every test. */
    static final List<String> KEPT_TABLES = List.of("nr_billing.nr_invoices", "nr_ledger", LONG_TABLE);

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            for (String table : KEPT_TABLES) {
                s.execute("TRUNCATE " + table);
                s.execute("INSERT INTO " + table + " SELECT g, g FROM generate_series(1, 3) g");
            }
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static Connection prod() throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple");
    }

    private static int rows(String table) throws SQLException {
        try (Connection c = warden.direct()) {
            return Integer.parseInt(scalar(c, "SELECT count(*) FROM " + table));
        }
    }

    /** {@code sql} is refused by {@code rule}, and {@code table} keeps its three rows. */
    private static void assertDeleteRefused(Connection c, String sql, String rule, String table) throws SQLException {
        String error = run(c, sql);
        assertEquals(3, rows(table), "PostgreSQL deleted rows of " + table + " with " + sql + " ("
                + (error == null ? "Warden let it run" : error) + ")");
        assertTrue(error != null && error.startsWith("42501") && error.contains("\"" + rule + "\""),
                sql + " must be refused by rule " + rule + ", got: " + error);
    }

    // ---- guardrails: which table a name means ---------------------------------------------------------

    /**
     * A rule on {@code nr_billing.*} holds for an unqualified name the session's search_path resolves into
     * nr_billing: the server deletes from nr_billing.nr_invoices whichever way the path was set.
     */
    @Test
    void aGuardrailOnASchemaHoldsForANameTheSearchPathResolvesIntoIt() throws SQLException {
        try (Connection c = prod()) {
            assertDeleteRefused(c, "DELETE FROM nr_billing.nr_invoices WHERE id = 1", "nr-billing-kept",
                    "nr_billing.nr_invoices");
            assertDeleteRefused(c, "SET search_path = nr_billing; DELETE FROM nr_invoices WHERE id = 1",
                    "nr-billing-kept", "nr_billing.nr_invoices");
        }
        try (Connection c = prod()) {
            assertEquals(null, run(c, "SET search_path = nr_billing, public"));
            assertDeleteRefused(c, "DELETE FROM nr_invoices WHERE id = 1", "nr-billing-kept", "nr_billing.nr_invoices");
        }
        try (Connection c = prod()) {
            assertEquals(null, run(c, "SELECT set_config('search_path', 'nr_billing', false)"));
            assertDeleteRefused(c, "DELETE FROM nr_invoices WHERE id = 1", "nr-billing-kept", "nr_billing.nr_invoices");
            // A function's own SET clause: its body is judged where it is written, and where it runs.
            assertDeleteRefused(c, "CREATE FUNCTION nr_wipe() RETURNS void LANGUAGE sql SET search_path = nr_billing "
                    + "AS 'DELETE FROM nr_invoices WHERE id = 1'", "nr-billing-kept", "nr_billing.nr_invoices");
            // A name no guarded schema holds is not held by the rule.
            assertEquals(null, run(c, "DELETE FROM public.nr_notes WHERE id = 1"));
            assertEquals(null, run(c, "SET search_path = public; DELETE FROM nr_notes WHERE id = 2"));
        }
    }

    /**
     * A statement prepared while the search_path reaches no guarded schema is planned again by the server when
     * it runs after the path changed: it then deletes from nr_billing.
     */
    @Test
    void aGuardrailOnASchemaHoldsForAStatementPreparedBeforeTheSearchPathChanged() throws Exception {
        try (RawClient c = login()) {
            c.send(new FrontendMessage.Parse("nr_del", "DELETE FROM nr_invoices WHERE id = 1", List.of()));
            c.send(new FrontendMessage.Sync());
            List<String> parsed = errors(c.untilReady());
            assertEquals(List.of(), errors(query(c, "SET search_path = nr_billing")));
            c.send(new FrontendMessage.Bind("", "nr_del", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            List<String> executed = errors(c.untilReady());
            assertEquals(3, rows("nr_billing.nr_invoices"), "PostgreSQL deleted a row of nr_billing.nr_invoices with "
                    + "a statement prepared before SET search_path (Parse: " + parsed + ", Execute: " + executed + ")");
            List<String> all = new ArrayList<>(parsed);
            all.addAll(executed);
            assertTrue(all.stream().anyMatch(e -> e.startsWith("42501") && e.contains("nr-billing-kept")),
                    all.toString());
        }
    }

    /** {@code db.schema.table} is the table {@code schema.table} of the session's own database. */
    @Test
    void aGuardrailHoldsForATableNamedWithTheDatabasesName() throws SQLException {
        String db = warden.database;
        try (Connection c = prod()) {
            assertDeleteRefused(c, "DELETE FROM " + db + ".nr_billing.nr_invoices WHERE id = 1", "nr-billing-kept",
                    "nr_billing.nr_invoices");
            assertDeleteRefused(c, "DELETE FROM " + db + ".public.nr_ledger WHERE id = 1", "nr-ledger-kept",
                    "nr_ledger");
            assertDeleteRefused(c, "DELETE FROM \"" + db + "\".\"public\".nr_ledger WHERE id = 1", "nr-ledger-kept",
                    "nr_ledger");
            assertDeleteRefused(c, "DELETE FROM PUBLIC.nr_ledger WHERE id = 1", "nr-ledger-kept", "nr_ledger");
        }
    }

    /**
     * A view the session makes over a guarded table is another name for it: a DELETE through the (automatically
     * updatable) view deletes the table's rows.
     */
    @Test
    void aGuardrailOnATableHoldsForAWriteThroughAViewOfIt() throws SQLException {
        try (Connection c = prod()) {
            assertEquals(null, run(c, "CREATE TEMP VIEW nr_ledger_view AS SELECT * FROM nr_ledger"));
            assertDeleteRefused(c, "DELETE FROM nr_ledger_view WHERE id = 1", "nr-ledger-kept", "nr_ledger");
            assertEquals(null, run(c, "CREATE VIEW nr_invoices_view AS SELECT * FROM nr_billing.nr_invoices"));
            assertEquals(null, run(c, "CREATE VIEW nr_invoices_view_view AS SELECT * FROM nr_invoices_view"));
            assertDeleteRefused(c, "DELETE FROM nr_invoices_view_view WHERE id = 1", "nr-billing-kept",
                    "nr_billing.nr_invoices");
        }
    }

    /** A rule written with a table's name as the migration wrote it, longer than the server keeps, holds. */
    @Test
    void aGuardrailOnATableNameLongerThanTheServerKeepsHolds() throws SQLException {
        try (Connection c = prod()) {
            assertDeleteRefused(c, "DELETE FROM " + LONG_TABLE + " WHERE id = 1", "nr-long-kept", LONG_TABLE);
            assertDeleteRefused(c, "DELETE FROM " + LONG_TABLE.substring(0, 63) + " WHERE id = 1", "nr-long-kept",
                    LONG_TABLE);
        }
    }

    // ---- masking: which column a rule means -----------------------------------------------------------

    /** A masking rule written with a column's name as the migration wrote it masks the column the server keeps. */
    @Test
    void aMaskingRuleOnAColumnNameLongerThanTheServerKeepsMasksIt() throws Exception {
        for (String sql : List.of("SELECT " + LONG_COLUMN + " FROM nr_long", "SELECT * FROM nr_long",
                "SELECT " + LONG_COLUMN + " || '' AS x FROM nr_long")) {
            assertNoSecret(simpleQuery(sql), sql);
        }
    }

    // ---- cursors ------------------------------------------------------------------------------------------

    /**
     * The server refuses a DECLARE of a name it already has ({@code 42P03}) and keeps its cursor: a FETCH then
     * returns that cursor's rows, which Warden must mask as the first DECLARE's.
     */
    @Test
    void aDeclareTheServerRefusesDoesNotReplaceTheCursorAFetchIsMaskedBy() throws Exception {
        try (RawClient c = login()) {
            assertEquals(List.of(), errors(query(c,
                    "DECLARE nr_c CURSOR WITH HOLD FOR SELECT ssn || '' AS x FROM nr_people")));
            List<String> refused = errors(query(c, "DECLARE nr_c CURSOR WITH HOLD FOR SELECT 'harmless' || '' AS x"));
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("42P03"), refused.toString());
            List<BackendMessage> answers = query(c, "FETCH ALL FROM nr_c");
            assertEquals(List.of(), errors(answers));
            assertNoSecret(answers, "FETCH of the held cursor after a refused DECLARE of its name");
            // In a transaction, a savepoint rolled back to clears the refusal and keeps the first cursor.
            assertEquals(List.of(), errors(query(c, "BEGIN; DECLARE nr_s CURSOR FOR SELECT ssn || '' AS x "
                    + "FROM nr_people; SAVEPOINT nr_sp")));
            assertEquals(1, errors(query(c, "DECLARE nr_s CURSOR FOR SELECT 'harmless' || '' AS x")).size());
            assertEquals(List.of(), errors(query(c, "ROLLBACK TO nr_sp")));
            answers = query(c, "FETCH ALL FROM nr_s");
            assertEquals(List.of(), errors(answers));
            assertNoSecret(answers, "FETCH of a cursor after a refused DECLARE of its name, rolled back to a savepoint");
        }
    }

    /**
     * The server keys portals by their first 63 bytes, so a protocol Execute of a longer name runs the cursor
     * DECLARE made under those 63 bytes.
     */
    @Test
    void anExecuteOfAPortalNameLongerThanTheServerKeepsIsMaskedAsTheCursorItRuns() throws Exception {
        String name = "nr_cursor_" + "a".repeat(53);
        try (RawClient c = login()) {
            assertEquals(List.of(), errors(query(c, "DECLARE " + name
                    + " CURSOR WITH HOLD FOR SELECT ssn || '' AS x FROM nr_people")));
            c.send(new FrontendMessage.Execute(name + "_tail", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = new ArrayList<>();
            try {
                BackendMessage m;
                do {
                    m = c.read();
                    answers.add(m);
                } while (!(m instanceof BackendMessage.ReadyForQuery));
            } catch (java.io.EOFException closed) {
                // Warden could not tell the result's columns and ended the session (XX000): nothing was relayed.
            }
            answers.removeIf(m -> m instanceof BackendMessage.ErrorResponse e && e.sqlState().equals("XX000")
                    && e.message().contains("cannot mask it"));
            assertNoSecret(answers, "protocol Execute of " + name + "_tail");
        }
    }

    /** A cursor's name given as a value: cursor_to_xml reads the cursor's rows into one text value. */
    @Test
    void cursorToXmlOfASensitiveCursorDoesNotReturnItsValuesInClear() throws Exception {
        try (RawClient c = login()) {
            assertEquals(List.of(), errors(query(c, "DECLARE nr_x CURSOR WITH HOLD FOR SELECT ssn FROM nr_people")));
            assertNoSecret(query(c, "SELECT cursor_to_xml('nr_x', 10, false, false, '')"), "cursor_to_xml");
        }
    }

    /**
     * Precise, not blanket: cursor_to_xml of a cursor the session declared over clear values runs (xmlmap.sql of the
     * regression suite does this); of a computed name, or of a name Warden did not see declared, it is refused.
     */
    @Test
    void cursorToXmlOfAClearCursorRunsAndOfAComputedOrUnknownNameIsRefused() throws Exception {
        try (RawClient c = login()) {
            assertEquals(List.of(), errors(query(c, "DECLARE nr_clear CURSOR WITH HOLD FOR SELECT id FROM nr_people")));
            List<BackendMessage> clear = query(c, "SELECT cursor_to_xml('nr_clear'::refcursor, 10, false, false, '')");
            assertEquals(List.of(), errors(clear));
            assertEquals(1, values(clear).size(), clear.toString());
            assertTrue(values(clear).get(0).contains("<id>1</id>"), "the clear cursor's rows: " + values(clear));
            for (String sql : List.of("SELECT cursor_to_xml('nr_' || 'clear', 10, false, false, '')",
                    "SELECT cursor_to_xml('nr_undeclared', 10, false, false, '')",
                    "SELECT cursor_to_xml('NR_CLEAR', 10, false, false, '')")) {
                List<String> refused = errors(query(c, sql));
                assertEquals(1, refused.size(), sql + ": " + refused);
                assertTrue(refused.get(0).startsWith("42501") && refused.get(0).contains("masking-handoff"),
                        sql + ": " + refused);
            }
        }
    }

    /** A function that FETCHes from a cursor named by its argument returns the cursor's value. */
    @Test
    void aFunctionFetchingFromASensitiveCursorDoesNotReturnItsValueInClear() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(query(c, "DECLARE nr_f CURSOR WITH HOLD FOR SELECT ssn FROM nr_people")));
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_first(r refcursor) RETURNS text "
                    + "LANGUAGE plpgsql AS $$DECLARE v text; BEGIN FETCH r INTO v; RETURN v; END$$")));
            assertNoSecret(query(c, "SELECT nr_first('nr_f')"), "a function fetching from the cursor");
        }
    }

    /**
     * A cursor not declared WITH HOLD ends with its transaction; a function may then open a cursor of the same
     * name over sensitive values, which a FETCH returns.
     */
    @Test
    void aCursorNameReusedByAFunctionAfterCommitIsNotMaskedAsTheEndedCursor() throws Exception {
        assertReusedCursorNameMasked("nr_reused", "BEGIN; DECLARE nr_reused CURSOR FOR SELECT 'harmless' || '' AS x; "
                + "COMMIT");
    }

    /**
     * A text of several statements runs in one implicit transaction, which ends with the text: a cursor it
     * declares (not WITH HOLD) ends there too, without a COMMIT in the text.
     */
    @Test
    void aCursorOfATextsImplicitTransactionEndsWithTheText() throws Exception {
        assertReusedCursorNameMasked("nr_implicit", "DECLARE nr_implicit CURSOR FOR SELECT 'harmless' || '' AS x; "
                + "SELECT 1");
    }

    /**
     * After {@code endedCursor} declared a harmless cursor {@code name} and ended it, a function opens {@code name}
     * over nr_people.ssn in a new transaction: a FETCH of it relays no sensitive value in clear.
     */
    private static void assertReusedCursorNameMasked(String name, String endedCursor) throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION " + name + "_open() RETURNS refcursor LANGUAGE "
                    + "plpgsql AS $$DECLARE r refcursor := '" + name + "'; BEGIN OPEN r FOR SELECT ssn || '' AS x "
                    + "FROM nr_people; RETURN r; END$$")));
            assertEquals(List.of(), errors(query(c, endedCursor)));
            assertEquals(List.of(), errors(query(c, "BEGIN")));
            assertEquals(List.of(), errors(query(c, "SELECT " + name + "_open()")));
            List<BackendMessage> answers = query(c, "FETCH ALL FROM " + name);
            assertEquals(List.of(), errors(answers));
            assertNoSecret(answers, "FETCH of the cursor a function opened under the name of an ended cursor");
        }
    }

    /**
     * The same function, its cursor's name computed at run time: the text names no cursor, so no name in it shows
     * which cursor the function reads.
     */
    @Test
    void aFunctionFetchingFromACursorNamedByAComputedValueDoesNotReturnItsValueInClear() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(query(c, "DECLARE nr_h CURSOR WITH HOLD FOR SELECT ssn FROM nr_people")));
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_first_of(r refcursor) RETURNS text "
                    + "LANGUAGE plpgsql AS $$DECLARE v text; BEGIN FETCH r INTO v; RETURN v; END$$")));
            assertNoSecret(query(c, "SELECT nr_first_of(('nr_' || 'h')::refcursor)"),
                    "a function fetching from a computed cursor name");
            assertNoSecret(query(c, "SELECT nr_first_of(n::refcursor) FROM (VALUES ('nr_h')) v (n)"),
                    "a function fetching from a cursor named by a column");
        }
    }

    /**
     * A cursor a function opened (Warden saw no DECLARE), read by another function that FETCHes from its argument:
     * the name is a literal, but of no cursor Warden knows.
     */
    @Test
    void aFunctionFetchingFromACursorAnotherFunctionOpenedDoesNotReturnItsValueInClear() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_opener() RETURNS refcursor LANGUAGE plpgsql "
                    + "AS $$DECLARE k refcursor := 'nr_opened'; BEGIN OPEN k FOR SELECT ssn FROM nr_people; "
                    + "RETURN k; END$$")));
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_take(r refcursor) RETURNS text "
                    + "LANGUAGE plpgsql AS $$DECLARE v text; BEGIN FETCH r INTO v; RETURN v; END$$")));
            assertEquals(List.of(), errors(query(c, "BEGIN")));
            query(c, "SELECT nr_opener()");
            assertNoSecret(query(c, "SELECT nr_take('nr_opened')"), "a function fetching from a function's cursor");
            query(c, "ROLLBACK");
        }
    }

    /** A function's own bound cursor, declared with its query in the body's DECLARE section. */
    @Test
    void aFunctionReadingItsOwnBoundCursorIsJudgedByTheCursorsQuery() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_bound() RETURNS text LANGUAGE plpgsql AS "
                    + "$$DECLARE k CURSOR FOR SELECT ssn FROM nr_people; v text; BEGIN OPEN k; FETCH k INTO v; "
                    + "CLOSE k; RETURN v; END$$")));
            assertNoSecret(query(c, "SELECT nr_bound()"), "a function's bound cursor");
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_bound_loop() RETURNS text LANGUAGE plpgsql "
                    + "AS $$DECLARE k NO SCROLL CURSOR (n int) IS SELECT ssn FROM nr_people WHERE id = n; "
                    + "v text := ''; BEGIN FOR r IN k(1) LOOP v := v || r.ssn; END LOOP; RETURN v; END$$")));
            assertNoSecret(query(c, "SELECT nr_bound_loop()"), "a function looping over its bound cursor");
            // Over clear values, such functions run: only a cursor named by a value is refused.
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_words (w text); INSERT INTO nr_words "
                    + "VALUES ('plain')")));
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_own_clear() RETURNS text LANGUAGE plpgsql AS "
                    + "$$DECLARE k CURSOR FOR SELECT w FROM nr_words; o refcursor; v text; x text; BEGIN "
                    + "OPEN k; FETCH k INTO v; CLOSE k; OPEN o FOR SELECT w FROM nr_words; FETCH NEXT FROM o "
                    + "INTO x; RETURN v || '/' || x; END$$")));
            assertEquals(List.of("plain/plain"), values(query(c, "SELECT nr_own_clear()")));
        }
    }

    /** A table the session owns, sensitive by a column rule: renamed or moved, it is the same table. */
    @Test
    void aRenamedTableKeepsItsColumnRule() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_owned (id int, note text)")));
            assertEquals(List.of(), errors(query(c, "INSERT INTO nr_owned VALUES (1, '" + SECRET + "')")));
            assertNoSecret(query(c, "SELECT note FROM nr_owned"), "the table itself");
            // Renamed or moved, its column would be masked by no rule: refused (before, SELECT note FROM
            // nr_owned_2 relayed the value in clear).
            assertRefused(query(c, "ALTER TABLE nr_owned RENAME TO nr_owned_2"), "the rename");
            assertEquals(List.of(), errors(query(c, "CREATE SCHEMA nr_mine")));
            assertRefused(query(c, "ALTER TABLE public.nr_owned SET SCHEMA nr_mine"), "the move");
            // Rules match names case-insensitively, so a rename that changes only the case keeps the rule.
            assertEquals(List.of(), errors(query(c, "ALTER TABLE IF EXISTS \"nr_owned\" RENAME TO \"NR_OWNED\"")));
            assertNoSecret(query(c, "SELECT note FROM \"NR_OWNED\""), "the table renamed in upper case");
            assertEquals(List.of(), errors(query(c, "ALTER TABLE \"NR_OWNED\" RENAME TO nr_owned")));
            assertNoSecret(query(c, "SELECT note FROM nr_owned"), "the table, still where the rule names it");
            // A rule names the schema nr_mine: renamed, its table would leave the rule.
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_mine.nr_kept (note text); INSERT INTO "
                    + "nr_mine.nr_kept VALUES ('" + SECRET + "')")));
            assertRefused(query(c, "ALTER SCHEMA nr_mine RENAME TO nr_mine_2"), "the schema's rename");
            assertNoSecret(query(c, "SELECT note FROM nr_mine.nr_kept"), "the schema, still where the rule names it");
            // A table without masked columns is renamed and moved as before.
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_plain (id int); ALTER TABLE nr_plain RENAME TO "
                    + "nr_plain_2; ALTER TABLE nr_plain_2 SET SCHEMA nr_mine")));
            assertEquals(List.of("0"), values(query(c, "SELECT count(*) FROM nr_mine.nr_plain_2")));
        }
    }

    /**
     * A rule names a partitioned table: its partitions hold its rows, under their own names. And a rule names a
     * table that inherits from another: the parent's scans return the child's rows.
     */
    @Test
    void aRuleOnAPartitionedTableOrAChildCoversWhereTheirRowsAreRead() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_parent (id int, note text); CREATE TABLE nr_child "
                    + "() INHERITS (nr_parent); INSERT INTO nr_child VALUES (1, '" + SECRET + "')")));
            assertNoSecret(query(c, "SELECT note FROM nr_child"), "the child");
            assertNoSecret(query(c, "SELECT note FROM nr_parent"), "the child's rows through its parent");
            // A grandchild of the rule's table (made by an administrator: Warden refuses a masked identity's
            // CREATE ... INHERITS of a sensitive table): masked too.
            try (Connection admin = warden.direct(); Statement s = admin.createStatement()) {
                s.execute("CREATE TABLE nr_parent_2 () INHERITS (nr_child)");
                s.execute("INSERT INTO nr_parent_2 VALUES (2, '" + SECRET + "')");
                s.execute("GRANT SELECT ON nr_parent_2 TO nr_login");
            }
            assertNoSecret(query(c, "SELECT note FROM nr_parent_2"), "the grandchild of the rule's table");
            assertNoSecret(query(c, "SELECT note FROM ONLY nr_parent UNION ALL SELECT note FROM nr_parent"),
                    "the parent with and without ONLY");
            // The session puts a table of the rule under a parent of its own, read at once and after a while.
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_adopter (id int, note text)")));
            assertNoSecret(query(c, "SELECT note FROM nr_adopter"), "the adopter, before");
            List<BackendMessage> adopted = query(c, "ALTER TABLE nr_child NO INHERIT nr_parent; "
                    + "ALTER TABLE nr_child INHERIT nr_adopter");
            assertNoSecret(query(c, "SELECT note FROM nr_adopter"), "the adopter (" + errors(adopted) + ")");
            assertNoSecret(query(c, "SELECT note FROM nr_adopter"), "the adopter, again");
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_events (id int, note text) PARTITION BY LIST (id);"
                    + " CREATE TABLE nr_events_1 PARTITION OF nr_events FOR VALUES IN (1);"
                    + " INSERT INTO nr_events VALUES (1, '" + SECRET + "')")));
            assertNoSecret(query(c, "SELECT note FROM nr_events"), "the partitioned table");
            assertNoSecret(query(c, "SELECT note FROM nr_events_1"), "its partition, read directly");
            assertNoSecret(query(c, "SELECT * FROM public.nr_events_1 e WHERE e.id = 1"), "its partition, whole rows");
            // Out of the tree, the partition and the child would be masked by no rule.
            assertRefused(query(c, "ALTER TABLE nr_events DETACH PARTITION nr_events_1"), "the detach");
            assertRefused(query(c, "ALTER TABLE nr_parent_2 NO INHERIT nr_child"), "the child's disinheriting");
            assertNoSecret(query(c, "SELECT note FROM nr_events_1"), "the partition, still attached");
            // A partition of a table no rule names stays clear.
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_plain_events (id int, note text) PARTITION BY "
                    + "LIST (id); CREATE TABLE nr_plain_events_1 PARTITION OF nr_plain_events FOR VALUES IN (1); "
                    + "INSERT INTO nr_plain_events VALUES (1, 'plain')")));
            assertEquals(List.of("plain"), values(query(c, "SELECT note FROM nr_plain_events_1")));
        }
    }

    /** A masked value copied into a clear column of the same table, then read from there. */
    @Test
    void aMaskedValueCopiedIntoAClearColumnOfItsOwnTableStaysMasked() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(query(c, "CREATE TABLE nr_copied (id int, note text, extra text); "
                    + "INSERT INTO nr_copied VALUES (1, '" + SECRET + "', 'plain')")));
            List<BackendMessage> copy = query(c, "UPDATE nr_copied SET extra = note");
            assertNoSecret(query(c, "SELECT extra FROM nr_copied"), "the clear column (" + errors(copy) + ")");
            assertRefused(copy, "the copy into a clear column");
            assertRefused(query(c, "INSERT INTO nr_copied (id, extra) SELECT 2, note FROM nr_copied"), "INSERT ... SELECT");
            assertRefused(query(c, "UPDATE nr_copied SET extra = (SELECT x.note FROM nr_copied x LIMIT 1)"), "a subquery");
            assertRefused(query(c, "INSERT INTO nr_copied SELECT * FROM nr_copied"), "whole rows");
            assertNoSecret(query(c, "SELECT extra FROM nr_copied"), "the clear column");
            // Writes that only filter on the masked column, return it, or write it back into itself run.
            List<BackendMessage> returning = query(c, "UPDATE nr_copied SET extra = 'seen' WHERE id = 1 RETURNING note");
            assertEquals(List.of(), errors(returning));
            assertEquals(List.of("[redacted]"), values(returning));
            assertEquals(List.of(), errors(query(c, "UPDATE nr_copied SET note = upper(note) WHERE id = 1")));
            assertEquals(List.of(), errors(query(c, "UPDATE nr_copied SET extra = 'again', id = id WHERE note = 'x' "
                    + "AND id IN (SELECT x.id FROM nr_copied x WHERE x.note <> '')")));
            assertRefused(query(c, "UPDATE nr_copied SET id = 1, extra = x::text FROM nr_copied x WHERE x.id = "
                    + "nr_copied.id"), "a whole row as text");
            // An INSERT's values are matched to its columns: a copied sensitive value into the masked column, beside
            // clear values in clear columns, runs.
            assertEquals(List.of(), errors(query(c, "INSERT INTO nr_copied (id, note) SELECT 3, note FROM nr_copied "
                    + "WHERE id = 1")));
            assertEquals(List.of(), errors(query(c, "INSERT INTO nr_copied (id, note, extra) VALUES (4, (SELECT note "
                    + "FROM nr_copied WHERE id = 1), 'four')")));
            assertNoSecret(query(c, "SELECT note FROM nr_copied WHERE id IN (3, 4)"), "the copies, masked");
            // Where the value lands is not read from the values, or it lands in a clear column: refused.
            for (String sql : List.of(
                    "INSERT INTO nr_copied (extra, id) VALUES ((SELECT note FROM nr_copied LIMIT 1), 5)",
                    "INSERT INTO nr_copied (id, extra) SELECT x.id, x.n FROM (SELECT id, note AS n FROM nr_copied) x",
                    "INSERT INTO nr_copied (id, note, extra) SELECT 6, note, 'a' FROM nr_copied UNION ALL "
                            + "SELECT 7, 'b', note FROM nr_copied",
                    "INSERT INTO nr_copied (id, extra) SELECT 8, n FROM nr_copied, LATERAL (SELECT note AS n) l",
                    "INSERT INTO nr_copied (id, extra) SELECT 11, note AS from FROM nr_copied")) {
                assertRefused(query(c, sql), sql);
            }
            assertNoSecret(query(c, "SELECT extra FROM nr_copied"), "the clear column, after the INSERTs");
            assertEquals(List.of("seen"), values(query(c, "SELECT extra FROM nr_copied WHERE id = 1")));
        }
    }

    // ---- functions that read relations named by a value ------------------------------------------------

    /** database_to_xml and schema_to_xml read every table they reach without naming one. */
    @Test
    void xmlOfAWholeDatabaseOrSchemaDoesNotReturnSensitiveValuesInClear() throws Exception {
        for (String sql : List.of("SELECT database_to_xml(true, false, '')",
                "SELECT schema_to_xml('public', true, false, '')",
                "SELECT database_to_xmlschema(true, false, '') IS NOT NULL, database_to_xml_and_xmlschema(true, false, '')")) {
            assertNoSecret(simpleQuery(sql), sql);
        }
    }

    /** table_to_xml of a relation chosen by its OID, and query_to_xml of a query computed at run time. */
    @Test
    void xmlOfATableOrQueryComputedAtRunTimeDoesNotReturnSensitiveValuesInClear() throws Exception {
        for (String sql : List.of(
                "SELECT table_to_xml(oid::regclass, true, false, '') FROM pg_class WHERE relname = 'nr_peo' || 'ple'",
                "SELECT pg_catalog.table_to_xml(to_regclass('nr_peo' || 'ple'), true, false, '')",
                "SELECT query_to_xml('SELECT * FROM nr_peo' || 'ple', true, false, '')",
                "SELECT query_to_xml_and_xmlschema(concat('SELECT * FROM nr_peo', 'ple'), true, false, '')")) {
            assertNoSecret(simpleQuery(sql), sql);
        }
        try (RawClient c = login()) {
            List<String> declared = errors(query(c, "DECLARE nr_d CURSOR WITH HOLD FOR "
                    + "SELECT query_to_xml('SELECT * FROM nr_peo' || 'ple', true, false, '')"));
            if (declared.isEmpty()) {
                assertNoSecret(query(c, "FETCH ALL FROM nr_d"), "FETCH of a cursor over query_to_xml");
            } else {
                assertTrue(declared.get(0).startsWith("42501"), declared.toString());
            }
        }
    }

    /**
     * Text search functions run SQL given as text too: ts_stat returns the words of the query's tsvectors,
     * ts_rewrite substitutes what its query's rows say. Of a query computed at run time, no name shows.
     */
    @Test
    void textSearchOfAQueryComputedAtRunTimeDoesNotReturnSensitiveValuesInClear() throws Exception {
        for (String sql : List.of(
                "SELECT ts_rewrite('x'::tsquery, 'SELECT ''x''::tsquery, quote_literal(ssn)::tsquery FROM nr_peo' "
                        + "|| 'ple')::text",
                "SELECT string_agg(word, '' ORDER BY word COLLATE \"C\" DESC) "
                        + "FROM ts_stat('SELECT to_tsvector(''simple'', ssn) FROM nr_peo' || 'ple')",
                // A rewrite by given tsqueries inside the first argument does not make the outer call one.
                "SELECT ts_rewrite(ts_rewrite('x'::tsquery, to_tsquery('y'), to_tsquery('x')), "
                        + "'SELECT ''x''::tsquery, quote_literal(ssn)::tsquery FROM nr_peo' || 'ple')::text",
                // The second argument is the query, not a string in an ARRAY[...] of the first.
                "SELECT ts_rewrite(CASE WHEN ARRAY['a', 'SELECT 1', 'b'] IS NULL THEN NULL ELSE 'x'::tsquery END, "
                        + "'SELECT ''x''::tsquery, quote_literal(ssn)::tsquery FROM nr_peo' || 'ple')::text",
                // Two arguments, though the commas of an ARRAY[...] stand outside any parenthesis.
                "SELECT ts_rewrite('x'::tsquery, 'SELECT ''x''::tsquery, quote_literal(ssn)::tsquery FROM nr_peo' "
                        + "|| 'ple --' || ARRAY[1, 2]::text)::text")) {
            assertNoSecret(simpleQuery(sql), sql);
        }
    }

    /**
     * ts_rewrite with three arguments substitutes one given tsquery for another: however its arguments are
     * computed, it runs no query, and its answer is the server's (it was masked as a query computed at run time).
     */
    @Test
    void textSearchRewriteByGivenQueriesIsAnsweredAsTheServerGivesIt() throws Exception {
        for (String sql : List.of(
                "SELECT ts_rewrite(to_tsquery('5 & (6 | 5)'), to_tsquery('5'), to_tsquery('7'))::text",
                "SELECT pg_catalog.ts_rewrite('a & b'::tsquery, ('a' || '')::tsquery, "
                        + "to_tsquery(concat('c', ' & d')))::text")) {
            String expected;
            try (Connection c = warden.direct()) {
                expected = scalar(c, sql);
            }
            List<BackendMessage> answers = simpleQuery(sql);
            assertEquals(List.of(), errors(answers), sql);
            assertEquals(List.of(expected), values(answers), sql);
        }
    }

    // ---- search_path and masking -------------------------------------------------------------------------

    /**
     * A statement prepared while the search_path found the clear nr_docs is planned again by the server once the
     * path changed: a trigger can change it inside a statement that names no setting (an INSERT).
     */
    @Test
    void aPreparedStatementIsJudgedAgainAfterATriggerChangedTheSearchPath() throws Exception {
        try (RawClient c = login("staging")) {
            c.send(new FrontendMessage.Parse("nr_sel", "SELECT body || '' AS x FROM nr_docs", List.of()));
            List<BackendMessage> before = bindAndExecute(c, "nr_sel");
            assertEquals(List.of("public-note"), values(before), "judged and run with the path finding public");
            assertEquals(List.of(), errors(query(c, "INSERT INTO nr_trig VALUES (1)")));
            List<BackendMessage> after = bindAndExecute(c, "nr_sel");
            assertNoSecret(after, "the prepared statement run after a trigger changed the search_path");
        }
    }

    // ---- plans --------------------------------------------------------------------------------------------

    /**
     * The planner computes an immutable function of constants once, at planning, and EXPLAIN VERBOSE shows the
     * result in the plan: a function that reads a sensitive column (declared immutable, which PostgreSQL trusts)
     * puts its value in the plan's text.
     */
    @Test
    void aPlanDoesNotShowASensitiveValueAFunctionComputedWhilePlanning() throws Exception {
        try (RawClient c = login("staging")) {
            assertEquals(List.of(), errors(defined(c, "CREATE FUNCTION nr_folded() RETURNS text IMMUTABLE LANGUAGE sql "
                    + "AS 'SELECT ssn FROM nr_people LIMIT 1'")));
            assertNoSecret(query(c, "EXPLAIN VERBOSE SELECT nr_folded() AS x"), "EXPLAIN VERBOSE");
            List<BackendMessage> plan = query(c, "EXPLAIN SELECT id FROM nr_people WHERE id = 1");
            assertEquals(List.of(), errors(plan));
            assertTrue(values(plan).get(0).startsWith("Seq Scan on nr_people"), "a plan of a query over a "
                    + "sensitive table is kept: " + values(plan));
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private static RawClient login() throws Exception {
        return login("prod");
    }

    /**
     * Makes a function as an identity the policy exempts from masking, in {@code masked}'s environment: a masked
     * identity may not make one whose body reads what it sees masked (a118), and these tests are about its calls.
     */
    private static List<BackendMessage> defined(RawClient masked, String sql) throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login(masked.environment(), WardenHarness.USER, MaskedAttacker.exemptToken(warden));
            return query(c, sql);
        }
    }

    private static RawClient login(String environment) throws Exception {
        RawClient c = new RawClient(warden.port());
        c.login(environment, WardenHarness.USER, warden.token());
        return c;
    }

    private static List<BackendMessage> simpleQuery(String sql) throws Exception {
        try (RawClient c = login()) {
            return query(c, sql);
        }
    }

    private static List<BackendMessage> bindAndExecute(RawClient c, String statement) throws Exception {
        c.send(new FrontendMessage.Bind("", statement, List.of(), List.of(), List.of()));
        c.send(new FrontendMessage.Execute("", 0));
        c.send(new FrontendMessage.Sync());
        return c.untilReady();
    }

    private static List<BackendMessage> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        return c.untilReady();
    }

    /** Warden refused the statement, not the server: one error, 42501 from a Warden rule, and nothing ran. */
    private static void assertRefused(List<BackendMessage> answers, String what) {
        List<String> errors = errors(answers);
        assertTrue(errors.size() == 1 && errors.get(0).startsWith("42501 blocked by Warden rule"), what + ": "
                + errors);
    }

    /** No value of the answers holds the secret (a refusal with 42501 holds none). */
    private static void assertNoSecret(List<BackendMessage> answers, String what) {
        for (String v : values(answers)) {
            if (v != null && v.contains(SECRET)) {
                fail(what + ": Warden relayed the sensitive value in clear: " + v);
            }
        }
        for (String e : errors(answers)) {
            assertTrue(e.startsWith("42501"), what + ": an error other than Warden's refusal: " + e);
        }
    }
}
