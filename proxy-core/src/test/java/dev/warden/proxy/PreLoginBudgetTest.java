package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.StartupPacket;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Before login a client costs little and cannot take what logged-in sessions need: huge password messages
 * are refused from their header, and idle sockets from one host leave logins from elsewhere working.
 */
class PreLoginBudgetTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n  startup_timeout: 60s\n", "");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static RawClient from(String localAddress) throws IOException {
        return new RawClient(localAddress, warden.port(), 0);
    }

    @Test
    void aThousandIdlePreLoginSocketsFromOneHostLeaveLoginsWorking() throws Exception {
        List<RawClient> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                idle.add(from("127.0.0.2"));
            }
            // The pool for one address is small; everything past it was told 53300 and closed.
            BackendMessage refused = idle.get(idle.size() - 1).read();
            assertEquals("53300", ((BackendMessage.ErrorResponse) refused).sqlState());

            long start = System.nanoTime();
            try (Connection alice = warden.connect("")) {
                assertTrue(alice.createStatement().executeQuery("SELECT 1").next());
            }
            assertTrue(System.nanoTime() - start < 10_000_000_000L);
        } finally {
            for (RawClient c : idle) {
                c.close();
            }
        }
    }

    /**
     * A client refused for the address's share gets 53300 and nothing else, even one that sent its StartupMessage and
     * shut its side at once: on io_uring the close waits for the 53300 to be written, and a read is armed on the
     * peer's half-close (a helper's reading of Netty's source; not seen to happen here, before or after the gate
     * drops what a refused client sends).
     */
    @Test
    void aRefusedClientIsAnsweredOnlyWith53300() throws Exception {
        int share = warden.policy().budgets().preLoginPerAddress(warden.policy().listen().maxConnections());
        List<RawClient> idle = new ArrayList<>();
        byte[] startup = RawClient.bytes(StartupPacket.StartupMessage.of(Map.of("user", WardenHarness.USER,
                "database", "dev")).toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT));
        try {
            // Each holds its slot once Warden has answered its StartupMessage: accepted connections become active
            // on either event loop, so a connection made later could otherwise take a slot before them.
            for (int i = 0; i < share; i++) {
                RawClient c = from("127.0.0.4");
                idle.add(c);
                c.send(startup);
                c.expect(BackendMessage.AuthenticationCleartextPassword.class);
            }
            for (int attempt = 0; attempt < 40; attempt++) {
                try (RawClient c = from("127.0.0.4")) {
                    c.send(startup);
                    c.socket.shutdownOutput();
                    List<String> answers = new ArrayList<>();
                    while (true) {
                        BackendMessage m;
                        try {
                            m = c.read();
                        } catch (java.io.EOFException | java.net.SocketException closed) {
                            break;
                        }
                        answers.add(m instanceof BackendMessage.ErrorResponse e ? "E " + e.sqlState()
                                : m.getClass().getSimpleName());
                    }
                    assertEquals(List.of("E 53300"), answers, "attempt " + attempt);
                }
            }
        } finally {
            for (RawClient c : idle) {
                c.close();
            }
        }
    }

    @Test
    void hugePasswordMessagesAreRefusedFromTheirHeaderAndCostNoMemory() throws Exception {
        ByteBufAllocator allocator = dev.warden.proxy.server.BufferAllocator.forServing();
        long before = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory()
                + ((ByteBufAllocatorMetricProvider) allocator).metric().usedHeapMemory();
        List<RawClient> clients = new ArrayList<>();
        byte[] chunk = new byte[256 * 1024];
        long peak = before;
        try {
            for (int i = 0; i < 100; i++) {
                RawClient c = from("127.0.0." + (10 + i % 5));
                clients.add(c);
                c.send(StartupPacket.StartupMessage.of(Map.of("user", WardenHarness.USER, "database", "dev")));
                c.expect(BackendMessage.AuthenticationCleartextPassword.class);
                try {
                    // 'p' announcing 64 MiB, then the first 256 KiB of it.
                    c.send(new byte[] {'p', 0x04, 0, 0, 0});
                    c.send(chunk);
                } catch (IOException e) {
                    // The server may already have hung up: that is the point.
                }
                long used = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory()
                        + ((ByteBufAllocatorMetricProvider) allocator).metric().usedHeapMemory();
                peak = Math.max(peak, used);
            }
            for (RawClient c : clients) {
                BackendMessage answer = c.read();
                assertEquals("08P01", ((BackendMessage.ErrorResponse) answer).sqlState(), answer.toString());
            }
        } finally {
            for (RawClient c : clients) {
                c.close();
            }
        }
        long grown = (peak - before) / (1024 * 1024);
        // Buffered, 100 x 256 KiB would be 25 MiB; refused at the header it is a few buffers at most.
        assertTrue(grown < 8, "pre-login password messages held " + grown + " MiB");
    }
}
