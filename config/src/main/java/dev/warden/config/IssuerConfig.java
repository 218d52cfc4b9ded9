package dev.warden.config;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One trusted OIDC issuer. {@code issuer} must equal the token's {@code iss} exactly; {@code algorithms} is an
 * allow-list of JWS algorithm names (never {@code none} nor HMAC); {@code jwksUri} overrides discovery.
 *
 * <p>{@code usernamePrefix} and {@code groupsPrefix} ("" for none) are put before every user name and every group
 * the issuer's tokens give, as Kubernetes' {@code --oidc-username-prefix} does: with several issuers trusted, a
 * less trusted one's {@code alice@example.com} is then {@code partner:alice@example.com}, which no policy entry for
 * the other issuer's alice matches.
 */
public record IssuerConfig(String issuer, String audience, String usernameClaim, String groupsClaim,
                           Optional<AgentRule> agent, Set<String> algorithms, Duration clockSkew,
                           Optional<URI> jwksUri, Set<String> deniedTokenIds, String usernamePrefix,
                           String groupsPrefix) {

    /** An issuer whose names and groups are used as its tokens give them. */
    public IssuerConfig(String issuer, String audience, String usernameClaim, String groupsClaim,
                        Optional<AgentRule> agent, Set<String> algorithms, Duration clockSkew,
                        Optional<URI> jwksUri, Set<String> deniedTokenIds) {
        this(issuer, audience, usernameClaim, groupsClaim, agent, algorithms, clockSkew, jwksUri, deniedTokenIds,
                "", "");
    }

    /** An issuer without a {@code denied_token_ids} list. */
    public IssuerConfig(String issuer, String audience, String usernameClaim, String groupsClaim,
                        Optional<AgentRule> agent, Set<String> algorithms, Duration clockSkew, Optional<URI> jwksUri) {
        this(issuer, audience, usernameClaim, groupsClaim, agent, algorithms, clockSkew, jwksUri, Set.of());
    }

    public IssuerConfig {
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(audience, "audience");
        Objects.requireNonNull(usernameClaim, "usernameClaim");
        Objects.requireNonNull(groupsClaim, "groupsClaim");
        Objects.requireNonNull(agent, "agent");
        algorithms = Set.copyOf(algorithms);
        Objects.requireNonNull(clockSkew, "clockSkew");
        Objects.requireNonNull(jwksUri, "jwksUri");
        deniedTokenIds = Set.copyOf(deniedTokenIds);
        Objects.requireNonNull(usernamePrefix, "usernamePrefix");
        Objects.requireNonNull(groupsPrefix, "groupsPrefix");
    }
}
