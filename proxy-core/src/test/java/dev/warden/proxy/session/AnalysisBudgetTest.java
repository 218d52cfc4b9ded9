package dev.warden.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.warden.config.Budgets;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The analysis budget charges CPU time to session and identity, and refuses an identity over it at once. */
class AnalysisBudgetTest {

    private final ExecutorService lane = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        lane.shutdownNow();
    }

    private static Budgets budgets(Duration identityBurst) {
        Budgets.Rate generous = new Budgets.Rate(Duration.ofSeconds(10), Duration.ofMillis(1), 1L << 30, 1L << 30);
        Budgets.Rate tight = new Budgets.Rate(identityBurst, Duration.ofMillis(1), 1L << 30, 1L << 30);
        return new Budgets(16384, OptionalInt.empty(), OptionalInt.empty(), Duration.ofMillis(200), 65536,
                generous, tight);
    }

    /** Spins for {@code millis} of this thread's CPU time. */
    private static int burn(long millis) {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long end = threads.getCurrentThreadCpuTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        int n = 0;
        while (threads.getCurrentThreadCpuTime() < end) {
            n++;
        }
        return n;
    }

    @Test
    void aStatementQueuedBehindItsIdentitysCostlyOneIsRefusedWithoutRunning() throws Exception {
        AnalysisBudget budget = new AnalysisBudget(() -> budgets(Duration.ofMillis(20)));
        CountDownLatch gate = new CountDownLatch(1);
        lane.execute(() -> {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AtomicInteger ran = new AtomicInteger();
        // Both pass the check at submission (the identity's bucket is full), then wait in the lane.
        CompletableFuture<Integer> costly = budget.submit("s1", "mallory", 100, () -> {
            ran.incrementAndGet();
            return burn(60);
        }, lane);
        CompletableFuture<Integer> queued = budget.submit("s2", "mallory", 100, () -> {
            ran.incrementAndGet();
            return 0;
        }, lane);
        gate.countDown();
        costly.get(10, TimeUnit.SECONDS);
        ExecutionException refused = assertThrows(ExecutionException.class, () -> queued.get(10, TimeUnit.SECONDS));
        assertInstanceOf(AnalysisBudget.Exhausted.class, refused.getCause());
        assertEquals(1, ran.get(), "the queued statement never ran");

        // A new one is refused at submission, without queueing.
        CompletableFuture<Integer> next = budget.submit("s3", "mallory", 100, () -> 0, lane);
        assertInstanceOf(AnalysisBudget.Exhausted.class, assertThrows(ExecutionException.class, next::get).getCause());
        // Another identity is not affected.
        assertEquals(0, budget.submit("s4", "alice", 100, () -> 0, lane).get(10, TimeUnit.SECONDS));
    }

    @Test
    void theBudgetsInForceApplyToExistingBuckets() throws Exception {
        AtomicReference<Budgets> current = new AtomicReference<>(budgets(Duration.ofMillis(20)));
        AnalysisBudget budget = new AnalysisBudget(current::get);
        budget.submit("s1", "mallory", 100, () -> burn(60), lane).get(10, TimeUnit.SECONDS);
        assertThrows(ExecutionException.class, () -> budget.submit("s1", "mallory", 100, () -> 0, lane).get());
        // A reload with a larger refill rate: the debt is paid back within the second.
        current.set(new Budgets(16384, OptionalInt.empty(), OptionalInt.empty(), Duration.ofMillis(200), 65536,
                current.get().perSession(), new Budgets.Rate(Duration.ofMillis(20), Duration.ofSeconds(1),
                        1L << 30, 1L << 30)));
        Thread.sleep(300);
        assertEquals(0, budget.submit("s1", "mallory", 100, () -> 0, lane).get(10, TimeUnit.SECONDS));
    }

    /**
     * A statement's dequeue time may be read before another statement's arrival refilled the bucket: a clock read
     * older than the last refill adds nothing and takes nothing (a negative time took a second's refill here).
     */
    @Test
    void anOlderClockReadTakesNothingFromTheBucket() {
        AnalysisBudget.Limits limits = new AnalysisBudget.Limits(1_000_000_000L, 1_000_000_000L, 1 << 20, 1 << 20);
        long now = System.nanoTime();
        AnalysisBudget.Bucket b = new AnalysisBudget.Bucket(limits, now);
        b.charge(999_000_000L, 0);
        assertEquals(true, b.allows(limits, now), "1 ms of CPU left");
        assertEquals(true, b.hasCpu(limits, now - 1_000_000_000L), "a second older: still 1 ms left");
    }
}
