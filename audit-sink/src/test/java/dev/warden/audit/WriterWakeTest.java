package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The idle writer parks for at most {@link AuditLog#LOST_WAKE_BOUND} at a time, and takes a record queued during a
 * park that nothing cut short for a missed wake. An event loop's wake that lands just before the park's deadline
 * is not a missed wake, even when the scheduler runs the woken writer after the deadline.
 */
class WriterWakeTest {

    @TempDir
    Path tmp;

    /**
     * A record is appended and woken, as an event loop does at the end of its pass, at times spread around the
     * idle writer's deadline, while two threads keep both cores busy (so a woken writer runs late). No wake is
     * counted as missed.
     */
    @Test
    void aWakeJustBeforeTheIdleDeadlineIsNotTakenForAMissedOne() throws Exception {
        long seed = System.nanoTime();
        System.out.println("WriterWakeTest seed=" + seed);
        SplittableRandom random = new SplittableRandom(seed);
        // On tmpfs where there is one: every append here waits for an fsync, and on a disk an fsync now and then took
        // 30-50 ms (2 of 13 runs on ext4 failed so, 0 of 15 on tmpfs), which is the disk's latency, not a late wake.
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "warden-wake-")
                : tmp;
        Path logDir = base.resolve("audit");
        try {
            checkWakes(logDir, seed, random);
        } finally {
            if (base != tmp) {
                try (Stream<Path> files = Files.walk(base)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
        }
    }

    private static void checkWakes(Path logDir, long seed, SplittableRandom random) throws Exception {
        Path tmp = logDir.getParent();
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, Fixtures.writeKey(tmp), 1 << 20, 100_000))) {
            log.append(Fixtures.query("s0", "alice@example.com", "prod", "SELECT 0")).get(10, TimeUnit.SECONDS);
            long lateBefore = log.stats().lateWakes();
            long bound = AuditLog.LOST_WAKE_BOUND.toNanos();
            List<Long> slow = new ArrayList<>();
            Busy busy = new Busy(2);
            try {
                for (int i = 1; i <= 60; i++) {
                    // The writer parks as soon as it has written the last record: its deadline is about a bound
                    // from now. Land within 2 ms either side of it.
                    long parkedAround = System.nanoTime();
                    long at = parkedAround + bound - 2_000_000 + random.nextLong(4_000_000);
                    while (System.nanoTime() < at - 200_000) {
                        LockSupport.parkNanos(100_000);
                    }
                    while (System.nanoTime() < at) {
                        Thread.onSpinWait();
                    }
                    long appended = System.nanoTime();
                    CompletableFuture<Long> f = log.appendDeferred(
                            Fixtures.query("s" + i, "alice@example.com", "prod", "SELECT " + i));
                    log.wake();
                    f.get(10, TimeUnit.SECONDS);
                    long took = System.nanoTime() - appended;
                    if (took > bound / 2) {
                        slow.add(TimeUnit.NANOSECONDS.toMillis(took));
                    }
                }
            } finally {
                busy.stop();
            }
            // Only the missed wakes are asserted. A record that took long without one waited for something this
            // test does not control: CI ran it in a CPU-quota'd container, where the two busy threads spend the
            // quota and every thread then stops until the next period (one record took 51 ms so, with no missed
            // wake counted), or for an fsync on a disk when there is no tmpfs. The bug this guards against shows as
            // missed wakes: without the writer's unparked flag, 12 of 60 records were taken for missed ones.
            assertEquals(0, log.stats().lateWakes() - lateBefore, "wakes taken for missed ones (seed " + seed
                    + "); records that waited, ms: " + slow);
            System.out.println("WriterWakeTest records that took over " + bound / 2_000_000 + " ms: " + slow);
        }
    }

    /** Threads that keep the cores busy until stopped. */
    private static final class Busy {
        private volatile boolean stop;
        private final List<Thread> threads = new ArrayList<>();

        Busy(int n) {
            for (int i = 0; i < n; i++) {
                Thread t = new Thread(() -> {
                    long x = 0;
                    while (!stop) {
                        x += System.nanoTime() & 1;
                    }
                    if (x == 42) {
                        System.out.print("");
                    }
                }, "busy-" + i);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        void stop() throws InterruptedException {
            stop = true;
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
