package dev.warden.proxy.approvals;

import static dev.warden.proxy.approvals.People.ALICE;
import static dev.warden.proxy.approvals.People.BOB;
import static dev.warden.proxy.approvals.People.MALLORY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ApprovalSettings;
import dev.warden.config.Secret;
import dev.warden.identity.Identity;
import dev.warden.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacker pass 16: one requester's flood of pending requests (retry mode files one per distinct statement, at
 * once) pushed every approved grant out of the 200 records the grant search read, and filled approvers' lists.
 * Each case runs on the file store and on the PostgreSQL store.
 */
class ApprovalFloodTest {

    private static final String BUMP = "UPDATE billing SET amount = amount + 1 WHERE id = 2";
    private static final Identity SAM = People.person("sam@example.com", "secops");

    private static TestPostgres pg;

    @TempDir
    Path dir;

    private final RecordingAuditLog audit = new RecordingAuditLog();
    private final MovableClock clock = new MovableClock();
    private ApprovalService service;

    @BeforeAll
    static void startPostgres() {
        pg = TestPostgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        pg.close();
    }

    @AfterEach
    void close() {
        if (service != null) {
            service.close();
        }
    }

    private ApprovalService service(String store, int maxPending) throws Exception {
        ApprovalSettings.Store where = store.equals("file") ? new ApprovalSettings.Store.FileStore(dir)
                : new ApprovalSettings.Store.PostgresStore(Secret.of(pg.jdbcUrl(pg.createDatabase("approvals"))
                        + "&user=" + pg.superuser() + "&password=" + pg.superuserPassword()), "warden_approvals");
        ApprovalSettings settings = new ApprovalSettings(Duration.ofMinutes(5), 1, where, List.of(),
                Duration.ofMinutes(10), false, 3, Duration.ofMinutes(10), maxPending);
        service = new ApprovalService(settings, ApprovalStore.open(where), audit, ApprovalNotifier.NONE, clock);
        service.start();
        return service;
    }

    private static ApprovalRequest request(ApprovalService s, Identity who, String sql, Set<String> approvers) {
        return s.newRequest(who, "prod", sql, "fp-" + sql.hashCode(), "reviewed", approvers, "", "session-" + who.username());
    }

    /** Files {@code n} distinct retry-mode requests by {@code who}, as the flood did. */
    private static void flood(ApprovalService s, Identity who, int n, Set<String> approvers) throws Exception {
        for (int i = 0; i < n; i++) {
            s.submit(request(s, who, "UPDATE retry_t SET v = " + i + " WHERE id = 1", approvers));
        }
    }

    private static long mine(List<ApprovalRecord> list, Identity who) {
        return list.stream().filter(r -> r.request().requester().username().equals(who.username())).count();
    }

