package dev.warden.config;

import java.util.Collection;
import java.util.Set;

/**
 * Which tokens belong to an AI agent or service account rather than a person. A token is an agent when the
 * value of {@code claim} (a string, or any element of a string array) is one of {@code values}; with no
 * {@code values}, the claim being present and {@code true} or non-empty is enough.
 */
public record AgentRule(String claim, Set<String> values) {

    public AgentRule {
        values = Set.copyOf(values);
    }

    /** @param claimValue the claim as decoded from JSON: String, Boolean, Collection, or null when absent */
    public boolean isAgent(Object claimValue) {
        if (claimValue == null) {
            return false;
        }
        if (values.isEmpty()) {
            if (claimValue instanceof Boolean b) {
                return b;
            }
            if (claimValue instanceof String s) {
                return !s.isEmpty();
            }
            if (claimValue instanceof Collection<?> c) {
                return !c.isEmpty();
            }
            return true;
        }
        if (claimValue instanceof String s) {
            return values.contains(s);
        }
        if (claimValue instanceof Collection<?> c) {
            return c.stream().anyMatch(e -> e instanceof String s && values.contains(s));
        }
        return false;
    }
}
