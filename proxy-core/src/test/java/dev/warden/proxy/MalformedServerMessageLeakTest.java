package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.testkit.TestPostgres;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A server message that frames well but does not decode: a broken server, or one an attacker sits in front of.
 * Environment {@code broken} reaches the real PostgreSQL through {@link Corrupting}, which passes every byte on but
 * takes the string ends out of a server message that holds the word {@code CORRUPT}, from that word on: each
 * message type Warden decodes (a ParameterStatus, a NoticeResponse it masks, an ErrorResponse it counts, a
 * RowDescription it plans) then has a string that runs past its end. The session ends; the frame must be released on
 * the way. Before, it was left unreleased and pinned the buffer the server's bytes were read into, for good.
 */
class MalformedServerMessageLeakTest {

    static Corrupting broken;
    static WardenHarness warden;

    @BeforeAll
    static void start() throws IOException {
        TestPostgres pg = TestPostgres.start();
        broken = new Corrupting(pg.port());
        warden = WardenHarness.start(pg, "  allow_plaintext_on_loopback: true\n", """
                  broken:
                    upstream: { host: 127.0.0.1, port: %d, database: "${DATABASE}", user: %s, password_env: UPSTREAM_PASSWORD, tls: disable, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                """.formatted(broken.port(), TestPostgres.SCRAM_USER), "");
    }

    @AfterAll
    static void stop() throws IOException {
        warden.close();
        broken.close();
    }

    /** A statement whose answer holds the word, by the message type Warden then decodes. */
    private static Map<String, String> statements() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ParameterStatus", "SET application_name = 'CORRUPT'");
        m.put("NoticeResponse", "DO $$BEGIN RAISE NOTICE 'CORRUPT'; END$$");
        m.put("ErrorResponse", "SELECT 'CORRUPT'::int");
        m.put("RowDescription", "SELECT 1 AS \"CORRUPT\"");
        return m;
    }

    @Test
    void aServerMessageThatDoesNotDecodeEndsTheSessionAndLeavesNoBufferBehind() throws Exception {
        List<String> answers = new ArrayList<>();
        List<String> leaks = LeakCheck.leaksOf(() -> {
            try (RawClient c = new RawClient(warden.port())) {
                c.login("broken", WardenHarness.USER, warden.token());
                c.send(new FrontendMessage.Query("SELECT 'whole'"));
                assertEquals(List.of("whole"), RawClient.values(c.untilReady()),
                        "the relay passes on what it need not break");
            }
            for (Map.Entry<String, String> s : statements().entrySet()) {
                for (int i = 0; i < 3; i++) {
                    try (RawClient c = new RawClient(warden.port())) {
                        c.socket.setSoTimeout(10_000);
                        c.login("broken", WardenHarness.USER, warden.token());
                        c.send(new FrontendMessage.Query(s.getValue()));
                        List<String> got = new ArrayList<>();
                        try {
                            while (true) {
                                BackendMessage m = c.read();
                                got.add(m instanceof BackendMessage.ErrorResponse e ? e.sqlState() + " " + e.message()
                                        : m.getClass().getSimpleName());
                            }
                        } catch (java.io.EOFException | java.net.SocketException end) {
                            got.add("closed");
                        }
                        answers.add(s.getKey() + ": " + got);
                        assertEquals("closed", got.get(got.size() - 1), s.getKey() + ": the session ended: " + got);
                        assertTrue(got.stream().noneMatch(g -> g.contains("CORRUPT") || g.equals("ReadyForQuery")),
                                s.getKey() + ": nothing of the broken message was relayed: " + got);
                        String error = got.get(got.size() - 2);
                        assertTrue(error.startsWith("08P01 the upstream server of environment \"broken\" sent a "
                                + "message Warden cannot read (missing string terminator"), s.getKey() + ": " + got);
                    }
                }
            }
        });
        System.out.println("broken server messages: " + answers);
        assertEquals(List.of(), leaks, "buffers left unreleased: " + answers);
    }

    /**
     * A TCP relay to PostgreSQL that passes every byte on, except that in a server message whose body holds
     * {@code CORRUPT} every zero byte from the word on becomes {@code x}: the length stays right, the strings lose
     * their ends. (Warden's upstream is plaintext here: {@code tls: disable}.)
     */
    static final class Corrupting implements AutoCloseable {
        private static final byte[] WORD = "CORRUPT".getBytes(StandardCharsets.US_ASCII);
        private final ServerSocket listener = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        private final int target;

        Corrupting(int target) throws IOException {
            this.target = target;
            Thread accepting = new Thread(this::accept, "corrupting-accept");
            accepting.setDaemon(true);
            accepting.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Socket server = new Socket(java.net.InetAddress.getLoopbackAddress(), target);
                    daemon(() -> copy(client, server));
                    daemon(() -> corrupt(server, client));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void daemon(Runnable r) {
            Thread t = new Thread(r, "corrupting-relay");
            t.setDaemon(true);
            t.start();
        }

        private static void copy(Socket from, Socket to) {
            try (from; to; InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException ended) {
                // either side closed
            }
        }

        /** Server to Warden, one message at a time (no TLS or GSS request is made, so every byte is in a message). */
        private static void corrupt(Socket from, Socket to) {
            try (from; to; DataInputStream in = new DataInputStream(from.getInputStream());
                 OutputStream out = to.getOutputStream()) {
                while (true) {
                    int type = in.readUnsignedByte();
                    int length = in.readInt();
                    byte[] body = new byte[length - 4];
                    in.readFully(body);
                    int at = indexOf(body, WORD);
                    for (int i = at; at >= 0 && i < body.length; i++) {
                        if (body[i] == 0) {
                            body[i] = 'x';
                        }
                    }
                    out.write(type);
                    out.write(new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8),
                            (byte) length});
                    out.write(body);
                    out.flush();
                }
            } catch (IOException ended) {
                // either side closed
            }
        }

        private static int indexOf(byte[] body, byte[] word) {
            outer:
            for (int i = 0; i + word.length <= body.length; i++) {
                for (int j = 0; j < word.length; j++) {
                    if (body[i + j] != word[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
