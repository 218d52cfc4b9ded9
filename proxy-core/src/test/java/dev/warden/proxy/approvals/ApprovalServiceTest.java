package dev.warden.proxy.approvals;

import static dev.warden.proxy.approvals.People.ALICE;
import static dev.warden.proxy.approvals.People.BOB;
import static dev.warden.proxy.approvals.People.CAROL;
import static dev.warden.proxy.approvals.People.DAVE;
import static dev.warden.proxy.approvals.People.MALLORY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.event.ApprovalEvent;
import dev.warden.config.ApprovalSettings;
import dev.warden.identity.Identity;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApprovalServiceTest {

    private static final String UPDATE = "UPDATE billing SET plan = 'pro' WHERE id = 42";

    @TempDir
    Path dir;

    private final RecordingAuditLog audit = new RecordingAuditLog();
    private ApprovalService service;

    private ApprovalService service(Duration timeout, int required) throws Exception {
        ApprovalSettings settings = new ApprovalSettings(timeout, required,
                new ApprovalSettings.Store.FileStore(dir), List.of(), Duration.ofMinutes(10));
        ApprovalService s = new ApprovalService(settings, new FileApprovalStore(dir), audit, ApprovalNotifier.NONE,
                Clock.systemUTC());
        s.start();
        return s;
    }

    private ApprovalRequest update(ApprovalService s, Identity requester) {
        return s.newRequest(requester, "prod", UPDATE, "fp-update-billing", "prod-writes-reviewed", Set.of("dba"),
                "ticket 42", "session-1");
    }

    @AfterEach
    void close() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void anApprovalByAnApproverReleasesTheHeldStatement() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);
        assertFalse(held.isDone());
        assertEquals(ApprovalRecord.Status.PENDING, service.get(request.id()).orElseThrow().status());

        ApprovalRecord after = service.approve(request.id(), BOB, "looks fine");

        assertEquals(ApprovalRecord.Status.APPROVED, after.status());
        assertEquals(new Outcome.Approved(request.id(), "bob@example.com", "looks fine"),
                held.get(1, TimeUnit.SECONDS));
        assertEquals(List.of("approval.requested by alice@example.com", "approval.approved by bob@example.com"),
                audit.trail(request.id()));
        assertTrue(audit.approvalEvents().get(0).comment().contains("reason: ticket 42"));
        assertEquals("session-1", audit.approvalEvents().get(0).session());
    }

    @Test
    void theRequesterCannotApproveTheirOwnRequestEvenAsAnApprover() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, DAVE);
        CompletableFuture<Outcome> held = service.request(request);

        ApprovalException e = assertThrows(ApprovalException.class, () -> service.approve(request.id(), DAVE, "me"));

        assertEquals(ApprovalException.Kind.FORBIDDEN, e.kind());
        assertEquals("you cannot approve your own request " + request.id() + "; a member of dba must approve it",
                e.getMessage());
        assertFalse(held.isDone());
    }

    @Test
    void someoneOutsideTheApproverGroupsIsToldWhichGroupsMayApprove() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, ALICE);
        service.request(request);

        ApprovalException e = assertThrows(ApprovalException.class, () -> service.approve(request.id(), MALLORY, ""));

        assertEquals(ApprovalException.Kind.FORBIDDEN, e.kind());
        assertEquals("only members of dba may approve " + request.id() + "; mallory@example.com is not in any of "
                + "these groups", e.getMessage());
        assertEquals(ApprovalException.Kind.FORBIDDEN,
                assertThrows(ApprovalException.class, () -> service.deny(request.id(), MALLORY, "")).kind());
    }

    @Test
    void aDenialEndsTheRequestWithTheApproversComment() throws Exception {
        service = service(Duration.ofMinutes(1), 2);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);

        service.deny(request.id(), BOB, "not during the freeze");

        Outcome outcome = held.get(1, TimeUnit.SECONDS);
        assertEquals(new Outcome.Denied(request.id(), "bob@example.com", "not during the freeze"), outcome);
        assertEquals("approval " + request.id() + " was denied by bob@example.com: not during the freeze",
                outcome.describe());
        ApprovalException late = assertThrows(ApprovalException.class,
                () -> service.approve(request.id(), CAROL, "too late"));
        assertEquals(ApprovalException.Kind.CONFLICT, late.kind());
        assertEquals("approval " + request.id() + " is already denied (by bob@example.com)", late.getMessage());
        assertEquals(List.of("approval.requested by alice@example.com", "approval.denied by bob@example.com"),
                audit.trail(request.id()));
    }

    @Test
    void twoRequiredApprovalsNeedTwoDifferentPeople() throws Exception {
        service = service(Duration.ofMinutes(1), 2);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);

        ApprovalRecord first = service.approve(request.id(), BOB, "ok");
        assertEquals(ApprovalRecord.Status.PENDING, first.status());
        ApprovalException twice = assertThrows(ApprovalException.class,
                () -> service.approve(request.id(), BOB, "really ok"));
        assertEquals(ApprovalException.Kind.CONFLICT, twice.kind());
        assertFalse(held.isDone());

        service.approve(request.id(), CAROL, "ok too");

        assertEquals(new Outcome.Approved(request.id(), "bob@example.com, carol@example.com", "ok; ok too"),
                held.get(1, TimeUnit.SECONDS));
        assertEquals(List.of("approval.requested by alice@example.com", "approval.approved by bob@example.com",
                "approval.approved by carol@example.com"), audit.trail(request.id()));
        assertEquals("approval 1 of 2: ok", audit.approvalEvents().get(1).comment());
    }

    /**
     * With two approvals required, a vote given with a token revoked before the second no longer counts: the second
     * does not release the held statement, a third approver's does.
     */
    @Test
    void aVoteGivenWithATokenRevokedSinceDoesNotCountTowardsTheApprovalsRequired() throws Exception {
        service = service(Duration.ofMinutes(1), 2);
        java.util.Set<String> revoked = new java.util.concurrent.CopyOnWriteArraySet<>();
        service.revokedTokens((issuer, tokenId) -> revoked.contains(issuer + " " + tokenId));
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);
        service.approve(request.id(), BOB, "ok", Grant.ONCE, "bob-token-1");
        revoked.add(BOB.issuer() + " bob-token-1");
        ApprovalRecord second = service.approve(request.id(), CAROL, "ok too", Grant.ONCE, "carol-token-1");
        assertEquals(ApprovalRecord.Status.PENDING, second.status(), "bob's vote no longer counts");
        assertEquals(1, second.approvals().size());
        assertFalse(held.isDone());
        ApprovalRecord third = service.approve(request.id(), BOB, "again, with a new token", Grant.ONCE, "bob-token-2");
        assertEquals(ApprovalRecord.Status.APPROVED, third.status());
        assertTrue(held.get(1, TimeUnit.SECONDS) instanceof Outcome.Approved);
        // Every vote is audited, with its token, and so is the vote dropped: carol's replaced bob's, leaving the
        // count as it was, and went unaudited before.
        assertEquals(List.of("approval.requested by alice@example.com", "approval.approved by bob@example.com",
                "approval.revoked by warden", "approval.approved by carol@example.com",
                "approval.approved by bob@example.com"), audit.trail(request.id()));
        assertEquals(List.of("", "bob-token-1", "bob-token-1", "carol-token-1", "bob-token-2"),
                audit.approvalEvents().stream().map(ApprovalEvent::tokenId).toList());
    }

    @Test
    void aRequestNobodyDecidesExpiresAfterTheTimeout() throws Exception {
        service = service(Duration.ofMillis(200), 1);
        ApprovalRequest request = update(service, ALICE);
        long start = System.nanoTime();

        // A 200 ms expiry: the wait is generous for a loaded machine; the lower bound below is what is checked.
        Outcome outcome = service.request(request).get(10, TimeUnit.SECONDS);

        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(new Outcome.Expired(request.id(), Duration.ofMillis(200)), outcome);
        assertTrue(waitedMs >= 150, "expired after " + waitedMs + " ms");
        assertEquals("approval " + request.id() + " expired: nobody approved it within 200ms", outcome.describe());
        assertEquals(List.of("approval.requested by alice@example.com", "approval.expired by warden"),
                audit.trail(request.id()));
        assertEquals(ApprovalException.Kind.CONFLICT,
                assertThrows(ApprovalException.class, () -> service.approve(request.id(), BOB, "")).kind());
    }

    /** A wall clock at half speed: the scheduler's timer always fires before the request is due by this clock. */
    private static final class SlowClock extends Clock {
        private final Instant origin = Instant.now();
        private final long startNanos = System.nanoTime();

        @Override
        public Instant instant() {
            return origin.plusNanos((System.nanoTime() - startNanos) / 2);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void anExpiryTimerThatFiresBeforeTheWallClockSaysSoIsTriedAgain() throws Exception {
        // Before the fix, a timer that fired even a fraction of a millisecond early found nothing due, and the
        // request was never expired: the held session waited for ever (seen once in CI).
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMillis(200), 1,
                new ApprovalSettings.Store.FileStore(dir), List.of(), Duration.ofMinutes(10));
        service = new ApprovalService(settings, new FileApprovalStore(dir), audit, ApprovalNotifier.NONE,
                new SlowClock());
        service.start();
        ApprovalRequest request = update(service, ALICE);

        Outcome outcome = service.request(request).get(10, TimeUnit.SECONDS);

        assertEquals(new Outcome.Expired(request.id(), Duration.ofMillis(200)), outcome);
    }

    @Test
    void aWithdrawnRequestReleasesTheSessionAndCannotBeApprovedAfterwards() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);

        assertTrue(service.withdraw(request.id()));

        assertEquals(new Outcome.Withdrawn(request.id()), held.get(1, TimeUnit.SECONDS));
        assertFalse(service.withdraw(request.id()));
        assertEquals(ApprovalException.Kind.CONFLICT,
                assertThrows(ApprovalException.class, () -> service.approve(request.id(), BOB, "")).kind());
        assertEquals(List.of("approval.requested by alice@example.com", "approval.withdrawn by alice@example.com"),
                audit.trail(request.id()));
    }

    @Test
    void unknownAndMalformedIdsAreNotFound() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        assertEquals(ApprovalException.Kind.NOT_FOUND, assertThrows(ApprovalException.class,
                () -> service.approve("apr_aaaaaaaaaaaa", BOB, "")).kind());
        assertEquals(ApprovalException.Kind.NOT_FOUND, assertThrows(ApprovalException.class,
                () -> service.approve("../../etc/passwd", BOB, "")).kind());
        assertEquals(Optional.empty(), service.get("../x"));
    }

    @Test
    void pendingRequestsSurviveARestartOnTheFileStore() throws Exception {
        ApprovalService first = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(first, ALICE);
        CompletableFuture<Outcome> held = first.request(request);
        first.close();
        assertEquals(new Outcome.Withdrawn(request.id()), held.get(1, TimeUnit.SECONDS));

        service = service(Duration.ofMinutes(1), 1);
        ApprovalRecord loaded = service.get(request.id()).orElseThrow();
        assertEquals(ApprovalRecord.Status.PENDING, loaded.status());
        assertEquals(request, loaded.request());
        assertEquals(List.of(request.id()), service.list().stream().map(ApprovalRecord::id).toList());

        assertEquals(ApprovalRecord.Status.APPROVED, service.approve(request.id(), BOB, "after restart").status());
        assertEquals(ApprovalRecord.Status.APPROVED, service.get(request.id()).orElseThrow().status());
    }

    @Test
    void aRestartExpiresRequestsWhoseTimeRanOutWhileWardenWasDown() throws Exception {
        ApprovalService first = service(Duration.ofMillis(200), 1);
        ApprovalRequest request = update(first, ALICE);
        first.submit(request);
        first.close();
        Thread.sleep(300);

        service = service(Duration.ofMillis(200), 1);

        long deadline = System.currentTimeMillis() + 2000;
        while (service.get(request.id()).orElseThrow().status() == ApprovalRecord.Status.PENDING
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(ApprovalRecord.Status.EXPIRED, service.get(request.id()).orElseThrow().status());
    }

    @Test
    void inRetryModeTheApprovedIdenticalStatementRunsOnceForTheSameIdentity() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, ALICE);
        service.submit(request);
        assertEquals(Optional.empty(), service.consumeApproved(ALICE, "prod", "fp-update-billing", UPDATE));
        service.approve(request.id(), BOB, "go");

        assertEquals(Optional.empty(), service.consumeApproved(MALLORY, "prod", "fp-update-billing", UPDATE));
        assertEquals(Optional.empty(), service.consumeApproved(ALICE, "prod", "fp-update-billing",
                UPDATE.replace("42", "43")));
        Optional<ApprovalRecord> used = service.consumeApproved(ALICE, "prod", "fp-update-billing", UPDATE);
        assertTrue(used.isPresent());
        assertEquals(request.id(), used.get().id());
        assertEquals(Optional.empty(), service.consumeApproved(ALICE, "prod", "fp-update-billing", UPDATE));
    }

    private ApprovalService serviceWithGrants(int required) throws Exception {
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(1), required,
                new ApprovalSettings.Store.FileStore(dir), List.of(), Duration.ofMinutes(10), false, 3,
                Duration.ofMinutes(10));
        ApprovalService s = new ApprovalService(settings, new FileApprovalStore(dir), audit, ApprovalNotifier.NONE,
                Clock.systemUTC());
        s.start();
        return s;
    }

    @Test
    void approvingAHeldStatementCountsItAsTheGrantsFirstUse() throws Exception {
        service = serviceWithGrants(1);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);
        ApprovalRecord approved = service.approve(request.id(), BOB, "go", new Grant(2, Optional.empty()));
        assertTrue(held.get(1, TimeUnit.SECONDS) instanceof Outcome.Approved);
        assertEquals(1, approved.used());
        assertEquals(new Grant(2, Optional.of(Duration.ofMinutes(10))), approved.grant(),
                "a grant of uses lasts the policy's max_grant_window");

        assertEquals(Optional.empty(), service.useGrant(MALLORY, "prod", "fp-update-billing", UPDATE, "s2"));
        assertEquals(Optional.empty(), service.useGrant(ALICE, "dev", "fp-update-billing", UPDATE, "s2"));
        assertEquals(2, service.useGrant(ALICE, "prod", "fp-update-billing", UPDATE, "s2").orElseThrow().used());
        assertEquals(Optional.empty(), service.useGrant(ALICE, "prod", "fp-update-billing", UPDATE, "s2"),
                "spent");
        var used = audit.approvalEvents().stream().filter(e -> e.type().equals("approval.used")).toList();
        assertEquals(1, used.size());
        assertEquals("s2", used.get(0).session());
    }

    @Test
    void withoutAGrantAHeldApprovalIsNeverUsedAgain() throws Exception {
        service = serviceWithGrants(1);
        ApprovalRequest request = update(service, ALICE);
        CompletableFuture<Outcome> held = service.request(request);
        service.approve(request.id(), BOB, "go");
        assertTrue(held.get(1, TimeUnit.SECONDS) instanceof Outcome.Approved);
        assertEquals(Optional.empty(), service.useGrant(ALICE, "prod", "fp-update-billing", UPDATE, "s2"));
        assertEquals(Optional.empty(), service.consumeApproved(ALICE, "prod", "fp-update-billing", UPDATE),
                "nor by retry mode");
    }

    @Test
    void withTwoRequiredApprovalsTheNarrowestGrantApplies() throws Exception {
        service = serviceWithGrants(2);
        ApprovalRequest request = update(service, ALICE);
        service.request(request);
        service.approve(request.id(), BOB, "ok", new Grant(3, Optional.of(Duration.ofMinutes(5))));
        ApprovalRecord done = service.approve(request.id(), CAROL, "ok", new Grant(0,
                Optional.of(Duration.ofMinutes(2))));
        assertEquals(new Grant(3, Optional.of(Duration.ofMinutes(2))), done.grant());
        assertEquals(done.decidedAt().orElseThrow().plus(Duration.ofMinutes(2)), done.grantUntil().orElseThrow());
    }

    @Test
    void grantsBeyondThePolicyAreRefusedAndApproveNothing() throws Exception {
        service = serviceWithGrants(1);
        ApprovalRequest request = update(service, ALICE);
        service.request(request);
        ApprovalException uses = assertThrows(ApprovalException.class, () -> service.approve(request.id(), BOB, "",
                new Grant(4, Optional.empty())));
        assertEquals(ApprovalException.Kind.FORBIDDEN, uses.kind());
        ApprovalException window = assertThrows(ApprovalException.class, () -> service.approve(request.id(), BOB,
                "", new Grant(0, Optional.of(Duration.ofMinutes(11)))));
        assertTrue(window.getMessage().contains("at most 10m (approvals.max_grant_window)"), window.getMessage());
        assertEquals(ApprovalRecord.Status.PENDING, service.get(request.id()).orElseThrow().status());
    }

    @Test
    void aRecordWrittenBeforeGrantsReadsAsOneExecution() throws Exception {
        service = serviceWithGrants(1);
        ApprovalRequest request = update(service, ALICE);
        service.submit(request);
        ApprovalRecord approved = service.approve(request.id(), BOB, "go");
        var json = ApprovalJson.toJson(approved.consumed(approved.decidedAt().orElseThrow()));
        for (String field : List.of("grant_uses", "grant_window", "grant_until", "used", "held")) {
            json.remove(field);
        }
        json.withArray("approvals").forEach(v -> ((com.fasterxml.jackson.databind.node.ObjectNode) v)
                .remove(List.of("grant_uses", "grant_window")));
        ApprovalRecord old = ApprovalJson.read(json.toString());
        assertEquals(Grant.ONCE, old.grant());
        assertEquals(1, old.used());
        assertEquals(approved.consumed(approved.decidedAt().orElseThrow()).used(), old.used());
        ApprovalRecord roundTrip = ApprovalJson.read(ApprovalJson.write(approved));
        assertEquals(approved, roundTrip);
    }

    @Test
    void visibilityIsLimitedToTheRequesterAndTheApprovers() throws Exception {
        service = service(Duration.ofMinutes(1), 1);
        ApprovalRequest request = update(service, ALICE);
        service.submit(request);
        assertEquals(1, service.list(ALICE).size());
        assertEquals(1, service.list(BOB).size());
        assertEquals(0, service.list(MALLORY).size());
    }

    @Test
    void theNoticeTellsTheClientWhoMayApproveAndForHowLong() throws Exception {
        service = service(Duration.ofMinutes(15), 1);
        ApprovalRequest request = update(service, ALICE);
        assertEquals("Warden is holding this statement for approval (rule \"prod-writes-reviewed\"): request "
                + request.id() + " must be approved by a member of dba within 15m. Approvers run: warden approvals "
                + "approve " + request.id(), service.noticeFor(request));
    }

    @Test
    void theReasonComesFromALeadingCommentOrSetWardenReason() {
        assertEquals(Optional.of("fix ticket 42"), ApprovalRequest.reasonFrom("/* reason: fix ticket 42 */ UPDATE t SET a = 1"));
        assertEquals(Optional.of("hotfix"), ApprovalRequest.reasonFrom("  -- Reason: hotfix\nDELETE FROM t WHERE id = 1"));
        assertEquals(Optional.empty(), ApprovalRequest.reasonFrom("UPDATE t SET a = 1 /* reason: late */"));
        assertEquals(Optional.empty(), ApprovalRequest.reasonFrom("/* just a comment */ UPDATE t SET a = 1"));
        assertEquals(Optional.of("it's urgent"), ApprovalRequest.reasonFromSet("SET warden.reason = 'it''s urgent'"));
        assertEquals(Optional.of("migrate"), ApprovalRequest.reasonFromSet("set session warden.reason to 'migrate';"));
        assertEquals(Optional.empty(), ApprovalRequest.reasonFromSet("SET search_path = 'x'"));
    }

    @Test
    void durationsAreWrittenTheWayThePolicyWritesThem() {
        assertEquals("15m", ApprovalService.human(Duration.ofMinutes(15)));
        assertEquals("1h30m", ApprovalService.human(Duration.ofMinutes(90)));
        assertEquals("200ms", ApprovalService.human(Duration.ofMillis(200)));
        assertEquals("45s", ApprovalService.human(Duration.ofSeconds(45)));
    }
}
