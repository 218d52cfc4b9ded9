package dev.warden.proxy.session;

import java.util.concurrent.CompletableFuture;

/**
 * The statement texts of a session's query records, for the {@code enforcement.mismatch} record that names one
 * by seq: those whose result is not written yet ("running", at most {@link #RUNNING}, the oldest dropped first in
 * case results never come) and the last {@link #FINISHED} whose result was (a change the server reports just
 * before ReadyForQuery comes after the results of its batch).
 *
 * <p>A statement is kept with its record's future, not its seq: the seq is read from the future when a result or
 * a mismatch asks for it. So keeping a statement costs no callback on the audit writer's thread, no map entry and
 * no boxed key. Lookups go from the newest running statement back to the oldest, which is one or two steps for a
 * session that waits for each answer. Thread-safe: query records may be appended from an approval's thread as
 * well as the event loop.
 */
final class RecentStatements {

    static final int RUNNING = 1024;
    static final int FINISHED = 16;

    private final CompletableFuture<?>[] records = new CompletableFuture<?>[RUNNING];
    private final String[] texts = new String[RUNNING];
    /** Running entries live in [oldest, newest), as counters; slot = counter % RUNNING. */
    private long oldest;
    private long newest;
    private final long[] finishedSeqs = new long[FINISHED];
    private final String[] finishedTexts = new String[FINISHED];
    private int finishedNext;

    /** A statement whose query record {@code record} completes with its seq. */
    synchronized void running(CompletableFuture<Long> record, String text) {
        if (newest - oldest == RUNNING) {
            drop(oldest);
        }
        int slot = slot(newest++);
        records[slot] = record;
        texts[slot] = text;
    }

    /** The result of query record {@code seq} was written: its text moves to the finished few. */
    synchronized void finished(long seq) {
        long at = find(seq);
        if (at < 0) {
            return;
        }
        int slot = slot(at);
        finishedSeqs[finishedNext] = seq;
        finishedTexts[finishedNext] = texts[slot];
        finishedNext = (finishedNext + 1) % FINISHED;
        drop(at);
    }

    /** The text of query record {@code seq}, running or among the last finished; "" if it is not kept. */
    synchronized String text(long seq) {
        long at = find(seq);
        if (at >= 0) {
            return texts[slot(at)];
        }
        for (int i = 0; i < FINISHED; i++) {
            if (finishedTexts[i] != null && finishedSeqs[i] == seq) {
                return finishedTexts[i];
            }
        }
        return "";
    }

    /** The counter of the running entry for {@code seq}, or -1. */
    private long find(long seq) {
        for (long at = newest - 1; at >= oldest; at--) {
            CompletableFuture<?> record = records[slot(at)];
            if (record != null && record.isDone() && !record.isCompletedExceptionally()
                    && record.join() instanceof Long s && s == seq) {
                return at;
            }
        }
        return -1;
    }

    private void drop(long at) {
        int slot = slot(at);
        records[slot] = null;
        texts[slot] = null;
        while (oldest < newest && records[slot(oldest)] == null) {
            oldest++;
        }
    }

    private static int slot(long counter) {
        return (int) counter & (RUNNING - 1); // RUNNING is a power of two
    }
}
