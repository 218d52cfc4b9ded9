package dev.warden.identity;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A verified caller. {@code username} is the configured username claim after the issuer's {@code username_prefix},
 * and {@code groups} the groups claim's values after its {@code groups_prefix}: the names every policy rule matches;
 * {@code expiresAt} is the token's {@code exp}, after which a session may be closed.
 */
public record Identity(String subject, String username, Set<String> groups, Kind kind, String issuer,
                       Instant expiresAt) {

    /** AGENT marks AI agents and service accounts, which policies may treat more strictly. */
    public enum Kind { HUMAN, AGENT }

    public Identity {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(username, "username");
        groups = Set.copyOf(groups);
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }
}
