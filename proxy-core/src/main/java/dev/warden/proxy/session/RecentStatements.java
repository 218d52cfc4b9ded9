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
    /**
     * The running ring's first size: a session that waits for each answer has one or two running, and a ring of
     * {@link #RUNNING} slots would put each statement on another cache line (the arrays grow when a pipelining
     * client needs them to).
     */
    private static final int FIRST_SIZE = 8;

    private CompletableFuture<?>[] records = new CompletableFuture<?>[FIRST_SIZE];
    private String[] texts = new String[FIRST_SIZE];
    /** Running entries live in [oldest, newest), as counters; slot = counter % RUNNING. */
    private long oldest;
    private long newest;
    private final long[] finishedSeqs = new long[FINISHED];
    private final String[] finishedTexts = new String[FINISHED];
    private int finishedNext;

    /** A statement whose query record {@code record} completes with its seq. */
    synchronized void running(CompletableFuture<Long> record, String text) {
        if (newest - oldest == records.length) {
            if (records.length == RUNNING) {
                drop(oldest);
            } else {
                grow();
            }
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

    /** Doubles the ring; each running entry keeps its counter, in the slot that counter has in the larger ring. */
    private void grow() {
        CompletableFuture<?>[] grownRecords = new CompletableFuture<?>[records.length * 2];
        String[] grownTexts = new String[records.length * 2];
        for (long at = oldest; at < newest; at++) {
            int from = slot(at);
            int to = (int) at & (grownRecords.length - 1);
            grownRecords[to] = records[from];
            grownTexts[to] = texts[from];
        }
        records = grownRecords;
        texts = grownTexts;
    }

    private int slot(long counter) {
        return (int) counter & (records.length - 1); // every size is a power of two
    }
}
