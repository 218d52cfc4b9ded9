package dev.warden.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A named target (the startup {@code database} a client asks for): its upstream server and who may use it.
 * {@code production} marks environments where stricter guardrails apply; {@code baselineGuardrails} false
 * turns the built-in guardrails off in this environment (a sandbox, say), leaving the policy's own rules.
 * {@code roles}, when present, chooses the PostgreSQL role each session runs as; without it every session logs
 * in as the upstream user.
 */
public record Environment(String name, Upstream upstream, List<AccessRule> allow, boolean production,
                          boolean baselineGuardrails, Optional<RoleMapping> roles) {

    public Environment {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(upstream, "upstream");
        allow = List.copyOf(allow);
        Objects.requireNonNull(roles, "roles");
    }

    /** True if any rule admits the user. An empty {@code allow} list admits nobody: access fails closed. */
    public boolean allows(String username, Set<String> groups) {
        for (AccessRule rule : allow) {
            if (rule.matches(username, groups)) {
                return true;
            }
        }
        return false;
    }
}
