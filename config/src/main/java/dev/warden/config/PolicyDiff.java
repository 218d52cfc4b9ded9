package dev.warden.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What a reload changed, by name, for the {@code policy.reload} audit record: a hash says that something
 * changed; this says what (a reload that removes every guardrail must leave a readable trace). Values are
 * compared by their description ({@code toString}): records print their parts, secrets print as
 * {@code ****}, so nothing here reveals a credential, and a changed password shows only as a changed
 * environment when something else about it changed too.
 *
 * @param changes non-empty lists only, keyed {@code sections_changed}, {@code guardrails_added},
 *                {@code guardrails_removed}, {@code guardrails_changed}, {@code baseline_rules_off},
 *                {@code baseline_rules_on}, {@code issuers_added}/{@code _removed}/{@code _changed},
 *                {@code environments_added}/{@code _removed}/{@code _changed}, {@code masking_rules_added},
 *                {@code masking_rules_removed}
 */
public record PolicyDiff(Map<String, List<String>> changes) {

    public PolicyDiff {
        Map<String, List<String>> copy = new TreeMap<>();
        changes.forEach((k, v) -> {
            if (!v.isEmpty()) {
                copy.put(k, List.copyOf(v));
            }
        });
        changes = Collections.unmodifiableMap(copy);
    }

    public boolean isEmpty() {
        return changes.isEmpty();
    }

    public static PolicyDiff between(Policy old, Policy next) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        List<String> sections = new ArrayList<>();
        section(sections, "listen", old.listen(), next.listen());
        section(sections, "identity", old.issuers(), next.issuers());
        section(sections, "environments", old.environments(), next.environments());
        section(sections, "guardrails", old.guardrails(), next.guardrails());
        section(sections, "audit", old.audit(), next.audit());
        section(sections, "masking", old.masking(), next.masking());
        section(sections, "approvals", old.approvals(), next.approvals());
        section(sections, "admin", old.admin(), next.admin());
        section(sections, "budgets", old.budgets(), next.budgets());
        out.put("sections_changed", sections);

        named(out, "guardrails", index(old.guardrails().rules(), GuardrailRule::name),
                index(next.guardrails().rules(), GuardrailRule::name));
        List<String> baselineOff = new ArrayList<>();
        List<String> baselineOn = new ArrayList<>();
        for (String rule : GuardrailSettings.BASELINE_RULES) {
            boolean was = old.guardrails().baselineRuleOn(rule);
            boolean is = next.guardrails().baselineRuleOn(rule);
            if (was && !is) {
                baselineOff.add(rule);
            } else if (!was && is) {
                baselineOn.add(rule);
            }
        }
        out.put("baseline_rules_off", baselineOff);
        out.put("baseline_rules_on", baselineOn);
        named(out, "issuers", index(old.issuers(), IssuerConfig::issuer), index(next.issuers(), IssuerConfig::issuer));
        named(out, "environments", new LinkedHashMap<>(old.environments()), new LinkedHashMap<>(next.environments()));
        List<String> maskingBefore = old.masking().rules().stream().map(Object::toString).toList();
        List<String> maskingAfter = next.masking().rules().stream().map(Object::toString).toList();
        out.put("masking_rules_added", maskingAfter.stream().filter(r -> !maskingBefore.contains(r)).toList());
        out.put("masking_rules_removed", maskingBefore.stream().filter(r -> !maskingAfter.contains(r)).toList());
        return new PolicyDiff(out);
    }

    private static void section(List<String> out, String name, Object old, Object next) {
        if (!Objects.equals(String.valueOf(old), String.valueOf(next))) {
            out.add(name);
        }
    }

    private static <T> Map<String, T> index(List<T> items, Function<T, String> name) {
        Map<String, T> byName = new LinkedHashMap<>();
        items.forEach(i -> byName.putIfAbsent(name.apply(i), i));
        return byName;
    }

    private static <T> void named(Map<String, List<String>> out, String what, Map<String, T> old, Map<String, T> next) {
        out.put(what + "_added", next.keySet().stream().filter(k -> !old.containsKey(k)).toList());
        out.put(what + "_removed", old.keySet().stream().filter(k -> !next.containsKey(k)).toList());
        out.put(what + "_changed", next.keySet().stream().filter(old::containsKey)
                .filter(k -> !String.valueOf(old.get(k)).equals(String.valueOf(next.get(k)))).toList());
    }
}
