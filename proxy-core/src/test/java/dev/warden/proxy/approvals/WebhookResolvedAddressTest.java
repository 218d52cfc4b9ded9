package dev.warden.proxy.approvals;

import static dev.warden.proxy.approvals.People.ALICE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.warden.config.ApprovalSettings;
import java.net.InetAddress;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A webhook host name that resolves, at delivery time, to a link-local or metadata address is never posted to,
 * and not retried. The receiver listens on 127.0.0.1 and the URL names {@code localhost}: with the system's
 * resolver the post arrives (the control case), so a missing check would show as a delivery. The resolver
 * is the notifier's seam for DNS; the HTTP client and the receiver are real.
 */
class WebhookResolvedAddressTest {

    @TempDir
    Path dir;

    private HttpServer server;
    private URI hook;
    private final BlockingQueue<String> bodies = new LinkedBlockingQueue<>();
    private final AtomicInteger lookups = new AtomicInteger();

    @BeforeEach
    void receiver() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            bodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        hook = URI.create("http://localhost:" + server.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private ApprovalService service(WebhookNotifier.HostResolver resolver) throws Exception {
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(1), 1,
                new ApprovalSettings.Store.FileStore(dir), List.of(new ApprovalSettings.Webhook(hook, 3)),
                Duration.ofMinutes(10));
        WebhookNotifier.HostResolver counting = host -> {
            lookups.incrementAndGet();
            return resolver.resolve(host);
        };
        ApprovalService s = new ApprovalService(settings, new FileApprovalStore(dir), new RecordingAuditLog(),
                new WebhookNotifier(settings.webhooks(), Duration.ofMillis(20), counting), Clock.systemUTC());
        s.start();
        return s;
    }

    private void requestApproval(ApprovalService s) {
        s.request(s.newRequest(ALICE, "prod", "DELETE FROM t WHERE id = 1", "fp", "r", Set.of("dba"), "", "s1"));
    }

    @Test
    void aNameResolvingToLoopbackIsDelivered() throws Exception {
        try (ApprovalService s = service(InetAddress::getAllByName)) {
            requestApproval(s);
            assertNotNull(bodies.poll(5, TimeUnit.SECONDS), "the control case: the post arrives");
        }
    }

    @Test
    void aNameResolvingToTheMetadataAddressIsNeverPostedTo() throws Exception {
        assertRefused(new InetAddress[] {InetAddress.getByName("169.254.169.254")});
    }

    @Test
    void aNameResolvingToAnIpv6LinkLocalAddressIsNeverPostedTo() throws Exception {
        assertRefused(new InetAddress[] {InetAddress.getByName("fe80::1")});
    }

    @Test
    void oneBadAddressAmongGoodOnesIsEnoughToRefuse() throws Exception {
        // A round-robin answer: the client could connect to any of them.
        assertRefused(new InetAddress[] {InetAddress.getByName("127.0.0.1"), InetAddress.getByName("169.254.169.254")});
    }

    private void assertRefused(InetAddress[] answer) throws Exception {
        try (ApprovalService s = service(host -> answer)) {
            requestApproval(s);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (lookups.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(lookups.get() > 0, "the notifier resolved the host");
            // Retries come 20, 40, 80 ms apart: a second of silence means none was attempted.
            assertNull(bodies.poll(1, TimeUnit.SECONDS), "nothing may reach the receiver");
            assertEquals(1, lookups.get(), "a refused target is not retried");
        }
    }
}
