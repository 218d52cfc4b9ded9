package dev.warden.config;

import java.util.Optional;
import java.util.Set;

/**
 * One policy guardrail. It applies in {@code environments} (empty: all) to the identities in
 * {@code appliesTo} (empty: everyone) except those in {@code unless}, to statements that {@code match}.
 *
 * @param message  why the rule exists, shown to the client after "blocked by Warden rule ..."; may be empty
 * @param approvers groups whose members may approve, for {@link Action#REQUIRE_APPROVAL}
 * @param retry     {@code mode: retry}: for clients that cannot wait, the first attempt fails at once with the
 *                  request id, and the same statement from the same identity runs once after approval
 */
public record GuardrailRule(String name, Set<String> environments, StatementMatch match, IdentityScope appliesTo,
                            Optional<IdentityScope> unless, Action action, Set<String> approvers, String message,
                            boolean retry) {

    public enum Action { BLOCK, REQUIRE_APPROVAL }

    public GuardrailRule {
        environments = Set.copyOf(environments);
        approvers = Set.copyOf(approvers);
    }

    public boolean appliesIn(String environment) {
        return environments.isEmpty() || environments.contains(environment);
    }
}
