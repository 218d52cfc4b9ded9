package dev.warden.proxy;

import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.warden.proxy.ProtocolPass15Test.cstr;
import static dev.warden.proxy.ProtocolPass15Test.execute;
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
 * Attacker pass 16 over the Bind that goes without its own Execute (c5b34fe) and the re-judging of a prepared
 * statement's parameter checks at Execute. Every probe checks gw_ledger (or gw_bound16) on the server afterwards and
 * that the session still answers.
 */
class AttackPass16ProtocolTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        warden.directly("CREATE TABLE gw_bound16 (v text)", "GRANT SELECT, INSERT ON gw_bound16 TO gw_login",
                "CREATE FUNCTION gw_bindadd16(text) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO public.gw_bound16 VALUES ($1); RETURN $1; END$$",
                "CREATE FUNCTION gw_bindkey16(text) RETURNS text IMMUTABLE LANGUAGE sql AS "
                        + "'SELECT public.gw_bindadd16($1)'");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    static RawClient login(WardenHarness w, String env, String user) throws Exception {
        RawClient raw = new RawClient(w.port());
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", env);
        raw.send(StartupPacket.StartupMessage.of(params));
        raw.expect(BackendMessage.AuthenticationCleartextPassword.class);
        raw.send(FrontendMessage.AuthenticationResponse.password(w.issuer.token().email(user).groups("eng").sign()));
        raw.untilReady();
        return raw;
    }

    /** Parse with parameter types given by OID. */
    static byte[] parseTyped(String name, String sql, int... types) {
        byte[][] parts = new byte[3 + types.length][];
        parts[0] = cstr(latin1(name));
        parts[1] = cstr(latin1(sql));
        parts[2] = int16(types.length);
        for (int i = 0; i < types.length; i++) {
            parts[3 + i] = int32(types[i]);
        }
        return frame('P', parts);
    }

    /** Bind with one text parameter, text formats. */
    static byte[] bindWith(String portal, String statement, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return frame('B', cstr(latin1(portal)), cstr(latin1(statement)), int16(0), int16(1), int32(v.length), v,
                int16(0));
    }

    /** Creates {@code domain} (an int, positive), and gives its OID. */
    static int createDomain(String domain) throws Exception {
        warden.directly("CREATE DOMAIN " + domain + " AS int CHECK (VALUE > 0)");
        try (Connection d = warden.direct()) {
            return Integer.parseInt(WardenHarness.scalar(d, "SELECT '" + domain + "'::regtype::oid"));
        }
    }

    /** {@code user}'s session ended and gw_ledger kept its rows; else what the client got, and the session's audit. */
    static void assertLedgerKept(String user, String label, String answer) throws Exception {
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        String ledger = warden.ledger();
        String shown = "ledger rows/unchanged " + ledger + "\nclient got:\n" + answer + "audit:\n"
                + WardenHarness.describe(records);
        System.out.println("=== " + label + "\n" + shown);
        assertEquals("3/3", ledger, shown);
    }

    /** A migration, directly: {@code domain}'s CHECK now calls gw_wipe; then the catalog's entries expire (5 s). */
    static void addWipingCheck(String domain) throws Exception {
        warden.directly("ALTER DOMAIN " + domain + " ADD CONSTRAINT k CHECK (public.gw_wipe(VALUE) > 0)");
        Thread.sleep(6000);
    }

    static void fillLedger() throws Exception {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
    }

    static String inStep(RawClient c) throws Exception {
        c.send(new FrontendMessage.Query("SELECT 'in step'"));
        String next = raw(c);
        assertTrue(next.contains("in step"), "session out of step: " + next);
        return next;
    }

    /**
     * A prepared statement whose parameter is of a domain (given by OID in the Parse); after the Parse, a migration
     * (directly, outside Warden) adds a CHECK to the domain that calls gw_wipe (which deletes the ledger row of its
     * argument). README: a prepared statement is judged again at each Execute when the catalog moved on, "with ... the
     * checks of its parameters' types as they are then". The Bind converts the value with domain_in, which runs the
     * CHECK, so the Bind alone deletes the ledger row.
     */
    void domainCheckAddedAfterParse(String domain, String sql, boolean withExecute) throws Exception {
        int oid = createDomain(domain);
        fillLedger();
        String user = domain + "@example.com";
        String answer;
        String fresh;
        try (RawClient c = login(warden, "prod", user)) {
            c.send(parseTyped("s", sql, oid));
            c.send(sync());
            String parsed = raw(c);
            assertTrue(parsed.startsWith("1"), "the Parse was refused before the change: " + parsed);
            addWipingCheck(domain);
            c.send(bindWith("p", "s", "2"));
            if (withExecute) {
                c.send(execute(latin1("p"), 0));
            }
            c.send(sync());
            answer = raw(c);
            inStep(c);
            // The same Parse now, for comparison: refused by gw-ledger-kept.
            c.send(parseTyped("s2", sql, oid));
            c.send(sync());
            fresh = raw(c);
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        String ledger = warden.ledger();
        String shown = "ledger rows/unchanged " + ledger + "\nclient got:\n" + answer + "a fresh Parse now gets:\n" + fresh
                + "audit:\n" + WardenHarness.describe(records);
        System.out.println("=== " + domain + "\n" + shown);
        assertEquals("3/3", ledger, shown);
    }

    /**
     * FINDING. Parse, (migration), Bind, Sync: the Bind goes alone; its record (RelayHandler.recordBindsGoingAlone)
     * says allow, and bindWaitsForExecute judges only the statement's text (statement.judged), not its parameters'
     * checks as they are now (decisionOf's casts, reapplied only at an Execute by withEffectsNowThen). The domain's
     * CHECK runs gw_wipe(2) and the ledger loses row 2; the same Parse sent now is refused by gw-ledger-kept.
     */
    @Test
    void aDomainCheckAddedAfterParseRunsAtABindGoingAlone() throws Exception {
        domainCheckAddedAfterParse("gw_dom16b", "SELECT $1", false);
    }

    /**
     * FINDING (fixed). Two prepared statements bound one after the other, going alone together, both stale when bound:
     * only the first found stale was applied again (RelayHandler's refreshedFor), and the Binds were recorded when the
     * frame came back. The first, a read of gw_ledger, is allowed as before; the second went alone with its
     * parameter's checks as of its Parse, and the CHECK added since ran gw_wipe(2). Every stale statement is applied
     * again now, and the second Bind waits for an Execute of its own.
     */
    @Test
    void aDomainCheckAddedAfterParseRunsAtNoBindGoingAloneBehindAnotherStaleOne() throws Exception {
        String domain = "gw_dom16c";
        int oid = createDomain(domain);
        fillLedger();
        String user = domain + "@example.com";
        String answer;
        try (RawClient c = login(warden, "prod", user)) {
            c.send(parseTyped("reads", "SELECT count(*) FROM gw_ledger WHERE id = $1", 23));
            c.send(parseTyped("checks", "SELECT $1", oid));
            c.send(sync());
            String parsed = raw(c);
            assertTrue(parsed.startsWith("1\n1\n"), "a Parse was refused before the change: " + parsed);
            addWipingCheck(domain); // both statements are stale
            c.send(bindWith("p1", "reads", "1"));
            c.send(bindWith("p2", "checks", "2"));
            c.send(sync());
            answer = raw(c);
            inStep(c);
        }
        assertLedgerKept(user, domain, answer);
    }

    /**
     * FINDING (fixed; a helper's read-only review of 96ff8918). A CopyData outside COPY (which the server ignores) made
     * the waiting Bind be recorded as going alone, judged with its checks as they were then, yet the CopyData went
     * upstream without it: the Bind waited on in Warden, already recorded. The client then waited for a migration
     * to add the CHECK and for the catalog's entries to expire, and a Sync sent the Bind with the judgement of
     * before: gw_wipe(2) ran. Now only a message that sends the waiting Binds records them, and a recorded Bind
     * whose statement's judgement went stale before it was sent does not go.
     */
    @Test
    void aBindRecordedByAStrayCopyDataDoesNotGoWithAnOutdatedJudgement() throws Exception {
        String domain = "gw_dom16d";
        int oid = createDomain(domain);
        fillLedger();
        String user = domain + "@example.com";
        String answer;
        try (RawClient c = login(warden, "prod", user)) {
            c.send(parseTyped("checks", "SELECT $1", oid));
            c.send(sync());
            String parsed = raw(c);
            assertTrue(parsed.startsWith("1\n"), "the Parse was refused before the change: " + parsed);
            c.send(bindWith("p", "checks", "2"));
            c.send(copyData());
            Thread.sleep(500); // the Bind is recorded, the CopyData relayed
            addWipingCheck(domain);
            c.send(sync());
            answer = raw(c);
            inStep(c);
        }
        assertLedgerKept(user, domain, answer);
    }

    /**
     * Held (the Execute is refused by gw-ledger-kept, judged with the parameter's checks as they are now; the Bind
     * that goes with its stand-in does run the CHECK, but the stand-in's error rolls the implicit transaction back).
     */
    @Test
    void aDomainCheckAddedAfterParseIsRefusedAtExecute() throws Exception {
        domainCheckAddedAfterParse("gw_dom16a", "SELECT $1", true);
    }

    /**
     * FINDING. A Bind that goes with its own Execute whose write-ahead record cannot be written: the Execute is refused
     * (58030) and replaced by a stand-in, and the Bind goes with it (UpstreamRequests.sendDeferred: the trigger is not a
     * FORWARD Execute, and bindWaitsForExecute says the statement is allowed; bindsGoingAlone skipped it as its own
     * Execute followed). Planning runs the folded IMMUTABLE gw_bindkey: its insert is rolled back by the stand-in's
     * error, but its nextval is not: a function ran with no record of any kind. (BindAloneRecordTest covers only
     * Parse, Bind, Sync.)
     */
    @Test
    void aBindWhoseExecuteHasNoRecordStillGoes() throws Exception {
        try (WardenHarness broken = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "",
                "audit:\n  on_failure: refuse\n  sinks: [ { type: file, dir: \"${AUDIT_DIR}\", rotate_bytes: 1KB } ]\n")) {
            broken.directly("CREATE TABLE gw_bound16 (v text)", "CREATE SEQUENCE gw_seq16",
                    "CREATE FUNCTION gw_bindadd(text) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                            + "INSERT INTO public.gw_bound16 VALUES ($1); PERFORM nextval('public.gw_seq16'); "
                            + "RETURN $1; END$$",
                    "CREATE FUNCTION gw_bindkey(text) RETURNS text IMMUTABLE LANGUAGE sql AS "
                            + "'SELECT public.gw_bindadd($1)'");
            String answer;
            String after;
            try (RawClient c = BindAloneRecordTest.loggedInThenSinkBroken(broken)) {
                c.send(parse(new byte[0], "SELECT gw_bindkey($1)"));
                c.send(bindWith("", "", "unrecorded"));
                c.send(execute(new byte[0], 0));
                c.send(sync());
                answer = raw(c);
                c.send(new FrontendMessage.Query("SELECT 'in step'"));
                after = raw(c);
            }
            String count;
            String called;
            try (Connection d = broken.direct()) {
                count = WardenHarness.scalar(d, "SELECT count(*) FROM gw_bound16");
                called = WardenHarness.scalar(d, "SELECT is_called FROM gw_seq16");
            }
            String shown = "server inserted " + count + " row(s) into gw_bound16 (rolled back with the stand-in's "
                    + "error), gw_seq16 is_called=" + called + " (nextval is not rolled back: gw_bindadd ran); client got:\n" + answer
                    + "then SELECT 'in step' got:\n" + after;
            System.out.println("=== unrecorded execute\n" + shown);
            assertEquals("0", count, shown);
            assertEquals("f", called, shown);
        }
    }

    static byte[] close(char kind, String name) {
        return frame('C', new byte[] {(byte) kind}, cstr(latin1(name)));
    }

    static byte[] describe(char kind, String name) {
        return frame('D', new byte[] {(byte) kind}, cstr(latin1(name)));
    }

    static byte[] query(String sql) {
        return frame('Q', cstr(latin1(sql)));
    }

    /** FunctionCall of now() (oid 1299), no arguments, text result. */
    static byte[] functionCall() {
        return frame('F', int32(1299), int16(0), int16(0), int16(0));
    }

    static byte[] copyData() {
        return frame('d', latin1("stray\n"));
    }

    static final String BOUND = "SELECT gw_bindkey16($1)";

    /**
     * Message orders around a Bind of an allowed statement whose planning inserts its value into gw_bound16 (the folded
     * IMMUTABLE gw_bindkey16): each order, then Sync, then SELECT 'in step'; every value the server inserted must have an
     * allowed query record of BOUND with that value, written (by sequence) before the next record. Held on this code.
     */
    @Test
    void everyBindThatPlansHasARecordInOtherMessageOrders() throws Exception {
        Object[][] orders = {
            {"describe+close portal", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o1"), describe('P', "p"),
                close('P', "p")}},
            {"close portal", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o2"), close('P', "p")}},
            {"close statement", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o3"), close('S', "s")}},
            {"query after bind", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o4"), query("SELECT 1")}},
            {"flush", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o5"), ProtocolPass15Test.flush()}},
            {"execute of no portal", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o6"),
                execute(latin1("nope"), 0)}},
            {"unnamed rebound to another statement", new byte[][] {parseTyped("", BOUND), bindWith("", "", "o7"),
                parseTyped("", "SELECT 1"), frame('B', cstr(new byte[0]), cstr(new byte[0]), int16(0), int16(0),
                int16(0)), execute(new byte[0], 0)}},
            {"stray CopyData", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o8"), copyData()}},
            {"function call", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o9"), functionCall()}},
            {"named portal bound twice", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o10"),
                bindWith("p", "s", "o11"), execute(latin1("p"), 0)}},
            {"execute with max rows twice", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o12"),
                execute(latin1("p"), 1), execute(latin1("p"), 1)}},
            {"describe statement between", new byte[][] {parseTyped("s", BOUND), bindWith("p", "s", "o13"),
                describe('S', "s"), bindWith("q", "s", "o14"), execute(latin1("q"), 0)}},
        };
        List<String> failures = new java.util.ArrayList<>();
        StringBuilder shown = new StringBuilder();
        int k = 0;
        for (Object[] order : orders) {
            k++;
            String user = "order16-" + k + "@example.com";
            warden.directly("TRUNCATE gw_bound16");
            String answers;
            String step;
            try (RawClient c = login(warden, "prod", user)) {
                for (byte[] m : (byte[][]) order[1]) {
                    c.send(m);
                }
                c.send(sync());
                answers = raw(c);
                if (((String) order[0]).startsWith("query") || ((String) order[0]).startsWith("function")) {
                    answers += raw(c); // a Query's or FunctionCall's own ReadyForQuery (as the server), then the Sync's
                }
                c.send(new FrontendMessage.Query("SELECT 'in step'"));
                step = raw(c);
            }
            List<AuditRecord> records = warden.awaitSessionEnd(user);
            List<String> ran;
            try (Connection d = warden.direct()) {
                String all = WardenHarness.scalar(d, "SELECT coalesce(string_agg(v, ',' ORDER BY ctid), '') FROM gw_bound16");
                ran = all.isEmpty() ? List.of() : List.of(all.split(","));
            }
            List<String> recorded = new java.util.ArrayList<>();
            for (AuditRecord q : records) {
                if (q.type().equals("query") && q.get("statement").asText().equals(BOUND)
                        && "allow".equals(q.get("decision").asText()) && q.get("parameters").size() > 0) {
                    recorded.add(q.get("parameters").get(0).asText());
                }
            }
            String line = order[0] + ": server inserted " + ran + ", allowed records of values " + recorded
                    + "\n  client got: " + answers.replace('\n', '|').replaceAll("[^\\x20-\\x7e|]", ".")
                    + "\n  then: " + step.replace('\n', '|').replaceAll("[^\\x20-\\x7e|]", ".");
            shown.append(line).append('\n');
            for (String v : ran) {
                if (!recorded.remove("'" + v + "'")) {
                    failures.add(line + "\n  the insert of " + v + " has no query record");
                }
            }
            if (!step.contains("in step")) {
                failures.add(line + "\n  out of step");
            }
        }
        System.out.println("=== everyBindThatPlansHasARecordInOtherMessageOrders\n" + shown);
        assertEquals(List.of(), failures);
    }
}
