package dev.warden.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Which PostgreSQL role a session of an environment runs as. The rules are tried in file order and the first
 * that matches decides; an identity no rule matches may not log in, so a mapping fails closed.
 *
 * <p>With {@link Provision#SHARED} Warden logs in as the mapped role itself (every member of the dba group
 * shares the admin role's login). With {@link Provision#PER_IDENTITY} Warden logs in as the environment's
 * upstream user only to create or update a login role of the identity's own, named
 * {@code rolePrefix + user name} (see the README), which is granted the mapped role; the session then logs in
 * as that role, so PostgreSQL itself tells people and agents apart.
 *
 * <p>{@code nameKey}: empty, the role is named after the user name, readable; otherwise ({@code role_names:
 * opaque}) after a keyed hash of the issuer and user name, so that {@code pg_roles}, which every role may read,
 * does not list who else uses the database.
 */
public record RoleMapping(Provision provision, String rolePrefix, List<RoleRule> rules, Secret nameKey) {

    public enum Provision { SHARED, PER_IDENTITY }

    public RoleMapping {
        Objects.requireNonNull(provision, "provision");
        Objects.requireNonNull(rolePrefix, "rolePrefix");
        Objects.requireNonNull(nameKey, "nameKey");
        rules = List.copyOf(rules);
    }

    public RoleMapping(Provision provision, String rolePrefix, List<RoleRule> rules) {
        this(provision, rolePrefix, rules, Secret.none());
    }

    /** Whether identities' roles are named by a keyed hash ({@code role_names: opaque}), not by the user name. */
    public boolean opaqueNames() {
        return !nameKey.isEmpty();
    }

    public Optional<RoleRule> ruleFor(String username, Set<String> groups, boolean agent) {
        return rules.stream().filter(r -> r.matches(username, groups, agent)).findFirst();
    }
}
