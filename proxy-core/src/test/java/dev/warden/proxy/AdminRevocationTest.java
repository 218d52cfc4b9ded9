package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real admin listener of a running Warden follows policy reloads: a token revoked by
 * {@code denied_token_ids}, or one from an issuer the policy no longer trusts, is refused at once, no restart.
 */
class AdminRevocationTest {

    @TempDir
    Path dir;

    private TestOidcIssuer issuer;
    private WardenServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        issuer = TestOidcIssuer.start();
        server = WardenServer.start(policy("[]", issuer.issuer()));
    }

    @AfterEach
    void stop() {
        server.close();
        issuer.close();
    }

    private Policy policy(String denied, String trusted) throws Exception {
        String yaml = """
                listen: { address: "127.0.0.1:0" }
                admin: { address: "127.0.0.1:0" }
                identity:
                  issuers: [ { issuer: "%s", audience: warden, denied_token_ids: %s } ]
                environments:
                  dev:
                    upstream: { host: 127.0.0.1, port: 1, database: app, user: app, tls: disable }
                    allow: [ { groups: [dba] } ]
                audit: { sinks: [ { type: file, dir: audit } ] }
                approvals: { store: { type: file, path: approvals } }
                """.formatted(trusted, denied);
        return PolicyLoader.parse(yaml, dir, "warden.yaml", Map.of());
    }

    private int list(String token) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.adminPort() + "/approvals");
        return http.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + token).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private String tokenFor(String name, String jti) {
        return issuer.token().subject(name).email(name + "@example.com").groups("dba").claim("jti", jti).sign();
    }

    @Test
    void aRevokedApproverTokenIsRefusedAfterAReloadWithNoRestart() throws Exception {
        String bob = tokenFor("bob", "bob-token-1");
        String carol = tokenFor("carol", "carol-token-1");
        assertEquals(200, list(bob));
        assertEquals(200, list(carol));

        server.reload(policy("[bob-token-1]", issuer.issuer()));
        assertEquals(401, list(bob), "bob's revoked token is refused by the running admin API");
        assertEquals(200, list(carol));

        server.reload(policy("[]", "https://other-issuer.example/"));
        assertEquals(401, list(carol), "an issuer the policy dropped is no longer trusted");
        assertTrue(server.adminPort() > 0);
    }
}
