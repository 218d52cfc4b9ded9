package dev.warden.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The statement texts an {@code enforcement.mismatch} record names, kept with their query record's future: what
 * the maps keyed by seq gave before (running ones, the last finished ones, bounded), with the seq read when asked.
 * End to end the mismatch record's statement is checked by {@code TripwireThroughWardenTest}.
 */
class RecentStatementsTest {

    @Test
    void aStatementIsFoundByItsSeqOnceItsRecordIsWritten() {
        RecentStatements recent = new RecentStatements();
        CompletableFuture<Long> record = new CompletableFuture<>();
        recent.running(record, "DELETE FROM accounts");
        assertEquals("", recent.text(7), "no seq yet: nothing to find");
        record.complete(7L);
        assertEquals("DELETE FROM accounts", recent.text(7));
        assertEquals("", recent.text(8));
    }

    @Test
    void finishedStatementsStayForTheLastSixteenResults() {
        RecentStatements recent = new RecentStatements();
        for (long seq = 1; seq <= 40; seq++) {
            recent.running(CompletableFuture.completedFuture(seq), "SELECT " + seq);
            recent.finished(seq);
        }
        assertEquals("SELECT 40", recent.text(40));
        assertEquals("SELECT 25", recent.text(25));
        assertEquals("", recent.text(24), "the 17th finished before the last is gone");
    }

    @Test
    void runningStatementsAreBoundedOldestFirstWhenResultsNeverCome() {
        RecentStatements recent = new RecentStatements();
        int n = RecentStatements.RUNNING + 10;
        for (long seq = 1; seq <= n; seq++) {
            recent.running(CompletableFuture.completedFuture(seq), "SELECT " + seq);
        }
        assertEquals("", recent.text(10));
        assertEquals("SELECT 11", recent.text(11));
        assertEquals("SELECT " + n, recent.text(n));
    }

    /** The ring starts small and grows for a pipelining client: entries finished out of order leave gaps it keeps. */
    @Test
    void runningStatementsSurviveTheRingGrowingAroundGaps() {
        RecentStatements recent = new RecentStatements();
        for (long seq = 1; seq <= 300; seq++) {
            recent.running(CompletableFuture.completedFuture(seq), "SELECT " + seq);
            if (seq % 3 == 0) {
                recent.finished(seq - 1);
            }
        }
        for (long seq = 1; seq <= 300; seq++) {
            boolean finishedLongAgo = seq % 3 == 2 && seq < 254; // the last 16 finished are kept
            assertEquals(finishedLongAgo ? "" : "SELECT " + seq, recent.text(seq), "seq " + seq);
        }
    }

    @Test
    void aFailedRecordIsNeverFound() {
        RecentStatements recent = new RecentStatements();
        recent.running(CompletableFuture.failedFuture(new IllegalStateException("disk full")), "SELECT 1");
        recent.running(CompletableFuture.completedFuture(3L), "SELECT 3");
        recent.finished(-1);
        assertEquals("SELECT 3", recent.text(3));
        assertEquals("", recent.text(-1));
    }

    /** Records complete on the audit writer's thread while the session adds and finishes statements. */
    @Test
    void recordsCompletingOnAnotherThreadAreSeen() throws Exception {
        RecentStatements recent = new RecentStatements();
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            List<CompletableFuture<Long>> records = new ArrayList<>();
            for (long seq = 1; seq <= 500; seq++) {
                CompletableFuture<Long> record = new CompletableFuture<>();
                recent.running(record, "SELECT " + seq);
                long s = seq;
                writer.execute(() -> record.complete(s));
                records.add(record);
            }
            CompletableFuture.allOf(records.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            for (long seq = 1; seq <= 500; seq += 2) {
                recent.finished(seq);
            }
            assertEquals("SELECT 2", recent.text(2), "still running");
            assertEquals("SELECT 499", recent.text(499), "finished last");
            assertEquals("", recent.text(1), "finished long ago");
        } finally {
            writer.shutdownNow();
        }
    }
}
