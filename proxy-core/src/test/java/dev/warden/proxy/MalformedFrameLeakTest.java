package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A logged-in client's message that frames well but does not decode (a Bind whose portal name has no end, an
 * Execute cut short, ...) ends its session with 08P01. The frame it came in must be released on the way: it is a
 * slice of the buffer the client's bytes were read into, and one left unreleased pins that buffer for good, so a
 * client reconnecting to send one more each time grows Warden's memory without bound. Netty's leak detector, set to
 * track every buffer, must report nothing once the sessions are gone.
 */
class MalformedFrameLeakTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("""
                  allow_plaintext_on_loopback: true
                """, "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * Messages of each type the relay decodes, whose bodies end too early. (A Query whose text has no end is
     * relayed: the server answers it 08P01 at ERROR level and the session goes on, as it does without Warden.)
     */
    private static Map<String, byte[]> malformed() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("Bind, portal name without its end", frame('B', "p"));
        m.put("Close, no name", frame('C', "S"));
        m.put("Describe, no name", frame('D', "P"));
        m.put("Execute, no row limit", frame('E', "\0"));
        m.put("Parse, name without its end", frame('P', "s"));
        m.put("FunctionCall, half an OID", frame('F', "\0\0"));
        return m;
    }

    /** A frame of {@code type} whose body is {@code body}'s Latin-1 bytes, as they are (no end added). */
    private static byte[] frame(char type, String body) {
        return ProtocolPass15Test.frame(type, ProtocolPass15Test.latin1(body));
    }

    @Test
    void aMessageThatDoesNotDecodeLeavesNoBufferBehind() throws Exception {
        List<String> answers = new ArrayList<>();
        List<String> leaks = LeakCheck.leaksOf(() -> {
            for (Map.Entry<String, byte[]> m : malformed().entrySet()) {
                for (int i = 0; i < 3; i++) {
                    try (RawClient c = new RawClient(warden.port())) {
                        c.login("dev", WardenHarness.USER, warden.token());
                        c.send(m.getValue());
                        BackendMessage answer = c.read();
                        String state = answer instanceof BackendMessage.ErrorResponse e ? e.sqlState()
                                : answer.getClass().getSimpleName();
                        answers.add(m.getKey() + ": " + state);
                        assertTrue(c.closedByServer(), m.getKey() + ": the session ended");
                    }
                }
            }
        });
        for (String a : answers) {
            assertTrue(a.endsWith(": 08P01"), a);
        }
        assertEquals(List.of(), leaks, "buffers left unreleased: " + answers);
    }

    /**
     * A Query whose text has no end is relayed, not judged as a statement: the server refuses the message itself
     * (08P01, at ERROR level, so the session goes on) and runs nothing, as it does without Warden. Whatever the text
     * would say, here a DROP, nothing of it runs.
     */
    @Test
    void aQueryWithoutItsEndIsRefusedByTheServerAndTheSessionGoesOn() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query("CREATE TABLE unended_kept (a int)"));
            c.untilReady();
            c.send(frame('Q', "DROP TABLE unended_kept"));
            List<BackendMessage> answer = c.untilReady();
            BackendMessage.ErrorResponse error = (BackendMessage.ErrorResponse) answer.get(0);
            assertEquals("08P01", error.sqlState(), error.message());
            assertEquals("ERROR", error.severity());
            c.send(new dev.warden.pg.message.FrontendMessage.Query("SELECT count(*) FROM unended_kept"));
            assertEquals(List.of("0"), RawClient.values(c.untilReady()), "the table is still there");
            c.send(new dev.warden.pg.message.FrontendMessage.Query("DROP TABLE unended_kept"));
            c.untilReady();
        }
    }
}
