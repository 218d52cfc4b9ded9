package dev.warden.config.net;

import java.time.Duration;
import java.util.Optional;

/**
 * Remembers the last attempt at a peer that failed slowly, so that callers queued behind it (on one lock: the
 * catalog's connection, an issuer's keys) fail at once for a while instead of each waiting as long again in turn. An
 * attempt that failed fast (refused, an error answered at once) costs the next nothing and is not remembered. Not
 * thread-safe: use it under the lock the attempts share.
 */
public final class SlowFailures {

    private final Duration slow;
    private final Duration quiet;
    private String failure;
    private long failedAt;

    /** An attempt failing after {@code slow} or more is remembered for {@code quiet}. */
    public SlowFailures(Duration slow, Duration quiet) {
        this.slow = slow;
        this.quiet = quiet;
    }

    /**
     * Why the peer is not tried now: the last slow failure's reason, how long ago, and when it is tried again; empty
     * when an attempt may be made.
     */
    public Optional<String> recent() {
        long since = System.nanoTime() - failedAt;
        if (failure == null || since >= quiet.toNanos()) {
            return Optional.empty();
        }
        return Optional.of(failure + " (" + since / 1_000_000 + " ms ago; tried again " + quiet.toSeconds()
                + " s after that)");
    }

    /** An attempt begun at {@code startedNanos} ({@link System#nanoTime}) failed for {@code reason}. */
    public void failed(long startedNanos, String reason) {
        long now = System.nanoTime();
        if (now - startedNanos >= slow.toNanos()) {
            failedAt = now;
            failure = reason;
        }
    }

    /** An attempt succeeded: nothing is remembered. */
    public void succeeded() {
        failure = null;
    }
}
