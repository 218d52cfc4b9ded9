package dev.warden.proxy.guardrails;

import java.util.Set;

/**
 * What the guardrails decided for one client message. {@code rule} names the rule that matched (null for
 * ALLOW); {@code reason} and {@code hint} are shown to the client. {@code sqlState} is null for Warden's own
 * refusals (42501, {@code blocked by Warden rule ...}); else the refusal is answered as the server would answer the
 * message, with that SQLSTATE and {@code reason} as the message (see {@link #asServer}).
 */
public record Decision(Verdict verdict, String rule, String reason, String hint, Set<String> approvers,
                       boolean retry, String sqlState) {

    public enum Verdict { ALLOW, BLOCK, REQUIRE_APPROVAL }

    public static final Decision ALLOW = new Decision(Verdict.ALLOW, null, null, null, Set.of(), false);

    public Decision {
        approvers = Set.copyOf(approvers);
    }

    public Decision(Verdict verdict, String rule, String reason, String hint, Set<String> approvers, boolean retry) {
        this(verdict, rule, reason, hint, approvers, retry, null);
    }

    public static Decision block(String rule, String reason, String hint) {
        return new Decision(Verdict.BLOCK, rule, reason, hint, Set.of(), false);
    }

    /**
     * A refusal answered as the server answers the message (an EXECUTE of a statement or an Execute of a portal
     * that does not exist: Warden never relays what it cannot judge), recorded under {@code rule} as any refusal.
     */
    public static Decision asServer(String rule, String sqlState, String message, String hint) {
        return new Decision(Verdict.BLOCK, rule, message, hint, Set.of(), false, sqlState);
    }

    public boolean allowed() {
        return verdict == Verdict.ALLOW;
    }

    /** The client-facing message: {@code blocked by Warden rule "<name>": <why>}. */
    public String clientMessage() {
        if (sqlState != null) {
            return reason;
        }
        if (verdict == Verdict.REQUIRE_APPROVAL) {
            return "blocked by Warden rule \"" + rule + "\": " + reason + "; this statement requires approval by "
                    + String.join(" or ", approvers) + " and approvals are not enabled on this Warden";
        }
        return "blocked by Warden rule \"" + rule + "\": " + reason;
    }
}
