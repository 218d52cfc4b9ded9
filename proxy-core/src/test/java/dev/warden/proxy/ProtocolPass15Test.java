package dev.warden.proxy;

import dev.warden.audit.query.AuditRecord;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Protocol-level attacker pass 15: the relay's bookkeeping of statement and portal names, Flush, and the other
 * messages that do not go through the deferred writer. Every probe checks what the server did and/or what the audit
 * log holds. Each failed before its fix: names Warden decoded alike or kept apart where the server does the opposite
 * (non-ASCII names refused, names keyed by their first 63 bytes, an Execute of a portal of no statement Warden read
 * refused), a startup role change behind other switches, a FunctionCall's answer to a masked identity, a Flush
 * overtaking deferred messages, a refused COPY's data dropping the next COPY's. One stays open (disabled).
 */
class ProtocolPass15Test {

    static WardenHarness warden;
    /** Masking at its defaults for group eng (startMaskingForAllButPiiReaders), table m15 seeded with PII. */
    static WardenHarness masked;

    /** Inserts into gw_ledger need a dba's approval in prod; DELETE/UPDATE of it are refused (LEDGER_KEPT). */
    static final String LEDGER_INSERT_REVIEWED = "{ name: ledger-insert-reviewed, environments: [prod], match: { "
            + "statements: [INSERT], tables: [public.gw_ledger] }, action: require_approval, approvers: [dba] }";

