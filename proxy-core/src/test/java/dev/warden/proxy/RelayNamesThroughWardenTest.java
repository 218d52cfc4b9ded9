package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a146 (2026-12-08, on fff8bb9e): what a prepared statement's or a portal's name means, when a pipelined
 * message changes it before the server has answered the one before. Each batch is written at once, as a pipelining
 * client sends it, so Warden reads the later messages before the server's answers to the earlier ones come.
 */
class RelayNamesThroughWardenTest {

    static WardenHarness warden;

    private static final String TOP_LEVEL = """
            admin: { address: "127.0.0.1:0" }
            approvals:
              timeout: 2s
              store: { type: file, path: "${APPROVALS_DIR}" }
            masking:
              unmasked_for: { groups: [pii-readers], agents: never }
            guardrails:
              rules:
                - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
            """;

    /** Reads the SSNs in forms no value detector knows (reversed); masked by the lineage of the column. */
    private static final String SENSITIVE = "SELECT reverse(ssn) AS r FROM a146_people ORDER BY id";
    private static final String HARMLESS = "SELECT 'x'::text AS r";
    private static final List<String> SSNS = List.of("123-45-6789", "987-65-4321");

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, TOP_LEVEL);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE a146_people (id int, ssn text)");
            s.execute("INSERT INTO a146_people VALUES (1, '" + SSNS.get(0) + "'), (2, '" + SSNS.get(1) + "')");
            s.execute("CREATE TABLE a146_orders (id int, total int)");
            s.execute("GRANT ALL ON a146_people, a146_orders TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("TRUNCATE a146_orders");
            s.execute("INSERT INTO a146_orders VALUES (1, 10), (2, 20)");
        }
    }

    /**
     * C2: a prepared UPDATE, then at once a Parse of its name (the server refuses it, 42P05: the name exists), Sync,
     * and {@code EXECUTE name}. Warden judged the EXECUTE as the refused Parse's SELECT and the UPDATE ran with no
     * approval. Now the EXECUTE waits for the Parse's answer and is judged as the UPDATE the name still means: held,
     * and (nobody approves) it expires.
     */
    @Test
    void anExecuteAfterAParseTheServerRefusesIsJudgedAsWhatTheNameStillMeans() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // The text EXECUTE w1 read once, as the attacker's had been: a reading from the cache goes at once.
            c.sendAtOnce(new FrontendMessage.Parse("w1", "SELECT 1", List.of()), new FrontendMessage.Sync(),
                    new FrontendMessage.Query("EXECUTE w1"), new FrontendMessage.Close('S', "w1"),
                    new FrontendMessage.Sync());
            for (int i = 0; i < 3; i++) {
                assertEquals(List.of(), RawClient.errors(c.untilReady()));
            }
            c.sendAtOnce(new FrontendMessage.Parse("w1", "UPDATE a146_orders SET total = total + 1000 WHERE id = 1",
                    List.of()), new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()), "a Parse runs nothing");
            c.sendAtOnce(new FrontendMessage.Parse("w1", "SELECT 1", List.of()), new FrontendMessage.Sync(),
                    new FrontendMessage.Query("EXECUTE w1"));
            List<BackendMessage> answers = new ArrayList<>(c.untilReady());
            answers.addAll(c.untilReady());
            List<String> errors = RawClient.errors(answers);
            assertEquals(2, errors.size(), answers.toString());
            assertTrue(errors.get(0).startsWith("42P05"), errors.toString());
            assertTrue(expired(errors.get(1)), errors.toString());
        }
        assertEquals("10", total(1), "the UPDATE did not run");
    }

    /** C2 in the extended protocol: the same Parse, Sync, then Bind and Execute of the name. */
    @Test
    void aBindAfterAParseTheServerRefusesBindsWhatTheNameStillMeans() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Parse("w2", "UPDATE a146_orders SET total = total + 1000 WHERE id = 1",
                    List.of()), new FrontendMessage.Sync());
            c.untilReady();
            c.sendAtOnce(new FrontendMessage.Parse("w2", "SELECT 1", List.of()), new FrontendMessage.Sync(),
                    new FrontendMessage.Bind("p", "w2", List.of(), List.of(), List.of()),
                    new FrontendMessage.Execute("p", 0), new FrontendMessage.Sync());
            List<BackendMessage> answers = new ArrayList<>(c.untilReady());
            answers.addAll(c.untilReady());
            List<String> errors = RawClient.errors(answers);
            assertTrue(errors.size() == 2 && errors.get(0).startsWith("42P05") && expired(errors.get(1)),
                    answers.toString());
            assertFalse(answers.stream().anyMatch(m -> m instanceof BackendMessage.CommandComplete), answers.toString());
        }
        assertEquals("10", total(1), "the UPDATE did not run");
    }

    /**
     * C2 with the unnamed statement and a Parse the server skips: the unnamed statement is an UPDATE; the next batch
     * fails at a Bind (a wrong parameter count), so the server skips the Parse of the unnamed statement behind it; the
     * batch after binds the unnamed statement, still the UPDATE on the server.
     */
    @Test
    void aBindAfterAParseTheServerSkippedBindsWhatTheNameStillMeans() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Parse("s0", "SELECT 1", List.of()),
                    new FrontendMessage.Parse("", "UPDATE a146_orders SET total = total + 1000 WHERE id = 2",
                            List.of()), new FrontendMessage.Sync());
            c.untilReady();
            c.sendAtOnce(new FrontendMessage.Bind("zz", "s0", List.of(), List.of("x".getBytes(StandardCharsets.UTF_8)),
                            List.of()),
                    new FrontendMessage.Parse("", "SELECT 1", List.of()), new FrontendMessage.Sync(),
                    new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()),
                    new FrontendMessage.Execute("", 0), new FrontendMessage.Sync());
            List<BackendMessage> answers = new ArrayList<>(c.untilReady());
            answers.addAll(c.untilReady());
            List<String> errors = RawClient.errors(answers);
            assertTrue(errors.size() == 2 && errors.get(0).startsWith("08P01") && expired(errors.get(1)),
                    answers.toString());
        }
        assertEquals("20", total(2), "the UPDATE did not run");
    }

    /**
     * C1: {@code EXECUTE q1} of a sensitive read and, right behind it, a Parse of q1 with a harmless text (the server
     * refuses it, 42P05). The EXECUTE's rows were masked as the harmless text's: the reversed SSNs went out in clear.
     */
    @Test
    void anExecutesRowsAreMaskedAsTheStatementItRan() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Parse("q1", SENSITIVE, List.of()), new FrontendMessage.Sync());
            c.untilReady();
            c.sendAtOnce(new FrontendMessage.Query("EXECUTE q1"), new FrontendMessage.Parse("q1", HARMLESS, List.of()),
                    new FrontendMessage.Sync());
            List<BackendMessage> answers = new ArrayList<>(c.untilReady());
            answers.addAll(c.untilReady());
            assertMasked(answers);
            // The extended form: a refused re-Parse, Sync, then Bind and Execute of the name.
            c.sendAtOnce(new FrontendMessage.Parse("q1", HARMLESS, List.of()), new FrontendMessage.Sync(),
                    new FrontendMessage.Bind("p", "q1", List.of(), List.of(), List.of()),
                    new FrontendMessage.Execute("p", 0), new FrontendMessage.Sync());
            answers = new ArrayList<>(c.untilReady());
            answers.addAll(c.untilReady());
            assertMasked(answers);
        }
    }

    /**
     * a150 F2: as C1, but the rows came while the catalog was asked about their table's columns (another identity's
     * DDL had dropped what it knew; here, a table it has not read yet, and its lookup kept waiting). The server's
     * answer to {@code EXECUTE b} was counted as it arrived, so the Parse of b behind it went on, and Warden took b for
     * its text until the server's refusal (42P05), which is not read while the rows wait: the rows, masked by what b
     * meant when they were relayed, went out in clear. The Parse now waits until the rows were relayed.
     */
    @Test
    void anExecutesRowsHeldForTheCatalogAreMaskedAsTheStatementItRan() throws Exception {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE a150_people (id int, ssn text)");
            s.execute("INSERT INTO a150_people VALUES (1, '" + SSNS.get(0) + "'), (2, '" + SSNS.get(1) + "')");
            s.execute("GRANT ALL ON a150_people TO PUBLIC");
        }
        // A column of the table (id) has the RowDescription's columns looked up in the catalog, by table OID.
        String sensitive = "SELECT id, reverse(ssn) AS r FROM a150_people ORDER BY id";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Parse("a", HARMLESS, List.of()), new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            c.sendAtOnce(new FrontendMessage.Query("PREPARE b AS " + sensitive));
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            // The text EXECUTE a read once: read again from the cache, the Parse below needs nothing of the catalog.
            c.sendAtOnce(new FrontendMessage.Parse("w", "EXECUTE a", List.of()), new FrontendMessage.Close('S', "w"),
                    new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            List<BackendMessage> answers = new ArrayList<>();
            Object catalog = catalog("dev");
            synchronized (catalog) { // its lookups wait: the rows are held meanwhile
                c.sendAtOnce(new FrontendMessage.Query("EXECUTE b"), new FrontendMessage.Parse("b", "EXECUTE a",
                        List.of()), new FrontendMessage.Sync());
                Thread.sleep(1500);
            }
            answers.addAll(c.untilReady());
            answers.addAll(c.untilReady());
            List<String> values = RawClient.values(answers);
            for (String ssn : SSNS) {
                assertFalse(values.contains(new StringBuilder(ssn).reverse().toString()),
                        "a reversed SSN in clear: " + answers);
            }
            assertEquals(4, values.size(), answers.toString());
            List<String> errors = RawClient.errors(answers);
            assertTrue(errors.size() == 1 && errors.get(0).startsWith("42P05"), answers.toString());
            // b is still the sensitive read.
            c.sendAtOnce(new FrontendMessage.Query("EXECUTE b"));
            values = RawClient.values(c.untilReady());
            for (String ssn : SSNS) {
                assertFalse(values.contains(new StringBuilder(ssn).reverse().toString()), values.toString());
            }
        }
    }

    /** The catalog cache of {@code environment} (its lookups hold its monitor). */
    private static Object catalog(String environment) throws Exception {
        java.lang.reflect.Field catalogs = warden.server().getClass().getDeclaredField("catalogs");
        catalogs.setAccessible(true);
        Object catalog = ((java.util.Map<?, ?>) catalogs.get(warden.server())).get(environment);
        assertTrue(catalog != null, "no catalog for " + environment);
        return catalog;
    }

    /**
     * C1 in one text: {@code EXECUTE q; DEALLOCATE q; PREPARE q AS <harmless>} had the EXECUTE's rows masked as the
     * harmless text's. Now a masked identity's text may not redefine a prepared name after it EXECUTEs one.
     */
    @Test
    void aTextThatExecutesAndThenRedefinesPreparedNamesIsRefused() throws Exception {
        try (Connection c = warden.simpleSession("dev")) {
            Statement s = c.createStatement();
            s.execute("PREPARE q4 AS " + SENSITIVE);
            SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> s.execute(
                    "EXECUTE q4; DEALLOCATE q4; PREPARE q4 AS " + HARMLESS));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("masking-names-redefined"), e.getMessage());
            // Apart, each runs, and the rows are masked.
            assertRowsMasked(WardenHarness.column(c, "EXECUTE q4"));
            // DISCARD PLANS, SEQUENCES and TEMP keep the prepared statements (a148 F2: refused behind an EXECUTE, and
            // Warden forgot the names after one, so the next EXECUTE was refused while the server had the name).
            for (String discard : List.of("DISCARD PLANS", "discard sequences", "DISCARD /* all */ TEMP")) {
                s.execute(discard);
                assertRowsMasked(WardenHarness.column(c, "EXECUTE q4"));
                assertTrue(s.execute("EXECUTE q4; " + discard), discard);
                List<String> after = new ArrayList<>();
                try (java.sql.ResultSet rs = s.getResultSet()) {
                    while (rs.next()) {
                        after.add(rs.getString(1));
                    }
                }
                assertRowsMasked(after);
            }
            s.execute("DEALLOCATE q4");
        }
    }


    /**
     * a148 F2: a plain {@code EXPLAIN EXECUTE q} of a prepared read was held in production as a write. EXPLAIN
     * [ANALYZE] EXECUTE of a read with constants for arguments is a read; of a write, with ANALYZE, it is held. (Sent
     * as a Query; in a Parse, an SQL EXECUTE is still judged as a write.)
     */
    @Test
    void anExplainOfAnExecuteOfAReadIsNotHeld() throws Exception {
        try (Connection c = warden.simpleSession("prod");
             Statement s = c.createStatement()) {
            s.execute("PREPARE e1(int) AS SELECT total FROM a146_orders WHERE id = $1");
            for (String sql : List.of("EXPLAIN EXECUTE e1(1)", "EXPLAIN ANALYZE EXECUTE e1(1)",
                    "explain analyze verbose execute e1(2)")) {
                List<String> plan = WardenHarness.column(c, sql); // held, it would expire (57014)
                assertTrue(plan.toString().contains("a146_orders"), sql + ": " + plan);
            }
        }
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Parse("e2", "UPDATE a146_orders SET total = 0 WHERE id = $1",
                    List.of(23)), new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            c.sendAtOnce(new FrontendMessage.Query("EXPLAIN ANALYZE EXECUTE e2(1)"));
            List<String> errors = RawClient.errors(c.untilReady());
            assertTrue(errors.size() == 1 && expired(errors.get(0)), errors.toString());
        }
        try (Connection c = warden.direct()) {
            assertEquals(List.of("10", "20"), WardenHarness.column(c, "SELECT total FROM a146_orders ORDER BY id"));
        }
    }

    /**
     * a148 F1: a change of names by SQL that the server refuses ({@code DISCARD ALL} in the implicit transaction of a
     * two-statement text, 25001), and right behind it a Parse of a name it had dropped, refused too (42P05): Warden
     * was left without the name, now and then, while the server still held it. The Parse now waits for the text's
     * answer, and the name keeps its statement.
     */
    @Test
    void aRefusedDiscardAndARefusedParseLeaveTheNameAsTheServerHasIt() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            for (int round = 0; round < 5; round++) {
                c.sendAtOnce(new FrontendMessage.Parse("q" + round, SENSITIVE, List.of()), new FrontendMessage.Sync());
                c.untilReady();
                c.sendAtOnce(new FrontendMessage.Query("SELECT 1; DISCARD ALL"),
                        new FrontendMessage.Parse("q" + round, HARMLESS, List.of()), new FrontendMessage.Sync());
                List<BackendMessage> answers = new ArrayList<>(c.untilReady());
                answers.addAll(c.untilReady());
                List<String> errors = RawClient.errors(answers);
                assertTrue(errors.size() == 2 && errors.get(0).startsWith("25001") && errors.get(1).startsWith("42P05"),
                        answers.toString());
                c.sendAtOnce(new FrontendMessage.Query("EXECUTE q" + round));
                answers = c.untilReady();
                assertEquals(List.of(), RawClient.errors(answers), "round " + round + ": " + answers);
                assertMasked(answers);
            }
        }
    }

    /**
     * F0: a Describe of a prepared FETCH whose cursor was closed made the PostgreSQL backend dereference a null
     * pointer: the whole server restarted (every session of every database ended). Warden refuses that Describe.
     */
    @Test
    void aDescribeOfAPreparedFetchIsRefusedAndTheServerStaysUp() throws Exception {
        try (RawClient c = new RawClient(warden.port()); Connection other = warden.simpleSession("dev")) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.sendAtOnce(new FrontendMessage.Query("BEGIN"), new FrontendMessage.Query("DECLARE c CURSOR FOR SELECT 1"),
                    new FrontendMessage.Parse("f", "FETCH 1 FROM c", List.of()), new FrontendMessage.Query("CLOSE c"),
                    new FrontendMessage.Sync());
            for (int i = 0; i < 4; i++) {
                c.untilReady();
            }
            c.sendAtOnce(new FrontendMessage.Describe('S', "f"), new FrontendMessage.Sync());
            List<String> errors = RawClient.errors(c.untilReady());
            assertEquals(1, errors.size(), errors.toString());
            assertTrue(errors.get(0).startsWith("0A000"), errors.toString());
            // a148 F0: an extended-protocol EXECUTE of the prepared FETCH crashed it the same way, at Describe
            // (of the statement or its portal) or at Bind. (Outside the transaction, which the refusal ended, the
            // cursor is closed as well.)
            c.sendAtOnce(new FrontendMessage.Query("ROLLBACK"));
            c.untilReady();
            c.sendAtOnce(new FrontendMessage.Parse("x", "EXECUTE f", List.of()), new FrontendMessage.Describe('S', "x"),
                    new FrontendMessage.Sync());
            errors = RawClient.errors(c.untilReady());
            assertTrue(errors.size() == 1 && errors.get(0).startsWith("0A000"), errors.toString());
            c.sendAtOnce(new FrontendMessage.Bind("px", "x", List.of(), List.of(), List.of()),
                    new FrontendMessage.Execute("px", 0), new FrontendMessage.Sync());
            errors = RawClient.errors(c.untilReady());
            assertTrue(errors.size() == 1 && errors.get(0).startsWith("0A000"), errors.toString());
            // a150 F1: a chain of five EXECUTEs (x5 runs x4 ... x1 runs f) still crashed it: past four links the chain
            // counted as reaching no FETCH. Five are followed, and one of twenty is refused whole.
            for (int i = 1; i <= 20; i++) {
                c.sendAtOnce(new FrontendMessage.Parse("c" + i, "EXECUTE " + (i == 1 ? "f" : "c" + (i - 1)), List.of()),
                        new FrontendMessage.Sync());
                c.untilReady();
            }
            for (String last : List.of("c5", "c20")) {
                c.sendAtOnce(new FrontendMessage.Describe('S', last), new FrontendMessage.Sync());
                errors = RawClient.errors(c.untilReady());
                assertTrue(errors.size() == 1 && errors.get(0).startsWith("0A000"), last + ": " + errors);
                c.sendAtOnce(new FrontendMessage.Bind("p" + last, last, List.of(), List.of(), List.of()),
                        new FrontendMessage.Execute("p" + last, 0), new FrontendMessage.Sync());
                errors = RawClient.errors(c.untilReady());
                assertTrue(errors.size() == 1 && errors.get(0).startsWith("0A000"), last + ": " + errors);
            }
            assertEquals(List.of("1"), WardenHarness.column(other, "SELECT 1"), "another session is still there");
        }
    }

    /** The error of a statement held for approval that nobody approved within the policy's 2 s. */
    private static boolean expired(String error) {
        return error.startsWith("57014 approval ") && error.contains("expired");
    }

    private static void assertMasked(List<BackendMessage> answers) {
        assertRowsMasked(RawClient.values(answers));
    }

    /** Two rows, neither of them a reversed SSN in clear. */
    private static void assertRowsMasked(List<String> values) {
        for (String ssn : SSNS) {
            String reversed = new StringBuilder(ssn).reverse().toString();
            assertFalse(values.contains(reversed), "a reversed SSN in clear: " + values);
        }
        assertEquals(2, values.size(), values.toString());
    }

    private static String total(int id) throws SQLException {
        try (Connection c = warden.direct()) {
            return WardenHarness.column(c, "SELECT total FROM a146_orders WHERE id = " + id).get(0);
        }
    }
}
