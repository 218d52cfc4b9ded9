package dev.warden.proxy;

import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.warden.proxy.ProtocolPass15Test.bind;
import static dev.warden.proxy.ProtocolPass15Test.cstr;
import static dev.warden.proxy.ProtocolPass15Test.execute;
import static dev.warden.proxy.ProtocolPass15Test.flush;
import static dev.warden.proxy.ProtocolPass15Test.frame;
import static dev.warden.proxy.ProtocolPass15Test.int16;
import static dev.warden.proxy.ProtocolPass15Test.int32;
import static dev.warden.proxy.ProtocolPass15Test.latin1;
import static dev.warden.proxy.ProtocolPass15Test.parse;
import static dev.warden.proxy.ProtocolPass15Test.raw;
import static dev.warden.proxy.ProtocolPass15Test.sync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No record, no query, for a Bind too. Bind plans its statement, and planning computes the IMMUTABLE calls of
 * constants: here gw_bindkey(v), IMMUTABLE SQL over the volatile gw_bindadd, which inserts v into gw_bound. The
 * statement is allowed (gw_bound has no rule), so its Bind may go without an Execute, as clients that describe a
 * portal do; but it runs the insert, and before, it left no record. Each probe counts the rows the server inserted
 * and checks that every one of them has a query record naming the statement with its bound value, and a result
 * record of its own.
 */
class BindAloneRecordTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); java.sql.Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "gw_login"), WardenHarness.unmaskedWithRules(
                        "{ name: bound-kept, environments: [prod], match: { statements: [DELETE], tables: "
                                + "[public.gw_bound] }, action: block }"));
        warden.directly("CREATE TABLE gw_bound (v text)", "GRANT SELECT, INSERT ON gw_bound TO gw_login",
                "CREATE OR REPLACE FUNCTION gw_bindadd(text) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO public.gw_bound VALUES ($1); RETURN $1; END$$",
                "CREATE OR REPLACE FUNCTION gw_bindkey(text) RETURNS text IMMUTABLE LANGUAGE sql AS "
                        + "'SELECT public.gw_bindadd($1)'");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** Bind with one text parameter, text formats. */
    static byte[] bindWith(String portal, String statement, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return frame('B', cstr(latin1(portal)), cstr(latin1(statement)), int16(0), int16(1), int32(v.length), v,
                int16(0));
    }

    static RawClient login(String user) throws Exception {
        RawClient raw = new RawClient(warden.port());
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", "prod");
        raw.send(StartupPacket.StartupMessage.of(params));
        raw.expect(BackendMessage.AuthenticationCleartextPassword.class);
        raw.send(FrontendMessage.AuthenticationResponse.password(
                warden.issuer.token().email(user).groups("eng").sign()));
        raw.untilReady();
        return raw;
    }

    /** The values the server inserted into gw_bound, in order. */
    static List<String> inserted() throws Exception {
        try (Connection c = warden.direct()) {
            String all = WardenHarness.scalar(c, "SELECT coalesce(string_agg(v, ',' ORDER BY ctid), '') FROM gw_bound");
            return all.isEmpty() ? List.of() : List.of(all.split(","));
        }
    }

    /**
     * Runs {@code messages} in one session (then Sync) and returns, for each value the server inserted, whether a
     * query record names {@code sql} with that value bound and a result record answers it; the printout on failure
     * has the answers and the records.
     */
    static void assertEveryInsertRecorded(String user, String sql, List<String> expected, byte[]... messages)
            throws Exception {
        warden.directly("TRUNCATE gw_bound");
        String answers;
        try (RawClient c = login(user)) {
            for (byte[] m : messages) {
                c.send(m);
            }
            c.send(sync());
            answers = raw(c);
            c.send(new FrontendMessage.Query("SELECT 'still in step'"));
            String next = raw(c);
            assertTrue(next.contains("still in step"), next);
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        List<String> ran = inserted();
        String shown = "server inserted " + ran + "; client got:\n" + answers + "audit:\n" + WardenHarness.describe(records);
        assertEquals(expected, ran, shown);
        List<String> recordedValues = new ArrayList<>();
        for (AuditRecord q : records) {
            if (!q.type().equals("query") || !q.get("statement").asText().equals(sql)
                    || !"allow".equals(q.get("decision").asText())) {
                continue;
            }
            boolean answered = records.stream().anyMatch(r -> r.type().equals("result")
                    && r.get("query_seq").asLong() == q.seq());
            assertTrue(answered, "query record " + q.seq() + " has no result record\n" + shown);
            recordedValues.add(q.get("parameters").get(0).asText()); // as a literal: 'v'
        }
        for (String v : ran) {
            assertTrue(recordedValues.remove("'" + v + "'"), "the insert of " + v + " has no query record of its own\n" + shown);
        }
    }

    @Test
    void parseBindSyncIsRecorded() throws Exception {
        String sql = "SELECT gw_bindkey($1)";
        assertEveryInsertRecorded("bindalone1@example.com", sql, List.of("a1"),
                parse(new byte[0], sql), bindWith("", "", "a1"));
    }

    @Test
    void aBindThenFlushIsRecorded() throws Exception {
        String sql = "SELECT gw_bindkey($1)";
        assertEveryInsertRecorded("bindalone2@example.com", sql, List.of("f1"),
                parse(latin1("sf"), sql), bindWith("pf", "sf", "f1"), flush());
    }

    /** Two portals bound before either runs: the second Bind goes with the first portal's Execute. */
    @Test
    void aBindOvertakenByAnotherPortalsExecuteIsRecorded() throws Exception {
        String sql = "SELECT gw_bindkey($1)";
        // p1's Bind runs the insert of b1, p2's that of b2; each Execute returns its row (the folded constant).
        assertEveryInsertRecorded("bindalone3@example.com", sql, List.of("b1", "b2"),
                parse(latin1("s3"), sql), bindWith("p1", "s3", "b1"), bindWith("p2", "s3", "b2"),
                execute(latin1("p1"), 0), execute(latin1("p2"), 0));
        // Write-ahead: b2's insert ran at its Bind, before p1's Execute, so its record comes before p1's.
        List<AuditRecord> queries = warden.awaitSessionEnd("bindalone3@example.com").stream()
                .filter(r -> r.type().equals("query") && r.get("statement").asText().equals(sql)).toList();
        assertEquals("'b2'", queries.get(0).get("parameters").get(0).asText(), WardenHarness.describe(queries));
    }

    /** The unnamed portal bound twice: the first Bind's portal is replaced before any Execute. */
    @Test
    void anUnnamedPortalBoundTwiceIsRecordedTwice() throws Exception {
        String sql = "SELECT gw_bindkey($1)";
        assertEveryInsertRecorded("bindalone4@example.com", sql, List.of("u1", "u2"),
                parse(new byte[0], sql), bindWith("", "", "u1"), bindWith("", "", "u2"), execute(new byte[0], 0));
    }

    /** Held: the usual Parse, Bind, Execute, Sync has one record, the Execute's. */
    @Test
    void theUsualOrderHasOneRecord() throws Exception {
        String sql = "SELECT gw_bindkey($1)";
        String user = "bindalone5@example.com";
        assertEveryInsertRecorded(user, sql, List.of("e1"),
                parse(new byte[0], sql), bindWith("", "", "e1"), execute(new byte[0], 0));
        long records = warden.awaitSessionEnd(user).stream()
                .filter(r -> r.type().equals("query") && r.get("statement").asText().equals(sql)).count();
        assertEquals(1, records);
    }

    /** Held: a Bind of no parameters, Describe of its portal and Sync (a client asking for columns) is answered. */
    @Test
    void aDescribedPortalWithoutExecuteIsAnswered() throws Exception {
        warden.directly("TRUNCATE gw_bound");
        String answers;
        String user = "bindalone6@example.com";
        try (RawClient c = login(user)) {
            c.send(parse(new byte[0], "SELECT v FROM gw_bound"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(new FrontendMessage.Describe('P', ""));
            c.send(sync());
            answers = raw(c);
        }
        assertTrue(answers.startsWith("1") && answers.contains("\n2") && answers.contains("\nT")
                && !answers.contains("\nE"), answers);
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertTrue(records.stream().anyMatch(r -> r.type().equals("query")
                && r.get("statement").asText().equals("SELECT v FROM gw_bound")), WardenHarness.describe(records));
    }

    /**
     * A Bind going alone whose record cannot be written does not go: the audit sink fails (its directory made a
     * regular file, as AuditWriteAheadTest does), and Parse, Bind, Sync of the folded insert gets 58030 and inserts
     * nothing; nor does Parse, Bind, Execute, Sync, whose Execute is refused for want of a record.
     */
    @Test
    void aBindGoingAloneWithoutARecordDoesNotGo() throws Exception {
        try (WardenHarness broken = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "",
                "audit:\n  on_failure: refuse\n  sinks: [ { type: file, dir: \"${AUDIT_DIR}\", rotate_bytes: 1KB } ]\n")) {
            // The sequence shows a Bind that ran in a transaction its refused Execute then rolled back.
            broken.directly("CREATE TABLE gw_bound (v text)", "CREATE SEQUENCE gw_bound_seq",
                    "CREATE FUNCTION gw_bindadd(text) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                            + "PERFORM nextval('public.gw_bound_seq'); "
                            + "INSERT INTO public.gw_bound VALUES ($1); RETURN $1; END$$",
                    "CREATE FUNCTION gw_bindkey(text) RETURNS text IMMUTABLE LANGUAGE sql AS "
                            + "'SELECT public.gw_bindadd($1)'");
            RawClient c = loggedInThenSinkBroken(broken);
            try (c) {
                String answer;
                String sql = "SELECT gw_bindkey($1)";
                c.send(parse(new byte[0], sql));
                c.send(bindWith("", "", "unrecorded"));
                c.send(sync());
                answer = raw(c);
                assertTrue(answer.contains("58030"), answer);
                // Its own Execute refused for want of a record: the Bind does not go either.
                c.send(parse(new byte[0], sql));
                c.send(bindWith("", "", "unrecorded-executed"));
                c.send(execute(new byte[0], 0));
                c.send(sync());
                answer = raw(c);
                assertTrue(answer.contains("58030"), answer);
            }
            try (Connection d = broken.direct()) {
                assertEquals("0", WardenHarness.scalar(d, "SELECT count(*) FROM gw_bound"));
                assertEquals("f", WardenHarness.scalar(d, "SELECT is_called FROM gw_bound_seq"));
            }
        }
    }

    /**
     * A session of {@code broken}'s user on environment dev, then the audit sink broken (its directory made a regular
     * file, as AuditWriteAheadTest does) and filled until a statement is refused with 58030.
     */
    static RawClient loggedInThenSinkBroken(WardenHarness broken) throws Exception {
        RawClient c = new RawClient(broken.port());
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", WardenHarness.USER);
        params.put("database", "dev");
        c.send(StartupPacket.StartupMessage.of(params));
        c.expect(BackendMessage.AuthenticationCleartextPassword.class);
        c.send(FrontendMessage.AuthenticationResponse.password(broken.token()));
        c.untilReady();
        java.nio.file.Path dir = broken.auditDir();
        java.nio.file.Files.move(dir, dir.resolveSibling(dir.getFileName() + "-moved"));
        java.nio.file.Files.writeString(dir, "a regular file where the audit directory was\n");
        String answer = "";
        for (int i = 0; i < 200 && !answer.contains("58030"); i++) {
            c.send(new FrontendMessage.Query("SELECT 'filling the file " + i + "'"));
            answer = raw(c);
        }
        assertTrue(answer.contains("58030"), "the sink never failed: " + answer);
        return c;
    }
}
