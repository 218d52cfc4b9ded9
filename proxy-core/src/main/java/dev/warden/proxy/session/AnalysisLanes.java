package dev.warden.proxy.session;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads cold statements are analysed on (JSqlParser, up to its CPU limit per statement), in two lanes:
 * texts up to {@link #SMALL_TEXT_BYTES} (what people type, what applications prepare) and longer ones (bulk
 * loads, generated SQL, the 250 KB texts of a parse flood), so a short new statement never queues behind
 * someone's long ones.
 *
 * <p>Every analysis thread runs at the lowest OS priority ({@link LowPriority}): analysis gets all the CPU the
 * event loops leave, and none they want. Measured with four sessions flooding ~250 KB texts of pathological
 * statements on 2 cores, the other sessions' known statements otherwise waited for the analysing threads in
 * the kernel's run queue: that, not the event loop, was where their time went. Each lane has one thread per
 * core but one (at least one) and a bounded queue; a full queue refuses the statement (fail closed).
 */
public final class AnalysisLanes implements AutoCloseable {

    /** The event loop never reads longer texts either (see {@code Analyzer#analyzeCached}). */
    static final int SMALL_TEXT_BYTES = 16 * 1024;

    private final ThreadPoolExecutor small;
    private final ThreadPoolExecutor bulk;

    private AnalysisLanes(ThreadPoolExecutor small, ThreadPoolExecutor bulk) {
        this.small = small;
        this.bulk = bulk;
    }

    /** Starts both lanes' threads now, so lowering their priority is done before the first statement. */
    public static AnalysisLanes start() {
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        return new AnalysisLanes(lane("warden-analysis-small-", threads), lane("warden-analysis-bulk-", threads));
    }

    Executor forText(int bytes) {
        return bytes <= SMALL_TEXT_BYTES ? small : bulk;
    }

    private static ThreadPoolExecutor lane(String name, int threads) {
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(4096), r -> {
                    Thread t = new Thread(() -> {
                        LowPriority.applyToCurrentThread();
                        r.run();
                    }, name + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        pool.prestartAllCoreThreads();
        return pool;
    }

    @Override
    public void close() {
        small.shutdownNow();
        bulk.shutdownNow();
    }
}
