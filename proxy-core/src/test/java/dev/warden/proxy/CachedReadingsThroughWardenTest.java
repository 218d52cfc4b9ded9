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
import java.util.List;

import static dev.warden.proxy.RawClient.errors;
import static dev.warden.proxy.RawClient.values;
import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An attacker's review of what Warden remembers between statements: the analyzer's facts per statement shape
 * (shared by every session), and a session's prepared statements. A remembered reading must never answer for a
 * statement it was not made for. Each test first shows that Warden refuses (or masks) the statement when it
 * reads it afresh, then sends a harmless statement that fills the memory, then the harmful one, and asserts
 * what PostgreSQL ran.
 *
 * <p>The sessions log in as {@code cc_login}, no superuser, that may {@code SET ROLE cc_admin} (a membership
 * without inheritance): so a role change moves neither {@code is_superuser} nor {@code session_authorization},
 * and the tripwire has nothing to notice. Only the guardrail stands between the session and cc_admin's table.
 */
class CachedReadingsThroughWardenTest {

    static WardenHarness warden;
    /** 63 bytes, the longest name PostgreSQL keeps; the policy's rule cc-archive-kept names it. */
    static final String LONG_TABLE = "cc_archive_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    @BeforeAll
    static void start() throws SQLException {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE cc_login LOGIN");
            s.execute("CREATE ROLE cc_admin NOLOGIN");
            s.execute("GRANT cc_admin TO cc_login WITH INHERIT FALSE");
            // Another role than cc_login, though the two differ only in case.
            s.execute("CREATE ROLE \"CC_Login\" NOLOGIN");
            s.execute("GRANT \"CC_Login\" TO cc_login WITH INHERIT FALSE");
            // A single-byte server encoding: the server folds upper-half letters of unquoted names by its locale.
            s.execute("CREATE DATABASE cc_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n", """
                  prod:
                    production: true
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: "${DATABASE}", user: cc_login, tls: require }
                    allow: [ { groups: [eng] } ]
                  latin1:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: cc_latin1, user: cc_login, tls: require }
                    allow: [ { groups: [eng] } ]
                """, """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                approvals:
                  timeout: 1s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: cc-updates-reviewed, environments: [prod], match: { statements: [UPDATE], tables: [cc_t] }, action: require_approval, approvers: [dba] }
                    - { name: cc-aerzte-kept, environments: [prod], match: { statements: [DELETE], tables: [cc_Ärzte] }, action: block }
                    - { name: cc-archive-kept, environments: [prod], match: { statements: [DELETE], tables: [cc_archive_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa] }, action: block }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE cc_vault (v text)");
            s.execute("INSERT INTO cc_vault VALUES ('only cc_admin reads this')");
            s.execute("ALTER TABLE cc_vault OWNER TO cc_admin");
            // Sensitive by its name (masking's defaults); the value looks like nothing a value detector knows.
            s.execute("CREATE TABLE cc_people (id int, ssn text)");
            s.execute("INSERT INTO cc_people VALUES (1, 'kestrel-4471')");
            s.execute("GRANT SELECT ON cc_people TO cc_login");
            // Unquoted: a UTF8 server folds only ASCII letters, so the table is named "cc_Ärzte".
            s.execute("CREATE TABLE cc_Ärzte (id int, ssn text)");
            s.execute("INSERT INTO cc_Ärzte VALUES (1, 'kestrel-4471')");
            s.execute("GRANT SELECT, DELETE ON cc_Ärzte TO cc_login");
            // As long as a name gets (NAMEDATALEN - 1 bytes): a longer name the server reads is cut to this one.
            s.execute("CREATE TABLE " + LONG_TABLE + " (id int, ssn text)");
            s.execute("INSERT INTO " + LONG_TABLE + " VALUES (1, 'kestrel-4471')");
            s.execute("GRANT SELECT, DELETE ON " + LONG_TABLE + " TO cc_login");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS cc_t, cc_src");
            s.execute("CREATE TABLE cc_t (id int, a int)");
            s.execute("INSERT INTO cc_t SELECT g, g FROM generate_series(1, 10) g");
            s.execute("CREATE TABLE cc_src (id int)");
            s.execute("INSERT INTO cc_src VALUES (1)");
            s.execute("GRANT ALL ON cc_t, cc_src TO cc_login");
            s.execute("CREATE OR REPLACE FUNCTION cc_wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM cc_t; SELECT 1'");
        }
    }

    private static Connection prod() throws SQLException {
        return warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple");
    }

    private static void assertBlocked(Connection c, String sql, String rule) {
        String error = run(c, sql);
        assertTrue(error != null && error.startsWith("42501") && error.contains("\"" + rule + "\""),
                sql + " must be refused by rule " + rule + ", got: " + (error == null ? "it ran" : error));
    }

    private static int rowsOfT() throws SQLException {
        try (Connection c = warden.direct()) {
            return Integer.parseInt(scalar(c, "SELECT count(*) FROM cc_t"));
        }
    }

    // ---- the analyzer's shape cache -------------------------------------------------------------------

    /**
     * {@code set_config('role', ...)} is SET ROLE; what the call sets is a string literal, and the shape cache
     * abstracts string literals away. The facts of {@code set_config('application_name', ...)} must not be handed
     * to {@code set_config('role', ...)}.
     */
    @Test
    void setConfigRoleIsRoleEscalationEvenAfterASameShapedSetConfigWarmedTheCache() throws SQLException {
        try (Connection c = prod()) {
            assertBlocked(c, "SELECT set_config('role', 'cc_admin', false) AS cold", "role-escalation");
            assertEquals(null, run(c, "SELECT set_config('application_name', 'warm', false) AS warmed"));
            String error = run(c, "SELECT set_config('role', 'cc_admin', false) AS warmed");
            String role = scalar(c, "SELECT current_user");
            if (error == null) {
                fail("Warden let SELECT set_config('role', 'cc_admin', false) run once a same-shaped set_config had "
                        + "warmed the analyzer's cache: the session now acts as " + role + " and reads "
                        + scalar(c, "SELECT v FROM cc_vault"));
            }
            assertTrue(error.startsWith("42501") && error.contains("role-escalation"), error);
            assertEquals("cc_login", role);
        }
    }

    /** The cache is shared by every session: another session's harmless statement must not warm it either. */
    @Test
    void aSameShapedStatementOfAnotherSessionDoesNotLetSetConfigRoleThrough() throws SQLException {
        try (Connection other = prod()) {
            assertEquals(null, run(other, "SELECT set_config('application_name', 'warm', false) AS other_session"));
        }
        try (Connection c = prod()) {
            assertBlocked(c, "SELECT set_config('role', 'cc_admin', false) AS other_session", "role-escalation");
            assertEquals("cc_login", scalar(c, "SELECT current_user"));
        }
    }

    /**
     * Not a cache: the analysis took the first set_config('role') of a statement as its target, so naming the
     * session's own login first made the statement look harmless while the second call changed the role.
     */
    @Test
    void everySetConfigRoleOfAStatementCountsNotOnlyTheFirst() throws SQLException {
        try (Connection c = prod()) {
            String error = run(c, "SELECT set_config('role', 'cc_login', false), set_config('role', 'cc_admin', false)");
            String role = scalar(c, "SELECT current_user");
            assertTrue(error != null && error.startsWith("42501") && error.contains("role-escalation"),
                    "the second set_config('role') ran: the session acts as " + role + " (" + error + ")");
            assertEquals("cc_login", role);
        }
    }

    /**
     * A MERGE whose ON condition compares a target column with itself ({@code t.id = (t.id)}) chooses every row,
     * which the analysis tells by comparing the two sides token by token. The shape cache abstracts literals, so an
     * operand holding one is no self-comparison, cold or warm ({@code t.id + 1 = t.id + 2}, no row, and
     * {@code t.id + 1 = t.id + 1} have one shape; a145 F3: {@code j->>'a' = j->>'b'} was refused as every row).
     */
    @Test
    void mergeOnASelfComparisonIsDeleteWithoutWhereEvenAfterASameShapedMergeWarmedTheCache() throws SQLException {
        try (Connection c = prod()) {
            assertBlocked(c, "MERGE INTO cc_t USING cc_src ON cc_t.id = (cc_t.id) WHEN MATCHED THEN DELETE",
                    "delete-without-where");
            run(c, "MERGE INTO cc_t USING cc_src ON cc_t.id + 1 = cc_t.id + 2 WHEN MATCHED THEN DELETE");
            assertEquals(10, rowsOfT(), "the MERGE with literals runs and chooses no row");
            String error = run(c, "MERGE INTO cc_t USING cc_src ON (cc_t.id) = (cc_t.id) WHEN MATCHED THEN DELETE");
            assertEquals(10, rowsOfT(), "PostgreSQL deleted rows of cc_t with a MERGE that chooses every row ("
                    + (error == null ? "Warden let it run" : error) + ")");
            assertTrue(error != null && error.startsWith("42501") && error.contains("delete-without-where"),
                    String.valueOf(error));
        }
    }

    // ---- prepared statements (extended protocol) --------------------------------------------------------

    private static List<BackendMessage> bindAndExecute(RawClient c, String statement) throws Exception {
        c.send(new FrontendMessage.Bind("", statement, List.of(), List.of(), List.of()));
        c.send(new FrontendMessage.Execute("", 0));
        c.send(new FrontendMessage.Sync());
        return c.untilReady();
    }

    /**
     * The server refuses a Parse of a name it already has ({@code 42P05}) and keeps its statement; Warden must too,
     * or it masks the server's statement's rows as the refused text's.
     */
    @Test
    void aParseTheServerRefusesDoesNotReplaceTheStatementWardenMasksBy() throws Exception {
        String sensitive = "SELECT ssn || '' AS x FROM cc_people";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("s0", sensitive, List.of()));
            List<BackendMessage> control = bindAndExecute(c, "s0");
            assertEquals(List.of(), errors(control));
            assertEquals(1, values(control).size());
            assertFalse(values(control).get(0).contains("kestrel"), "masked when read afresh: " + values(control));

            c.send(new FrontendMessage.Parse("s1", sensitive, List.of()));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), errors(c.untilReady()));
            c.send(new FrontendMessage.Parse("s1", "SELECT 'harmless' || '' AS x", List.of()));
            c.send(new FrontendMessage.Sync());
            List<String> refused = errors(c.untilReady());
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("42P05"), refused.toString());

            List<BackendMessage> answers = bindAndExecute(c, "s1");
            assertEquals(List.of(), errors(answers));
            assertOneMaskedValue(answers, "the server ran s1 as first parsed, and Warden "
                    + "relayed its sensitive value in clear: " + values(answers));
        }
    }

    /** The answers hold one value, and not the sensitive one ({@code why} says what leaking it means). */
    private static void assertOneMaskedValue(List<BackendMessage> answers, String why) {
        assertEquals(1, values(answers).size(), "one row expected: " + answers);
        assertFalse(values(answers).get(0).contains("kestrel"), why);
    }

    private static List<BackendMessage> query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        return c.untilReady();
    }

    /** SQL PREPARE and EXECUTE share the namespace: EXECUTE's rows are the prepared statement's. */
    @Test
    void sqlExecuteOfAPreparedSensitiveExpressionIsMasked() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            assertEquals(List.of(), errors(query(c, "PREPARE cc_p AS SELECT ssn || '' AS x FROM cc_people")));
            List<BackendMessage> answers = query(c, "EXECUTE cc_p");
            assertEquals(List.of(), errors(answers));
            assertOneMaskedValue(answers, "EXECUTE relayed the sensitive value in clear: "
                    + values(answers));
        }
    }

    /** As {@link #aParseTheServerRefusesDoesNotReplaceTheStatementWardenMasksBy}, with SQL PREPARE. */
    @Test
    void aPrepareTheServerRefusesDoesNotReplaceTheStatementWardenMasksBy() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            assertEquals(List.of(), errors(query(c, "PREPARE cc_q AS SELECT ssn || '' AS x FROM cc_people")));
            List<String> refused = errors(query(c, "PREPARE cc_q AS SELECT 'harmless' || '' AS x"));
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("42P05"), refused.toString());
            List<BackendMessage> answers = bindAndExecute(c, "cc_q");
            assertEquals(List.of(), errors(answers));
            assertOneMaskedValue(answers, "the server ran cc_q as first prepared, and "
                    + "Warden relayed its sensitive value in clear: " + values(answers));
        }
    }

    /** Not a cache: a column named with Unicode escapes is the same column to the server. */
    @Test
    void aSensitiveColumnNamedWithUnicodeEscapesIsMasked() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            List<BackendMessage> answers = query(c, "SELECT U&\"\\0073sn\" || '' AS x FROM cc_people");
            assertEquals(List.of(), errors(answers));
            assertOneMaskedValue(answers, "relayed in clear: " + values(answers));
        }
    }

    /**
     * Not a cache: PostgreSQL folds only the ASCII letters of an unquoted name (on a UTF8 server), so
     * {@code cc_Ärzte} written without quotes is the table {@code "cc_Ärzte"}. Read with Java's full case
     * mapping it was {@code cc_ärzte}, a relation the catalog does not have, and the expression's sensitive
     * value was judged to come from nothing.
     */
    @Test
    void aSensitiveExpressionOfATableWhoseUnquotedNameHasANonAsciiCapitalIsMasked() throws Exception {
        assertSsnExpressionMaskedFrom(List.of("cc_Ärzte", "\"cc_Ärzte\"", "CC_Ärzte"));
    }

    /** {@code SELECT ssn || '' AS x FROM t}, for each way {@code tables} writes one table, comes back masked. */
    private static void assertSsnExpressionMaskedFrom(List<String> tables) throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            for (String table : tables) {
                List<BackendMessage> answers = query(c, "SELECT ssn || '' AS x FROM " + table);
                assertEquals(List.of(), errors(answers), table);
                assertOneMaskedValue(answers, "relayed in clear from " + table + ": " + values(answers));
            }
        }
    }

    /** A guardrail names the table as the server does; quoted or not, in any ASCII case, it is the same table. */
    @Test
    void aGuardrailOnATableWithANonAsciiCapitalHoldsHoweverTheNameIsWritten() throws SQLException {
        try (Connection c = prod()) {
            for (String table : List.of("cc_Ärzte", "\"cc_Ärzte\"", "CC_ÄRZTE", "public.\"cc_Ärzte\"")) {
                String sql = "DELETE FROM " + table + " WHERE id = 1";
                String error = run(c, sql);
                if (table.equals("CC_ÄRZTE")) {
                    // "cc_Ärzte" and "cc_ÄRZTE" are different tables to the server: this one does not exist.
                    assertTrue(error != null && (error.startsWith("42P01") || error.contains("\"cc-aerzte-kept\"")),
                            sql + ": " + error);
                    continue;
                }
                assertTrue(error != null && error.startsWith("42501") && error.contains("\"cc-aerzte-kept\""),
                        sql + " must be refused by rule cc-aerzte-kept, got: " + (error == null ? "it ran" : error));
            }
        }
        try (Connection c = warden.direct()) {
            assertEquals("1", scalar(c, "SELECT count(*) FROM \"cc_Ärzte\""), "a DELETE reached the table");
        }
    }

    /**
     * A server whose encoding is single-byte folds the upper-half letters of unquoted names by its locale, which
     * Warden cannot know: such a text is refused, and the same names quoted, or in strings, pass.
     */
    @Test
    void aSingleByteServerRefusesUnquotedNonAsciiNames() throws SQLException {
        try (Connection c = warden.connect("latin1", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            assertEquals("LATIN1", scalar(c, "SHOW server_encoding"));
            assertBlocked(c, "SELECT 1 AS Ärzte", "server-encoding-names");
            assertEquals("1", scalar(c, "SELECT 1 AS \"Ärzte\""));
            assertEquals("Müller", scalar(c, "SELECT 'Müller' AS name"));
        }
    }

    /**
     * A server whose encoding is not UTF8 cuts a long name by its own bytes: in LATIN1, {@code é} is one byte, so a
     * quoted name of 62 ASCII letters and {@code é} is whole (63 bytes) to the server, while its 64 UTF-8 bytes
     * would be cut to the 62 letters. Such a text is refused, whatever it reads; shorter names pass.
     */
    @Test
    void aServerWhoseEncodingIsNotUtf8RefusesLongNonAsciiNames() throws SQLException {
        String table = "cc_" + "b".repeat(59) + "é";
        try (Connection c = warden.pg.connect("cc_latin1"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS \"" + table + "\" (id int, ssn text)");
            s.execute("TRUNCATE \"" + table + "\"");
            s.execute("INSERT INTO \"" + table + "\" VALUES (1, 'kestrel-4471')");
            s.execute("GRANT SELECT ON \"" + table + "\" TO cc_login");
        }
        try (Connection c = warden.connect("latin1", WardenHarness.USER, warden.token(), "preferQueryMode=simple")) {
            assertBlocked(c, "SELECT ssn || '' AS x FROM \"" + table + "\"", "server-encoding-names");
            assertBlocked(c, "SELECT 1 AS \"" + "é".repeat(32) + "\"", "server-encoding-names");
            assertEquals("1", scalar(c, "SELECT 1 AS \"" + "é".repeat(31) + "\""));
            assertEquals("1", scalar(c, "SELECT 1 AS \"" + "b".repeat(70) + "\""));
        }
    }

    /**
     * The server cuts a name longer than 63 bytes to its first 63 (scan.l's {@code truncate_identifier}, quoted
     * or not, with a NOTICE): {@code LONG_TABLE} with anything after it is {@code LONG_TABLE}. Warden must read
     * the same table, for masking's lineage and for a guardrail that names it.
     */
    @Test
    void aNameLongerThanTheServerKeepsIsTheTableItIsCutTo() throws Exception {
        assertSsnExpressionMaskedFrom(List.of(LONG_TABLE + "_tail", "\"" + LONG_TABLE + "_TAIL\"", LONG_TABLE + "ä"));
        try (Connection c = prod()) {
            assertBlocked(c, "DELETE FROM " + LONG_TABLE + "_tail WHERE id = 1", "cc-archive-kept");
            assertBlocked(c, "DELETE FROM \"" + LONG_TABLE + "_TAIL\" WHERE id = 1", "cc-archive-kept");
        }
        try (Connection c = warden.direct()) {
            assertEquals("1", scalar(c, "SELECT count(*) FROM " + LONG_TABLE), "a DELETE reached the table");
        }
    }

    /**
     * Attribute notation: the server reads {@code (x).f} as {@code f(x)} when {@code x} has no field {@code f}, so
     * a one-argument server-file function runs with no parenthesis after its name. Field access still runs.
     */
    @Test
    void aServerFileFunctionCalledInAttributeNotationIsRefused() throws SQLException {
        try (Connection c = prod()) {
            assertBlocked(c, "SELECT ('PG_VERSION'::text).pg_read_file", "server-file-functions");
            assertBlocked(c, "SELECT ('.'::text).PG_LS_DIR AS d", "server-file-functions");
            assertEquals("1", scalar(c, "SELECT (t).id FROM cc_src t"));
        }
    }

    /** Role names are exact to the server: the role "CC_Login" is not the session's login role cc_login. */
    @Test
    void aRoleWhoseNameDiffersFromTheLoginOnlyInCaseIsAnotherRole() throws SQLException {
        try (Connection c = prod()) {
            assertEquals(null, run(c, "SET ROLE CC_LOGIN"), "unquoted, the name folds to the login role itself");
            for (String sql : List.of("SET ROLE \"CC_Login\"", "SET ROLE 'CC_Login'",
                    "SELECT set_config('role', 'CC_Login', false)")) {
                assertBlocked(c, sql, "role-escalation");
                assertEquals("cc_login", scalar(c, "SELECT current_user"), sql);
            }
        }
    }

    /**
     * SET ROLE is the setting {@code role}, which SET and RESET also reach as a plain setting name: quoted, where
     * it is no keyword, and in any case (the server compares setting names case-insensitively).
     */
    @Test
    void theRoleSettingNamedAsAnIdentifierIsRoleEscalation() throws SQLException {
        try (Connection c = prod()) {
            for (String sql : List.of("SET \"role\" TO cc_admin", "SET SESSION \"ROLE\" = 'cc_admin'",
                    "SET \"Role\" TO DEFAULT")) {
                assertRoleChangeRefused(c, sql);
            }
            assertBlocked(c, "RESET \"ROLE\"", "role-escalation");
        }
    }

    /**
     * A function's SET clause sets a setting while it runs, the setting role too: its body then runs as that role.
     * Anyone may create functions in pg_temp (the database's TEMP privilege, PUBLIC's by default).
     */
    @Test
    void aFunctionThatSetsTheRoleSettingIsRoleEscalation() throws SQLException {
        try (Connection c = prod()) {
            for (String clause : List.of("SET role = cc_admin", "SET \"ROLE\" TO 'cc_admin'")) {
                String create = "CREATE OR REPLACE FUNCTION pg_temp.cc_as_admin() RETURNS text LANGUAGE sql "
                        + clause + " AS 'SELECT v FROM cc_vault'";
                String error = run(c, create);
                if (error == null) {
                    String read = run(c, "SELECT pg_temp.cc_as_admin()") == null
                            ? scalar(c, "SELECT pg_temp.cc_as_admin()") : "nothing";
                    fail("Warden let " + create + " run; calling it read " + read);
                }
                assertTrue(error.startsWith("42501") && error.contains("role-escalation"), create + ": " + error);
            }
            assertEquals(null, run(c, "CREATE FUNCTION pg_temp.cc_plain() RETURNS int LANGUAGE sql "
                    + "SET search_path = public AS 'SELECT 1'"));
            assertBlocked(c, "ALTER FUNCTION pg_temp.cc_plain() SET \"role\" TO cc_admin", "role-escalation");
            assertBlocked(c, "ALTER FUNCTION pg_temp.cc_plain() SET ROLE = cc_admin", "role-escalation");
        }
    }

    /** set_config('role', ...) is SET ROLE wherever the server evaluates it: in a CALL's or an EXECUTE's arguments. */
    @Test
    void setConfigRoleInTheArgumentsOfCallOrExecuteIsRoleEscalation() throws SQLException {
        try (Connection c = prod()) {
            assertEquals(null, run(c, "CREATE PROCEDURE pg_temp.cc_proc(x text) LANGUAGE sql AS 'SELECT 1'"));
            assertEquals(null, run(c, "PREPARE cc_arg(text) AS SELECT 1"));
            for (String sql : List.of("CALL pg_temp.cc_proc(set_config('role', 'cc_admin', false))",
                    "EXECUTE cc_arg(set_config('role', 'cc_admin', false))")) {
                assertRoleChangeRefused(c, sql);
            }
        }
    }

    /**
     * {@code sql} is refused by role-escalation and the session is still cc_login; if it ran and the session acts
     * as cc_admin, the failure says what cc_admin's table gave away.
     */
    private static void assertRoleChangeRefused(Connection c, String sql) throws SQLException {
        String error = run(c, sql);
        String role = scalar(c, "SELECT current_user");
        if (error == null && role.equals("cc_admin")) {
            fail("Warden let " + sql + " run: the session now acts as " + role + " and reads "
                    + scalar(c, "SELECT v FROM cc_vault"));
        }
        assertTrue(error != null && error.startsWith("42501") && error.contains("role-escalation"),
                sql + " must be refused by rule role-escalation, got: " + (error == null ? "it ran" : error));
        assertEquals("cc_login", role, sql);
    }

    private static String aOfRow1() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT a FROM cc_t WHERE id = 1");
        }
    }

    /**
     * After an error the server skips every message up to Sync, a Close included, and keeps the statement it
     * names. Warden must not forget that statement: one that needs an approval at each Execute would then run as
     * a statement Warden never saw, without one.
     */
    @Test
    void aCloseTheServerSkipsDoesNotLetAStatementRunWithoutItsApproval() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("s3", "UPDATE cc_t SET a = 0 WHERE id = 1", List.of()));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), errors(c.untilReady()));
            List<String> control = errors(bindAndExecute(c, "s3"));
            assertEquals(1, control.size(), "waits for an approver, then times out: " + control);
            assertEquals("1", aOfRow1());

            c.send(new FrontendMessage.Parse("bad", "SELECT * FROM cc_no_such_table", List.of()));
            c.send(new FrontendMessage.Close('S', "s3"));
            c.send(new FrontendMessage.Sync());
            List<String> refused = errors(c.untilReady());
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("42P01"), refused.toString());

            List<String> after = errors(bindAndExecute(c, "s3"));
            assertEquals("1", aOfRow1(), "PostgreSQL ran s3 (kept: it skipped the Close) without an approval: "
                    + after);
        }
    }

    /** As above, with a SQL DEALLOCATE that fails (an aborted transaction): the server keeps the statement. */
    @Test
    void aDeallocateTheServerRefusesDoesNotLetAStatementRunWithoutItsApproval() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("s4", "UPDATE cc_t SET a = 0 WHERE id = 1", List.of()));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), errors(c.untilReady()));
            assertEquals(List.of(), errors(query(c, "BEGIN")));
            assertEquals(1, errors(query(c, "SELECT 1 / 0")).size());
            List<String> refused = errors(query(c, "DEALLOCATE s4"));
            assertEquals(1, refused.size(), refused.toString());
            assertTrue(refused.get(0).startsWith("25P02"), refused.toString());
            assertEquals(List.of(), errors(query(c, "ROLLBACK")));

            List<String> after = errors(bindAndExecute(c, "s4"));
            assertEquals("1", aOfRow1(), "PostgreSQL ran s4 (kept: DEALLOCATE failed) without an approval: " + after);
        }
    }

    // ---- session settings -------------------------------------------------------------------------------

    /**
     * A text sent while an earlier statement may still change {@code standard_conforming_strings} is read both
     * ways, and refused when the readings differ. Here they differ only in the function called: under on, a
     * string and a comment; under off (what the server reads, once the earlier statement ran), a string and a
     * call of cc_wipe(), which deletes every row of cc_t. Same statement count, same kind, no write before the
     * catalog is asked: the readings must still count as different.
     */
    @Test
    void aPipelinedTextWhoseReadingsDifferInWhatTheyCallIsRefused() throws Exception {
        String text = "SELECT 'a\\' AS c --', cc_wipe() AS d";
        try (Connection c = prod()) {
            assertBlocked(c, "SELECT cc_wipe()", "delete-without-where");
        }
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Query(
                    "SELECT set_config('standard_conforming_strings', 'off', false), pg_sleep(0.3)"));
            c.send(new FrontendMessage.Query(text));
            assertEquals(List.of(), errors(c.untilReady()));
            List<String> second = errors(c.untilReady());
            assertEquals(10, rowsOfT(), "PostgreSQL ran cc_wipe() (read under standard_conforming_strings off) "
                    + "although Warden read the text under on: " + second);
            assertEquals(1, second.size(), second.toString());
            assertTrue(second.get(0).startsWith("42501"), second.toString());
        }
    }
}
