package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.Headers;

/**
 * mock-oauth2-server (a full OIDC server: discovery, JWKS, authorization code, client credentials, refresh)
 * with the device authorization grant added as extra routes, since it has none. Tokens for an approved device
 * code are signed by the server itself, with its keys and its issuer, so Warden verifies them like any other.
 * The test plays the user: {@link #nextUserCode()} then {@link #approve}, {@link #deny} or {@link #expire}.
 */
final class DeviceFlowIssuer implements AutoCloseable {

    static final String ISSUER_ID = "default";
    static final String AUDIENCE = "warden";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private enum State { PENDING, APPROVED, DENIED, EXPIRED }

    private static final class Grant {
        final String userCode;
        final String clientId;
        volatile State state = State.PENDING;
        volatile Map<String, Object> claims = Map.of();
        volatile String subject = "";
        final AtomicInteger polls = new AtomicInteger();

        Grant(String userCode, String clientId) {
            this.userCode = userCode;
            this.clientId = clientId;
        }
    }

    final MockOAuth2Server server;
    private final Map<String, Grant> byDeviceCode = new ConcurrentHashMap<>();
    private final Map<String, Grant> byUserCode = new ConcurrentHashMap<>();
    private final BlockingQueue<String> userCodes = new LinkedBlockingQueue<>();
    /** Polls (counted per device code) answered with slow_down, to check the client backs off. */
    volatile java.util.Set<Integer> slowDownOnPolls = java.util.Set.of();
    volatile int interval = 1;

    private DeviceFlowIssuer() {
        server = new MockOAuth2Server(new OAuth2Config(),
                route(r -> r.getMethod().equals("GET") && r.getUrl().encodedPath()
                        .equals("/" + ISSUER_ID + "/.well-known/openid-configuration"), this::discovery),
                route(r -> r.getMethod().equals("POST") && r.getUrl().encodedPath()
                        .equals("/" + ISSUER_ID + "/device_authorization"), this::deviceAuthorization),
                route(r -> r.getMethod().equals("POST") && r.getUrl().encodedPath().equals("/" + ISSUER_ID + "/token")
                        && DeviceFlow.GRANT_TYPE.equals(r.getFormParameters().get("grant_type")), this::deviceToken));
    }

    static DeviceFlowIssuer start() {
        DeviceFlowIssuer issuer = new DeviceFlowIssuer();
        issuer.server.start();
        return issuer;
    }

    String issuer() {
        return Issuers.normalize(server.issuerUrl(ISSUER_ID).toString());
    }

    String nextUserCode() throws InterruptedException {
        String code = userCodes.poll(30, java.util.concurrent.TimeUnit.SECONDS);
        if (code == null) {
            throw new AssertionError("no device code was requested");
        }
        return code;
    }

    void approve(String userCode, String subject, Map<String, Object> claims) {
        Grant g = grant(userCode);
        g.subject = subject;
        g.claims = claims;
        g.state = State.APPROVED;
    }

    void deny(String userCode) {
        grant(userCode).state = State.DENIED;
    }

    void expire(String userCode) {
        grant(userCode).state = State.EXPIRED;
    }

    int polls(String userCode) {
        return grant(userCode).polls.get();
    }

    private Grant grant(String userCode) {
        return Optional.ofNullable(byUserCode.get(userCode)).orElseThrow(() -> new AssertionError(userCode));
    }

    private OAuth2HttpResponse discovery(OAuth2HttpRequest request) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("issuer", issuer());
        doc.put("authorization_endpoint", server.authorizationEndpointUrl(ISSUER_ID).toString());
        doc.put("token_endpoint", server.tokenEndpointUrl(ISSUER_ID).toString());
        doc.put("jwks_uri", server.jwksUrl(ISSUER_ID).toString());
        doc.put("device_authorization_endpoint", issuer() + "/device_authorization");
        doc.putArray("grant_types_supported").add("authorization_code").add("refresh_token")
                .add("client_credentials").add(DeviceFlow.GRANT_TYPE);
        doc.putArray("response_types_supported").add("code");
        doc.putArray("subject_types_supported").add("public");
        doc.putArray("id_token_signing_alg_values_supported").add("RS256");
        doc.putArray("code_challenge_methods_supported").add("S256");
        return json(200, doc);
    }

    private OAuth2HttpResponse deviceAuthorization(OAuth2HttpRequest request) {
        String clientId = request.getFormParameters().get("client_id");
        if (clientId == null || clientId.isEmpty()) {
            return json(400, error("invalid_request", "client_id is required"));
        }
        String deviceCode = random(24);
        String userCode = random(4).toUpperCase(java.util.Locale.ROOT).replaceAll("[^A-Z0-9]", "X");
        Grant grant = new Grant(userCode, clientId);
        byDeviceCode.put(deviceCode, grant);
        byUserCode.put(userCode, grant);
        userCodes.add(userCode);
        ObjectNode body = JSON.createObjectNode();
        body.put("device_code", deviceCode);
        body.put("user_code", userCode);
        body.put("verification_uri", issuer() + "/device");
        body.put("verification_uri_complete", issuer() + "/device?user_code=" + userCode);
        body.put("expires_in", 600);
        body.put("interval", interval);
        return json(200, body);
    }

    private OAuth2HttpResponse deviceToken(OAuth2HttpRequest request) {
        Grant grant = byDeviceCode.get(String.valueOf(request.getFormParameters().get("device_code")));
        if (grant == null || !grant.clientId.equals(request.getFormParameters().get("client_id"))) {
            return json(400, error("invalid_grant", "unknown device code"));
        }
        int poll = grant.polls.incrementAndGet();
        if (slowDownOnPolls.contains(poll)) {
            return json(400, error("slow_down", null));
        }
        switch (grant.state) {
            case PENDING:
                return json(400, error("authorization_pending", null));
            case DENIED:
                return json(400, error("access_denied", "the user said no"));
            case EXPIRED:
                return json(400, error("expired_token", null));
            default:
                break;
        }
        byDeviceCode.values().remove(grant);
        String access = server.issueToken(ISSUER_ID, grant.clientId, new DefaultOAuth2TokenCallback(ISSUER_ID,
                grant.subject, "JWT", List.of(AUDIENCE), grant.claims, 3600)).serialize();
        String id = server.issueToken(ISSUER_ID, grant.clientId, new DefaultOAuth2TokenCallback(ISSUER_ID,
                grant.subject, "JWT", List.of(grant.clientId), grant.claims, 3600)).serialize();
        ObjectNode body = JSON.createObjectNode();
        body.put("access_token", access);
        body.put("id_token", id);
        body.put("token_type", "Bearer");
        body.put("expires_in", 3599);
        return json(200, body);
    }

    private static ObjectNode error(String code, String description) {
        ObjectNode e = JSON.createObjectNode();
        e.put("error", code);
        if (description != null) {
            e.put("error_description", description);
        }
        return e;
    }

    private static OAuth2HttpResponse json(int status, ObjectNode body) {
        return new OAuth2HttpResponse(Headers.of("Content-Type", "application/json", "Cache-Control", "no-store"),
                status, body.toString(), null);
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static Route route(Predicate<OAuth2HttpRequest> match,
                               java.util.function.Function<OAuth2HttpRequest, OAuth2HttpResponse> answer) {
        return new Route() {
            @Override
            public boolean match(OAuth2HttpRequest request) {
                return match.test(request);
            }

            @Override
            public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
                return answer.apply(request);
            }
        };
    }

    @Override
    public void close() {
        server.shutdown();
    }
}