    /**
     * A helper's pass (a135 F3): a session filed and cancelled 1,500 requests in 44 s, never more than one pending,
     * and they pushed every decision off {@code approvals list}. A withdrawn request counts as pending for a minute.
     */
    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void withdrawnRequestsCountAsPendingForAMinute(String store) throws Exception {
        ApprovalService s = service(store, 3);
        for (int i = 0; i < 3; i++) {
            ApprovalRequest r = request(s, MALLORY, "UPDATE t SET v = " + i + " WHERE id = 1", Set.of("dba"));
            java.util.concurrent.CompletableFuture<Outcome> held = s.request(r);
            assertTrue(s.withdraw(r.id()));
            assertTrue(held.get(5, TimeUnit.SECONDS) instanceof Outcome.Withdrawn);
        }
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING,
                assertThrows(ApprovalException.class, () -> s.ensureRoomFor(MALLORY, "session-2")).kind());
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, assertThrows(ApprovalException.class,
                () -> s.submit(request(s, MALLORY, "UPDATE t SET v = 9 WHERE id = 1", Set.of("dba")))).kind());
        s.ensureRoomFor(ALICE, "session-3"); // another person is not held back
        clock.move(ApprovalService.WITHDRAWN_COUNTS_FOR.plusSeconds(1));
        s.ensureRoomFor(MALLORY, "session-2");
        s.submit(request(s, MALLORY, "UPDATE t SET v = 10 WHERE id = 1", Set.of("dba")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void eachPersonMayHaveOnlyTwentyRequestsPendingAndOnesFloodLeavesAnotherRoom(String store) throws Exception {
        ApprovalService s = service(store, 20);
        flood(s, MALLORY, 20, Set.of("dba"));

        ApprovalException refused = assertThrows(ApprovalException.class,
                () -> s.submit(request(s, MALLORY, "UPDATE retry_t SET v = 20 WHERE id = 1", Set.of("dba"))));
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, refused.kind());
        assertTrue(refused.getMessage().contains("mallory@example.com already has 20 approval requests waiting"),
                refused.getMessage());
        assertTrue(refused.getMessage().contains("approvals.max_pending_per_requester"), refused.getMessage());
        // The same person by another spelling of the name, or by the same subject under another name.
        Identity shouting = new Identity("other-subject", "MALLORY@Example.COM", Set.of("eng"), Identity.Kind.HUMAN,
                People.ISSUER, Instant.now().plusSeconds(3600));
        Identity renamed = new Identity(MALLORY.subject(), "m.allory@example.com", Set.of("eng"), Identity.Kind.HUMAN,
                People.ISSUER, Instant.now().plusSeconds(3600));
        for (Identity again : List.of(shouting, renamed)) {
            assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, assertThrows(ApprovalException.class,
                    () -> s.submit(request(s, again, "UPDATE retry_t SET v = 99 WHERE id = 1", Set.of("dba")))).kind());
        }
        // Hold mode is refused too, before and when filing.
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING,
                assertThrows(ApprovalException.class, () -> s.ensureRoomFor(MALLORY, "session-2")).kind());
        ExecutionException held = assertThrows(ExecutionException.class,
                () -> s.request(request(s, MALLORY, BUMP, Set.of("dba"))).get(5, TimeUnit.SECONDS));
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, ((ApprovalException) held.getCause()).kind());
        assertEquals(20, mine(s.list(BOB), MALLORY), "nothing more was stored");

        // A second requester's flood is bounded the same way, and the first one's used none of their room.
        s.ensureRoomFor(ALICE, "session-3");
        flood(s, ALICE, 20, Set.of("dba"));
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, assertThrows(ApprovalException.class,
                () -> s.submit(request(s, ALICE, BUMP, Set.of("dba")))).kind());
        assertEquals(40, s.list(BOB).size());

        // A decision makes room for one more.
        String oldest = s.list(MALLORY).get(19).id();
        s.deny(oldest, BOB, "no");
        s.submit(request(s, MALLORY, "UPDATE retry_t SET v = 20 WHERE id = 1", Set.of("dba")));
        assertEquals(ApprovalException.Kind.TOO_MANY_PENDING, assertThrows(ApprovalException.class,
                () -> s.submit(request(s, MALLORY, "UPDATE retry_t SET v = 21 WHERE id = 1", Set.of("dba")))).kind());
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void aRequestPastItsExpiryNoLongerCountsAgainstTheBoundEvenBeforeItIsMarkedExpired(String store)
            throws Exception {
        ApprovalService s = service(store, 3);
        flood(s, MALLORY, 3, Set.of("dba"));
        assertThrows(ApprovalException.class, () -> s.ensureRoomFor(MALLORY, "session-1"));

        // The instance that filed them may be gone (shared store): nobody marked them expired.
        clock.move(Duration.ofMinutes(6));
        s.ensureRoomFor(MALLORY, "session-1");
        flood(s, MALLORY, 3, Set.of("dba"));
        assertThrows(ApprovalException.class, () -> s.ensureRoomFor(MALLORY, "session-1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void aGrantAndAnApprovedRetryAreFoundUnderAFloodOfOtherRequests(String store) throws Exception {
        ApprovalService s = service(store, 1000);
        ApprovalRequest bump = request(s, ALICE, BUMP, Set.of("dba"));
        var held = s.request(bump);
        s.approve(bump.id(), BOB, "fine", new Grant(3, Optional.empty()));
        held.get(5, TimeUnit.SECONDS);
        String retried = "UPDATE retry_t SET v = 7 WHERE id = 3";
        ApprovalRequest retry = request(s, ALICE, retried, Set.of("dba"));
        s.submit(retry);
        s.approve(retry.id(), BOB, "");

        // 250 pending requests, newer than both approvals, some for the very same statements, and 30 decided ones.
        flood(s, MALLORY, 250, Set.of("dba"));
        for (int i = 0; i < 5; i++) {
            s.submit(request(s, MALLORY, BUMP, Set.of("dba")));
            s.submit(request(s, MALLORY, retried, Set.of("dba")));
        }
        for (ApprovalRecord r : s.list(MALLORY).subList(0, 30)) {
            s.deny(r.id(), BOB, "no");
        }

        Optional<ApprovalRecord> second = s.useGrant(ALICE, "prod", bump.fingerprint(), BUMP, "session-9");
        assertEquals(Optional.of(2), second.map(ApprovalRecord::used), "Alice's grant, use 2 of 3");
        assertEquals(Optional.of(retry.id()), s.consumeApproved(ALICE, "prod", retry.fingerprint(), retried)
                .map(ApprovalRecord::id), "Alice's approved retry");
        // Nobody else's: not Mallory's, though her requests are for the same statements.
        assertEquals(Optional.empty(), s.useGrant(MALLORY, "prod", bump.fingerprint(), BUMP, "session-9"));
        assertEquals(Optional.empty(), s.consumeApproved(MALLORY, "prod", retry.fingerprint(), retried));
        assertEquals(Optional.of(3), s.useGrant(ALICE, "prod", bump.fingerprint(), BUMP, "session-9")
                .map(ApprovalRecord::used));
        assertEquals(Optional.empty(), s.useGrant(ALICE, "prod", bump.fingerprint(), BUMP, "session-9"),
                "three uses in all");
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void anApproverSeesTheRequestsTheyMayDecideUnderAFloodOfOnesTheyMayNot(String store) throws Exception {
        ApprovalService s = service(store, 1000);
        ApprovalRequest alices = request(s, ALICE, BUMP, Set.of("dba"));
        s.submit(alices);
        flood(s, MALLORY, 250, Set.of("secops"));

        List<ApprovalRecord> bobs = s.list(BOB);
        assertEquals(List.of(alices.id()), bobs.stream().map(ApprovalRecord::id).toList());
        List<ApprovalRecord> sams = s.list(SAM);
        assertEquals(200, sams.size());
        assertEquals(200, mine(sams, MALLORY));
        assertEquals(List.of(alices.id()), s.list(ALICE).stream().map(ApprovalRecord::id).toList());
        assertFalse(s.list(MALLORY).stream().anyMatch(r -> r.id().equals(alices.id())));
        // Bob decides what he sees.
        s.approve(alices.id(), BOB, "");
        assertEquals(ApprovalRecord.Status.APPROVED, s.list(BOB).get(0).status());
    }

    /**
     * Ten people, each at their bound of 20, file 200 requests after Alice's one: the approver's list of 200 held
     * only theirs. Pending requests now take turns by requester, so Alice's is on the list, among the first eleven.
     */
    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void manyRequestersAtTheirBoundNoLongerHideAnotherRequestFromTheApproversList(String store) throws Exception {
        ApprovalService s = service(store, 20);
        ApprovalRequest alices = request(s, ALICE, BUMP, Set.of("dba"));
        s.submit(alices);
        for (int p = 0; p < 10; p++) {
            flood(s, People.person("flooder" + p + "@example.com", "eng"), 20, Set.of("dba"));
        }
        List<ApprovalRecord> bobs = s.list(BOB);
        assertEquals(200, bobs.size());
        List<String> ids = bobs.stream().map(ApprovalRecord::id).toList();
        assertTrue(ids.contains(alices.id()), "Alice's request is not on the approver's list");
        assertTrue(ids.indexOf(alices.id()) < 11, "Alice's request is not in the first turn: " + ids.indexOf(alices.id()));
        // The first turn holds one request of each of the eleven people; the same on every call.
        assertEquals(11, bobs.subList(0, 11).stream().map(r -> r.request().requester().username()).distinct().count());
        assertEquals(ids, s.list(BOB).stream().map(ApprovalRecord::id).toList());
    }

    /**
     * Every pending request can be reached: pages of 7, each naming the next, newest first. Requests filed while
     * paging are newer than the cursor (on a fresh first page, not repeated in later ones); requests decided while
     * paging drop out without moving any other; a cursor the caller may not see is as unknown as a missing one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"file", "postgres"})
    void everyPendingRequestIsReachedOncePageByPageWhileRequestsArriveAndAreDecided(String store) throws Exception {
        ApprovalService s = service(store, 1000);
        List<String> filed = new java.util.ArrayList<>();
        Set<String> mallorysFiled = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            for (Identity who : List.of(ALICE, MALLORY, SAM)) {
                ApprovalRequest r = request(s, who, "UPDATE retry_t SET v = " + i + " WHERE id = 2", Set.of("dba"));
                s.submit(r);
                filed.add(r.id());
                if (who == MALLORY) {
                    mallorysFiled.add(r.id());
                }
            }
        }
        List<String> seen = new java.util.ArrayList<>();
        List<String> decided = new java.util.ArrayList<>();
        List<String> arrived = new java.util.ArrayList<>();
        Optional<String> cursor = Optional.empty();
        int pages = 0;
        do {
            ApprovalService.Page page = s.pendingPage(BOB, Optional.empty(), cursor, 7);
            page.records().forEach(r -> seen.add(r.id()));
            assertTrue(page.records().size() == 7 || page.next().isEmpty(), "a short page names no next");
            cursor = page.next();
            // Between pages: a new request arrives, and one not yet listed is denied.
            ApprovalRequest late = request(s, ALICE, "UPDATE retry_t SET v = " + (100 + pages) + " WHERE id = 2",
                    Set.of("dba"));
            s.submit(late);
            arrived.add(late.id());
            String unlisted = filed.get(pages);
            if (!seen.contains(unlisted)) {
                s.deny(unlisted, BOB, "no");
                decided.add(unlisted);
            }
            pages++;
        } while (cursor.isPresent());
        assertEquals(seen.size(), new java.util.HashSet<>(seen).size(), "a request was listed twice");
        List<String> expected = new java.util.ArrayList<>(filed);
        expected.removeAll(decided);
        java.util.Collections.reverse(expected);
        assertEquals(expected, seen, "every request pending throughout, newest first, once");
        assertTrue(java.util.Collections.disjoint(seen, arrived), "a request filed while paging was on a later page");
        assertTrue(s.pendingPage(BOB, Optional.empty(), Optional.empty(), 200).records().stream()
                .map(ApprovalRecord::id).toList().containsAll(arrived), "new requests are on the first page");

        // One person's, named in any case; the filter and the cursor together.
        ApprovalService.Page mallorys = s.pendingPage(BOB, Optional.of("MALLORY@Example.com"), Optional.empty(), 5);
        assertEquals(5, mallorys.records().size());
        assertTrue(mallorys.records().stream().allMatch(r -> r.request().requester().equals(MALLORY)));
        ApprovalService.Page more = s.pendingPage(BOB, Optional.of("mallory@example.com"), mallorys.next(), 200);
        assertTrue(more.records().stream().allMatch(r -> r.request().requester().equals(MALLORY)));
        assertEquals(20 - decided.stream().filter(mallorysFiled::contains).count(),
                mallorys.records().size() + more.records().size());

        // A cursor Sam may not see (Mallory's request, dba's to decide) is unknown to him, as a missing one is.
        String mallorysId = mallorys.records().get(0).id();
        for (String unknown : List.of(mallorysId, "apr_000000000000")) {
            assertEquals(ApprovalException.Kind.NOT_FOUND, assertThrows(ApprovalException.class,
                    () -> s.pendingPage(SAM, Optional.empty(), Optional.of(unknown), 10)).kind(), unknown);
        }
    }

    /** The wall clock, moved on by the test. */
    private static final class MovableClock extends Clock {
        private volatile Duration offset = Duration.ZERO;

        void move(Duration by) {
            offset = offset.plus(by);
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }
}
