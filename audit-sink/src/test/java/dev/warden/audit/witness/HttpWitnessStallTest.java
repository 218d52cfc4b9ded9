package dev.warden.audit.witness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * A witness that sends an answer's headers and the first bytes of its body, then nothing: a request's own timeout
 * covers only the wait for the headers, so each of the store's three calls (publish, the latest head, the history)
 * would have held its thread (the publisher's, a start-up's, {@code audit verify --witness}'s) for good. Each must
 * fail within twice the store's timeout, naming the deadline. Run with a timeout of 300 ms instead of 10 s.
 */
class HttpWitnessStallTest {

    private static final byte[] HEAD = ("{\"chain\":\"w1\",\"seq\":5,\"hash\":\"" + "ab".repeat(32)
            + "\",\"ts\":\"2026-12-05T00:00:00Z\",\"key_id\":\"k\",\"signature\":\"c2ln\"}")
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void aWitnessThatStallsItsBodyFailsEachCallWithinTheDeadline() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService handlers = Executors.newCachedThreadPool();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(handlers);
        server.createContext("/heads", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, 1000);
            OutputStream body = exchange.getResponseBody();
            body.write("[{\"chain\":".getBytes(StandardCharsets.UTF_8));
            body.flush();
            try {
                release.await(60, TimeUnit.SECONDS); // the rest of the body never comes while the test runs
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        server.start();
        try {
            HttpWitnessStore store = new HttpWitnessStore(URI.create("http://127.0.0.1:"
                    + server.getAddress().getPort() + "/heads"), Duration.ofMillis(300));
            WitnessHead head = WitnessHead.fromJson(HEAD);
            assertLate("publish", () -> store.publish(head));
            assertLate("latest", () -> store.latest("w1"));
            assertLate("history", () -> {
                try (WitnessStore.Heads heads = store.heads("w1", 0)) {
                    heads.next();
                }
            });
        } finally {
            release.countDown();
            server.stop(0);
            handlers.shutdownNow();
        }
    }

    private static void assertLate(String call, Executable exchange) {
        long start = System.nanoTime();
        IOException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> assertThrows(IOException.class, exchange, call), (Supplier<String>) () -> call + " hung");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals("no complete answer within 600 ms", e.getMessage(), call);
        assertTrue(millis >= 550 && millis < 10_000, call + " gave up after " + millis + " ms");
    }
}
