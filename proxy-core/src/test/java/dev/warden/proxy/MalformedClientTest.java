package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.pg.message.StartupPacket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bytes no driver would send get a precise error and a closed connection; everyone else is served. */
class MalformedClientTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("""
                  allow_plaintext_on_loopback: true
                  startup_timeout: 1s
                  max_message_bytes: 1048576
                """, "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void garbageBeforeStartupIsRefusedWith08P01() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.send("GET / HTTP/1.1\r\nHost: warden\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            ErrorResponse e = c.expect(ErrorResponse.class);
            assertEquals("08P01", e.sqlState());
            assertEquals("FATAL", e.severity());
            assertTrue(c.closedByServer());
        }
        assertStillServing();
    }

    @Test
    void anAbsurdMessageLengthIsRefusedAfterLogin() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new byte[] {'Q', 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'S', 'E', 'L'});
            ErrorResponse e = c.expect(ErrorResponse.class);
            assertEquals("08P01", e.sqlState());
            assertTrue(e.message().contains("exceeds"), e.message());
            assertTrue(c.closedByServer());
        }
        assertStillServing();
    }

    @Test
    void aLengthShorterThanItsOwnHeaderIsRefused() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new byte[] {'Q', 0, 0, 0, 2});
            assertEquals("08P01", c.expect(ErrorResponse.class).sqlState());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void anUnknownMessageTypeIsRefused() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new byte[] {'z', 0, 0, 0, 4});
            ErrorResponse e = c.expect(ErrorResponse.class);
            assertEquals("08P01", e.sqlState());
            assertTrue(c.closedByServer());
        }
        assertStillServing();
    }

    @Test
    void aTruncatedStartupPacketTimesOutWithAnErrorNotAHang() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.send(new byte[] {0, 0, 0, 40, 0, 3, 0, 0, 'u', 's'});
            ErrorResponse e = c.expect(ErrorResponse.class);
            assertEquals("08006", e.sqlState());
            assertTrue(e.message().contains("startup did not complete"), e.message());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void aTruncatedMessageFollowedByDisconnectLeavesNoSessionBehind() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
            c.send(new byte[] {'Q', 0, 0, 0, 100, 'S', 'E'});
        }
        long deadline = System.currentTimeMillis() + 5000;
        while (warden.server().openSessions() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, warden.server().openSessions());
    }

    @Test
    void bytesPipelinedAfterSslRequestAreRefused() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            byte[] ssl = RawClient.bytes(new StartupPacket.SslRequest().toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT));
            byte[] startup = RawClient.bytes(StartupPacket.StartupMessage.of(Map.of("user", "mallory", "database", "dev"))
                    .toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT));
            byte[] both = new byte[ssl.length + startup.length];
            System.arraycopy(ssl, 0, both, 0, ssl.length);
            System.arraycopy(startup, 0, both, ssl.length, startup.length);
            c.send(both);
            ErrorResponse e = c.expect(ErrorResponse.class);
            assertEquals("08P01", e.sqlState());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void aPlaintextLoginIsAllowedOnlyBecauseThePolicySaysSoOnLoopback() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", WardenHarness.USER, warden.token());
        }
    }

    private static void assertStillServing() throws Exception {
        try (Connection conn = warden.connect(""); ResultSet rs = conn.createStatement().executeQuery("SELECT 1")) {
            assertTrue(rs.next());
        }
    }
}
