package dev.warden.proxy.session;

import dev.warden.config.Budgets;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * How much cold analysis (JSqlParser on the analysis pool) a session and an identity may use: a token bucket
 * of CPU time and one of text bytes for each, refilled continuously. A statement that arrives when either of
 * its buckets is empty is not analysed; its session refuses it (the same refusal as a full pool: fail
 * closed). Work is charged after it ran, with the CPU time the analysing thread measured, so a pathological
 * text is paid for by its sender, not by everyone sharing the pool.
 *
 * <p>Cached and lexer-only statements cost nothing here: they never leave the event loop. Budgets are kept
 * per session id (dropped when its connection closes) and per user name (full buckets dropped when there
 * are very many). Their sizes are the policy's {@code budgets.analysis} in force, read at every statement.
 *
 * <p>A statement waits in its lane's queue while others are analysed; when its turn comes and its session or
 * identity has spent its CPU time meanwhile (its other sessions' statements ran first), it is refused then,
 * without running: an identity over its budget never holds a lane.
 */
public final class AnalysisBudget {

    private static final AttributeKey<AnalysisBudget> KEY = AttributeKey.valueOf("warden.analysis-budget");
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final int MAX_BUCKETS = 100_000;

    record Limits(long cpuBurstNanos, long cpuPerSecondNanos, long byteBurst, long bytesPerSecond) {
        static Limits of(Budgets.Rate rate) {
            return new Limits(rate.cpuBurst().toNanos(), rate.cpuPerSecond().toNanos(), rate.bytesBurst(),
                    rate.bytesPerSecond());
        }
    }

    private final Supplier<Budgets> budgets;
    private final ConcurrentHashMap<String, Bucket> sessions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Bucket> identities = new ConcurrentHashMap<>();

    /** @param budgets the policy's budgets in force */
    public AnalysisBudget(Supplier<Budgets> budgets) {
        this.budgets = budgets;
    }

    /** Makes this budget the one sessions on {@code channel} use. */
    public void attachTo(Channel channel) {
        channel.attr(KEY).set(this);
    }

    /** Thrown (as the future's failure) when a session or identity has used its share. */
    static final class Exhausted extends RejectedExecutionException {
        Exhausted(String message) {
            super(message);
        }
    }

    /**
     * Runs {@code analysis} in the lane of {@code lanes} for a text of {@code bytes} if the session's and the
     * identity's budgets allow, charging both with its CPU time and {@code bytes}. Channels without a budget
     * (sessions tested alone) just run it.
     */
    static <T> CompletableFuture<T> submit(Channel channel, String session, String identity, int bytes,
                                           Supplier<T> analysis, AnalysisLanes lanes) {
        Executor pool = lanes.forText(bytes);
        AnalysisBudget budget = channel.attr(KEY).get();
        if (budget == null) {
            return CompletableFuture.supplyAsync(analysis, pool);
        }
        if (!budget.sessions.containsKey(session)) {
            // The session's bucket lives as long as its connection.
            channel.closeFuture().addListener(f -> budget.sessions.remove(session));
        }
        return budget.submit(session, identity, bytes, analysis, pool);
    }

    <T> CompletableFuture<T> submit(String session, String identity, int bytes, Supplier<T> analysis,
                                    Executor pool) {
        long now = System.nanoTime();
        Budgets current = budgets.get();
        Limits sessionLimits = Limits.of(current.perSession());
        Limits identityLimits = Limits.of(current.perIdentity());
        Bucket mine = bucket(sessions, session, sessionLimits, now);
        Bucket theirs = bucket(identities, identity, identityLimits, now);
        if (!mine.allows(sessionLimits, now) || !theirs.allows(identityLimits, now)) {
            return CompletableFuture.failedFuture(new Exhausted("the analysis budget of this "
                    + (mine.allows(sessionLimits, now) ? "identity" : "session") + " is used up for now"));
        }
        mine.charge(0, bytes);
        theirs.charge(0, bytes);
        return CompletableFuture.supplyAsync(() -> {
            long dequeued = System.nanoTime();
            if (!mine.hasCpu(sessionLimits, dequeued) || !theirs.hasCpu(identityLimits, dequeued)) {
                throw new Exhausted("the analysis budget of this "
                        + (mine.hasCpu(sessionLimits, dequeued) ? "identity" : "session")
                        + " was used up while the statement waited");
            }
            long start = cpuNow();
            try {
                return analysis.get();
            } finally {
                long used = Math.max(0, cpuNow() - start);
                mine.charge(used, 0);
                theirs.charge(used, 0);
            }
        }, pool);
    }

    private static Bucket bucket(ConcurrentHashMap<String, Bucket> map, String key, Limits limits, long now) {
        if (map.size() > MAX_BUCKETS) {
            // Full buckets carry no information: drop them.
            map.values().removeIf(b -> b.full(now));
        }
        return map.computeIfAbsent(key, k -> new Bucket(limits, now));
    }

    private static long cpuNow() {
        try {
            return THREADS.getCurrentThreadCpuTime();
        } catch (UnsupportedOperationException e) {
            return System.nanoTime();
        }
    }

    /**
     * Two token buckets (CPU nanoseconds and bytes) that may go negative: a debt delays the next statement.
     * Refilled by the limits in force at each use, so a reload applies to existing sessions.
     */
    static final class Bucket {
        private Limits limits;
        private double cpu;
        private double bytes;
        private long refilledAt;

        Bucket(Limits limits, long now) {
            this.limits = limits;
            this.cpu = limits.cpuBurstNanos();
            this.bytes = limits.byteBurst();
            this.refilledAt = now;
        }

        synchronized boolean allows(Limits current, long now) {
            limits = current;
            refill(now);
            return cpu > 0 && bytes > 0;
        }

        /** Whether CPU time is left: the bytes of a queued statement were charged already. */
        synchronized boolean hasCpu(Limits current, long now) {
            limits = current;
            refill(now);
            return cpu > 0;
        }

        synchronized boolean full(long now) {
            refill(now);
            return cpu >= limits.cpuBurstNanos() && bytes >= limits.byteBurst();
        }

        synchronized void charge(long cpuNanos, long byteCount) {
            cpu -= cpuNanos;
            bytes -= byteCount;
        }

        private void refill(long now) {
            if (now <= refilledAt) {
                // Read before another thread's refill (a statement's dequeue time against a new arrival's): a
                // negative time would take from the bucket.
                return;
            }
            double seconds = (now - refilledAt) / 1e9;
            refilledAt = now;
            cpu = Math.min(limits.cpuBurstNanos(), cpu + seconds * limits.cpuPerSecondNanos());
            bytes = Math.min(limits.byteBurst(), bytes + seconds * limits.bytesPerSecond());
        }
    }
}
