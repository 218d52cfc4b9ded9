package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.StartupPacket;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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

    private static Socket from(String localAddress) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(localAddress, 0));
        s.connect(new InetSocketAddress("127.0.0.1", warden.port()), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    @Test
    void aThousandIdlePreLoginSocketsFromOneHostLeaveLoginsWorking() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                idle.add(from("127.0.0.2"));
            }
            // The pool for one address is small; everything past it was told 53300 and closed.
            Socket last = idle.get(idle.size() - 1);
            BackendMessage refused = read(new DataInputStream(last.getInputStream()));
            assertEquals("53300", ((BackendMessage.ErrorResponse) refused).sqlState());

            long start = System.nanoTime();
            try (Connection alice = warden.connect("")) {
                assertTrue(alice.createStatement().executeQuery("SELECT 1").next());
            }
            assertTrue(System.nanoTime() - start < 10_000_000_000L);
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void hugePasswordMessagesAreRefusedFromTheirHeaderAndCostNoMemory() throws Exception {
        ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;
        long before = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory()
                + ((ByteBufAllocatorMetricProvider) allocator).metric().usedHeapMemory();
        List<Socket> clients = new ArrayList<>();
        byte[] chunk = new byte[256 * 1024];
        long peak = before;
        try {
            for (int i = 0; i < 100; i++) {
                Socket s = from("127.0.0." + (10 + i % 5));
                clients.add(s);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.write(RawClient.bytes(StartupPacket.StartupMessage.of(Map.of("user", WardenHarness.USER,
                        "database", "dev")).toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)));
                out.flush();
                read(new DataInputStream(s.getInputStream())); // AuthenticationCleartextPassword
                out.writeByte('p');
                out.writeInt(64 * 1024 * 1024);
                try {
                    out.write(chunk);
                    out.flush();
                } catch (IOException e) {
                    // The server may already have hung up: that is the point.
                }
                long used = ((ByteBufAllocatorMetricProvider) allocator).metric().usedDirectMemory()
                        + ((ByteBufAllocatorMetricProvider) allocator).metric().usedHeapMemory();
                peak = Math.max(peak, used);
            }
            for (Socket s : clients) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                BackendMessage answer = read(in);
                assertEquals("08P01", ((BackendMessage.ErrorResponse) answer).sqlState(), answer.toString());
            }
        } finally {
            for (Socket s : clients) {
                s.close();
            }
        }
        long grown = (peak - before) / (1024 * 1024);
        // Buffered, 100 x 256 KiB would be 25 MiB; refused at the header it is a few buffers at most.
        assertTrue(grown < 8, "pre-login password messages held " + grown + " MiB");
    }

    private static BackendMessage read(DataInputStream in) throws IOException {
        int type = in.readUnsignedByte();
        int length = in.readInt();
        byte[] frame = new byte[length + 1];
        frame[0] = (byte) type;
        frame[1] = (byte) (length >>> 24);
        frame[2] = (byte) (length >>> 16);
        frame[3] = (byte) (length >>> 8);
        frame[4] = (byte) length;
        in.readFully(frame, 5, length - 4);
        return BackendMessage.decode(io.netty.buffer.Unpooled.wrappedBuffer(frame));
    }
}
