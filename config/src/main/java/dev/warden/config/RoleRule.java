package dev.warden.config;

import java.util.Objects;
import java.util.Set;

/**
 * One entry of an environment's role map: who it applies to, the PostgreSQL role they run as, and (when Warden
 * logs in as the role itself rather than provisioning a role per identity) that role's password.
 *
 * @param origin {@code file:line:column: path} of the entry's {@code role} value, so checks against a live database
 *     (missing role, superuser) can point at the line to fix
 */
public record RoleRule(IdentityScope who, String role, Secret password, String origin) {

    public RoleRule {
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(origin, "origin");
    }

    public boolean matches(String username, Set<String> groups, boolean agent) {
        return who.contains(username, groups, agent);
    }
}
