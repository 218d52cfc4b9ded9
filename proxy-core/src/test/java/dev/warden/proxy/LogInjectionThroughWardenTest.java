package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client controls its startup {@code user}, {@code application_name} and statement text; none of them can
 * start a line of its own in Warden's log, nor break its {@code key=value} structure.
 */
class LogInjectionThroughWardenTest {

    static WardenHarness warden;
    static final String FORGED = "12:00:00.000 INFO  FrontendSession session.start session=00000000 "
            + "user=admin@example.com";
    /** A forged line short enough that the whole application_name (63 characters at most) is logged uncut. */
    static final String SHORT_FORGED = "12:00:00.000 INFO  x";

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void anInjectedUserNameOrApplicationNameCannotForgeALogLine() throws Exception {
        String log = capturingStderr(() -> {
            try (RawClient c = new RawClient(warden.port())) {
                c.send(StartupPacket.StartupMessage.of(Map.of("user", "mallory@example.com\n" + FORGED,
                        "database", "dev")));
                c.read();
                c.send(FrontendMessage.AuthenticationResponse.password(warden.token()));
                c.closedByServer();
            }
            try (RawClient c = new RawClient(warden.port())) {
                c.send(StartupPacket.StartupMessage.of(Map.of("user", WardenHarness.USER, "database", "dev",
                        "application_name", "psql\r\n" + SHORT_FORGED + " app=\"\u001b[2J")));
                c.read();
                c.send(FrontendMessage.AuthenticationResponse.password(warden.token()));
                while (!(c.read() instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery)) {
                    // logging in
                }
            }
            Thread.sleep(300);
        });
        List<String> lines = log.lines().toList();
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("12:00:00.000")), log);
        assertTrue(lines.stream().noneMatch(l -> l.contains("\u001b")), "no raw ESC in the log");
        // The claimed user name is longer than PostgreSQL keeps of a name: it is logged escaped, then cut.
        assertTrue(lines.stream().anyMatch(l -> l.contains("auth.failure")
                && l.contains("user=\"mallory@example.com\\n12:00:00.000 INFO ")
                && l.contains("...[cut: " + ("mallory@example.com\n" + FORGED).length() + " characters]")), log);
        assertTrue(lines.stream().anyMatch(l -> l.contains("session.start")
                && l.contains("app=\"psql\\r\\n" + SHORT_FORGED + " app=\\\"\\e[2J\"")), log);
    }

    private interface Action {
        void run() throws Exception;
    }

    private static String capturingStderr(Action action) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        original.print(text);
        return text;
    }
}
