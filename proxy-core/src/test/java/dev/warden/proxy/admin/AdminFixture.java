package dev.warden.proxy.admin;

import dev.warden.config.AdminSettings;
import dev.warden.config.ApprovalSettings;
import dev.warden.config.IssuerConfig;
import dev.warden.identity.Identity;
import dev.warden.identity.TokenValidator;
import dev.warden.proxy.approvals.ApprovalNotifier;
import dev.warden.proxy.approvals.ApprovalRequest;
import dev.warden.proxy.approvals.ApprovalService;
import dev.warden.proxy.approvals.ApprovalStore;
import dev.warden.proxy.approvals.RecordingAuditLog;
import dev.warden.testkit.TestOidcIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** An approval service on a file store, an admin server on a free loopback port, and a real OIDC issuer. */
final class AdminFixture implements AutoCloseable {

    final TestOidcIssuer issuer = TestOidcIssuer.start();
    final RecordingAuditLog audit = new RecordingAuditLog();
    final ApprovalService approvals;
    final AdminServer server;
    /** What the server authenticates bearer tokens with: for a second listener on the same service. */
    final BearerAuthenticator tokens;
    private final HttpClient http = HttpClient.newHttpClient();

    AdminFixture(Path dir, int requiredApprovals) throws Exception {
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(1), requiredApprovals,
                new ApprovalSettings.Store.FileStore(dir), List.of(), Duration.ofMinutes(10));
        approvals = new ApprovalService(settings, ApprovalStore.open(settings.store()), audit, ApprovalNotifier.NONE,
                Clock.systemUTC());
        approvals.start();
        IssuerConfig config = new IssuerConfig(issuer.issuer(), "warden", "email", "groups",
                Optional.of(new dev.warden.config.AgentRule("azp", Set.of("etl-bot"))),
                Set.of("RS256", "ES256", "EdDSA"), Duration.ofSeconds(60), Optional.empty());
        tokens = new BearerAuthenticator(new TokenValidator(List.of(config)), List.of(config));
        server = AdminServer.start(new AdminSettings.Address("127.0.0.1", 0), approvals, () -> tokens);
    }

    /** A token for {@code name@example.com} (subject {@code name}) in {@code groups}. */
    String token(String name, String... groups) {
        return issuer.token().subject(name).email(name + "@example.com").groups(groups).sign();
    }

    /** The identity the session would have for the same person. */
    Identity identity(String name, String... groups) {
        return new Identity(name, name + "@example.com", Set.of(groups), Identity.Kind.HUMAN, issuer.issuer(),
                Instant.now().plusSeconds(600));
    }

    ApprovalRequest request(Identity requester) {
        return request(requester, "UPDATE billing SET plan = 'pro' WHERE id = 42");
    }

    ApprovalRequest request(Identity requester, String statement) {
        return approvals.newRequest(requester, "prod", statement, "fp", "prod-writes-reviewed", Set.of("dba"),
                "ticket 42", "session-1");
    }

    URI uri(String path) {
        return server.uri().resolve(path);
    }

    HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.close();
        approvals.close();
        issuer.close();
    }
}
