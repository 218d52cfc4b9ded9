package dev.warden.proxy.approvals;

import static dev.warden.proxy.approvals.People.ALICE;
import static dev.warden.proxy.approvals.People.BOB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.ApprovalSettings;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PostgresApprovalStoreTest {

    private static TestPostgres pg;

    @BeforeAll
    static void startPostgres() {
        pg = TestPostgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        pg.close();
    }

    private static Secret url(String database) {
        return Secret.of(pg.jdbcUrl(database) + "&user=" + pg.superuser() + "&password=" + pg.superuserPassword());
    }

    private static ApprovalService instance(String database, RecordingAuditLog audit, Duration timeout)
            throws Exception {
        ApprovalSettings settings = new ApprovalSettings(timeout, 1,
                new ApprovalSettings.Store.PostgresStore(url(database), "warden_approvals"), List.of(),
                Duration.ofMinutes(10));
        ApprovalService s = new ApprovalService(settings, ApprovalStore.open(settings.store()), audit,
                ApprovalNotifier.NONE, Clock.systemUTC());
        s.start();
        return s;
    }

    private static ApprovalRequest update(ApprovalService s) {
        return s.newRequest(ALICE, "prod", "UPDATE billing SET plan = 'pro' WHERE id = 42", "fp", "prod-writes",
                Set.of("dba"), "", "session-on-a");
    }

    @Test
    void aStatementHeldOnOneInstanceIsReleasedByAnApprovalOnAnother() throws Exception {
        String db = pg.createDatabase("approvals");
        RecordingAuditLog auditA = new RecordingAuditLog();
        RecordingAuditLog auditB = new RecordingAuditLog();
        try (ApprovalService a = instance(db, auditA, Duration.ofMinutes(1));
             ApprovalService b = instance(db, auditB, Duration.ofMinutes(1))) {
            ApprovalRequest request = update(a);
            CompletableFuture<Outcome> held = a.request(request);
            assertEquals(List.of(request.id()), b.list().stream().map(ApprovalRecord::id).toList());

            long start = System.nanoTime();
            b.approve(request.id(), BOB, "approved from b");

            Outcome outcome = held.get(3, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(new Outcome.Approved(request.id(), "bob@example.com", "approved from b"), outcome);
            assertTrue(ms < 1500, "released after " + ms + " ms");
            assertEquals(List.of("approval.requested by alice@example.com"), auditA.trail(request.id()));
            assertEquals(List.of("approval.approved by bob@example.com"), auditB.trail(request.id()));
        }
    }

    @Test
    void aDenialOnAnotherInstanceReachesTheHeldStatementWithItsComment() throws Exception {
        String db = pg.createDatabase("approvals");
        try (ApprovalService a = instance(db, new RecordingAuditLog(), Duration.ofMinutes(1));
             ApprovalService b = instance(db, new RecordingAuditLog(), Duration.ofMinutes(1))) {
            ApprovalRequest request = update(a);
            CompletableFuture<Outcome> held = a.request(request);
            b.deny(request.id(), BOB, "use the maintenance window");
            assertEquals(new Outcome.Denied(request.id(), "bob@example.com", "use the maintenance window"),
                    held.get(3, TimeUnit.SECONDS));
        }
    }

    /**
     * Every call holds the store's one connection: one that stops answering (its backend stopped) must be given up
     * after the socket timeout, and the next call must open another. Before, the call waited for good, and with it
     * every thread that files, decides or expires a request.
     */
    @Test
    void aConnectionThatStopsAnsweringIsGivenUpAndTheNextCallReconnects() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(pg.embedded(), "stops a backend of a server run here");
        String db = pg.createDatabase("approvals");
        try (PostgresApprovalStore store = new PostgresApprovalStore(url(db), "warden_approvals", 2);
             Connection c = pg.connect(db); Statement s = c.createStatement()) {
            assertTrue(store.load("apr_nonenonenone").isEmpty());
            try (dev.warden.testkit.StoppedBackend stopped = dev.warden.testkit.StoppedBackend.of(s,
                    "warden-approvals")) {
                CompletableFuture<Object> read = CompletableFuture.supplyAsync(() -> {
                    try {
                        return store.load("apr_nonenonenone");
                    } catch (java.io.IOException e) {
                        return e;
                    }
                });
                Object answer = read.get(15, TimeUnit.SECONDS);
                assertTrue(answer instanceof java.io.IOException, String.valueOf(answer));
            }
            assertTrue(store.load("apr_nonenonenone").isEmpty(), "read again on a new connection");
        }
    }

    @Test
    void onlyOneOfTwoConcurrentDecisionsWins() throws Exception {
        String db = pg.createDatabase("approvals");
        try (PostgresApprovalStore one = new PostgresApprovalStore(url(db), "warden_approvals");
             PostgresApprovalStore two = new PostgresApprovalStore(url(db), "warden_approvals")) {
            ApprovalService maker = instance(db, new RecordingAuditLog(), Duration.ofMinutes(1));
            ApprovalRecord pending = ApprovalRecord.pending(update(maker), 1, true);
            maker.close();
            assertTrue(one.create(pending, 20, java.time.Instant.now()));
            ApprovalRecord approved = pending.withVote(new ApprovalRecord.Vote("bob@example.com", "bob@example.com",
                    People.ISSUER, java.time.Instant.now(), ""));
            ApprovalRecord denied = pending.decided(ApprovalRecord.Status.DENIED, "carol@example.com", "no",
                    java.time.Instant.now());

            assertTrue(one.update(approved));
            assertFalse(two.update(denied));
            assertEquals(ApprovalRecord.Status.APPROVED, two.load(pending.id()).orElseThrow().status());
        }
    }

    @Test
    void pendingRequestsSurviveARestartAndTheTableHoldsOneRowPerRequest() throws Exception {
        String db = pg.createDatabase("approvals");
        ApprovalRequest request;
        try (ApprovalService a = instance(db, new RecordingAuditLog(), Duration.ofMinutes(1))) {
            request = update(a);
            a.submit(request);
        }
        try (ApprovalService again = instance(db, new RecordingAuditLog(), Duration.ofMinutes(1))) {
            assertEquals(request, again.get(request.id()).orElseThrow().request());
            again.approve(request.id(), BOB, "");
        }
        try (Connection c = pg.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id, status, version FROM warden_approvals")) {
            assertTrue(rs.next());
            assertEquals(request.id(), rs.getString(1));
            assertEquals("APPROVED", rs.getString(2));
            assertEquals(2, rs.getLong(3));
            assertFalse(rs.next());
        }
    }
}
