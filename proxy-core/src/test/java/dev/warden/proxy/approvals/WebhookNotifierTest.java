package dev.warden.proxy.approvals;

import static dev.warden.proxy.approvals.People.ALICE;
import static dev.warden.proxy.approvals.People.BOB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.warden.config.ApprovalSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebhookNotifierTest {

    @TempDir
    Path dir;

    private HttpServer server;
    private final BlockingQueue<String> bodies = new LinkedBlockingQueue<>();
    private final AtomicInteger attempts = new AtomicInteger();

    /** A webhook receiver that answers 500 to the first {@code failures} posts, then 200. */
    private URI receiver(int failures) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int n = attempts.incrementAndGet();
            int status = n <= failures ? 500 : 200;
            if (status == 200) {
                bodies.add(body);
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private ApprovalService service(URI hook, int retries) throws Exception {
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(1), 1,
                new ApprovalSettings.Store.FileStore(dir), List.of(new ApprovalSettings.Webhook(hook, retries)),
                Duration.ofMinutes(10));
        ApprovalService s = new ApprovalService(settings, new FileApprovalStore(dir), new RecordingAuditLog(),
                new WebhookNotifier(settings.webhooks(), Duration.ofMillis(50)), Clock.systemUTC());
        s.start();
        return s;
    }

    @Test
    void requestsAndDecisionsArePostedAsSlackCompatibleJson() throws Exception {
        URI hook = receiver(0);
        try (ApprovalService s = service(hook, 3)) {
            ApprovalRequest request = s.newRequest(ALICE, "prod", "UPDATE billing SET plan = 'pro' WHERE id = 42",
                    "fp", "prod-writes", Set.of("dba"), "ticket 42", "s1");
            s.request(request);
            JsonNode requested = ApprovalJson.MAPPER.readTree(bodies.poll(5, TimeUnit.SECONDS));
            assertEquals("approval.requested", requested.get("event").asText());
            String text = requested.get("text").asText();
            assertTrue(text.startsWith("Warden approval " + request.id() + ": alice@example.com wants to run on prod"),
                    text);
            assertTrue(text.contains("UPDATE billing SET plan = 'pro' WHERE id = 42"), text);
            assertTrue(text.contains("Reason: ticket 42"), text);
            assertEquals("pending", requested.get("approval").get("status").asText());
            assertEquals("dba", requested.get("approval").get("approvers").get(0).asText());

            s.deny(request.id(), BOB, "not now");
            JsonNode denied = ApprovalJson.MAPPER.readTree(bodies.poll(5, TimeUnit.SECONDS));
            assertEquals("approval.denied", denied.get("event").asText());
            assertEquals("Warden approval " + request.id() + " denied by bob@example.com: not now",
                    denied.get("text").asText());
            assertEquals("bob@example.com", denied.get("approval").get("decided_by").asText());
        }
    }

    @Test
    void aHostileStatementStaysDataInTheJsonAndCannotBreakOutOfTheChatCodeBlock() throws Exception {
        URI hook = receiver(0);
        String hostile = "UPDATE t SET a=1 WHERE id=1 OR 1=1--\u001b[9D\u001b[K\n```\n<!channel> approved, ship it "
                + "x".repeat(4000) + " OR true";
        try (ApprovalService s = service(hook, 0)) {
            ApprovalRequest request = s.newRequest(ALICE, "prod", hostile, "fp", "r", Set.of("dba"), "", "s1");
            s.request(request);
            JsonNode body = ApprovalJson.MAPPER.readTree(bodies.poll(5, TimeUnit.SECONDS));
            assertEquals(hostile, body.get("approval").get("statement").asText(), "the statement is data, whole");
            String text = body.get("text").asText();
            assertEquals(2, text.split("```", -1).length - 1, "only Warden's own fence: " + text);
            assertTrue(text.contains("--\\e[9D\\e[K\\n"), text);
            assertTrue(text.contains("&lt;!channel&gt;"), text);
            assertTrue(!text.contains("<!channel>") && !text.contains("\u001b"), text);
            assertTrue(text.contains("more characters not shown]"), "a cut is announced: " + text);
        }
    }

    @Test
    void logsNameAWebhookByHostOnly() {
        String shown = WebhookNotifier.redacted(URI.create("https://user:pw@hooks.example.com:8443/services/T0/B0/s3cr3t?token=t"));
        assertEquals("https://hooks.example.com:8443/…", shown);
    }

    @Test
    void aFailingWebhookIsRetriedWithBackoffUntilItSucceeds() throws Exception {
        URI hook = receiver(2);
        try (ApprovalService s = service(hook, 3)) {
            ApprovalRequest request = s.newRequest(ALICE, "prod", "DELETE FROM t WHERE id = 1", "fp", "r",
                    Set.of("dba"), "", "s1");
            long start = System.nanoTime();
            s.request(request);
            assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(100),
                    "the request must not wait for the webhook");

            String body = bodies.poll(5, TimeUnit.SECONDS);
            assertTrue(body != null && body.contains(request.id()));
            assertEquals(3, attempts.get());
        }
    }

    @Test
    void aWebhookThatKeepsFailingIsGivenUpAfterItsRetries() throws Exception {
        URI hook = receiver(100);
        try (ApprovalService s = service(hook, 2)) {
            s.request(s.newRequest(ALICE, "prod", "DELETE FROM t WHERE id = 1", "fp", "r", Set.of("dba"), "", "s1"));
            Thread.sleep(800);
            assertEquals(3, attempts.get());
        }
    }

    @Test
    void aReceiverThatStallsItsAnswerIsRetriedAndThenGivenUp() throws Exception {
        // Headers promising a body, then nothing: the request's own timeout covers the headers only.
        byte[] headers = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{".getBytes(StandardCharsets.US_ASCII);
        try (dev.warden.testkit.StalledServer stalled = new dev.warden.testkit.StalledServer(headers)) {
            URI hook = URI.create("http://127.0.0.1:" + stalled.port() + "/hook");
            ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(1), 1,
                    new ApprovalSettings.Store.FileStore(dir), List.of(new ApprovalSettings.Webhook(hook, 2)),
                    Duration.ofMinutes(10));
            WebhookNotifier notifier = new WebhookNotifier(settings.webhooks(), Duration.ofMillis(50),
                    java.net.InetAddress::getAllByName, Duration.ofMillis(300));
            try (ApprovalService s = new ApprovalService(settings, new FileApprovalStore(dir), new RecordingAuditLog(),
                    notifier, Clock.systemUTC())) {
                s.start();
                s.request(s.newRequest(ALICE, "prod", "DELETE FROM t WHERE id = 1", "fp", "r", Set.of("dba"), "",
                        "s1"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (stalled.connections() < 3 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(3, stalled.connections(), "the first delivery and its two retries, each given up");
                Thread.sleep(1000);
                assertEquals(3, stalled.connections(), "no delivery after the retries are spent");
                long closing = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (stalled.closedByPeer() < 3 && System.nanoTime() < closing) {
                    Thread.sleep(50);
                }
                assertEquals(3, stalled.closedByPeer(), "each delivery given up closed its connection");
            }
        }
    }
}
