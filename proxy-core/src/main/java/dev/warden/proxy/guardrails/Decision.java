package dev.warden.proxy.guardrails;

import java.util.Set;

/**
 * What the guardrails decided for one client message. {@code rule} names the rule that matched (null for
 * ALLOW); {@code reason} and {@code hint} are shown to the client.
 */
public record Decision(Verdict verdict, String rule, String reason, String hint, Set<String> approvers,
                       boolean retry) {

    public enum Verdict { ALLOW, BLOCK, REQUIRE_APPROVAL }

    public static final Decision ALLOW = new Decision(Verdict.ALLOW, null, null, null, Set.of(), false);

    public Decision {
        approvers = Set.copyOf(approvers);
    }

    public static Decision block(String rule, String reason, String hint) {
        return new Decision(Verdict.BLOCK, rule, reason, hint, Set.of(), false);
    }

    public boolean allowed() {
        return verdict == Verdict.ALLOW;
    }

    /** The client-facing message: {@code blocked by Warden rule "<name>": <why>}. */
    public String clientMessage() {
        if (verdict == Verdict.REQUIRE_APPROVAL) {
            return "blocked by Warden rule \"" + rule + "\": " + reason + "; this statement requires approval by "
                    + String.join(" or ", approvers) + " and approvals are not enabled on this Warden";
        }
        return "blocked by Warden rule \"" + rule + "\": " + reason;
    }
}
