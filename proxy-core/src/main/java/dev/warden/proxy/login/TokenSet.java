package dev.warden.proxy.login;

import java.net.URI;
import java.time.Instant;
import java.util.Optional;

/**
 * One issuer's cached login. {@code expiresAt} is when the access token stops being valid, from
 * {@code expires_in} or else the token's own {@code exp}; empty when neither says.
 */
public record TokenSet(String issuer, String clientId, URI tokenEndpoint, String accessToken,
                       Optional<String> idToken, Optional<String> refreshToken, Optional<Instant> expiresAt) {

    /** Refresh a little early, so a token handed to psql does not expire during the connection handshake. */
    static final java.time.Duration EARLY = java.time.Duration.ofSeconds(30);

    public boolean usableAt(Instant now) {
        return expiresAt.map(exp -> now.plus(EARLY).isBefore(exp)).orElse(true);
    }

    /** A redacted form: the record's own toString would print the tokens. */
    @Override
    public String toString() {
        return "TokenSet[issuer=" + issuer + ", clientId=" + clientId + ", expiresAt=" + expiresAt
                + ", idToken=" + idToken.isPresent() + ", refreshToken=" + refreshToken.isPresent() + "]";
    }
}
