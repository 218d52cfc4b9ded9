package dev.warden.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.AdminSettings;
import dev.warden.config.IssuerConfig;
import dev.warden.config.Listen;
import dev.warden.identity.TokenValidator;
import dev.warden.proxy.server.ServerTls;
import dev.warden.testkit.StalledServer;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin listener as a network service: slow clients, HEAD, TLS beyond loopback. */
class AdminTransportTest {

    @TempDir
    Path dir;

    private AdminFixture f;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeEach
    void start() throws Exception {
        f = new AdminFixture(dir, 1);
    }

    @AfterEach
    void stop() {
        f.close();
    }

    @Test
    void slowlorisClientsLeaveHealthzAnsweringAndLoseTheirConnections() throws Exception {
        BearerAuthenticator none = new BearerAuthenticator(
                new dev.warden.identity.TokenValidator(List.of()), List.of());
        try (AdminServer admin = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), f.approvals,
                () -> none, Optional.empty(), Duration.ofSeconds(2))) {
            List<Socket> slow = new ArrayList<>();
            try {
                // Far more than the old server's four worker threads, each trickling a request's headers.
                for (int i = 0; i < 40; i++) {
                    Socket s = new Socket("127.0.0.1", admin.port());
                    s.getOutputStream().write("GET /approvals HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    slow.add(s);
                }
                long worst = 0;
                for (int round = 0; round < 5; round++) {
                    for (Socket s : slow) {
                        s.getOutputStream().write('X');
                        s.getOutputStream().flush();
                    }
                    long t0 = System.nanoTime();
                    HttpResponse<String> health = http.send(HttpRequest.newBuilder(admin.uri().resolve("/healthz"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    worst = Math.max(worst, (System.nanoTime() - t0) / 1_000_000);
                    assertEquals(200, health.statusCode());
                    Thread.sleep(300);
                }
                assertTrue(worst < 1000, "healthz took " + worst + " ms under slowloris");
                // Past the deadline the trickling connections are closed by the server.
                Socket first = slow.get(0);
                first.setSoTimeout(4000);
                InputStream in = first.getInputStream();
                assertEquals(-1, drain(in), "the server closes a request that does not arrive in time");
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
        }
    }

    @Test
    void idleConnectionsHoldingEverySlotMakeRoomForAProbe() throws Exception {
        // The same address as the probe's (loopback), as any local process would be. The request deadline is
        // longer than the test, which reads each socket for 20 ms, twice (about 10 s).
        try (AdminServer admin = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), f.approvals,
                () -> f.tokens, Optional.empty(), Duration.ofSeconds(60), Duration.ofSeconds(10))) {
            List<Socket> idle = new ArrayList<>();
            try {
                for (int i = 0; i < AdminServer.MAX_CONNECTIONS; i++) {
                    idle.add(new Socket("127.0.0.1", admin.port()));
                }
                Thread.sleep(500);
                assertEquals(0, closed(idle), "all " + AdminServer.MAX_CONNECTIONS + " are taken and kept");
                for (int probe = 0; probe < 3; probe++) {
                    assertEquals(200, http.send(HttpRequest.newBuilder(admin.uri().resolve("/healthz"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode(), "a probe is answered with every slot taken by idle connections");
                }
                Thread.sleep(500);
                // Each probe's connection took the place of the one that had waited longest (the client's own
                // connection may be kept open by it, and so take one more).
                int closed = closed(idle);
                assertTrue(closed >= 1 && closed <= 3, closed + " idle connections closed");
                assertEquals(-1, readOrTimeout(idle.get(0)), "the longest waiting went first");
            } finally {
                for (Socket s : idle) {
                    s.close();
                }
            }
        }
    }

    /** How many of {@code sockets} the server has closed (each given 20 ms to say). */
    private static int closed(List<Socket> sockets) throws IOException {
        int closed = 0;
        for (Socket s : sockets) {
            if (readOrTimeout(s) == -1) {
                closed++;
            }
        }
        return closed;
    }

    /** -1 when the server closed (or reset) {@code s}, 0 when it is open and said nothing within 20 ms. */
    private static int readOrTimeout(Socket s) throws IOException {
        s.setSoTimeout(20);
        try {
            return s.getInputStream().read() == -1 ? -1 : 1;
        } catch (java.net.SocketTimeoutException open) {
            return 0;
        } catch (java.net.SocketException reset) {
            return -1;
        }
    }

    /** Headers promising a body, then nothing: the key fetch of an authenticator whose keys are there waits (5 s). */
    private static final byte[] KEYS_THAT_STALL =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
                    .getBytes(StandardCharsets.US_ASCII);

    /** Bearer tokens of the fixture's issuer, whose keys are fetched from {@code keys}. */
    private BearerAuthenticator authenticatorWithKeysAt(StalledServer keys) {
        IssuerConfig config = new IssuerConfig(f.issuer.issuer(), "warden", "email", "groups", Optional.empty(),
                Set.of("RS256"), Duration.ofSeconds(60),
                Optional.of(URI.create("http://127.0.0.1:" + keys.port() + "/jwks")));
        return new BearerAuthenticator(new TokenValidator(List.of(config)), List.of(config));
    }

    @Test
    void aRequestWhoseWorkerIsStuckLosesItsConnectionAtTheAnswerDeadline() throws Exception {
        // The issuer's keys are served by a peer that sends headers and then nothing: the worker authenticating
        // the request waits on it (5 s, the key fetch's own bound), far past this server's answer deadline.
        try (StalledServer keys = new StalledServer(KEYS_THAT_STALL)) {
            BearerAuthenticator stuck = authenticatorWithKeysAt(keys);
            try (AdminServer admin = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), f.approvals,
                    () -> stuck, Optional.empty(), Duration.ofSeconds(5), Duration.ofSeconds(1));
                 Socket s = new Socket("127.0.0.1", admin.port())) {
                long t0 = System.nanoTime();
                s.getOutputStream().write(("GET /approvals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + f.token("dana", "dba") + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.setSoTimeout(4000);
                long[] read = readUntilClosed(s.getInputStream());
                long took = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("stuck worker: closed after " + took + " ms, " + read[0] + " bytes");
                assertEquals(0, read[0], "nothing is answered for a request whose worker is stuck");
                assertTrue(took < 3000, "closed after " + took + " ms");
                assertEquals(1, keys.connections(), "the worker did wait on the key fetch");
                assertEquals(200, http.send(HttpRequest.newBuilder(admin.uri().resolve("/healthz"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
    }

    @Test
    void aClientThatNeverReadsALargeAnswerLosesItsConnectionAtTheAnswerDeadline() throws Exception {
        // The list answer is megabytes, which a client that reads nothing holds in the server's outbound buffer (and
        // its connection open) for as long as it likes.
        int size = fillTheListWithMegabytes();
        try (AdminServer admin = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), f.approvals,
                () -> f.tokens, Optional.empty(), Duration.ofSeconds(5), Duration.ofSeconds(2));
             Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", admin.port()));
            s.getOutputStream().write(("GET /approvals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + f.token("dana", "dba") + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            Thread.sleep(4000);
            s.setSoTimeout(3000);
            long[] read = readUntilClosed(s.getInputStream());
            System.out.println("client that did not read: " + read[0] + " of " + size + " bytes before the close");
            assertTrue(read[0] < size, "the whole answer was sent: " + read[0] + " bytes");
        }
    }

    /** 200 pending requests of 16 KiB statements, each shown twice in the list; the list's size in bytes. */
    private int fillTheListWithMegabytes() throws Exception {
        String statement = "UPDATE billing SET note = '" + "n".repeat(16 * 1024) + "' WHERE id = ";
        for (int requester = 0; requester < 10; requester++) {
            for (int i = 0; i < 20; i++) {
                f.approvals.request(f.request(f.identity("user" + requester), statement + i));
            }
        }
        HttpResponse<String> whole = f.get("/approvals", f.token("dana", "dba"));
        assertEquals(200, whole.statusCode());
        int size = whole.body().getBytes(StandardCharsets.UTF_8).length;
        assertTrue(size > 4_000_000, "the list is " + size + " bytes");
        return size;
    }

    @Test
    void withEveryOtherConnectionBeingAnsweredOneWhoseClientDoesNotReadGivesWayToAProbe() throws Exception {
        fillTheListWithMegabytes();
        try (StalledServer keys = new StalledServer(KEYS_THAT_STALL)) {
            BearerAuthenticator stuck = authenticatorWithKeysAt(keys);
            java.util.concurrent.atomic.AtomicReference<BearerAuthenticator> tokens =
                    new java.util.concurrent.atomic.AtomicReference<>(f.tokens);
            String request = "GET /approvals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + f.token("dana", "dba")
                    + "\r\n\r\n";
            try (AdminServer admin = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), f.approvals,
                    tokens::get, Optional.empty(), Duration.ofSeconds(60), Duration.ofSeconds(60));
                 Socket reader = new Socket()) {
                // One client asks for the long list and reads none of it: its answer's write stays pending.
                reader.setReceiveBufferSize(4096);
                reader.connect(new java.net.InetSocketAddress("127.0.0.1", admin.port()));
                reader.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                reader.getOutputStream().flush();
                Thread.sleep(2000);
                // Every other connection's request is being answered: its worker waits on a provider (5 s).
                tokens.set(stuck);
                List<Socket> answering = new ArrayList<>();
                try {
                    for (int i = 1; i < AdminServer.MAX_CONNECTIONS; i++) {
                        Socket s = new Socket("127.0.0.1", admin.port());
                        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                        answering.add(s);
                    }
                    Thread.sleep(300);
                    long t0 = System.nanoTime();
                    int probe = http.send(HttpRequest.newBuilder(admin.uri().resolve("/healthz"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
                    long took = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(took < 3000, "the probe is answered while the requests are (" + took + " ms)");
                    assertEquals(200, probe, "the probe took the place of the client that does not read");
                    reader.setSoTimeout(5000);
                    long[] read = readUntilClosed(reader.getInputStream());
                    assertTrue(read[0] > 0, "the reader's answer had begun");
                } finally {
                    for (Socket s : answering) {
                        s.close();
                    }
                }
            }
        }
    }

    @Test
    void aRequestSentBeforeTheLastOneIsAnsweredClosesTheConnection() throws Exception {
        String request = "GET /approvals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + f.token("dana", "dba")
                + "\r\n\r\n";
        try (Socket s = new Socket("127.0.0.1", f.server.port())) {
            // Many requests in one write: each would be a worker's task, answered in whatever order they finish.
            s.getOutputStream().write(request.repeat(50).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.setSoTimeout(5000);
            byte[] all = s.getInputStream().readAllBytes();
            int answers = new String(all, StandardCharsets.ISO_8859_1).split("HTTP/1.1 ", -1).length - 1;
            assertTrue(answers <= 1, answers + " answers to pipelined requests");
        }
    }

    @Test
    void headAnswersLikeGetWithoutABody() throws Exception {
        HttpResponse<String> head = http.send(HttpRequest.newBuilder(f.uri("/healthz"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
        assertEquals(f.get("/healthz", null).body().getBytes(StandardCharsets.UTF_8).length,
                Integer.parseInt(head.headers().firstValue("Content-Length").orElseThrow()));
        HttpResponse<String> unauthenticated = http.send(HttpRequest.newBuilder(f.uri("/approvals"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, unauthenticated.statusCode());
    }

    @Test
    void aBodyOverTheLimitIsRefusedWith413() throws Exception {
        String big = "{\"comment\": \"" + "x".repeat(AdminServer.MAX_BODY_BYTES) + "\"}";
        HttpResponse<String> r = f.post("/approvals/apr_aaaaaaaaaaaa/approve", f.token("bob", "dba"), big);
        assertEquals(413, r.statusCode());
    }

    @Test
    void beyondLoopbackTheListenerSpeaksTlsOnly() throws Exception {
        assertThrows(IOException.class, () -> AdminServer.start(new AdminSettings.Address("0.0.0.0", 0),
                f.approvals, () -> null));
        Listen listen = new Listen("0.0.0.0", 0, Optional.empty(), Optional.empty(), false, 10,
                Duration.ofSeconds(5), Duration.ZERO, Duration.ZERO, 1 << 20, false, Duration.ZERO);
        SslContext tls = ServerTls.create(listen);
        try (AdminServer admin = AdminServer.start(new AdminSettings.Address("0.0.0.0", 0), f.approvals,
                () -> null, Optional.of(tls), Duration.ofSeconds(5))) {
            URI https = URI.create("https://127.0.0.1:" + admin.port() + "/healthz");
            HttpClient trusting = HttpClient.newBuilder().sslContext(trustAll()).build();
            assertEquals(200, trusting.send(HttpRequest.newBuilder(https).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            assertThrows(IOException.class, () -> http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + admin.port() + "/healthz")).timeout(Duration.ofSeconds(3))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
    }

    @Test
    void onlyLiteralLoopbackAddressesCountAsLoopback() {
        assertTrue(AdminServer.isLoopback("127.0.0.1"));
        assertTrue(AdminServer.isLoopback("::1"));
        assertEquals(false, AdminServer.isLoopback("127.attacker.example"));
        assertEquals(false, AdminServer.isLoopback("0.0.0.0"));
    }

    /**
     * Reads until the server closes (end of stream or a reset); {@code [bytes read]}. A read that times out fails
     * the test: the server kept the connection.
     */
    private static long[] readUntilClosed(InputStream in) throws IOException {
        byte[] buf = new byte[65536];
        long total = 0;
        try {
            for (int n; (n = in.read(buf)) != -1; ) {
                total += n;
            }
        } catch (java.net.SocketException reset) {
            // closed with data in flight: as closed as an end of stream
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open after " + total + " bytes", e);
        }
        return new long[] {total};
    }

    private static int drain(InputStream in) throws IOException {
        int b;
        while ((b = in.read()) != -1) {
            // a 408-less close: nothing is owed to a client that never finished its request
        }
        return b;
    }

    private static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return ctx;
    }
}
