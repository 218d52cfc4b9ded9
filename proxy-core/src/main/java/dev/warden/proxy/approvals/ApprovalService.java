package dev.warden.proxy.approvals;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.ApprovalEvent;
import dev.warden.config.ApprovalSettings;
import dev.warden.identity.Identity;
import dev.warden.proxy.approvals.ApprovalException.Kind;
import dev.warden.proxy.approvals.ApprovalRecord.Status;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The approvals engine: holds statements, takes decisions, expires what nobody decided.
 *
 * <p>The session calls {@link #newRequest} and {@link #request} and waits on the future; it calls
 * {@link #withdraw} when its client cancels or disconnects. Approvers' actions ({@link #approve},
 * {@link #deny}) come from the admin API. Rules: only members of the request's approver groups decide; the
 * requester never approves their own request; {@code required_approvals} distinct people must approve; one
 * denial ends it. Every transition appends an {@code approval.*} audit event, then notifies webhooks.
 *
 * <p>One scheduler thread runs expiries (one timer per request, no polling per request) and, for a shared
 * store, one poll every 500 ms for decisions made on other instances about statements held here.
 */
public final class ApprovalService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ApprovalService.class);

    static final Duration POLL_INTERVAL = Duration.ofMillis(500);
    private static final Duration WEBHOOK_BACKOFF = Duration.ofSeconds(1);
    /** The longest list and page the API returns. */
    public static final int LIST_LIMIT = 200;
    private static final int CAS_ATTEMPTS = 10;
    private static final int MAX_COMMENT_CHARS = 2000;

    private final ApprovalSettings settings;
    private final ApprovalStore store;
    private final AuditLog audit;
    private final ApprovalNotifier notifier;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Map<String, CompletableFuture<Outcome>> held = new ConcurrentHashMap<>();
    private final Map<String, ScheduledFuture<?>> expiries = new ConcurrentHashMap<>();
    /**
     * When each requester's recent requests were withdrawn (their client cancelled or left), newest last: each counts
     * as pending for {@link #WITHDRAWN_COUNTS_FOR} after it was withdrawn. Before, a session filed and cancelled 1,500
     * requests in 44 s, never more than one pending, and they pushed every decision off {@code approvals list} (a
     * helper's pass, a135 F3). Kept by this instance only.
     */
    private final Map<String, java.util.ArrayDeque<java.time.Instant>> withdrawals = new ConcurrentHashMap<>();

    /** How long a withdrawn request counts toward its requester's {@code max_pending_per_requester}. */
    static final java.time.Duration WITHDRAWN_COUNTS_FOR = java.time.Duration.ofMinutes(1);
    private volatile boolean started;
    private volatile boolean closed;

    public ApprovalService(ApprovalSettings settings, ApprovalStore store, AuditLog audit, ApprovalNotifier notifier,
                           Clock clock) {
        this.settings = settings;
        this.store = store;
        this.audit = audit;
        this.notifier = notifier;
        this.clock = clock;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-approvals");
            t.setDaemon(true);
            return t;
        });
    }

    /** Whether an issuer's token id is revoked by the policy in force; see {@link #revokedTokens}. */
    private volatile java.util.function.BiPredicate<String, String> revoked = (issuer, tokenId) -> false;

    /**
     * Tells the service which tokens the policy in force revokes ({@code denied_token_ids}, by issuer and
     * {@code jti}): an approval one of whose votes was given with such a token is not used again, a retry or a
     * grant's later use asks anew (an attacker's pass, a144 F2: an approval given with a token revoked later, for
     * being leaked, still let the statement run).
     */
    public void revokedTokens(java.util.function.BiPredicate<String, String> revoked) {
        this.revoked = revoked;
    }

    /** The service the policy configures, started: its store, its webhooks; closing it closes both. */
    public static ApprovalService open(ApprovalSettings settings, AuditLog audit) throws IOException {
        ApprovalStore store = ApprovalStore.open(settings.store());
        ApprovalService service = new ApprovalService(settings, store, audit,
                new WebhookNotifier(settings.webhooks(), WEBHOOK_BACKOFF), Clock.systemUTC());
        service.start();
        return service;
    }

    /**
     * Loads the pending requests (they survived a restart, or belong to other instances sharing the store) and
     * schedules their expiry; starts polling a shared store.
     */
    public void start() throws IOException {
        int pending = 0;
        for (ApprovalRecord r : store.list(Integer.MAX_VALUE)) {
            if (r.status() == Status.PENDING) {
                scheduleExpiry(r);
                pending++;
            }
        }
        if (store.shared()) {
            long ms = POLL_INTERVAL.toMillis();
            scheduler.scheduleWithFixedDelay(this::pollHeld, ms, ms, TimeUnit.MILLISECONDS);
        }
        started = true;
        log.info("approvals started pending={} timeout={} required_approvals={} shared_store={}", pending,
                human(settings.timeout()), settings.requiredApprovals(), store.shared());
    }

    public boolean started() {
        return started && !closed;
    }

    public Duration timeout() {
        return settings.timeout();
    }

    // ---- the session's side -------------------------------------------------------------------------------

    /** A request for {@code statement}, with a fresh id, made now and expiring after the policy's timeout. */
    public ApprovalRequest newRequest(Identity requester, String environment, String statement, String fingerprint,
                                      String rule, Set<String> approvers, String reason, String sessionId) {
        return newRequest(requester, environment, statement, statement, fingerprint, rule, approvers, reason,
                sessionId);
    }

    /**
     * As above, for a policy that redacts literals: {@code shown} is what approvers, webhooks and the store see
     * (the audit log's redacted text); {@code sent} is only remembered as a digest, so retry mode still matches
     * the exact statement.
     */
    public ApprovalRequest newRequest(Identity requester, String environment, String sent, String shown,
                                      String fingerprint, String rule, Set<String> approvers, String reason,
                                      String sessionId) {
        Instant now = clock.instant();
        return new ApprovalRequest(ApprovalRequest.newId(), requester, environment, shown, fingerprint, rule,
                approvers, reason, sessionId, now, now.plus(settings.timeout()), ApprovalRequest.sha256(sent));
    }

    /**
     * Stores the request, audits and announces it, and holds it: the future completes once it is approved,
     * denied, expired or withdrawn (on the thread that decided it: hop back to the event loop). If the request
     * cannot be stored the future fails with an {@link ApprovalException} of kind UNAVAILABLE.
     */
    public CompletableFuture<Outcome> request(ApprovalRequest request) {
        CompletableFuture<Outcome> future = new CompletableFuture<>();
        held.put(request.id(), future);
        try {
            file(request, true);
        } catch (ApprovalException e) {
            held.remove(request.id());
            future.completeExceptionally(e);
        }
        return future;
    }

    /**
     * Retry mode, first attempt: stores, audits and announces the request without holding anything; the client
     * is told the id and comes back later (see {@link #consumeApproved}).
     */
    public ApprovalRecord submit(ApprovalRequest request) throws ApprovalException {
        return file(request, false);
    }

    private ApprovalRecord file(ApprovalRequest request, boolean held) throws ApprovalException {
        if (closed) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals are shutting down");
        }
        ApprovalRecord record = ApprovalRecord.pending(request, settings.requiredApprovals(), held);
        boolean stored;
        try {
            int room = settings.maxPendingPerRequester() - recentlyWithdrawn(request.requester());
            stored = room > 0 && store.create(record, room, clock.instant());
        } catch (IOException e) {
            log.warn("approval request not stored approval={} session={} error={}", request.id(),
                    request.sessionId(), e.getMessage());
            throw new ApprovalException(Kind.UNAVAILABLE, "the approval request could not be stored", e);
        }
        if (!stored) {
            throw tooManyPending(request.requester(), request.sessionId());
        }
        String comment = "rule " + request.rule() + "; approvers " + sorted(request.approvers())
                + (request.reason().isEmpty() ? "" : "; reason: " + request.reason());
        audit(request, ApprovalEvent.Action.REQUESTED, request.requester().username(), comment);
        notifier.notify("approval.requested", record);
        scheduleExpiry(record);
        log.info("approval requested approval={} session={} user={} environment={} rule={} approvers={}",
                request.id(), request.sessionId(), request.requester().username(), request.environment(),
                request.rule(), sorted(request.approvers()));
        return record;
    }

    /**
     * Refuses at once, with the error {@link #submit} or {@link #request} would give, when {@code requester}
     * already has {@code max_pending_per_requester} requests pending: hold mode asks before telling its client the
     * statement is held. Filing checks again (another session of theirs may file in between).
     */
    public void ensureRoomFor(Identity requester, String sessionId) throws ApprovalException {
        int pending;
        try {
            pending = store.pending(requester, clock.instant());
        } catch (IOException e) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
        }
        if (pending + recentlyWithdrawn(requester) >= settings.maxPendingPerRequester()) {
            throw tooManyPending(requester, sessionId);
        }
    }

    /**
     * How many of {@code requester}'s requests were withdrawn within {@link #WITHDRAWN_COUNTS_FOR}: the same person by
     * subject or by name in any case, as the store counts pending requests.
     */
    private int recentlyWithdrawn(Identity requester) {
        return Math.max(recent(withdrawals.get("s " + requester.subject())),
                recent(withdrawals.get("u " + folded(requester.username()))));
    }

    private int recent(java.util.ArrayDeque<java.time.Instant> times) {
        if (times == null) {
            return 0;
        }
        synchronized (times) {
            java.time.Instant since = clock.instant().minus(WITHDRAWN_COUNTS_FOR);
            while (!times.isEmpty() && times.peekFirst().isBefore(since)) {
                times.pollFirst();
            }
            return times.size();
        }
    }

    private void withdrawnBy(Identity requester) {
        for (String key : List.of("s " + requester.subject(),
                "u " + folded(requester.username()))) {
            java.util.ArrayDeque<java.time.Instant> times = withdrawals.computeIfAbsent(key,
                    k -> new java.util.ArrayDeque<>());
            synchronized (times) {
                times.addLast(clock.instant());
                while (times.size() > settings.maxPendingPerRequester()) {
                    times.pollFirst(); // more never counts
                }
            }
        }
    }

    private ApprovalException tooManyPending(Identity requester, String sessionId) {
        int max = settings.maxPendingPerRequester();
        log.info("approval request refused: too many pending session={} user={} max_pending_per_requester={}",
                sessionId, requester.username(), max);
        return new ApprovalException(Kind.TOO_MANY_PENDING, requester.username() + " already has " + max
                + (max == 1 ? " approval request" : " approval requests") + " waiting, the most the policy allows "
                + "(approvals.max_pending_per_requester); no request was filed and the statement did not run. "
                + "Try again once approvers have decided some of them or they have expired (after "
                + human(settings.timeout()) + ")");
    }

    /**
     * The session gives up waiting (its client cancelled or disconnected). Completes the held future with
     * {@link Outcome.Withdrawn}. Returns false if the request was already decided.
     */
    public boolean withdraw(String id) {
        boolean[] withdrew = {false};
        Identity[] requester = {null};
        try {
            transition(id, current -> {
                withdrew[0] = false;
                if (current.status().terminal()) {
                    return current;
                }
                withdrew[0] = true;
                requester[0] = current.request().requester();
                return current.decided(Status.WITHDRAWN, current.request().requester().username(),
                        "the client cancelled or disconnected", clock.instant());
            });
            if (withdrew[0]) {
                withdrawnBy(requester[0]);
            }
            return withdrew[0];
        } catch (ApprovalException e) {
            log.warn("approval withdraw failed approval={} error={}", id, e.getMessage());
            CompletableFuture<Outcome> future = held.remove(id);
            cancelExpiry(id);
            if (future != null) {
                future.complete(new Outcome.Withdrawn(id));
            }
            return false;
        }
    }

    /**
     * Retry mode, later attempt: the approved request by the same identity for the identical statement (same
     * fingerprint and text, hence same literals and values) in the same environment that still has a use left
     * within its window (for a single use: {@code retry_window} after the decision). Counts the use.
     */
    public Optional<ApprovalRecord> consumeApproved(Identity requester, String environment, String fingerprint,
                                                    String statement) {
        return consumeApproved(requester, environment, fingerprint, statement, "");
    }

    /**
     * As above; {@code sessionId} is the session that runs it, which its {@code approval.used} record names (a144
     * F3: it named the session that filed the request, often closed since; empty: that one).
     */
    public Optional<ApprovalRecord> consumeApproved(Identity requester, String environment, String fingerprint,
                                                    String statement, String sessionId) {
        return useGrant(requester, environment, fingerprint, statement, settings.retryWindow(), sessionId);
    }

    /**
     * Hold mode, a later execution: an approval of the identical statement whose grant ({@code --uses},
     * {@code --for}) still has a use left and whose window is open. Counts the use by compare-and-set (so two
     * instances sharing the store cannot both take the last one) and audits it as {@code approval.used}.
     *
     * @param sessionId the session that runs it, for the audit record
     */
    public Optional<ApprovalRecord> useGrant(Identity requester, String environment, String fingerprint,
                                             String statement, String sessionId) {
        return useGrant(requester, environment, fingerprint, statement, Duration.ZERO, sessionId);
    }

    /** @param singleUseWindow how long an approval of one use stays usable (zero: it was used when approved) */
    private Optional<ApprovalRecord> useGrant(Identity requester, String environment, String fingerprint,
                                              String statement, Duration singleUseWindow, String sessionId) {
        Instant now = clock.instant();
        List<ApprovalRecord> candidates;
        try {
            // The requester's own approvals of this very execution, found directly: never among a page of all
            // requests, which anyone's flood of pending ones could fill.
            candidates = store.approved(requester, ApprovalRequest.sha256(statement));
        } catch (IOException e) {
            log.warn("approvals unreadable for a grant error={}", e.getMessage());
            return Optional.empty();
        }
        for (ApprovalRecord r : candidates) {
            ApprovalRequest q = r.request();
            if (!r.usableAt(now, singleUseWindow) || !sameIdentity(q.requester(), requester)
                    || !q.environment().equals(environment) || !q.fingerprint().equals(fingerprint)
                    || !q.isFor(statement)) {
                continue;
            }
            ApprovalRecord.Vote byRevoked = r.approvals().stream()
                    .filter(v -> !v.tokenId().isEmpty() && revoked.test(v.issuer(), v.tokenId())).findFirst()
                    .orElse(null);
            if (byRevoked != null) {
                // Set aside for good and audited (approval.revoked): taking the id out of denied_token_ids again
                // must not bring the approval back (an attacker's pass, a145 F6).
                log.warn("approval not used approval={} reason=\"approved by {} with a token revoked since\"", r.id(),
                        byRevoked.username());
                revoke(r.id(), byRevoked);
                continue;
            }
            try {
                int[] before = {-1};
                ApprovalRecord used = transition(r.id(), current -> {
                    before[0] = current.used();
                    return current.usableAt(clock.instant(), singleUseWindow) ? current.consumed(now) : current;
                });
                if (used.used() == before[0] + 1) {
                    audit(sessionId.isEmpty() ? q.sessionId() : sessionId, q.id(), ApprovalEvent.Action.USED,
                            requester.username(), useComment(used));
                    return Optional.of(used);
                }
            } catch (ApprovalException e) {
                log.warn("approval not used approval={} error={}", r.id(), e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Ends an approval one of whose votes was given with a token revoked since (status {@code revoked}). */
    private void revoke(String id, ApprovalRecord.Vote vote) {
        try {
            transition(id, current -> current.status() != Status.APPROVED ? current
                    : current.decided(Status.REVOKED, "warden", "approved by " + vote.username()
                    + " with token id '" + clip(vote.tokenId())
                    + "', revoked since (identity.issuers[].denied_token_ids)", clock.instant()));
        } catch (ApprovalException e) {
            log.warn("approval not revoked approval={} error={}", id, e.getMessage());
        }
    }

    /** {@code use 2 of 3 (grant by bob: 3 uses within 1h, until ...)}: which grant let it run. */
    private static String useComment(ApprovalRecord r) {
        String of = r.grant().uses() == 0 ? "" : " of " + r.grant().uses();
        return "use " + r.used() + of + " (" + grantText(r) + ")";
    }

    private static String grantText(ApprovalRecord r) {
        return "grant by " + r.decidedBy() + ": " + r.grant().describe()
                + r.grantUntil().map(t -> ", until " + t).orElse("");
    }

    /** The NoticeResponse text the session sends while the statement waits. */
    public String noticeFor(ApprovalRequest request) {
        int n = settings.requiredApprovals();
        return "Warden is holding this statement for approval (rule \"" + request.rule() + "\"): request "
                + request.id() + " must be approved by " + (n == 1 ? "a member" : n + " different members") + " of "
                + String.join(" or ", sorted(request.approvers())) + " within " + human(settings.timeout())
                + ". Approvers run: warden approvals approve " + request.id();
    }

    // ---- the approvers' side -------------------------------------------------------------------------------

    /** Pending requests first, then recent decisions; everything, for operators. */
    public List<ApprovalRecord> list() throws ApprovalException {
        try {
            return store.list(LIST_LIMIT);
        } catch (IOException e) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * What {@code viewer} may see: their own requests and those they may decide, pending first, chosen before the
     * list is cut at its length (so requests an approver may decide are not crowded out by ones they may not).
     */
    public List<ApprovalRecord> list(Identity viewer) throws ApprovalException {
        try {
            return store.list(viewer, LIST_LIMIT).stream().filter(r -> visibleTo(r, viewer)).toList();
        } catch (IOException e) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
        }
    }

    /** A page of pending requests, and the id to page on from ({@code before}) while more may follow. */
    public record Page(List<ApprovalRecord> records, Optional<String> next) {
    }

    /**
     * Every pending request {@code viewer} may see can be reached: newest first, {@code limit} (at most the list's
     * 200) at a time, from after the visible request {@code before}, of one requester (user name without case) when
     * {@code requester} is given; see {@link ApprovalStore#pendingPage}.
     */
    public Page pendingPage(Identity viewer, Optional<String> requester, Optional<String> before, int limit)
            throws ApprovalException {
        int size = Math.max(1, Math.min(limit, LIST_LIMIT));
        if (before.isPresent()) {
            Optional<ApprovalRecord> cursor = get(before.get());
            if (cursor.isEmpty() || !visibleTo(cursor.get(), viewer)) {
                // As for a read by id: invisible and missing look the same.
                throw new ApprovalException(Kind.NOT_FOUND, "no approval request " + before.get());
            }
        }
        List<ApprovalRecord> found;
        try {
            found = store.pendingPage(viewer, requester, before, size + 1);
        } catch (IOException e) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
        }
        List<ApprovalRecord> page = found.subList(0, Math.min(size, found.size()));
        Optional<String> next = found.size() > size ? Optional.of(page.get(page.size() - 1).id()) : Optional.empty();
        return new Page(page.stream().filter(r -> visibleTo(r, viewer)).toList(), next);
    }

    public Optional<ApprovalRecord> get(String id) throws ApprovalException {
        try {
            return store.load(id);
        } catch (IOException e) {
            throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
        }
    }

    public static boolean visibleTo(ApprovalRecord r, Identity viewer) {
        return visibleTo(r.request().requester(), r.request().approvers(), viewer);
    }

    static boolean visibleTo(Identity requester, Set<String> approvers, Identity viewer) {
        return sameIdentity(requester, viewer) || approvers.stream().anyMatch(viewer.groups()::contains);
    }

    public ApprovalRecord approve(String id, Identity approver, String comment) throws ApprovalException {
        return approve(id, approver, comment, Grant.ONCE);
    }

    /**
     * Approves, and grants the requester {@code grant}: more executions of the identical statement, or a window,
     * within the policy's {@code max_grant_uses} and {@code max_grant_window}. A grant of several uses without a
     * window lasts {@code max_grant_window}, so every grant ends. With several required approvals the narrowest
     * of their grants applies.
     */
    public ApprovalRecord approve(String id, Identity approver, String comment, Grant grant)
            throws ApprovalException {
        return approve(id, approver, comment, grant, "");
    }

    /** As above; {@code tokenId} is the {@code jti} of the approver's token (see {@link #revokedTokens}). */
    public ApprovalRecord approve(String id, Identity approver, String comment, Grant grant, String tokenId)
            throws ApprovalException {
        Grant bounded = withinPolicy(grant);
        String why = clip(comment);
        expireIfDue(id);
        return transition(id, current -> {
            authorise(current, approver, true);
            for (ApprovalRecord.Vote vote : current.approvals()) {
                if (vote.by(approver)) {
                    throw new ApprovalException(Kind.CONFLICT, "you have already approved " + id + "; it needs "
                            + (current.requiredApprovals() - current.approvals().size())
                            + " more approval(s) from other members of " + String.join(" or ", sorted(current.request().approvers())));
                }
            }
            // A vote given with a token revoked since no longer counts towards the approvals required: the vote
            // that completes them would otherwise release the held statement with it (an attacker's pass, a145).
            return current.withoutVotes(v -> !v.tokenId().isEmpty() && revoked.test(v.issuer(), v.tokenId()))
                    .withVote(new ApprovalRecord.Vote(approver.username(), approver.subject(),
                    approver.issuer(), clock.instant(), why, bounded, tokenId));
        });
    }

    private Grant withinPolicy(Grant grant) throws ApprovalException {
        if (grant.once()) {
            return grant;
        }
        if (grant.uses() > settings.maxGrantUses()) {
            throw new ApprovalException(Kind.FORBIDDEN, "the policy lets one approval grant at most "
                    + settings.maxGrantUses() + (settings.maxGrantUses() == 1 ? " use" : " uses")
                    + " (approvals.max_grant_uses); " + grant.uses() + " were asked for");
        }
        Duration max = settings.maxGrantWindow();
        if (grant.window().isPresent() && grant.window().get().compareTo(max) > 0) {
            throw new ApprovalException(Kind.FORBIDDEN, max.isZero()
                    ? "the policy lets no approval grant a window (approvals.max_grant_window is 0)"
                    : "the policy lets one approval grant a window of at most " + human(max)
                    + " (approvals.max_grant_window); " + human(grant.window().get()) + " was asked for");
        }
        return grant.window().isPresent() ? grant : new Grant(grant.uses(), Optional.of(max));
    }

    public ApprovalRecord deny(String id, Identity approver, String comment) throws ApprovalException {
        String why = clip(comment);
        expireIfDue(id);
        return transition(id, current -> {
            authorise(current, approver, false);
            return current.decided(Status.DENIED, approver.username(), why, clock.instant());
        });
    }

    private void authorise(ApprovalRecord current, Identity who, boolean approving) throws ApprovalException {
        ApprovalRequest q = current.request();
        if (approving && who.kind() == Identity.Kind.AGENT && !settings.agentsMayApprove()) {
            throw new ApprovalException(Kind.FORBIDDEN, who.username() + " is an agent, and agents may not approve ("
                    + "approvals.agents_may_approve is false); a person in " + String.join(" or ", sorted(q.approvers()))
                    + " must approve " + q.id());
        }
        if (approving && sameIdentity(q.requester(), who)) {
            throw new ApprovalException(Kind.FORBIDDEN, "you cannot approve your own request " + q.id()
                    + "; a member of " + String.join(" or ", sorted(q.approvers())) + " must approve it");
        }
        if (!mayDecide(q, who)) {
            throw new ApprovalException(Kind.FORBIDDEN, "only members of " + String.join(" or ", sorted(q.approvers()))
                    + " may " + (approving ? "approve" : "deny") + " " + q.id() + "; " + who.username()
                    + " is not in any of these groups");
        }
        if (current.status().terminal()) {
            throw new ApprovalException(Kind.CONFLICT, "approval " + q.id() + " is already "
                    + current.status().name().toLowerCase(Locale.ROOT)
                    + (current.decidedBy().isEmpty() ? "" : " (by " + current.decidedBy() + ")"));
        }
    }

    private static boolean mayDecide(ApprovalRequest q, Identity who) {
        return q.approvers().stream().anyMatch(who.groups()::contains);
    }

    /**
     * The same person: same subject at the same issuer, or the same user name (the configured username claim,
     * compared without regard to case, as e-mail addresses are): one person may hold tokens from two issuers or
     * two subjects, and must count once, whether as requester or as approver.
     */
    static boolean sameIdentity(Identity a, Identity b) {
        return (a.subject().equals(b.subject()) && a.issuer().equals(b.issuer())) || samePerson(a.username(), b.username());
    }

    /**
     * Whether two user names are one person's: equal but for the case of ASCII letters ({@code Bob@x} is {@code
     * bob@x}). No other folding: {@code toLowerCase} made KELVIN SIGN a {@code k}, so {@code \u212Aate@x}, another
     * identity with a database login of its own, read kate@x's pending statements and spent her grants (an
     * attacker's pass, a147 F5, F6).
     */
    static boolean samePerson(String username, String other) {
        if (username.length() != other.length()) {
            return false;
        }
        for (int i = 0; i < username.length(); i++) {
            char a = username.charAt(i);
            char b = other.charAt(i);
            if (a != b && asciiLower(a) != asciiLower(b)) {
                return false;
            }
        }
        return true;
    }

    /** A user name as {@link #samePerson} compares it: ASCII letters lower-cased. */
    static String folded(String username) {
        StringBuilder out = null;
        for (int i = 0; i < username.length(); i++) {
            char c = username.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (out == null) {
                    out = new StringBuilder(username);
                }
                out.setCharAt(i, asciiLower(c));
            }
        }
        return out == null ? username : out.toString();
    }

    private static char asciiLower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }

    // ---- transitions ---------------------------------------------------------------------------------------

    private interface Change {
        /** Returns {@code current} itself when there is nothing to change. */
        ApprovalRecord apply(ApprovalRecord current) throws ApprovalException;
    }

    private ApprovalRecord transition(String id, Change change) throws ApprovalException {
        for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
            ApprovalRecord current;
            try {
                current = store.load(id).orElseThrow(() -> new ApprovalException(Kind.NOT_FOUND,
                        "no approval request " + printable(id)));
            } catch (IOException e) {
                throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be read: " + e.getMessage(), e);
            }
            ApprovalRecord next = change.apply(current);
            if (next == current) {
                settle(current);
                return current;
            }
            boolean stored;
            try {
                stored = store.update(next);
            } catch (IOException e) {
                throw new ApprovalException(Kind.UNAVAILABLE, "approvals cannot be written: " + e.getMessage(), e);
            }
            if (stored) {
                changed(current, next);
                return next;
            }
        }
        throw new ApprovalException(Kind.CONFLICT, "approval " + id + " kept changing while being decided; try again");
    }

    /** Audit first (the chain orders the decision before the statement it releases), then webhooks, then release. */
    private void changed(ApprovalRecord before, ApprovalRecord after) {
        ApprovalRequest q = after.request();
        String event = null;
        for (ApprovalRecord.Vote dropped : before.approvals()) {
            if (!after.approvals().contains(dropped)) { // given with a token revoked since: see approve
                audit(q.sessionId(), q.id(), ApprovalEvent.Action.REVOKED, "warden", "the approval of "
                        + dropped.username() + " no longer counts: its token was revoked since "
                        + "(identity.issuers[].denied_token_ids)", dropped.tokenId());
            }
        }
        ApprovalRecord.Vote vote = after.approvals().isEmpty() ? null
                : after.approvals().get(after.approvals().size() - 1);
        // A vote that replaces one dropped above leaves the count as it was: a new vote is one the record lacked.
        if (vote != null && !before.approvals().contains(vote)) {
            String comment = after.requiredApprovals() == 1 ? vote.comment()
                    : "approval " + after.approvals().size() + " of " + after.requiredApprovals()
                    + (vote.comment().isEmpty() ? "" : ": " + vote.comment());
            if (!vote.grant().once()) {
                comment = (comment.isEmpty() ? "" : comment + "; ") + "grants " + vote.grant().describe();
            }
            if (after.status() == Status.APPROVED && !after.grant().once()) {
                comment += "; " + grantText(after) + (after.held() ? "; the held statement is use 1" : "");
            }
            audit(q.sessionId(), q.id(), ApprovalEvent.Action.APPROVED, vote.username(), comment, vote.tokenId());
            event = "approval.approved";
        } else if (after.status() != before.status()) {
            ApprovalEvent.Action action = ApprovalEvent.Action.valueOf(after.status().name());
            String tokenId = after.status() != Status.REVOKED ? "" : after.approvals().stream()
                    .filter(v -> !v.tokenId().isEmpty() && revoked.test(v.issuer(), v.tokenId()))
                    .map(ApprovalRecord.Vote::tokenId).findFirst().orElse("");
            audit(q.sessionId(), q.id(), action, after.decidedBy(), after.comment(), tokenId);
            event = "approval." + after.status().name().toLowerCase(Locale.ROOT);
        }
        if (event != null) {
            log.info("approval {} approval={} session={} by={} status={}", event, q.id(), q.sessionId(),
                    after.decidedBy().isEmpty() ? after.approvals().get(after.approvals().size() - 1).username()
                            : after.decidedBy(), after.status());
            notifier.notify(event, after);
        }
        settle(after);
    }

    /** Releases the held statement, if this instance holds it and the request is decided. */
    private void settle(ApprovalRecord record) {
        if (!record.status().terminal()) {
            return;
        }
        cancelExpiry(record.id());
        CompletableFuture<Outcome> future = held.remove(record.id());
        if (future != null) {
            future.complete(record.outcome().orElseThrow());
        }
    }

    private void audit(ApprovalRequest q, ApprovalEvent.Action action, String by, String comment) {
        audit(q.sessionId(), q.id(), action, by, comment);
    }

    private void audit(String sessionId, String id, ApprovalEvent.Action action, String by, String comment) {
        audit(sessionId, id, action, by, comment, "");
    }

    private void audit(String sessionId, String id, ApprovalEvent.Action action, String by, String comment,
                       String tokenId) {
        try {
            audit.append(ApprovalEvent.of(sessionId, action, id, by, comment, tokenId)).whenComplete((seq, error) -> {
                if (error != null) {
                    log.error("approval audit event not durable approval={} action={} error={}", id, action,
                            error.getMessage());
                }
            });
        } catch (RuntimeException e) {
            log.error("approval audit event refused approval={} action={} error={}", id, action, e.getMessage());
        }
    }

    // ---- expiry and polling --------------------------------------------------------------------------------

    private void scheduleExpiry(ApprovalRecord record) {
        // Rounded up: a timer that fires before the wall clock reaches expiresAt would find nothing due.
        long delay = Math.max(0, ceilMillis(Duration.between(clock.instant(), record.request().expiresAt())));
        try {
            ScheduledFuture<?> task = scheduler.schedule(() -> expire(record.id()), delay, TimeUnit.MILLISECONDS);
            ScheduledFuture<?> previous = expiries.put(record.id(), task);
            if (previous != null) {
                previous.cancel(false);
            }
        } catch (RejectedExecutionException e) {
            log.debug("approval expiry not scheduled at shutdown approval={}", record.id());
        }
    }

    private void cancelExpiry(String id) {
        ScheduledFuture<?> task = expiries.remove(id);
        if (task != null) {
            task.cancel(false);
        }
    }

    private static long ceilMillis(Duration d) {
        long ms = d.toMillis();
        return d.minusMillis(ms).isZero() ? ms : ms + 1;
    }

    private void expire(String id) {
        expiries.remove(id);
        try {
            transition(id, current -> {
                if (current.status().terminal()) {
                    return current;
                }
                if (clock.instant().isBefore(current.request().expiresAt())) {
                    // The scheduler's clock ran ahead of the wall clock: try again when it is due.
                    scheduleExpiry(current);
                    return current;
                }
                Duration timeout = Duration.between(current.request().createdAt(), current.request().expiresAt());
                return current.decided(Status.EXPIRED, "warden", "no decision within " + human(timeout),
                        clock.instant());
            });
        } catch (ApprovalException | RuntimeException e) {
            // Retried by the poll (shared store) or at the next start; a held session still gets an answer.
            log.warn("approval expiry failed approval={} error={}", id, e.getMessage());
            CompletableFuture<Outcome> future = held.remove(id);
            if (future != null) {
                future.completeExceptionally(e);
            }
        }
    }

    private void expireIfDue(String id) {
        if (!ApprovalRequest.isValidId(id)) {
            return;
        }
        try {
            Optional<ApprovalRecord> r = store.load(id);
            if (r.isPresent() && r.get().status() == Status.PENDING
                    && !clock.instant().isBefore(r.get().request().expiresAt())) {
                expire(id);
            }
        } catch (IOException e) {
            log.debug("approval expiry check failed approval={} error={}", id, e.getMessage());
        }
    }

    /** Shared store: learn of decisions made on other instances about statements held here. */
    private void pollHeld() {
        for (String id : held.keySet()) {
            try {
                store.load(id).ifPresent(this::settle);
            } catch (IOException | RuntimeException e) {
                log.warn("approval poll failed approval={} error={}", id, e.getMessage());
                return;
            }
        }
    }

    /**
     * Stops timers and polling and closes the store and webhooks. Statements still held here are released
     * as withdrawn (their sessions are closing too); their requests stay pending in the store, so another
     * instance, or this one after a restart, can still decide them.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.shutdownNow();
        for (String id : held.keySet()) {
            CompletableFuture<Outcome> future = held.remove(id);
            if (future != null) {
                future.complete(new Outcome.Withdrawn(id));
            }
        }
        notifier.close();
        store.close();
    }

    // ---- text ----------------------------------------------------------------------------------------------

    /** {@code 15m}, {@code 1h30m}, {@code 200ms}: how the policy writes durations. */
    static String human(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        long s = d.getSeconds();
        StringBuilder out = new StringBuilder();
        if (s >= 86400 && s % 86400 == 0) {
            return s / 86400 + "d";
        }
        if (s >= 3600) {
            out.append(s / 3600).append('h');
            s %= 3600;
        }
        if (s >= 60) {
            out.append(s / 60).append('m');
            s %= 60;
        }
        if (s > 0 || out.length() == 0) {
            out.append(s).append('s');
        }
        return out.toString();
    }

    private static List<String> sorted(Set<String> groups) {
        return List.copyOf(new TreeSet<>(groups));
    }

    private static String clip(String comment) {
        if (comment == null) {
            return "";
        }
        String text = comment.strip().replaceAll("\\p{Cntrl}", " ");
        return text.length() <= MAX_COMMENT_CHARS ? text : text.substring(0, MAX_COMMENT_CHARS);
    }

    private static String printable(String id) {
        if (id == null) {
            return "";
        }
        String cleaned = id.replaceAll("[^A-Za-z0-9_-]", "?");
        return cleaned.length() <= 40 ? cleaned : cleaned.substring(0, 40) + "...";
    }
}
