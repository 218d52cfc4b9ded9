package dev.warden.config.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.testkit.StalledServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A server that sends its headers and part of its body, then stops: the request's own timeout does not end it. */
class WholeAnswerTest {

    @Test
    void anAnswerThatStopsMidBodyIsGivenUpInTime() throws Exception {
        byte[] headers = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"
                .getBytes(StandardCharsets.US_ASCII);
        try (StalledServer stalled = new StalledServer(headers)) {
            HttpClient client = HttpClient.newHttpClient();
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stalled.port() + "/"))
                    .timeout(Duration.ofMillis(500)).GET().build();
            long started = System.nanoTime();
            HttpTimeoutException e = assertThrows(HttpTimeoutException.class, () -> WholeAnswer.send(client, request,
                    HttpResponse.BodyHandlers.ofString(), Duration.ofSeconds(1)));
            long took = (System.nanoTime() - started) / 1_000_000;
            assertEquals("no complete answer within 1 s", e.getMessage());
            assertTrue(took < 5_000, took + " ms");
            assertEquals(1, stalled.connections());
        }
    }
}
