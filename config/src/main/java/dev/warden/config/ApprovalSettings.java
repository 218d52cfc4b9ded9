package dev.warden.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code approvals} section: how long a held statement waits, how many distinct people must approve it,
 * where pending requests are kept (so they survive a restart), and who is told.
 *
 * @param timeout           how long a request stays pending before it expires
 * @param requiredApprovals distinct authorised approvers needed; one denial ends the request
 * @param store             where requests live; a PostgreSQL store may be shared by several Warden instances
 * @param webhooks          the {@code notify} webhooks, told of every request and decision
 * @param retryWindow       for rules in retry mode: how long after approval the identical statement may run (once)
 * @param agentsMayApprove  {@code agents_may_approve}: whether an identity marked as an AI agent or service account
 *                          may approve at all (default false: an agent in an approver group still cannot)
 * @param maxGrantUses      {@code max_grant_uses}: the most executions one approval may grant (default 1: one
 *                          approval, one execution)
 * @param maxGrantWindow    {@code max_grant_window}: the longest window one approval may grant, and how long a grant
 *                          of several uses lasts when the approver gives no window (default 0: no windows)
 * @param maxPendingPerRequester {@code max_pending_per_requester}: the most requests one person may have waiting
 *                          (not yet decided or expired) at once; a further one is refused and nothing runs, so one
 *                          requester cannot bury everyone else's requests under a flood (default 20)
 */
public record ApprovalSettings(Duration timeout, int requiredApprovals, Store store, List<Webhook> webhooks,
                               Duration retryWindow, boolean agentsMayApprove, int maxGrantUses,
                               Duration maxGrantWindow, int maxPendingPerRequester) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(15);
    public static final Duration DEFAULT_RETRY_WINDOW = Duration.ofMinutes(10);
    public static final String DEFAULT_TABLE = "warden_approvals";
    public static final int DEFAULT_RETRIES = 3;
    public static final int DEFAULT_MAX_PENDING_PER_REQUESTER = 20;

    public ApprovalSettings {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
        if (requiredApprovals < 1) {
            throw new IllegalArgumentException("requiredApprovals must be at least 1");
        }
        Objects.requireNonNull(store, "store");
        webhooks = List.copyOf(webhooks);
        Objects.requireNonNull(retryWindow, "retryWindow");
        if (maxGrantUses < 1) {
            throw new IllegalArgumentException("maxGrantUses must be at least 1");
        }
        Objects.requireNonNull(maxGrantWindow, "maxGrantWindow");
        if (maxGrantWindow.isNegative() || (maxGrantUses > 1 && maxGrantWindow.isZero())) {
            // Every grant ends: a grant of several uses lasts at most maxGrantWindow.
            throw new IllegalArgumentException("maxGrantWindow must be positive when maxGrantUses is above 1");
        }
        if (maxPendingPerRequester < 1) {
            throw new IllegalArgumentException("maxPendingPerRequester must be at least 1");
        }
    }

    /** The default bound on one requester's pending requests. */
    public ApprovalSettings(Duration timeout, int requiredApprovals, Store store, List<Webhook> webhooks,
                            Duration retryWindow, boolean agentsMayApprove, int maxGrantUses, Duration maxGrantWindow) {
        this(timeout, requiredApprovals, store, webhooks, retryWindow, agentsMayApprove, maxGrantUses, maxGrantWindow,
                DEFAULT_MAX_PENDING_PER_REQUESTER);
    }

    /** No grants: one approval, one execution. */
    public ApprovalSettings(Duration timeout, int requiredApprovals, Store store, List<Webhook> webhooks,
                            Duration retryWindow, boolean agentsMayApprove) {
        this(timeout, requiredApprovals, store, webhooks, retryWindow, agentsMayApprove, 1, Duration.ZERO);
    }

    /** Agents may not approve. */
    public ApprovalSettings(Duration timeout, int requiredApprovals, Store store, List<Webhook> webhooks,
                            Duration retryWindow) {
        this(timeout, requiredApprovals, store, webhooks, retryWindow, false);
    }

    /** No {@code approvals} section: 15 minutes, one approval, files in {@code approvals/} next to the policy. */
    public static ApprovalSettings defaults(Path baseDir) {
        return new ApprovalSettings(DEFAULT_TIMEOUT, 1,
                new Store.FileStore(baseDir.resolve("approvals").toAbsolutePath().normalize()), List.of(),
                DEFAULT_RETRY_WINDOW);
    }

    /** Where approval requests are kept. */
    public sealed interface Store {

        /** One JSON file per request in {@code dir}; for a single Warden instance. */
        record FileStore(Path dir) implements Store {
            public FileStore {
                Objects.requireNonNull(dir, "dir");
            }
        }

        /** A table in PostgreSQL, which several Warden instances may share. {@code url} may hold a password. */
        record PostgresStore(Secret url, String table) implements Store {
            public PostgresStore {
                Objects.requireNonNull(url, "url");
                Objects.requireNonNull(table, "table");
            }
        }
    }

    /** A URL that receives a Slack-compatible JSON POST per request and decision; tried {@code 1 + retries} times. */
    public record Webhook(URI url, int retries) {
        public Webhook {
            Objects.requireNonNull(url, "url");
            if (retries < 0) {
                throw new IllegalArgumentException("retries must not be negative");
            }
        }
    }
}
