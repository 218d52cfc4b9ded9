package dev.warden.proxy.session;

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
 * are very many).
 */
public final class AnalysisBudget {

    private static final AttributeKey<AnalysisBudget> KEY = AttributeKey.valueOf("warden.analysis-budget");
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final int MAX_BUCKETS = 100_000;

    /**
     * Per session: half a second of analysis at once, 15 % of a core sustained; 32 MB of text at once, 8 MB/s
     * sustained (texts over 16 KB are always read on the pool, so bulk loads pass through here too). Ordinary
     * statements cost well under a millisecond of analysis, and only the first time their shape is seen.
     */
    static final Limits SESSION = new Limits(500_000_000L, 150_000_000L, 32L << 20, 8L << 20);
    /** Per identity, all its sessions together: a second at once, a quarter of a core sustained. */
    static final Limits IDENTITY = new Limits(1_000_000_000L, 250_000_000L, 64L << 20, 16L << 20);

    record Limits(long cpuBurstNanos, long cpuPerSecondNanos, long byteBurst, long bytesPerSecond) {
    }

    private final ConcurrentHashMap<String, Bucket> sessions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Bucket> identities = new ConcurrentHashMap<>();

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
     * Runs {@code analysis} on {@code pool} if the session's and the identity's budgets allow, charging both
     * with its CPU time and {@code bytes}. Channels without a budget (sessions tested alone) just run it.
     */
    static <T> CompletableFuture<T> submit(Channel channel, String session, String identity, int bytes,
                                           Supplier<T> analysis, Executor pool) {
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
        Bucket mine = bucket(sessions, session, SESSION, now);
        Bucket theirs = bucket(identities, identity, IDENTITY, now);
        if (!mine.allows(now) || !theirs.allows(now)) {
            return CompletableFuture.failedFuture(new Exhausted("the analysis budget of this "
                    + (mine.allows(now) ? "identity" : "session") + " is used up for now"));
        }
        mine.charge(0, bytes);
        theirs.charge(0, bytes);
        return CompletableFuture.supplyAsync(() -> {
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

    /** Two token buckets (CPU nanoseconds and bytes) that may go negative: a debt delays the next statement. */
    static final class Bucket {
        private final Limits limits;
        private double cpu;
        private double bytes;
        private long refilledAt;

        Bucket(Limits limits, long now) {
            this.limits = limits;
            this.cpu = limits.cpuBurstNanos();
            this.bytes = limits.byteBurst();
            this.refilledAt = now;
        }

        synchronized boolean allows(long now) {
            refill(now);
            return cpu > 0 && bytes > 0;
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
            double seconds = (now - refilledAt) / 1e9;
            refilledAt = now;
            cpu = Math.min(limits.cpuBurstNanos(), cpu + seconds * limits.cpuPerSecondNanos());
            bytes = Math.min(limits.byteBurst(), bytes + seconds * limits.bytesPerSecond());
        }
    }
}
