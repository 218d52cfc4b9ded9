package dev.warden.config;

import java.util.Optional;
import java.util.Set;

/**
 * A set of identities: members of any of {@code groups}, any of {@code users}, and, when {@code agents} is
 * given, only agents ({@code true}) or only humans ({@code false}). An empty scope is everyone.
 */
public record IdentityScope(Set<String> groups, Set<String> users, Optional<Boolean> agents) {

    public static final IdentityScope EVERYONE = new IdentityScope(Set.of(), Set.of(), Optional.empty());

    public IdentityScope {
        groups = Set.copyOf(groups);
        users = Set.copyOf(users);
    }

    public boolean contains(String username, Set<String> memberOf, boolean agent) {
        if (agents.isPresent() && agents.get() != agent) {
            return false;
        }
        if (groups.isEmpty() && users.isEmpty()) {
            return true;
        }
        return users.contains(username) || memberOf.stream().anyMatch(groups::contains);
    }
}