    @BeforeAll
    static void start() throws Exception {
        TestPostgres pg = TestPostgres.start();
        try (Connection c = pg.connect("postgres"); java.sql.Statement s = c.createStatement()) {
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_login') THEN "
                    + "CREATE ROLE gw_login LOGIN; END IF; END$$");
        }
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n",
                WardenHarness.environmentAs("prod", true, "gw_login"),
                WardenHarness.unmaskedWithRules(WardenHarness.LEDGER_KEPT, LEDGER_INSERT_REVIEWED,
                        "{ name: notes2-writes-reviewed, environments: [prod], match: { writes: true, tables: "
                                + "[public.gw_notes2] }, action: require_approval, approvers: [dba], mode: retry }"));
        warden.makeLedger();
        warden.directly("CREATE TABLE gw_notes (note text)", "GRANT SELECT, INSERT ON gw_notes TO gw_login",
                "CREATE TABLE gw_notes2 (note text)", "GRANT SELECT, INSERT ON gw_notes2 TO gw_login");
        masked = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(masked, "m15");
    }

    @AfterAll
    static void stop() {
        masked.close();
        warden.close();
    }

    // ---- wire helpers -----------------------------------------------------------------------------------

    static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] frame(char type, byte[]... parts) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            body.writeBytes(p);
        }
        byte[] b = body.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(type);
        int len = b.length + 4;
        out.write(len >>> 24);
        out.write(len >>> 16);
        out.write(len >>> 8);
        out.write(len);
        out.writeBytes(b);
        return out.toByteArray();
    }

    static byte[] cstr(byte[] s) {
        byte[] out = java.util.Arrays.copyOf(s, s.length + 1);
        return out;
    }

    static byte[] int16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** Parse with a raw (client-encoding) statement name and a LATIN1 text, no parameter types. */
    static byte[] parse(byte[] name, String sql) {
        return frame('P', cstr(name), cstr(latin1(sql)), int16(0));
    }

    /** Bind of {@code statement} to {@code portal}, raw names, no parameters, default result formats. */
    static byte[] bind(byte[] portal, byte[] statement) {
        return frame('B', cstr(portal), cstr(statement), int16(0), int16(0), int16(0));
    }

    static byte[] execute(byte[] portal, int maxRows) {
        return frame('E', cstr(portal), int32(maxRows));
    }

    static byte[] sync() {
        return frame('S');
    }

    static byte[] flush() {
        return frame('H');
    }

    static RawClient login(String environment, String user, Map<String, String> extra) throws Exception {
        return login(warden, environment, user, extra);
    }

    static RawClient login(WardenHarness warden, String environment, String user, Map<String, String> extra)
            throws Exception {
        RawClient raw = new RawClient(warden.port());
        Map<String, String> params = new java.util.LinkedHashMap<>();
        params.put("user", user);
        params.put("database", environment);
        params.putAll(extra);
        raw.send(StartupPacket.StartupMessage.of(params));
        raw.expect(BackendMessage.AuthenticationCleartextPassword.class);
        raw.send(FrontendMessage.AuthenticationResponse.password(
                warden.issuer.token().email(user).groups("eng").sign()));
        raw.untilReady();
        return raw;
    }

    static String scalar(String sql) throws Exception {
        try (Connection c = warden.direct()) {
            return WardenHarness.scalar(c, sql);
        }
    }

    static String statements(List<AuditRecord> records) {
        StringBuilder out = new StringBuilder();
        for (AuditRecord r : records) {
            if (r.type().equals("query")) {
                out.append(r.get("statement").asText()).append(" | ")
                        .append(new String(java.util.Base64.getDecoder().decode(
                                r.get("statement_base64").asText("")), StandardCharsets.ISO_8859_1)).append('\n');
            }
        }
        return out.toString();
    }

    // ---- probes -----------------------------------------------------------------------------------------

    /** The answers up to ReadyForQuery, or what came before the session was closed (then "EOF" last). */
    static String answers(RawClient c) {
        StringBuilder out = new StringBuilder();
        try {
            BackendMessage m;
            do {
                m = c.read();
                out.append(m).append('\n');
            } while (!(m instanceof BackendMessage.ReadyForQuery));
        } catch (java.io.IOException e) {
            out.append("EOF (").append(e).append(")\n");
        }
        return out.toString();
    }

    /**
     * Statement names are decoded as UTF-8 by Warden (WireReader.readCString), but the server reads them in the
     * client's encoding: under LATIN1 the names 0xFF and 0xFE are two statements to the server and one name
     * ("\uFFFD") to Warden. The second Parse replaces the first in Warden's map only; an Execute of the first is
     * audited (and judged) as the second. Same command tag: the tripwire sees nothing.
     */
    @Test
    void twoStatementNamesWardenDecodesAlikeAuditTheWrongStatement() throws Exception {
        String user = "names15a@example.com";
        warden.directly("TRUNCATE gw_notes");
        String parsed;
        String ran;
        try (RawClient c = login("prod", user, Map.of("client_encoding", "LATIN1"))) {
            c.send(parse(new byte[] {(byte) 0xff}, "INSERT INTO gw_notes VALUES ('what really ran')"));
            c.send(parse(new byte[] {(byte) 0xfe}, "INSERT INTO gw_notes VALUES ('decoy')"));
            c.send(sync());
            parsed = answers(c);
            c.send(bind(new byte[0], new byte[] {(byte) 0xff}));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            ran = answers(c);
        }
        String onServer;
        try (Connection direct = warden.direct()) {
            onServer = String.join(",", WardenHarness.column(direct, "SELECT note FROM gw_notes"));
        }
        String audited = statements(warden.awaitSessionEnd(user));
        assertTrue(!onServer.contains("what really ran") || audited.contains("what really ran"),
                "PostgreSQL ran [" + onServer + "]; Warden's audit names only:\n" + audited + "answers:\n" + parsed
                        + ran);
    }

    /**
     * The same collision against an approval: an INSERT into gw_ledger needs a dba's approval at Execute (it is
     * forwarded at Parse, judged per execution). A second Parse under a name Warden decodes alike replaces it in
     * Warden's map with an INSERT into gw_notes (allowed), and the Execute of the first runs with no approval.
     */
    @Test
    void twoStatementNamesWardenDecodesAlikeSkipTheApproval() throws Exception {
        String user = "names15b@example.com";
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        String parsed;
        String ran;
        try (RawClient c = login("prod", user, Map.of("client_encoding", "LATIN1"))) {
            c.send(parse(new byte[] {(byte) 0xff}, "INSERT INTO gw_ledger VALUES (99, 0)"));
            c.send(parse(new byte[] {(byte) 0xfe}, "INSERT INTO gw_notes VALUES ('decoy')"));
            c.send(sync());
            parsed = answers(c);
            c.send(bind(new byte[0], new byte[] {(byte) 0xff}));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            ran = answers(c);
        }
        // (The session waits for the approval its INSERT now asks for: its end is not awaited unless it failed.)
        if (!warden.ledger().equals("3/3")) {
            fail("PostgreSQL inserted into gw_ledger without approval; Warden answered " + parsed + ran + "audit:\n"
                    + statements(warden.awaitSessionEnd(user)));
        }
    }

    /** A name of 64 bytes: the server keys prepared statements and portals by their first 63 (NAMEDATALEN - 1). */
    static byte[] longName(char last) {
        return latin1("s".repeat(63) + last);
    }

    /**
     * PostgreSQL keys its prepared statements by the first 63 bytes of the name (prepare.c: keysize NAMEDATALEN,
     * HASH_STRINGS); Warden by the whole name. A Bind of a name Warden never saw Parsed, that shares the first 63
     * bytes with an approval-required INSERT, binds that INSERT on the server, and Warden lets the Execute of a
     * "statement it did not see" run unjudged.
     */
    @Test
    void aStatementNameThatDiffersAfter63BytesRunsTheApprovalRequiredStatement() throws Exception {
        String user = "long15c@example.com";
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        String parsed;
        String ran;
        try (RawClient c = login("prod", user, Map.of())) {
            c.send(parse(longName('1'), "INSERT INTO gw_ledger VALUES (98, 0)"));
            c.send(sync());
            parsed = answers(c);
            c.send(bind(new byte[0], longName('2')));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            ran = answers(c);
        }
        // (The session waits for the approval its INSERT now asks for: its end is not awaited unless it failed.)
        if (!warden.ledger().equals("3/3")) {
            fail("PostgreSQL inserted into gw_ledger without approval; Warden answered " + parsed + ran + "audit:\n"
                    + statements(warden.awaitSessionEnd(user)));
        }
    }

    /** The same with portal names (portalmem.c: keysize MAX_PORTALNAME_LEN = NAMEDATALEN, HASH_STRINGS). */
    @Test
    void aPortalNameThatDiffersAfter63BytesRunsTheApprovalRequiredPortal() throws Exception {
        String user = "long15d@example.com";
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        String ran;
        try (RawClient c = login("prod", user, Map.of())) {
            c.send(parse(new byte[0], "INSERT INTO gw_ledger VALUES (97, 0)"));
            c.send(bind(longName('1'), new byte[0]));
            c.send(execute(longName('2'), 0));
            c.send(sync());
            ran = answers(c);
        }
        if (!warden.ledger().equals("3/3")) {
            fail("PostgreSQL inserted into gw_ledger without approval; Warden answered " + ran + "audit:\n"
                    + statements(warden.awaitSessionEnd(user)));
        }
    }

    /**
     * Parse and Describe are deferred by UpstreamRequests until the next other message, but Flush goes straight
     * upstream (RelayHandler: default branch): a client that sends Parse, Describe, Flush and waits for the answer
     * (as PostgreSQL gives it) waits forever.
     */
    @Test
    void parseDescribeFlushIsAnswered() throws Exception {
        try (RawClient c = login("prod", "flush15e@example.com", Map.of())) {
            c.send(parse(latin1("f1"), "SELECT 1 AS one"));
            c.send(frame('D', new byte[] {'S'}, cstr(latin1("f1"))));
            c.send(flush());
            c.socket.setSoTimeout(3000);
            BackendMessage first;
            try {
                first = c.read();
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("no answer to Parse, Describe, Flush within 3 s (PostgreSQL answers at once)");
            }
            assertTrue(first instanceof BackendMessage.ParseComplete, String.valueOf(first));
        }
    }

    /** Every byte of the answers up to ReadyForQuery as text (MaskedAttacker's manner), or up to EOF. */
    static String raw(RawClient c) {
        StringBuilder all = new StringBuilder();
        try {
            byte[] f;
            do {
                f = c.readFrame();
                all.append((char) f[0]).append(new String(f, 5, f.length - 5, StandardCharsets.ISO_8859_1))
                        .append('\n');
            } while (f[0] != 'Z');
        } catch (java.io.IOException e) {
            all.append("EOF ").append(e).append('\n');
        }
        return all.toString();
    }

    /** The long-name trick for a masked identity: the Execute of a portal of a statement Warden "did not see". */
    @Test
    void aMaskedIdentityBindsAStatementNameThatDiffersAfter63Bytes() throws Exception {
        String answer;
        try (RawClient c = login(masked, "dev", "long15m@example.com", Map.of())) {
            c.send(parse(longName('1'), "SELECT id, replace(email, '@', ' ') AS note, ssn FROM m15"));
            c.send(sync());
            raw(c);
            c.send(bind(new byte[0], longName('2')));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            answer = raw(c);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(answer), answer);
    }

    /**
     * The encoding collision for a masked identity: Warden takes the decoy's described columns and analysis for
     * the portal of the real statement.
     */
    @Test
    void aMaskedIdentityRunsAStatementWardenTakesForItsDecoy() throws Exception {
        String answer;
        try (RawClient c = login(masked, "dev", "names15m@example.com", Map.of("client_encoding", "LATIN1"))) {
            c.send(parse(new byte[] {(byte) 0xff}, "SELECT replace(email, '@', ' ') AS note, "
                    + "ssn AS other FROM m15"));
            c.send(parse(new byte[] {(byte) 0xfe}, "SELECT 'decoy'::text AS note, 'x'::text AS other"));
            c.send(frame('D', new byte[] {'S'}, cstr(new byte[] {(byte) 0xfe})));
            c.send(sync());
            raw(c);
            c.send(bind(new byte[0], new byte[] {(byte) 0xff}));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            answer = raw(c);
            // Control: the same statement under a name of its own is masked (or refused) by Warden.
            c.send(parse(latin1("plain"), "SELECT replace(email, '@', ' ') AS note, ssn AS other FROM m15"));
            c.send(bind(new byte[0], latin1("plain")));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            String control = raw(c);
            assertEquals(List.of(), MaskedAttacker.seedsIn(control), control);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(answer), answer);
    }

    /**
     * The server parses startup options with getopt: flags without an argument can be grouped with -c in one word
     * ("-ec role=x": -e sets DateStyle, c takes the next word). StartupRoleOptions only looks at words that start
     * with "-c" or "--", so the role change goes through to the server.
     */
    @Test
    void aRoleChangeGroupedBehindAnotherStartupFlagIsRefused() throws Exception {
        roleChangeIsRefused("-ec role=gw_power");
    }

    /** The same in one word. */
    @Test
    void aRoleChangeGroupedInOneWordIsRefused() throws Exception {
        roleChangeIsRefused("-ecrole=gw_power");
    }

    private static void roleChangeIsRefused(String option) throws Exception {
        warden.directly("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_power') THEN "
                + "CREATE ROLE gw_power NOLOGIN; END IF; END$$", "GRANT gw_power TO gw_login");
        for (String options : List.of(option)) {
            String answer;
            try (RawClient c = new RawClient(warden.port())) {
                c.send(StartupPacket.StartupMessage.of(Map.of("user", "opts15@example.com", "database", "prod",
                        "options", options)));
                c.expect(BackendMessage.AuthenticationCleartextPassword.class);
                c.send(FrontendMessage.AuthenticationResponse.password(
                        warden.issuer.token().email("opts15@example.com").groups("eng").sign()));
                String login = answers(c);
                if (!login.contains("ReadyForQuery")) {
                    continue; // refused at login: held
                }
                c.send(new FrontendMessage.Query("SELECT current_user"));
                answer = raw(c);
            }
            assertTrue(!answer.contains("gw_power"), "options=" + options + ": the server runs this session as "
                    + "gw_power, a role the policy did not choose: " + answer);
        }
    }

    /**
     * COPY FROM STDIN into a table whose writes need approval ({@code writes: true}): held (refused at once in retry
     * mode) like an INSERT.
     */
    @Test
    void copyFromStdinIntoAWritesReviewedTableWaitsForApproval() throws Exception {
        warden.directly("TRUNCATE gw_notes2");
        String answer;
        try (RawClient c = login("prod", "copy15@example.com", Map.of())) {
            c.send(new FrontendMessage.Query("COPY gw_notes2 FROM STDIN"));
            c.socket.setSoTimeout(3000);
            c.send(new FrontendMessage.CopyData("copied\n".getBytes(StandardCharsets.UTF_8)));
            c.send(new FrontendMessage.CopyDone());
            answer = raw(c);
        }
        assertEquals("0", scalar("SELECT count(*) FROM gw_notes2"), "PostgreSQL copied a row in without approval: "
                + answer);
    }

    /**
     * The 63-byte key under UTF8, for a masked identity: Parse and Describe a decoy under N2; Close N1 (to the server
     * the decoy, to Warden nothing); Parse the real statement under N1. Warden's N2 is still the described decoy, the
     * server's is the real statement: the Execute of N2 is masked as the decoy.
     */
    @Test
    void aMaskedIdentityRunsARealStatementUnderADescribedDecoysLongName() throws Exception {
        String answer;
        String control;
        try (RawClient c = login(masked, "dev", "long15n@example.com", Map.of())) {
            c.send(parse(longName('2'), "SELECT 'decoy'::text AS note, 'x'::text AS other"));
            c.send(frame('D', new byte[] {'S'}, cstr(longName('2'))));
            c.send(sync());
            raw(c);
            c.send(frame('C', new byte[] {'S'}, cstr(longName('1'))));
            c.send(parse(longName('1'), "SELECT replace(email, '@', ' ') AS note, ssn AS other FROM m15"));
            c.send(sync());
            raw(c);
            c.send(bind(new byte[0], longName('2')));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            answer = raw(c);
            // Control: the same statement, bound by the name it was parsed under, is masked.
            c.send(bind(new byte[0], longName('1')));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            control = raw(c);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(control), control);
        assertEquals(List.of(), MaskedAttacker.seedsIn(answer), answer);
    }

    /**
     * After a refused Query, RelayHandler drops CopyData/CopyDone/CopyFail (dropCopyData) until the next Query. A COPY
     * FROM STDIN started next with the extended protocol then never gets its data: the server waits in COPY, the
     * client waits for CommandComplete.
     */
    @Test
    void anExtendedCopyFromStdinAfterARefusedQueryGetsItsData() throws Exception {
        warden.directly("TRUNCATE gw_notes");
        String refused;
        String copied;
        try (RawClient c = login("prod", "copy15b@example.com", Map.of())) {
            c.send(new FrontendMessage.Query("DELETE FROM gw_ledger"));
            refused = raw(c);
            c.send(parse(new byte[0], "COPY gw_notes FROM STDIN"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            c.socket.setSoTimeout(3000);
            BackendMessage m;
            StringBuilder seen = new StringBuilder();
            do {
                m = c.read();
                seen.append(m).append('\n');
            } while (!(m instanceof BackendMessage.CopyInResponse));
            c.send(new FrontendMessage.CopyData("copied after a refusal\n".getBytes(StandardCharsets.UTF_8)));
            c.send(new FrontendMessage.CopyDone());
            // The server ignores a Sync during copy-in: the batch ends at the Sync after CopyDone.
            c.send(sync());
            try {
                copied = seen + raw(c);
                c.send(new FrontendMessage.Query("SELECT 'still in step'"));
                copied += raw(c);
            } catch (RuntimeException e) {
                copied = seen + e.toString();
            }
            assertTrue(copied.contains("still in step"), copied);
        }
        assertTrue(refused.contains("42501"), refused);
        assertEquals("1", scalar("SELECT count(*) FROM gw_notes"), "the COPY's data never reached the server; "
                + "the client saw: " + copied);
    }

    /** Reads frames until a CopyInResponse; returns what came (as {@link #raw} shows it). */
    private static String untilCopyIn(RawClient c) throws java.io.IOException {
        StringBuilder all = new StringBuilder();
        byte[] f;
        do {
            f = c.readFrame();
            all.append((char) f[0]).append(new String(f, 5, f.length - 5, StandardCharsets.ISO_8859_1)).append('\n');
            assertTrue(f[0] != 'Z', "no CopyInResponse: " + all);
        } while (f[0] != 'G');
        return all.toString();
    }

    /**
     * A helper's attacker pass: the server ignores every Sync during COPY FROM STDIN, but a Sync sent after the
     * CopyInResponse came (or among the CopyData, pipelined) stayed an entry waiting for a ReadyForQuery. Every later
     * answer was then filed under the request before its own: the next SELECT's rows came under the phantom Sync,
     * which runs nothing, and went out unmasked. Simple and extended protocol, for a masked identity.
     */
    @Test
    void aSyncInsideCopyFromStdinLeavesNoAnswerFiledUnderTheWrongRequest() throws Exception {
        String simple;
        String extended;
        try (RawClient c = login(masked, "dev", "copysync15@example.com", Map.of())) {
            c.socket.setSoTimeout(10_000);
            c.send(new FrontendMessage.Query("CREATE TEMP TABLE ct15 (a text)"));
            raw(c);
            c.send(new FrontendMessage.Query("COPY ct15 FROM STDIN"));
            untilCopyIn(c);
            c.send(new FrontendMessage.CopyData("x\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.CopyDone());
            String copied = raw(c);
            assertTrue(copied.contains("COPY 1"), copied);
            c.send(new FrontendMessage.Query("SELECT email, ssn FROM m15"));
            simple = copied + raw(c);
            c.send(parse(new byte[0], "COPY ct15 FROM STDIN"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            untilCopyIn(c);
            c.send(new FrontendMessage.CopyData("y\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.CopyData("z\n".getBytes(StandardCharsets.UTF_8)));
            c.send(new FrontendMessage.CopyDone());
            c.send(sync());
            String second = raw(c);
            assertTrue(second.contains("COPY 2"), second);
            c.send(parse(new byte[0], "SELECT email, ssn FROM m15"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            extended = second + raw(c);
            c.send(new FrontendMessage.Query("SELECT count(*) || ' rows' FROM ct15"));
            extended += raw(c);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(simple), simple);
        assertEquals(List.of(), MaskedAttacker.seedsIn(extended), extended);
        assertTrue(simple.contains("Warden masked") || simple.contains("[redacted]"), simple);
        assertTrue(extended.contains("3 rows"), extended);
    }

    /**
     * A COPY FROM STDIN that the server ends with an error (here its statement_timeout, looked at the next row, as a
     * cancel or bad data would) before the client's CopyDone: the server reads what follows as requests again, a
     * Sync included. A Sync sent once the error came is a request, answered in step. One sent right after the row
     * that ends the COPY reaches Warden before the error does: had Warden sent it on as ignored, the server would
     * answer it, its ReadyForQuery would answer the next request early, and that request's rows would be filed under
     * the one after it (the masked SELECT here, then a harmless one). Warden cannot tell whether the server read it
     * inside the COPY or after it, so the session ends; nothing is filed under the wrong request.
     */
    @Test
    void aCopyFromStdinEndedByAnErrorLeavesNoAnswerFiledUnderTheWrongRequest() throws Exception {
        String inStep;
        String racing;
        try (RawClient c = copyTimingOut("copysync15c@example.com")) {
            c.send(new FrontendMessage.CopyData("y\n".getBytes(StandardCharsets.UTF_8)));
            inStep = raw(c); // the COPY's error and ReadyForQuery
            c.send(sync()); // a request now
            c.send(new FrontendMessage.Query("SELECT replace(email, '@', ' ') AS note, ssn FROM m15"));
            c.send(new FrontendMessage.CopyDone()); // ignored: no COPY runs
            c.send(new FrontendMessage.Query("SELECT 'still in step' AS note"));
            for (int i = 0; i < 3; i++) {
                inStep += raw(c) + "--\n";
            }
        }
        try (RawClient c = copyTimingOut("copysync15e@example.com")) {
            c.send(new FrontendMessage.CopyData("y\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync()); // inside the COPY or after its error: not known when it reaches Warden
            c.send(new FrontendMessage.Query("SELECT replace(email, '@', ' ') AS note, ssn FROM m15"));
            c.send(new FrontendMessage.Query("SELECT 'in step' AS note"));
            racing = raw(c) + raw(c) + raw(c);
            if (!racing.contains("ended in an error")) {
                // In step (the error reached Warden before the Sync): the COPY's error, the Sync's and the masked
                // SELECT's answers came first, and "in step" is the fourth (read only then: a loaded machine's order).
                racing += raw(c);
            }
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(inStep), inStep);
        assertTrue(inStep.contains("57014") && inStep.contains("still in step"), inStep);
        assertEquals(List.of(), MaskedAttacker.seedsIn(racing), racing);
        // (In step instead when the error reached Warden before the Sync did: the Sync is then a request.)
        assertTrue(racing.contains("ended in an error") || racing.contains("57014") && racing.contains("in step"),
                racing);
    }

    /** A masked session in COPY FROM STDIN whose statement_timeout has passed (the server looks at the next row). */
    private static RawClient copyTimingOut(String user) throws Exception {
        RawClient c = login(masked, "dev", user, Map.of());
        c.socket.setSoTimeout(10_000);
        c.send(new FrontendMessage.Query("CREATE TEMP TABLE ct15c (a text)"));
        raw(c);
        c.send(new FrontendMessage.Query("SET statement_timeout = '300ms'"));
        raw(c);
        c.send(new FrontendMessage.Query("COPY ct15c FROM STDIN"));
        untilCopyIn(c);
        c.send(sync()); // before any CopyData: surely inside the COPY, ignored (not sent on)
        Thread.sleep(1500);
        return c;
    }

    /**
     * Syncs among the CopyData of an extended-protocol COPY (a third helper's pass): the server ignores one it reads
     * inside the COPY and answers one it reads after an error ended it, and which CopyData the error came from its
     * answer does not say. A COPY that ends well: those Syncs were ignored, and the session stays in step. One that
     * ends in an error with such a Sync outstanding: the session ends (fail closed) rather than hang (the Sync
     * withheld, the server waiting for one) or answer one request late; unless the error reached Warden before the
     * Sync, which is then a request. And an Execute of a statement Warden cannot
     * parse, followed by a Sync, is answered (the Sync was held, waiting for an answer the server sends at a Sync).
     */
    @Test
    void syncsAmongTheDataOfAnExtendedCopyAreIgnoredOrEndTheSession() throws Exception {
        String well;
        String failed;
        String unparsed;
        try (RawClient c = login(masked, "dev", "copysync15d@example.com", Map.of())) {
            c.socket.setSoTimeout(10_000);
            c.send(new FrontendMessage.Query("CREATE TEMP TABLE ct15d (a int)"));
            raw(c);
            c.send(parse(new byte[0], "SELECT a FROM ct15d GROUP BY DISTINCT ROLLUP (a)"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            unparsed = raw(c);
            c.send(parse(new byte[0], "COPY ct15d FROM STDIN"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            untilCopyIn(c);
            c.send(new FrontendMessage.CopyData("1\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.CopyData("2\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.CopyDone());
            c.send(sync());
            well = raw(c);
            c.send(new FrontendMessage.Query("SELECT replace(email, '@', ' ') AS note FROM m15"));
            well += raw(c);
            c.send(new FrontendMessage.Query("SELECT count(*) || ' rows' FROM ct15d"));
            well += raw(c);
            c.send(parse(new byte[0], "COPY ct15d FROM STDIN"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            untilCopyIn(c);
            c.send(new FrontendMessage.CopyData("bad\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.Query("SELECT replace(email, '@', ' ') AS note FROM m15"));
            c.send(new FrontendMessage.Query("SELECT 'next' AS note"));
            failed = raw(c) + raw(c) + raw(c);
        }
        assertTrue(unparsed.contains("CSELECT 1"), unparsed);
        assertEquals(List.of(), MaskedAttacker.seedsIn(well), well);
        assertTrue(well.contains("COPY 2") && well.contains("2 rows"), well);
        assertEquals(List.of(), MaskedAttacker.seedsIn(failed), failed);
        // Which one depends on whether the error reached Warden before the Sync did: then the Sync is a request.
        assertTrue(failed.contains("ended in an error") || failed.contains("22P02") && failed.contains("next"),
                failed);
    }

    /**
     * The same lag in production (a helper's attacker pass): an INSERT into gw_ledger (held for approval at its
     * Execute; its Parse is relayed) parsed as x, a COPY FROM STDIN with a Sync among its data, then a Parse of x as
     * SELECT 1: the server refused it (42P05, x exists) but its error was filed under the phantom Sync, so Warden
     * took x for SELECT 1 and let its Execute run the INSERT with no approval. Now the Execute waits for approval
     * (none comes here: the client gives up after 3 s, which withdraws it).
     */
    @Test
    void aSyncInsideCopyFromStdinDoesNotLetAParsedWriteRunAsASelect() throws Exception {
        warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        StringBuilder answer = new StringBuilder();
        try (RawClient c = login("prod", "copysync15b@example.com", Map.of())) {
            c.socket.setSoTimeout(10_000);
            c.send(parse("x".getBytes(StandardCharsets.UTF_8), "INSERT INTO gw_ledger VALUES (99, 0)"));
            c.send(sync());
            answer.append(raw(c));
            c.send(new FrontendMessage.Query("COPY gw_notes FROM STDIN"));
            answer.append(untilCopyIn(c));
            c.send(new FrontendMessage.CopyData("x\n".getBytes(StandardCharsets.UTF_8)));
            c.send(sync());
            c.send(new FrontendMessage.CopyDone());
            answer.append(raw(c));
            c.send(parse("x".getBytes(StandardCharsets.UTF_8), "SELECT 1"));
            c.send(sync());
            answer.append(raw(c));
            c.send(bind(new byte[0], "x".getBytes(StandardCharsets.UTF_8)));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            c.socket.setSoTimeout(3000);
            try {
                answer.append(raw(c));
            } catch (RuntimeException e) {
                answer.append(e); // held for approval
            }
        }
        Thread.sleep(500);
        assertTrue(answer.toString().contains("42P05"), answer.toString());
        assertEquals("3/3", warden.ledger(), "PostgreSQL inserted into gw_ledger with no approval; Warden answered "
                + answer);
    }

    /**
     * Bind plans the statement, and the planner folds an IMMUTABLE function over constants: gw_addkey(n) (IMMUTABLE
     * SQL over the volatile gw_add, which inserts into gw_ledger) runs at Bind. Warden writes a statement's record
     * and asks for its approval at Execute only; a client that sends Parse, Bind, Sync and never Execute has the
     * insert run and committed with no approval and no query record.
     */
    @Test
    void aBindWithoutExecuteRunsAFoldedFunctionWithNoRecord() throws Exception {
        String user = "bind15@example.com";
        warden.directly("CREATE OR REPLACE FUNCTION gw_add(int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO public.gw_ledger VALUES ($1, 0); RETURN $1; END$$",
                "CREATE OR REPLACE FUNCTION gw_addkey(int) RETURNS int IMMUTABLE LANGUAGE sql AS "
                        + "'SELECT public.gw_add($1)'",
                "TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        String answer;
        try (RawClient c = login("prod", user, Map.of())) {
            c.send(parse(new byte[0], "SELECT gw_addkey(95)"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(sync());
            answer = raw(c);
        }
        List<AuditRecord> records = warden.awaitSessionEnd(user);
        assertEquals("3/3", warden.ledger(), "PostgreSQL inserted into gw_ledger at Bind; Warden answered " + answer
                + "audit:\n" + WardenHarness.describe(records));
    }

    /** Held: a FunctionCall of gw_add by OID in production is refused, and the session stays in step. */
    @Test
    void aFunctionCallByOidInProductionIsRefused() throws Exception {
        warden.directly("CREATE OR REPLACE FUNCTION gw_add(int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO public.gw_ledger VALUES ($1, 0); RETURN $1; END$$",
                "TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g");
        int oid = Integer.parseInt(scalar("SELECT 'gw_add(int)'::regprocedure::oid"));
        String answer;
        String next;
        try (RawClient c = login("prod", "fcall15@example.com", Map.of())) {
            c.send(new FrontendMessage.FunctionCall(oid, List.of((short) 0),
                    List.of("94".getBytes(StandardCharsets.UTF_8)), (short) 0));
            answer = raw(c);
            c.send(new FrontendMessage.CopyData("stray\n".getBytes(StandardCharsets.UTF_8)));
            c.send(new FrontendMessage.CopyDone());
            c.send(new FrontendMessage.Query("SELECT 'in step'"));
            next = raw(c);
        }
        assertEquals("3/3", warden.ledger(), answer);
        assertTrue(answer.contains("42501"), answer);
        assertTrue(next.contains("in step") && !next.startsWith("E") && !next.contains("\nE"), next);
    }

    /**
     * The grouped option to a superuser role the login is a member of: prod has no allow_superuser, yet the session
     * runs as a superuser.
     */
    @Test
    void aGroupedRoleChangeToASuperuserRoleIsRefused() throws Exception {
        warden.directly("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_super') THEN "
                + "CREATE ROLE gw_super SUPERUSER NOLOGIN; END IF; END$$", "GRANT gw_super TO gw_login");
        try {
            String login;
            String answer = "";
            try (RawClient c = new RawClient(warden.port())) {
                c.send(StartupPacket.StartupMessage.of(Map.of("user", "super15@example.com", "database", "prod",
                        "options", "-ec role=gw_super")));
                c.expect(BackendMessage.AuthenticationCleartextPassword.class);
                c.send(FrontendMessage.AuthenticationResponse.password(
                        warden.issuer.token().email("super15@example.com").groups("eng").sign()));
                login = answers(c);
                if (login.contains("ReadyForQuery")) {
                    c.send(new FrontendMessage.Query("SELECT current_user || ' superuser=' || "
                            + "current_setting('is_superuser') || ' ' || (SELECT count(*) FROM pg_authid)"));
                    answer = raw(c);
                }
            }
            assertTrue(!answer.contains("superuser=on"), "the session runs as a superuser: " + answer);
        } finally {
            warden.directly("REVOKE gw_super FROM gw_login");
        }
    }

    /**
     * A masked identity in an environment without baseline guardrails (the masking harness's dev): a FunctionCall of
     * the built-in table_to_xml(regclass, bool, bool, text) by OID. Its FunctionCallResponse ('V') is relayed as
     * the server sent it (UpstreamRelay.maskResult has no case for it).
     */
    @Test
    void aMaskedIdentitysFunctionCallResultIsMasked() throws Exception {
        int oid;
        try (Connection c = masked.direct()) {
            oid = Integer.parseInt(WardenHarness.scalar(c,
                    "SELECT 'table_to_xml(regclass, boolean, boolean, text)'::regprocedure::oid"));
        }
        String answer;
        try (RawClient c = login(masked, "dev", "fcall15m@example.com", Map.of())) {
            c.send(new FrontendMessage.FunctionCall(oid, List.of((short) 0, (short) 0, (short) 0, (short) 0),
                    List.of("m15".getBytes(StandardCharsets.UTF_8), "f".getBytes(StandardCharsets.UTF_8),
                            "f".getBytes(StandardCharsets.UTF_8), new byte[0]), (short) 0));
            answer = raw(c);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(answer), answer);
    }

    /**
     * Held probe: a masked COPY TO STDOUT sent as a Query inside an unsynced extended batch (Warden's own Describe
     * goes into the client's batch), and with Execute row limits (PortalSuspended) before it; the session stays in
     * step and nothing leaks.
     */
    @Test
    void aMaskedCopyInsideAnUnsyncedBatchAfterASuspendedPortalStaysMaskedAndInStep() throws Exception {
        String answer;
        String next;
        try (RawClient c = login(masked, "dev", "copy15m@example.com", Map.of())) {
            c.send(parse(new byte[0], "SELECT email FROM m15 ORDER BY id"));
            c.send(bind(new byte[0], new byte[0]));
            c.send(execute(new byte[0], 1));
            c.send(execute(new byte[0], 1));
            c.send(new FrontendMessage.Query("COPY m15 TO STDOUT"));
            c.send(execute(new byte[0], 0));
            c.send(sync());
            StringBuilder all = new StringBuilder();
            all.append(raw(c));
            all.append(raw(c));
            answer = all.toString();
            c.send(new FrontendMessage.Query("SELECT 'in step'"));
            next = raw(c);
        }
        assertEquals(List.of(), MaskedAttacker.seedsIn(answer), answer);
        assertTrue(next.contains("in step"), answer + "\n---\n" + next);
    }
}
