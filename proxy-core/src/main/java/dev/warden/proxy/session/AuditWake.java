package dev.warden.proxy.session;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.AuditEvent;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Wakes the audit writer once per pass of an event loop rather than once per record. A loop's pass reads every
 * session that had input, and each may append a query or a result record; the writer is woken by a task that
 * runs after that I/O, so it takes them all in one batch. Under load this saves a thread wake-up (a futex call
 * and a context switch) per record; a lone client's record waits only for the rest of its own pass.
 *
 * <p>A record that nothing waits for (a statement's result: the statement already ran) does not wake the writer
 * at all ({@link #appendUnhurried}). It goes out in the next batch that something else woke the writer for, which
 * under load is the next statement's query record, and at the latest {@link #UNHURRIED_BOUND} later, when a timer
 * on the loop wakes the writer. A lone client's statement then costs one hand-off to the writer instead of two.
 */
final class AuditWake implements Runnable {

    /** The longest a record from {@link #appendUnhurried} waits for a batch that another record woke. */
    static final Duration UNHURRIED_BOUND = Duration.ofMillis(10);

    private static final FastThreadLocal<AuditWake> PASS = new FastThreadLocal<>() {
        @Override
        protected AuditWake initialValue() {
            return new AuditWake();
        }
    };

    /** Confined to the loop's thread. */
    private boolean scheduled;
    private AuditLog audit;
    /** The log a timer is set for (null: none): at most one timer per loop and log at a time. */
    private AuditLog timerFor;

    private AuditWake() {
    }

    /** Appends {@code event}; on {@code loop}'s own thread the writer is woken after the loop's current pass. */
    static CompletableFuture<Long> append(AuditLog audit, EventExecutor loop, AuditEvent event) {
        return append(audit, loop, event, true);
    }

    /**
     * Appends a record that no statement waits for: on {@code loop}'s own thread it does not wake the writer, and
     * is written with the next woken batch, or within {@link #UNHURRIED_BOUND}.
     */
    static CompletableFuture<Long> appendUnhurried(AuditLog audit, EventExecutor loop, AuditEvent event) {
        return append(audit, loop, event, false);
    }

    private static CompletableFuture<Long> append(AuditLog audit, EventExecutor loop, AuditEvent event,
                                                  boolean hurried) {
        if (loop == null || !loop.inEventLoop()) {
            return audit.append(event);
        }
        if (!hurried) {
            CompletableFuture<Long> appended = audit.appendUnhurried(event);
            PASS.get().unhurried(audit, loop);
            return appended;
        }
        CompletableFuture<Long> appended = audit.appendDeferred(event);
        PASS.get().requested(audit, loop);
        return appended;
    }

    private void requested(AuditLog log, EventExecutor loop) {
        if (audit != log) {
            // Another log's records were waiting for this pass (two servers on one loop, as in tests): wake it now.
            if (audit != null) {
                audit.wake();
            }
            audit = log;
        }
        if (scheduled) {
            return;
        }
        scheduled = true;
        try {
            if (loop instanceof io.netty.util.concurrent.SingleThreadEventExecutor own) {
                // Queued by the loop itself, which runs its tasks once this read is handled: no wake-up of it
                // (execute's wake-up check was 0.7 % of the event loops' samples under pgbench -S -c16).
                own.lazyExecute(this);
            } else {
                loop.execute(this);
            }
        } catch (RejectedExecutionException e) {
            // The loop is shutting down: no later pass to wait for.
            run();
        }
    }

    private void unhurried(AuditLog log, EventExecutor loop) {
        if ((scheduled && audit == log) || timerFor == log) {
            // This pass's wake, or a timer already set, takes the record along.
            return;
        }
        timerFor = log;
        try {
            loop.schedule(() -> {
                if (timerFor == log) {
                    timerFor = null;
                }
                log.wake();
            }, UNHURRIED_BOUND.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            timerFor = null;
            log.wake();
        }
    }

    @Override
    public void run() {
        scheduled = false;
        audit.wake();
    }
}
