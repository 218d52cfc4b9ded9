package dev.warden.proxy.session;

import dev.warden.config.Policy;
import dev.warden.masking.Masker;
import dev.warden.proxy.guardrails.Guardrails;

/**
 * The policy as one immutable value, with what is built from it: a statement reads it once and is judged,
 * audited and masked by the same version even if a reload lands while it runs.
 */
public record PolicySnapshot(Policy policy, Guardrails guardrails, Masker masker) {

    SessionAudit.StatementPolicy audit() {
        return new SessionAudit.StatementPolicy(policy.versionHash(), policy.audit().keepLiterals());
    }
}
