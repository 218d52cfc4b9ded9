package dev.warden.proxy.session;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.AuditEvent;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * Wakes the audit writer once per pass of an event loop rather than once per record. A loop's pass reads every
 * session that had input, and each may append a query or a result record; the writer is woken by a task that
 * runs after that I/O, so it takes them all in one batch. Under load this saves a thread wake-up (a futex call
 * and a context switch) per record; a lone client's record waits only for the rest of its own pass.
 */
final class AuditWake implements Runnable {

    private static final FastThreadLocal<AuditWake> PASS = new FastThreadLocal<>() {
        @Override
        protected AuditWake initialValue() {
            return new AuditWake();
        }
    };

    /** Confined to the loop's thread. */
    private boolean scheduled;
    private AuditLog audit;

    private AuditWake() {
    }

    /** Appends {@code event}; on {@code loop}'s own thread the writer is woken after the loop's current pass. */
    static CompletableFuture<Long> append(AuditLog audit, EventExecutor loop, AuditEvent event) {
        if (loop == null || !loop.inEventLoop()) {
            return audit.append(event);
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
            loop.execute(this);
        } catch (RejectedExecutionException e) {
            // The loop is shutting down: no later pass to wait for.
            run();
        }
    }

    @Override
    public void run() {
        scheduled = false;
        audit.wake();
    }
}
