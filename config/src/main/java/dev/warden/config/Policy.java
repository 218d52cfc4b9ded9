package dev.warden.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A loaded, validated policy. {@code versionHash} is the hex SHA-256 of the file's bytes, so a reload can
 * tell whether anything changed and logs can say which version decided (its first 12 characters suffice).
 * {@code warnings} are findings that do not stop the policy loading, each starting with {@code file:line:column:}.
 */
public record Policy(Listen listen, List<IssuerConfig> issuers, Map<String, Environment> environments,
                     GuardrailSettings guardrails, AuditSettings audit, MaskingSettings masking,
                     ApprovalSettings approvals, AdminSettings admin, Budgets budgets,
                     String versionHash, List<String> warnings) {

    public Policy(Listen listen, List<IssuerConfig> issuers, Map<String, Environment> environments,
                  GuardrailSettings guardrails, AuditSettings audit, MaskingSettings masking,
                  ApprovalSettings approvals, AdminSettings admin, Budgets budgets, String versionHash) {
        this(listen, issuers, environments, guardrails, audit, masking, approvals, admin, budgets, versionHash,
                List.of());
    }

    public Policy {
        Objects.requireNonNull(listen, "listen");
        issuers = List.copyOf(issuers);
        // Keep the file's order: listings and error messages read better that way.
        environments = Collections.unmodifiableMap(new LinkedHashMap<>(environments));
        Objects.requireNonNull(guardrails, "guardrails");
        Objects.requireNonNull(audit, "audit");
        Objects.requireNonNull(masking, "masking");
        Objects.requireNonNull(approvals, "approvals");
        Objects.requireNonNull(admin, "admin");
        Objects.requireNonNull(budgets, "budgets");
        Objects.requireNonNull(versionHash, "versionHash");
        warnings = List.copyOf(warnings);
    }

    public Optional<Environment> environment(String name) {
        return Optional.ofNullable(environments.get(name));
    }
}
