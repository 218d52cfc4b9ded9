package dev.warden.proxy;

import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a113 (2026-12-06) over approvals, the admin API, the audit trail and identity: the holes it found in
 * the extended protocol's audit records and Bind handling, each checked against the server.
 */
class AttackPass22Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "");
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ap22_orders (id int primary key, total int)");
            s.execute("INSERT INTO ap22_orders VALUES (1, 10), (2, 20)");
            s.execute("GRANT ALL ON ap22_orders TO PUBLIC");
            // One name in two schemas: a masked read of it has Warden read the session's search_path first.
            s.execute("CREATE SCHEMA ap22_other");
            s.execute("GRANT USAGE ON SCHEMA ap22_other TO PUBLIC");
            s.execute("CREATE TABLE public.ap22_twice (id int)");
            s.execute("CREATE TABLE ap22_other.ap22_twice (id int)");
            s.execute("INSERT INTO public.ap22_twice VALUES (7)");
            s.execute("GRANT ALL ON public.ap22_twice, ap22_other.ap22_twice TO PUBLIC");
            s.execute("CREATE TABLE ap22_deferred (id int, CONSTRAINT ap22_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
            s.execute("INSERT INTO ap22_deferred VALUES (1)");
            s.execute("GRANT ALL ON ap22_deferred TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * A113 A2: each statement of a pipelined batch gets a result record saying what the server did with it. Before,
     * {@code SELECT 1/0} (it fails at Bind, where the server plans it) was recorded with no SQLSTATE, and so was
     * every statement the server skipped after it, as if each had run and succeeded.
     */
    @Test
    void eachStatementOfAFailedPipelineIsRecordedAsTheServerAnsweredIt() throws Exception {
        String tag = "ap22_" + System.nanoTime();
        String update = "UPDATE ap22_orders SET total = 777 WHERE id = 1 /* " + tag + " a */";
        String fails = "SELECT 1/0 /* " + tag + " b */";
        String skipped = "SELECT 2 /* " + tag + " c */";
        List<BackendMessage> answers;
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            sendBatch(c, update, fails, skipped);
            answers = c.untilReady();
        }
        assertEquals(List.of("22012 division by zero"), RawClient.errors(answers), answers.toString());
        assertEquals(10, scalar("SELECT total FROM ap22_orders WHERE id = 1"),
                "the server rolled the UPDATE back with the batch's implicit transaction");
        AuditRecord a = resultOf(update);
        AuditRecord b = resultOf(fails);
        AuditRecord c = resultOf(skipped);
        assertEquals("UPDATE 1", a.get("command_tag").asText(), a.text());
        assertTrue(a.get("sqlstate").isNull(), a.text());
        assertEquals("22012", b.get("sqlstate").asText(), "the failing statement's error: " + b.text());
        assertEquals("25P02", c.get("sqlstate").asText(), "a statement the server skipped: " + c.text());
        assertEquals("", c.get("command_tag").asText(), c.text());
    }

    /**
     * A113 A2: the same for a statement whose Parse fails (its literal cannot convert): its Execute, which the server
     * skips, is recorded with the Parse's error; one prepared before it, bound after the failure, as skipped.
     */
    @Test
    void aStatementWhoseParseFailsIsRecordedWithItsError() throws Exception {
        String tag = "ap22_" + System.nanoTime();
        String earlier = "SELECT 3 /* " + tag + " earlier */";
        String bad = "SELECT 'zzqq'::int /* " + tag + " bad */";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("earlier", earlier, List.of()));
            c.send(new FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            c.send(new FrontendMessage.Parse("bad", bad, List.of()));
            c.send(new FrontendMessage.Bind("pb", "bad", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("pb", 0));
            c.send(new FrontendMessage.Bind("pe", "earlier", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("pe", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = c.untilReady();
            assertEquals(1, RawClient.errors(answers).size(), answers.toString());
            assertTrue(RawClient.errors(answers).get(0).startsWith("22P02"), answers.toString());
        }
        assertEquals("22P02", resultOf(bad).get("sqlstate").asText(), resultOf(bad).text());
        assertEquals("25P02", resultOf(earlier).get("sqlstate").asText(), resultOf(earlier).text());
    }

    /**
     * A114 B1: the Sync commits a batch's implicit transaction, and a deferred constraint fails there, after each
     * statement completed: both are rolled back, and their result records carry the commit's error. Before, they were
     * recorded as successes and the error nowhere.
     */
    @Test
    void aCommitThatFailsAtSyncIsRecordedOnTheStatementsItRolledBack() throws Exception {
        String tag = "ap22_" + System.nanoTime();
        String insert = "INSERT INTO ap22_deferred VALUES (1) /* " + tag + " i */";
        String update = "UPDATE ap22_orders SET total = 999 WHERE id = 1 /* " + tag + " u */";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            sendBatch(c, insert, update);
            List<BackendMessage> answers = c.untilReady();
            assertEquals(1, RawClient.errors(answers).size(), answers.toString());
            assertTrue(RawClient.errors(answers).get(0).startsWith("23505"), answers.toString());
        }
        assertEquals(1, scalar("SELECT count(*) FROM ap22_deferred"), "the INSERT was rolled back");
        assertEquals(10, scalar("SELECT total FROM ap22_orders WHERE id = 1"), "the UPDATE was rolled back");
        AuditRecord i = resultOf(insert);
        AuditRecord u = resultOf(update);
        assertEquals("INSERT 0 1", i.get("command_tag").asText(), i.text());
        assertEquals("23505", i.get("sqlstate").asText(), i.text());
        assertEquals("UPDATE 1", u.get("command_tag").asText(), u.text());
        assertEquals("23505", u.get("sqlstate").asText(), u.text());
    }

    /**
     * A114 B6: a batch's result records come in the order its statements came, also when one fails at Execute and
     * the server skips the next (before, the skipped one's record came first).
     */
    @Test
    void aBatchsResultRecordsComeInTheOrderItsStatementsCame() throws Exception {
        String tag = "ap22_" + System.nanoTime();
        String fails = "SELECT 1 / (total - total) FROM ap22_orders WHERE id = 1 /* " + tag + " f */";
        String skipped = "SELECT 4 /* " + tag + " s */";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            sendBatch(c, fails, skipped);
            assertEquals(List.of("22012 division by zero"), RawClient.errors(c.untilReady()));
        }
        AuditRecord f = resultOf(fails);
        assertEquals("22012", f.get("sqlstate").asText(), f.text());
        // The skipped statement has records when Warden sent it before the error came (else it never went, and
        // nothing ran): then its result comes after the failing one's.
        AuditRecord s = resultOf(skipped, false);
        if (s != null) {
            assertEquals("25P02", s.get("sqlstate").asText(), s.text());
            assertTrue(f.seq() < s.seq(), "the failing statement's record first: " + f.text() + " " + s.text());
        }
    }

    /**
     * A114 B4: a statement still running when its client goes has a result record saying the connection ended under
     * it (whether it finished is not known). Before, it had a query record and no result record.
     */
    @Test
    void aStatementRunningWhenTheClientGoesIsRecordedAsCutOff() throws Exception {
        String sleep = "SELECT pg_sleep(3) /* ap22_" + System.nanoTime() + " */";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Query(sleep));
            Thread.sleep(300);
        }
        AuditRecord r = resultOf(sleep);
        assertEquals("08006", r.get("sqlstate").asText(), r.text());
        assertEquals("", r.get("command_tag").asText(), r.text());
    }

    /**
     * A114 B2: a client that pipelines with Flush (no Sync) keeps its implicit transaction open; Warden's own lookup
     * (the search_path, before a masked read of a name two schemas hold) must not end it with a Sync of its own.
     * Before, that Sync committed the UPDATE, which the batch's later error rolls back on a direct connection.
     */
    @Test
    void wardensOwnLookupDoesNotCommitAClientsUnsyncedPipeline() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("", "UPDATE ap22_orders SET total = 555 WHERE id = 2", List.of()));
            c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Flush());
            untilComplete(c);
            c.send(new FrontendMessage.Parse("", "SELECT id FROM ap22_twice", List.of()));
            c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Flush());
            untilComplete(c);
            c.send(new FrontendMessage.Parse("", "SELECT 1/0", List.of()));
            c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = c.untilReady();
            assertEquals(List.of("22012 division by zero"), RawClient.errors(answers), answers.toString());
        }
        assertEquals(20, scalar("SELECT total FROM ap22_orders WHERE id = 2"),
                "the batch's error rolled the UPDATE back, as on a direct connection");
    }

    /** Parse, Bind and Execute of each of {@code statements} (unnamed), then one Sync. */
    private static void sendBatch(RawClient c, String... statements) throws java.io.IOException {
        for (String sql : statements) {
            c.send(new FrontendMessage.Parse("", sql, List.of()));
            c.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
        }
        c.send(new FrontendMessage.Sync());
    }

    private static void untilComplete(RawClient c) throws java.io.IOException {
        BackendMessage m;
        do {
            m = c.read();
            assertTrue(!(m instanceof BackendMessage.ErrorResponse), m.toString());
        } while (!(m instanceof BackendMessage.CommandComplete));
    }

    /**
     * A113 A3: a Bind whose parameter format count is neither 0, 1 nor the count of its values gets the server's
     * protocol error and the session goes on. Before, Warden ended the session with an internal error (XX000,
     * IndexOutOfBoundsException) while reading the values for the audit record.
     */
    @Test
    void aBindWithMoreValuesThanFormatsGetsTheServersProtocolError() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new FrontendMessage.Parse("three", "SELECT $1::int + $2::int + $3::int", List.of()));
            byte[] one = "1".getBytes(StandardCharsets.US_ASCII);
            c.send(new FrontendMessage.Bind("", "three", List.of((short) 0, (short) 0), List.of(one, one, one),
                    List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            List<BackendMessage> answers = c.untilReady();
            assertEquals(List.of("08P01 bind message has 2 parameter formats but 3 parameters"),
                    RawClient.errors(answers), answers.toString());
            c.send(new FrontendMessage.Bind("", "three", List.of(), List.of(one, one, one), List.of()));
            c.send(new FrontendMessage.Execute("", 0));
            c.send(new FrontendMessage.Sync());
            answers = c.untilReady();
            assertEquals(List.of(), RawClient.errors(answers), answers.toString());
            assertEquals(List.of("3"), RawClient.values(answers), "the session goes on");
        }
    }

    private static AuditRecord resultOf(String sql) throws Exception {
        return resultOf(sql, true);
    }

    /** The result record of {@code sql}'s query record; null when it has no query record and none is required. */
    private static AuditRecord resultOf(String sql, boolean required) throws Exception {
        long deadline = System.currentTimeMillis() + 5000;
        while (true) {
            List<AuditRecord> all = AuditReader.of(warden.auditDir()).search(AuditFilter.all()).stream()
                    .map(AuditReader.Line::record).toList();
            Long seq = null;
            for (AuditRecord r : all) {
                if (r.type().equals("query") && r.get("statement") != null
                        && r.get("statement").asText().equals(sql)) {
                    seq = r.seq();
                }
            }
            for (AuditRecord r : all) {
                if (seq != null && r.type().equals("result") && r.get("query_seq").asLong() == seq) {
                    return r;
                }
            }
            if (System.currentTimeMillis() > deadline) {
                if (seq == null && !required) {
                    return null;
                }
                throw new AssertionError("no result record of " + sql + (seq == null ? " (no query record)" : ""));
            }
            Thread.sleep(50);
        }
    }

    private static int scalar(String sql) throws SQLException {
        try (Connection c = warden.direct(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }
}
