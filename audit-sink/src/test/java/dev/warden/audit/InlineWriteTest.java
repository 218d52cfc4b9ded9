package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.AuditSinkConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code durability: write} with the file sink alone: {@link AuditLog#wake} writes the queued records on the
 * caller's thread (an event loop), except where that could block it. Which thread completed a record's future
 * says who wrote it: a callback registered before the write runs on the writing thread.
 */
class InlineWriteTest {

    @TempDir
    Path tmp;

    /**
     * Each pass's records are written inside its {@code wake()}, in order. The writer looks at the queue once per
     * {@link AuditLog#LOST_WAKE_BOUND} on its own, but leaves a record there for its caller's wake until it has
     * waited that long (then it counts a late wake): only a pass slower than that is not written inline.
     */
    @Test
    void wakeWritesTheQueuedRecordsOnTheCallersThreadInOrder() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 1 << 20, 1000, Duration.ofSeconds(10)))) {
            settle(log);
            long inlineBefore = log.stats().inlineBatches();
            long lateBefore = log.stats().lateWakes();
            int passes = 20;
            int inlinePasses = 0;
            for (int pass = 0; pass < passes; pass++) {
                List<CompletableFuture<Long>> appended = new ArrayList<>();
                InWake wake = new InWake(log);
                for (int i = 0; i < 10; i++) {
                    appended.add(wake.track(log.appendDeferred(
                            Fixtures.query("s" + i, "alice@example.com", "prod", "SELECT " + pass))));
                }
                wake.run();
                long previous = -1;
                for (CompletableFuture<Long> f : appended) {
                    long seq = f.get(10, TimeUnit.SECONDS);
                    assertTrue(seq > previous, "seqs follow the order of the appends");
                    previous = seq;
                }
                if (wake.inline.size() == appended.size()) {
                    inlinePasses++;
                }
                Fixtures.assertInFile(logDir, previous);
            }
            long late = log.stats().lateWakes() - lateBefore;
            assertTrue(inlinePasses >= passes - late && inlinePasses >= passes / 2,
                    inlinePasses + " of " + passes + " passes written inside wake(), late wakes " + late);
            assertTrue(log.stats().inlineBatches() - inlineBefore >= inlinePasses, "a batch per pass");
        }
        assertEquals(0, Fixtures.verified(logDir, keyFile).unsignedTail());
    }

    /** Calls {@code wake()} and notes which tracked records were completed inside it, on this thread. */
    private static final class InWake {
        private final AuditLog log;
        private final Thread caller = Thread.currentThread();
        private volatile boolean waking;
        final java.util.Set<Long> inline = ConcurrentHashMap.newKeySet();

        InWake(AuditLog log) {
            this.log = log;
        }

        CompletableFuture<Long> track(CompletableFuture<Long> appended) {
            // Completed before this registers (the writer took it on its own): the callback runs here, not waking.
            appended.thenAccept(seq -> {
                if (waking && Thread.currentThread() == caller) {
                    inline.add(seq);
                }
            });
            return appended;
        }

        void run() {
            waking = true;
            try {
                log.wake();
            } finally {
                waking = false;
            }
        }
    }

    /**
     * A record its caller has not woken the log for yet (an event loop still in its pass) is left to that wake by
     * the writer, even when the writer's own periodic look at the queue finds it: no late wake, written inline.
     */
    @Test
    void theWriterLeavesAYoungRecordToItsCallersWake() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 1 << 20, 1000, Duration.ofSeconds(10)))) {
            settle(log);
            long lateBefore = log.stats().lateWakes();
            int trials = 20;
            int inline = 0;
            for (int i = 0; i < trials; i++) {
                InWake wake = new InWake(log);
                CompletableFuture<Long> f = wake.track(log.appendDeferred(
                        Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)));
                // A fifth of the writer's 50 ms look-ups fall into this pause.
                Thread.sleep(10);
                wake.run();
                f.get(10, TimeUnit.SECONDS);
                inline += wake.inline.size();
            }
            long late = log.stats().lateWakes() - lateBefore;
            // Only a pause stretched past the bound (a stalled machine) lets the writer take one.
            assertTrue(late <= 1 && inline >= trials - 1, inline + " of " + trials + " written inline, late " + late);
        }
    }

    /** The writer had nothing to wait for before the inline write; it still fsyncs within the interval. */
    @Test
    void inlineWritesAreFsyncdWithinTheSyncInterval() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        Duration interval = Duration.ofMillis(100);
        int inlineRounds = 0;
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 1 << 20, 1000, interval))) {
            settle(log);
            awaitFsyncs(log, 1);
            Thread.sleep(3 * interval.toMillis());
            for (int round = 0; round < 3; round++) {
                long fsyncsBefore = log.stats().fsyncs();
                long inlineBefore = log.stats().inlineBatches();
                InWake wake = new InWake(log);
                CompletableFuture<Long> f = wake.track(log.appendDeferred(
                        Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + round)));
                wake.run();
                f.get(10, TimeUnit.SECONDS);
                if (wake.inline.isEmpty()) {
                    // The writer took it (a slow machine: the record waited its bound): no inline write to test.
                    continue;
                }
                inlineRounds++;
                assertEquals(inlineBefore + 1, log.stats().inlineBatches());
                awaitFsyncs(log, fsyncsBefore + 1);
                assertNotEquals(fsyncsBefore, log.stats().fsyncs(), "round " + round + ": fsync'd without more appends");
                // Settled again (synced, the writer waiting with no deadline) before the next round.
                Thread.sleep(3 * interval.toMillis());
            }
        }
        assertTrue(inlineRounds > 0, "at least one round was written inline");
    }

    /** Waits up to 10 s for the log's fsync count to reach {@code count}. */
    private static void awaitFsyncs(AuditLog log, long count) throws InterruptedException {
        long start = System.nanoTime();
        while (log.stats().fsyncs() < count && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
            Thread.sleep(5);
        }
    }

    /**
     * A batch that would open a new file (an fsync, a create, a directory fsync) is left to the writer, and the
     * files keep to their size: inline writes stop short of it.
     */
    @Test
    void theWriterOpensEveryNewFile() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        java.util.Set<Long> inline = ConcurrentHashMap.newKeySet();
        java.util.Set<Long> all = ConcurrentHashMap.newKeySet();
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 64 * 1024, 1_000_000, Duration.ofSeconds(10)))) {
            settle(log);
            for (int pass = 0; pass < 300; pass++) {
                List<CompletableFuture<Long>> appended = new ArrayList<>();
                InWake wake = new InWake(log);
                for (int i = 0; i < 5; i++) {
                    appended.add(wake.track(log.appendDeferred(Fixtures.query("s" + i, "alice@example.com",
                            "prod", "SELECT '" + "x".repeat(200) + "', " + pass))));
                }
                wake.run();
                for (CompletableFuture<Long> f : appended) {
                    all.add(f.get(10, TimeUnit.SECONDS));
                }
                inline.addAll(wake.inline);
            }
            assertTrue(log.stats().inlineBatches() > 100, "most passes were written inline: " + log.stats());
        }
        List<LogFiles.LogFile> files = LogFiles.list(logDir);
        assertTrue(files.size() >= 4, "rotated: " + files.size() + " files");
        for (LogFiles.LogFile file : files) {
            // The writer itself ends a file one record past the size at most.
            assertTrue(Files.size(file.path()) <= 65 * 1024, file.name() + " is " + Files.size(file.path()) + " bytes");
        }
        // The first file was opened for the warm-up record, before any inline write.
        for (int i = 1; i < files.size(); i++) {
            long from = files.get(i).firstSeq();
            long to = i + 1 < files.size() ? files.get(i + 1).firstSeq() : Long.MAX_VALUE;
            long first = all.stream().filter(seq -> seq >= from && seq < to).min(Long::compare).orElseThrow();
            assertFalse(inline.contains(first), "the first record of " + files.get(i).name() + " (seq " + first
                    + ") was written by the writer thread, not inline");
        }
        assertEquals(0, Fixtures.verified(logDir, keyFile).unsignedTail());
    }

    /**
     * Several appending threads, each waking the log after its own records, against a writer that fsyncs every
     * millisecond (inline writes stand aside meanwhile) and frequent checkpoints: one chain, in each session's
     * order, nothing late.
     */
    @Test
    void concurrentInlineWritersKeepOneChainInEachSessionsOrder() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        int threads = 4;
        int perThread = 400;
        AuditLog.Stats stats;
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 256 * 1024, 50, Duration.ofMillis(1)))) {
            Fixtures.concurrently(threads, session -> {
                long previous = -1;
                for (int i = 0; i < perThread; i++) {
                    CompletableFuture<Long> query = log.appendDeferred(
                            Fixtures.query(session, "alice@example.com", "prod", "SELECT " + i));
                    log.wake();
                    long q = query.get(10, TimeUnit.SECONDS);
                    assertTrue(q > previous, session + ": query " + i + " after its previous result");
                    CompletableFuture<Long> result = log.appendUnhurried(Fixtures.result(session, q, 1));
                    if (i % 4 == 0) {
                        log.wake();
                    }
                    // The next query is appended before this result is written, unless woken: the chain keeps order.
                    previous = i % 4 == 0 ? result.get(10, TimeUnit.SECONDS) : q;
                }
                log.wake();
            });
            stats = log.stats();
            assertTrue(log.healthy());
        }
        assertTrue(stats.inlineBatches() > 0, stats.toString());
        assertTrue(stats.fsyncs() > 10, "the writer fsync'd meanwhile: " + stats);
        assertEquals(0, stats.lateWakes(), stats.toString());
        VerifyReport report = Fixtures.verified(logDir, keyFile);
        assertEquals(0, report.unsignedTail());
        assertEquals(2L * threads * perThread, assertSessionOrder(logDir, threads), report.summary());
    }

    /** A thread with its interrupt flag set would close the FileChannel it writes to: it leaves the write alone. */
    @Test
    void anInterruptedCallerLeavesTheWriteToTheWriter() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        try (AuditLog log = AuditLog.open(settings(logDir, keyFile, 1 << 20, 1000, Duration.ofSeconds(10)))) {
            settle(log);
            long inlineBefore = log.stats().inlineBatches();
            for (int i = 0; i < 5; i++) {
                CompletableFuture<Long> f = log.appendDeferred(
                        Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i));
                Thread.currentThread().interrupt();
                try {
                    log.wake();
                } finally {
                    assertTrue(Thread.interrupted(), "wake() left the caller's interrupt flag alone");
                }
                Fixtures.assertInFile(logDir, f.get(10, TimeUnit.SECONDS));
            }
            assertEquals(inlineBefore, log.stats().inlineBatches(), "nothing written inline");
            assertTrue(log.healthy());
            assertEquals(0, log.stats().failures());
        }
        assertEquals(0, Fixtures.verified(logDir, keyFile).unsignedTail());
    }

    /**
     * Appending threads that keep waking the log while it closes: every record either fails as closed or is
     * written before the final checkpoint; the log ends signed (a write after the final checkpoint would leave an
     * unsigned tail) and verifies. Whether a wake meets the close in the act depends on timing.
     */
    @Test
    void wakesRacingCloseNeverWriteAfterTheFinalCheckpoint() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        java.util.Set<Long> written = ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger closedFailures = new java.util.concurrent.atomic.AtomicInteger();
        AuditLog log = AuditLog.open(settings(logDir, keyFile, 1 << 20, 100, Duration.ofMillis(20)));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                String session = "s" + t;
                running.add(pool.submit(() -> {
                    for (int i = 0; ; i++) {
                        CompletableFuture<Long> f = log.appendDeferred(
                                Fixtures.query(session, "alice@example.com", "prod", "SELECT " + i));
                        log.wake();
                        try {
                            written.add(f.get(10, TimeUnit.SECONDS));
                        } catch (java.util.concurrent.ExecutionException e) {
                            assertTrue(e.getCause() instanceof AuditUnavailableException, e.toString());
                            closedFailures.incrementAndGet();
                            return null;
                        }
                    }
                }));
            }
            Thread.sleep(300);
            log.close();
            for (java.util.concurrent.Future<?> r : running) {
                r.get(20, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(3, closedFailures.get(), "each thread ends on a closed log");
        VerifyReport report = Fixtures.verified(logDir, keyFile);
        assertEquals(0, report.unsignedTail(), report.summary());
        assertTrue(report.lastSeq() >= written.stream().max(Long::compare).orElse(0L), report.summary());
    }

    @Test
    void fsyncModeNeverWritesOnTheCallersThread() throws Exception {
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        AuditSettings fsync = new AuditSettings(List.of(new AuditSinkConfig.FileSink(logDir, 1 << 20,
                Duration.ZERO)), Optional.of(keyFile), true, 1000, Duration.ZERO, Duration.ZERO, true);
        try (AuditLog log = AuditLog.open(fsync)) {
            settle(log);
            long fsyncsBefore = log.stats().fsyncs();
            for (int i = 0; i < 20; i++) {
                CompletableFuture<Long> f = log.appendDeferred(
                        Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i));
                log.wake();
                f.get(10, TimeUnit.SECONDS);
            }
            assertEquals(0, log.stats().inlineBatches(), "fsync mode: the writer thread writes and fsyncs");
            assertTrue(log.stats().fsyncs() - fsyncsBefore >= 20, "an fsync per record: " + log.stats());
        }
    }

    /**
     * In each session, the queries appear in the order the session appended them, each result after its query;
     * returns how many query and result records the sessions have.
     */
    private static long assertSessionOrder(Path logDir, int threads) throws java.io.IOException {
        Map<String, Integer> nextQuery = new java.util.HashMap<>();
        Map<String, Integer> results = new java.util.HashMap<>();
        long count = 0;
        for (LogFiles.LogFile file : LogFiles.list(logDir)) {
            for (String line : Files.readAllLines(file.path(), StandardCharsets.UTF_8)) {
                for (int t = 0; t < threads; t++) {
                    String session = "s" + t;
                    if (!line.contains("\"session\":\"" + session + "\"")) {
                        continue;
                    }
                    if (line.contains("\"type\":\"query\"")) {
                        int expected = nextQuery.merge(session, 1, Integer::sum) - 1;
                        assertTrue(line.contains("SELECT " + expected + "\""), session + " query " + expected
                                + " comes next, found: " + line);
                        count++;
                    } else if (line.contains("\"type\":\"result\"")) {
                        int made = results.merge(session, 1, Integer::sum);
                        assertTrue(made <= nextQuery.getOrDefault(session, 0), session + " result " + made
                                + " after its query");
                        count++;
                    }
                }
            }
        }
        assertEquals(threads, nextQuery.size());
        return count;
    }

    /** Waits until the writer is idle: its start-up work done, parked with nothing due. */
    private static void settle(AuditLog log) throws Exception {
        log.append(Fixtures.query("warm-up", "alice@example.com", "prod", "SELECT 0")).get(10, TimeUnit.SECONDS);
        Thread.sleep(3 * AuditLog.LOST_WAKE_BOUND.toMillis());
    }

    /** Write mode, the file sink alone, no group commit and no interval checkpoints. */
    private static AuditSettings settings(Path logDir, Path keyFile, long rotateBytes, int checkpointEvery,
                                          Duration syncInterval) {
        return new AuditSettings(List.of(new AuditSinkConfig.FileSink(logDir, rotateBytes, Duration.ZERO)),
                Optional.of(keyFile), true, checkpointEvery, Duration.ZERO, Duration.ZERO, true)
                .withDurability(AuditSettings.Durability.WRITE, syncInterval);
    }
}
