package dev.warden.proxy.approvals;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one approval lets run: the approved statement, exactly as sent (same text, same values), by the same
 * requester in the same environment, {@code uses} times in all (the first being the execution that was approved;
 * 0 means as many as fit the window) while {@code window} since the approval lasts. The default is {@link #ONCE}:
 * one approval, one execution.
 *
 * <p>Why the exact execution, not any values: approvers saw those values, and nothing else; a grant for "this
 * UPDATE with any id" would let the requester run what nobody saw.
 */
public record Grant(int uses, Optional<Duration> window) {

    public static final Grant ONCE = new Grant(1, Optional.empty());

    public Grant {
        Objects.requireNonNull(window, "window");
        if (uses < 0 || (uses == 0 && window.isEmpty())) {
            throw new IllegalArgumentException("a grant is a number of uses, a window, or both");
        }
        if (window.isPresent() && (window.get().isZero() || window.get().isNegative())) {
            throw new IllegalArgumentException("a grant's window must be positive");
        }
    }

    /** One execution only, as without a grant. */
    public boolean once() {
        return uses == 1 && window.isEmpty();
    }

    /** True when {@code used} more executions are allowed by the count (not the clock). */
    boolean usesLeft(int used) {
        return uses == 0 || used < uses;
    }

    /** When the grant ends, counted from the approval; empty when only its count ends it. */
    Optional<Instant> until(Instant approvedAt) {
        return window.map(approvedAt::plus);
    }

    /** With several approvers, each must agree to a grant: the fewest uses and the shortest window win. */
    static Grant narrowest(List<Grant> grants) {
        int uses = 0;
        Optional<Duration> window = Optional.empty();
        boolean anyOnce = false;
        for (Grant g : grants) {
            anyOnce |= g.once();
            if (g.uses != 0) {
                uses = uses == 0 ? g.uses : Math.min(uses, g.uses);
            }
            if (g.window.isPresent()) {
                window = window.isEmpty() || g.window.get().compareTo(window.get()) < 0 ? g.window : window;
            }
        }
        return grants.isEmpty() || anyOnce ? ONCE : new Grant(uses, window);
    }

    /** {@code 3 uses}, {@code 30m}, {@code 3 uses within 1h}: for audit comments and the CLI. */
    public String describe() {
        String count = uses == 0 ? "" : uses + (uses == 1 ? " use" : " uses");
        String time = window.map(ApprovalService::human).orElse("");
        if (count.isEmpty()) {
            return "any number of uses within " + time;
        }
        return time.isEmpty() ? count : count + " within " + time;
    }
}
