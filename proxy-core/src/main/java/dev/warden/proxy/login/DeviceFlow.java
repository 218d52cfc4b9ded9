package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The device authorization grant (RFC 8628): ask for a device code, show the user where to approve it, then
 * poll the token endpoint at the interval the server asks for, slowing down by 5 seconds each time it says
 * {@code slow_down} (section 3.5).
 */
public final class DeviceFlow {

    static final String GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
    private static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    private static final Duration SLOW_DOWN = Duration.ofSeconds(5);
    private static final Duration DEFAULT_LIFETIME = Duration.ofMinutes(10);

    /** What the user must do: open {@code verificationUri} and enter {@code userCode}. */
    public record Prompt(URI verificationUri, Optional<URI> verificationUriComplete, String userCode,
                         Duration expiresIn) {
    }

    /** Waits between polls; tests pass one that records the waits instead of sleeping through them. */
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    private final OAuthClient client;
    private final Sleeper sleeper;

    public DeviceFlow(OAuthClient client, Sleeper sleeper) {
        this.client = client;
        this.sleeper = sleeper;
    }

    public TokenSet login(OidcEndpoints endpoints, String clientId, String scope, Consumer<Prompt> show)
            throws LoginException {
        URI deviceEndpoint = endpoints.deviceAuthorization().orElseThrow(() -> new LoginException("issuer "
                + endpoints.issuer() + " does not offer the device authorization grant (no "
                + "device_authorization_endpoint in its discovery document): try `warden login --browser`"));
        OAuthClient.Reply reply = client.post(deviceEndpoint, Map.of("client_id", clientId, "scope", scope),
                "device authorization at " + deviceEndpoint);
        if (reply.status() != 200) {
            throw new LoginException("device authorization at " + deviceEndpoint + " was refused: "
                    + reply.describeError());
        }
        JsonNode json = reply.body();
        String deviceCode = required(json, "device_code");
        String userCode = required(json, "user_code");
        // Early drafts and some IdPs (Google) say verification_url.
        URI verification = URI.create(OAuthClient.field(json, "verification_uri")
                .or(() -> OAuthClient.field(json, "verification_url"))
                .orElseThrow(() -> new LoginException("the device authorization response has no verification_uri")));
        Duration lifetime = seconds(json, "expires_in").orElse(DEFAULT_LIFETIME);
        Duration interval = seconds(json, "interval").orElse(DEFAULT_INTERVAL);
        show.accept(new Prompt(verification, OAuthClient.field(json, "verification_uri_complete").map(URI::create),
                userCode, lifetime));

        Instant deadline = client.clock().instant().plus(lifetime);
        Map<String, String> poll = Map.of("grant_type", GRANT_TYPE, "device_code", deviceCode, "client_id", clientId);
        while (true) {
            try {
                // The provider's interval (and slow_down's additions) capped at a minute and at the code's lifetime.
                Duration left = Duration.between(client.clock().instant(), deadline);
                sleeper.sleep(min(min(interval, MAX_INTERVAL), left.isNegative() ? Duration.ZERO : left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LoginException("login cancelled");
            }
            OAuthClient.Reply answer = client.post(endpoints.token(), poll, "token request at " + endpoints.token());
            if (answer.status() == 200) {
                return client.tokens(answer, endpoints.issuer(), clientId, endpoints.token(), Optional.empty());
            }
            String error = answer.error().orElse("");
            switch (error) {
                case "authorization_pending":
                    break;
                case "slow_down":
                    interval = interval.plus(SLOW_DOWN);
                    break;
                case "access_denied":
                    throw new LoginException("the login was denied at " + verification);
                case "expired_token":
                    throw new LoginException("the code " + userCode + " expired before it was approved: run "
                            + "`warden login` again");
                default:
                    throw new LoginException("the token endpoint refused the device code: " + answer.describeError());
            }
            if (!client.clock().instant().isBefore(deadline)) {
                throw new LoginException("the code " + userCode + " expired before it was approved: run "
                        + "`warden login` again");
            }
        }
    }

    /** The longest wait between two polls, whatever interval the provider asks for. */
    static final Duration MAX_INTERVAL = Duration.ofMinutes(1);

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static String required(JsonNode json, String field) throws LoginException {
        return OAuthClient.field(json, field).orElseThrow(
                () -> new LoginException("the device authorization response has no " + field));
    }

    private static Optional<Duration> seconds(JsonNode json, String field) {
        JsonNode node = json.get(field);
        return node != null && node.canConvertToLong() && node.asLong() > 0
                ? Optional.of(Duration.ofSeconds(node.asLong())) : Optional.empty();
    }
}
