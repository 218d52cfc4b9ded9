package dev.warden.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.SessionEnd;
import dev.warden.config.AuditSettings;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How an event loop wakes the audit writer, with a real log on disk and a real Netty loop: a query record wakes
 * it after the loop's pass, a result record ({@link AuditWake#appendUnhurried}) rides with the next woken batch or
 * goes out on the loop's timer, never left for the writer's lost-wake bound.
 */
class AuditWakeTest {

    @TempDir
    Path dir;

    private MultiThreadIoEventLoopGroup group;
    private EventLoop loop;
    private AuditLog log;

    @BeforeEach
    void open() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        loop = group.next();
        // No checkpoint timer and no group commit: every batch the writer writes is one that a wake started.
        log = AuditLog.open(new AuditSettings(List.of(new AuditSettings.AuditSinkConfig.FileSink(dir, 1 << 20,
                Duration.ZERO)), Optional.empty(), true, 1000, Duration.ZERO, Duration.ZERO, true));
    }

    @AfterEach
    void close() {
        log.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * A result record alone is written when the loop's timer wakes the writer: not at once (the append must not
     * wake it) and not at the end of the writer's own {@code LOST_WAKE_BOUND} wait. Each try first has the writer
     * write a query record, so its next wait starts then and ends 50 ms later, well after the 10 ms timer (set
     * 5 ms after that record, once the writer waits again).
     */
    @Test
    void anUnhurriedRecordAloneWaitsForTheLoopsTimerNotTheLostWakeBound() throws Exception {
        int byTimer = 0;
        int tries = 0;
        for (int attempt = 0; attempt < 5; attempt++) {
            String query = "q" + attempt;
            long[] queryWrittenAt = new long[1];
            onLoop(() -> AuditWake.append(log, loop, end(query))
                    .whenComplete((seq, e) -> queryWrittenAt[0] = System.nanoTime())).get(5, TimeUnit.SECONDS);
            Thread.sleep(5); // the writer has gone back to waiting
            long[] appendedAt = new long[1];
            long[] writtenAt = new long[1];
            String session = "r" + attempt;
            CompletableFuture<Long> written = onLoop(() -> {
                appendedAt[0] = System.nanoTime();
                return AuditWake.appendUnhurried(log, loop, end(session)).whenComplete((seq, e) -> {
                    writtenAt[0] = System.nanoTime();
                });
            });
            assertTrue(written.get(5, TimeUnit.SECONDS) > 0);
            if (appendedAt[0] - queryWrittenAt[0] > TimeUnit.MILLISECONDS.toNanos(20)) {
                continue; // this thread was held up: the writer's wait may end before the timer
            }
            tries++;
            // Nothing woke the writer before the loop's timer, which never fires before its delay.
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(writtenAt[0] - appendedAt[0]);
            assertTrue(waitedMs >= AuditWake.UNHURRIED_BOUND.toMillis(), "written " + waitedMs + " ms after "
                    + "the append: the append woke the writer, which a result record must not do");
            if (waitedMs < 3 * AuditWake.UNHURRIED_BOUND.toMillis()) {
                byTimer++;
            }
        }
        assertTrue(tries == 0 || byTimer > 0, "none of " + tries + " records was written soon after the loop's "
                + "timer: it did not wake the writer, which found them at the end of its own wait " + log.stats());
        assertEquals(0, log.stats().lateWakes(), "a record the loop meant to wake the writer for later is not "
                + "a missed wake: " + log.stats());
    }

    @Test
    void anUnhurriedRecordRidesWithTheNextQueryRecordsBatch() throws Exception {
        Thread.sleep(100);
        long batchesBefore = log.stats().batches();
        List<CompletableFuture<Long>> both = onLoop(() -> List.of(AuditWake.appendUnhurried(log, loop, end("r1")),
                AuditWake.append(log, loop, end("q2"))));
        long first = both.get(0).get(5, TimeUnit.SECONDS);
        long second = both.get(1).get(5, TimeUnit.SECONDS);
        assertEquals(first + 1, second, "in the order they were appended");
        assertEquals(batchesBefore + 1, log.stats().batches(), "one wake-up, one batch: " + log.stats());
        // The loop's timer still fires later, and finds nothing to write.
        Thread.sleep(3 * AuditWake.UNHURRIED_BOUND.toMillis());
        assertEquals(batchesBefore + 1, log.stats().batches());
        assertEquals(0, log.stats().lateWakes());
    }

    @Test
    void manyUnhurriedRecordsOnABusyLoopAreAllWrittenInOrderWithoutALateWake() throws Exception {
        int passes = 200;
        List<CompletableFuture<Long>> all = new java.util.ArrayList<>();
        for (int i = 0; i < passes; i++) {
            int n = i;
            all.addAll(onLoop(() -> n % 10 == 0
                    ? List.of(AuditWake.append(log, loop, end("q" + n)))
                    : List.of(AuditWake.appendUnhurried(log, loop, end("r" + n)),
                            AuditWake.appendUnhurried(log, loop, end("r" + n + "b")))));
        }
        long previous = 0;
        for (CompletableFuture<Long> f : all) {
            long seq = f.get(5, TimeUnit.SECONDS);
            assertTrue(seq > previous, "seq " + seq + " after " + previous);
            previous = seq;
        }
        assertEquals(0, log.stats().lateWakes(), log.stats().toString());
    }

    private static SessionEnd end(String session) {
        return SessionEnd.of(session, 1, 0, "client");
    }

    private <T> T onLoop(java.util.concurrent.Callable<T> work) throws Exception {
        return loop.submit(work).get(5, TimeUnit.SECONDS);
    }
}
