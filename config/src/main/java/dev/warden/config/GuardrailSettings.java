package dev.warden.config;

import java.util.List;
import java.util.Set;

/**
 * The {@code guardrails} section: the built-in baseline (on unless turned off, rule by rule or whole) and
 * the policy's own rules, in file order (the first rule that matches decides).
 */
public record GuardrailSettings(boolean baseline, Set<String> baselineDisabled, List<GuardrailRule> rules) {

    /** Names of the built-in rules, for {@code baseline: { disable: [...] }}. */
    public static final List<String> BASELINE_RULES = List.of(
            "drop-table-or-schema", "truncate", "update-without-where", "delete-without-where",
            "copy-program-or-file", "alter-system", "role-escalation", "server-file-functions",
            "function-call-message", "unparsed-in-production", "do-in-production", "dynamic-sql",
            "system-catalog-write");

    public GuardrailSettings {
        baselineDisabled = Set.copyOf(baselineDisabled);
        rules = List.copyOf(rules);
    }

    public static GuardrailSettings defaults() {
        return new GuardrailSettings(true, Set.of(), List.of());
    }

    public boolean baselineRuleOn(String name) {
        return baseline && !baselineDisabled.contains(name);
    }
}
