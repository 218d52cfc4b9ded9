package dev.warden.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.IssuerConfig;
import dev.warden.testkit.StalledServer;
import dev.warden.testkit.TestOidcIssuer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An identity provider that answers the JWKS request's headers and then stops sending (a stalled provider, a proxy
 * in front of one). The request's timeout covers only the headers: the body was read without one, under the lock
 * every login of the issuer waits on, on the executor that catalog reads and approvals share. Each login must now
 * be refused within the timeout, and those queued behind a slow failure at once.
 */
class IssuerStallTest {

    @Test
    void aProviderThatStopsMidBodyRefusesLoginsInTimeAndTheQueuedOnesAtOnce() throws Exception {
        // Headers promising 1,000 bytes, then one of them, then nothing.
        byte[] headers = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
                .getBytes(StandardCharsets.US_ASCII);
        try (TestOidcIssuer idp = TestOidcIssuer.start(); StalledServer stalled = new StalledServer(headers)) {
            IssuerConfig config = new IssuerConfig(idp.issuer(), "warden", "email", "groups", Optional.empty(),
                    Set.of("RS256"), Duration.ofSeconds(60),
                    Optional.of(URI.create("http://127.0.0.1:" + stalled.port() + "/jwks")));
            TokenValidator validator = new TokenValidator(List.of(config), Clock.systemUTC(), Duration.ofSeconds(1));
            String token = idp.token().sign();
            long started = System.nanoTime();
            List<CompletableFuture<String>> logins = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                logins.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return "accepted " + validator.validate(token, "alice@example.com").username();
                    } catch (AuthenticationException e) {
                        return e.sqlState() + " " + e.getMessage();
                    }
                }));
            }
            List<String> answers = new ArrayList<>();
            for (CompletableFuture<String> login : logins) {
                answers.add(login.get(10, TimeUnit.SECONDS));
            }
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            System.out.println("stalled provider: " + answers + " in " + took + " ms");
            for (String answer : answers) {
                assertTrue(answer.startsWith("28000 cannot reach identity provider " + idp.issuer()), answer);
            }
            assertTrue(answers.stream().anyMatch(a -> a.contains("no complete answer from")), answers.toString());
            // One fetch of 1 s, and the two queued behind it refused at once: well under three fetches in turn.
            assertTrue(took < 2_800, took + " ms: " + answers);
            assertEquals(1, stalled.connections(), "one request to the provider: " + answers);
        }
    }
}
