package dev.warden.config;

import java.util.Set;

/** One entry of an environment's {@code allow} list: members of any of {@code groups}, or any of {@code users}. */
public record AccessRule(Set<String> groups, Set<String> users) {

    public AccessRule {
        groups = Set.copyOf(groups);
        users = Set.copyOf(users);
    }

    public boolean matches(String username, Set<String> memberOf) {
        if (username != null && users.contains(username)) {
            return true;
        }
        for (String group : memberOf) {
            if (groups.contains(group)) {
                return true;
            }
        }
        return false;
    }
}
