package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/** The HTTP side of a public OIDC client: discovery and form posts to the token endpoints. */
public final class OAuthClient {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http;
    private final Clock clock;

    public OAuthClient(Clock clock) {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER).build(), clock);
    }

    OAuthClient(HttpClient http, Clock clock) {
        this.http = http;
        this.clock = clock;
    }

    Clock clock() {
        return clock;
    }

    /** Reads {@code ISSUER/.well-known/openid-configuration}. */
    public OidcEndpoints discover(String issuer) throws LoginException {
        URI uri = URI.create(Issuers.normalize(issuer) + "/.well-known/openid-configuration");
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(TIMEOUT).header("Accept", "application/json")
                .GET().build();
        Reply reply = send(request, "discovery at " + uri);
        if (reply.status() != 200) {
            throw new LoginException("discovery at " + uri + " answered HTTP " + reply.status());
        }
        return OidcEndpoints.fromDiscovery(issuer, reply.body());
    }

    /** A form post whose answer is JSON: a token response, a device authorization, or an OAuth error. */
    Reply post(URI endpoint, Map<String, String> form, String what) throws LoginException {
        StringJoiner body = new StringJoiner("&");
        form.forEach((k, v) -> body.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(v, StandardCharsets.UTF_8)));
        HttpRequest request = HttpRequest.newBuilder(endpoint).timeout(TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        return send(request, what);
    }

    /** Turns a successful token response into a cache entry; keeps {@code previous}'s refresh token if none came. */
    TokenSet tokens(Reply reply, String issuer, String clientId, URI tokenEndpoint, Optional<TokenSet> previous)
            throws LoginException {
        JsonNode json = reply.body();
        String access = field(json, "access_token").orElseThrow(
                () -> new LoginException("the token endpoint answered without an access_token"));
        Optional<String> refresh = field(json, "refresh_token")
                .or(() -> previous.flatMap(TokenSet::refreshToken));
        Optional<String> id = field(json, "id_token").or(() -> previous.flatMap(TokenSet::idToken));
        Optional<Instant> expiresAt = Optional.empty();
        JsonNode expiresIn = json.get("expires_in");
        if (expiresIn != null && expiresIn.canConvertToLong() && expiresIn.asLong() > 0) {
            expiresAt = Optional.of(clock.instant().plusSeconds(expiresIn.asLong()));
        } else {
            expiresAt = JwtClaims.expiry(access);
        }
        return new TokenSet(Issuers.normalize(issuer), clientId, tokenEndpoint, access, id, refresh, expiresAt);
    }

    /** Uses the refresh token; the answer replaces the cache entry. */
    public TokenSet refresh(TokenSet current) throws LoginException {
        String refreshToken = current.refreshToken().orElseThrow(
                () -> new LoginException("the cached token for " + current.issuer() + " has expired and there is "
                        + "no refresh token: run `warden login` again"));
        Reply reply = post(current.tokenEndpoint(), Map.of("grant_type", "refresh_token",
                "refresh_token", refreshToken, "client_id", current.clientId()), "refresh at " + current.tokenEndpoint());
        if (reply.status() != 200) {
            throw new LoginException("the cached token for " + current.issuer() + " has expired and refreshing it "
                    + "failed (" + reply.describeError() + "): run `warden login` again");
        }
        return tokens(reply, current.issuer(), current.clientId(), current.tokenEndpoint(), Optional.of(current));
    }

    private Reply send(HttpRequest request, String what) throws LoginException {
        try {
            HttpResponse<String> response = dev.warden.config.net.WholeAnswer.send(http, request,
                    HttpResponse.BodyHandlers.ofString(), TIMEOUT.multipliedBy(2));
            JsonNode body;
            try {
                body = response.body() == null || response.body().isBlank() ? JSON.createObjectNode()
                        : JSON.readTree(response.body());
            } catch (IOException e) {
                throw new LoginException(what + " answered HTTP " + response.statusCode() + " with a body that is not JSON");
            }
            return new Reply(response.statusCode(), body);
        } catch (IOException e) {
            throw new LoginException(what + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoginException(what + " was interrupted", e);
        }
    }

    static Optional<String> field(JsonNode json, String name) {
        JsonNode node = json.get(name);
        return node == null || node.isNull() || node.asText().isEmpty() ? Optional.empty() : Optional.of(node.asText());
    }

    /** An HTTP status and its JSON body. */
    record Reply(int status, JsonNode body) {

        /** The RFC 6749 section 5.2 error code, if the body carries one. */
        Optional<String> error() {
            return field(body, "error");
        }

        String describeError() {
            return error().map(e -> e + field(body, "error_description").map(d -> ": " + d).orElse(""))
                    .orElse("HTTP " + status);
        }
    }
}
