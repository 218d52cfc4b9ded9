package dev.warden.proxy.session;

import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import io.netty.buffer.ByteBuf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the server answers for a session's statements, counted and checked: rows, bytes, columns and command
 * tags for each statement's {@code result} record (written once, whatever ends it), and the {@link Tripwire}'s
 * check that the server's reports (command tags, ParameterStatus) match Warden's reading; a mismatch is audited
 * and ends the session. Peeks at frames, never copies or releases them. Event loop only.
 */
final class ExecutionTally {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    private final RelaySession session;
    private final Tripwire tripwire;
    /** The column names of a RowDescription frame, decoded once per frame by the relay. */
    private final Function<ByteBuf, List<String>> columnNames;
    /** A repeated statement's CommandComplete is not decoded again (see {@link RepeatedFrame}). */
    private final RepeatedFrame<String> tags = new RepeatedFrame<>(
            frame -> ((BackendMessage.CommandComplete) BackendMessage.decode(frame)).tag());
    /** The statement the server answered last in the running batch, which a ParameterStatus is blamed on. */
    private Execution lastAnswered;
    /** Set while the relay reads the server's answers: {@link #finish} then leaves the record for {@link #recordDeferred}. */
    private boolean deferring;
    /** Statements finished while {@link #deferring}, their result records not yet written. */
    private final java.util.ArrayDeque<Execution> unrecorded = new java.util.ArrayDeque<>();

    ExecutionTally(RelaySession session, Function<ByteBuf, List<String>> columnNames) {
        this.session = session;
        this.tripwire = session.tripwire;
        this.columnNames = columnNames;
    }

    /**
     * A ReadyForQuery answered {@code done} (null: no statement of a simple Query): a simple Query's statements
     * are checked as a whole and its record written. True when the tripwire ended the session (the
     * ReadyForQuery must not be relayed).
     */
    boolean ready(Execution done) {
        batchEnded();
        if (done != null && !done.extended) {
            Optional<Tripwire.Mismatch> mismatch = tripwire.queryDone(done.analysis, done.answers,
                    done.sqlState != null);
            finish(done);
            if (mismatch.isPresent()) {
                trip(mismatch.get(), done);
                return true;
            }
        }
        tripwire.ready();
        lastAnswered = null;
        return false;
    }

    void finish(Execution e) {
        if (e.finished) {
            return;
        }
        e.finished = true;
        e.durationUs = (System.nanoTime() - e.started) / 1000;
        if (e.extended) {
            batch.add(e);
            if (batch.size() > MAX_BATCH) {
                recordNow(batch.remove(0)); // a client that pipelines without Sync: the oldest go as they are
            }
            return;
        }
        recordNow(e);
    }

    private void recordNow(Execution e) {
        if (deferring) {
            unrecorded.add(e);
        } else {
            record(e);
        }
    }

    /**
     * Extended-protocol statements finished since the server's last ReadyForQuery, their result records written at
     * the next one ({@link #batchEnded}): the Sync that ends their batch commits its implicit transaction, and that
     * commit may fail (a deferred constraint) after each statement completed. Before, each was recorded as it
     * completed, and such a failure, which rolls them all back, was recorded nowhere (an attacker's pass, a114 B1).
     */
    private final List<Execution> batch = new java.util.ArrayList<>();
    /** The most statements kept for their batch's end; older ones are recorded as they are. */
    static final int MAX_BATCH = 256;

    /**
     * The server answered a Sync with an error: committing the batch's implicit transaction failed, and the
     * statements that completed in it were rolled back. Each is recorded with that error's SQLSTATE (its command
     * tag kept: it ran, and did not last).
     */
    void syncFailed(String sqlState) {
        for (Execution e : batch) {
            if (e.sqlState == null) {
                e.sqlState = sqlState;
            }
        }
    }

    /**
     * A ReadyForQuery, or the session's end: the batch's result records are written, in the order the statements
     * came (their query records' seq), whatever order they finished in (a statement the server skipped after an
     * error is finished when the error comes, before the statement that failed).
     */
    void batchEnded() {
        if (batch.isEmpty()) {
            return;
        }
        batch.sort(java.util.Comparator.comparingLong(e -> e.querySeq));
        for (Execution e : batch) {
            recordNow(e);
        }
        batch.clear();
    }

    /**
     * From now until {@link #recordDeferred}, statements that finish have their result records written then: the
     * relay writes them after it flushed the answers to the client, since nothing waits for a result record, and
     * the client should not wait for one either (about a tenth of a one-client statement's time in Warden).
     */
    void deferResults() {
        deferring = true;
    }

    /** Writes the result records {@link #deferResults} held, in the order their statements finished. */
    void recordDeferred() {
        deferring = false;
        Execution e;
        while ((e = unrecorded.poll()) != null) {
            record(e);
        }
    }

    private void record(Execution e) {
        session.audit.result(e.querySeq, e.rows, e.bytes, e.auditColumns(), e.durationUs, e.sqlState, e.commandTag,
                e.answers);
    }

    /** Counts what the upstream returns for a running statement; peeks, never copies. */
    void count(byte type, ByteBuf frame, Execution e) {
        switch (type) {
            case 'D', 'd' -> {
                e.rows++;
                e.bytes += frame.readableBytes();
            }
            case 'T' -> {
                if (!e.described) {
                    e.describe(columnNames.apply(frame), null);
                }
            }
            case 'C' -> {
                e.commandTag = tags.decode(frame);
                if (!checkAnswer(e, e.commandTag) && e.extended) {
                    finish(e);
                }
            }
            case 'I' -> {
                if (!checkAnswer(e, dev.warden.sql.CommandTags.EMPTY_QUERY_RESPONSE) && e.extended) {
                    finish(e);
                }
            }
            case 's' -> {
                if (e.extended) {
                    finish(e);
                }
            }
            case '2' -> finish(e); // a Bind that went without its own Execute, recorded (RelayHandler)
            case 'E' -> {
                e.sqlState = ((BackendMessage.ErrorResponse) BackendMessage.decode(frame)).sqlState();
                if (e.preparedBySql != null) {
                    session.prepared.sqlFailed(e.preparedBySql, e.answers.size());
                }
                lastAnswered = e;
                tripwire.running(e.analysis);
                tripwire.failed();
                if (e.extended) {
                    finish(e);
                }
            }
            default -> {
            }
        }
    }

    /** True when the answer disagrees with the running statement's analysis (the session is then ending). */
    private boolean checkAnswer(Execution e, String answer) {
        lastAnswered = e;
        tripwire.running(e.analysis);
        Optional<Tripwire.Mismatch> mismatch = tripwire.answered(e.analysis, e.extended, e.answers, answer,
                session.prepared::facts);
        mismatch.ifPresent(m -> trip(m, e));
        return mismatch.isPresent();
    }

    /**
     * A ParameterStatus, judged against the statements of the batch running now. The statement it is blamed on
     * is the last one the server answered in this batch (PostgreSQL 14 and later report changes just before
     * ReadyForQuery), or the one running (earlier versions report them as they happen).
     */
    boolean parameterStatusMismatch(ByteBuf frame, Entry entry) {
        Entry head = entry != null ? entry : session.queue.head();
        Execution running = head == null ? null : head.execution;
        if (running != null) {
            tripwire.running(running.analysis);
        }
        Execution blamed = lastAnswered != null ? lastAnswered : running;
        BackendMessage.ParameterStatus status = (BackendMessage.ParameterStatus) BackendMessage.decode(frame);
        Optional<Tripwire.Mismatch> mismatch = tripwire.parameter(status.name(), status.value());
        mismatch.ifPresent(m -> trip(m, blamed));
        return mismatch.isPresent();
    }

    /**
     * Whether {@code type} is a message only a running statement's answer holds (a row, a command's completion,
     * COPY's data or start, an empty query, a suspended portal, a function call's result).
     */
    static boolean statementAnswer(byte type) {
        return switch (type) {
            case 'D', 'C', 'd', 'c', 'G', 'H', 'W', 'I', 's', 'V' -> true;
            default -> false;
        };
    }

    /**
     * The server sent a statement's answer ({@link #statementAnswer}) where Warden waits for none, or a
     * ReadyForQuery when nothing is outstanding: its view of which request the server is answering is wrong, so
     * what it masks and judges would be another statement's (helpers' attacker passes: rows filed under a Sync left
     * unmasked; a Sync's ReadyForQuery answered the next Query early); or {@code copyEnded}: see
     * OutstandingQueue#lostTrack. Nothing more is relayed: see {@link #trip}.
     */
    void unowned(byte type, Entry entry, boolean copyEnded) {
        trip(new Tripwire.Mismatch("answer_owner", List.of(entry == null ? "no request outstanding"
                : "waiting for the answer to " + entry.kind), List.of("message type '" + (char) type + "'"),
                copyEnded ? "a COPY FROM STDIN ended in an error with Syncs sent among its data: which of them the "
                        + "server read after the error, and will answer, is not known"
                        : "the server answered a statement where Warden waited for no statement's answer"), null);
    }

    /**
     * Warden's reading was wrong: the disagreement goes to the audit trail and the log, and the session ends
     * with a FATAL error (an open transaction is rolled back with it); nothing more is relayed either way.
     */
    private void trip(Tripwire.Mismatch m, Execution running) {
        long querySeq = running == null ? -1 : running.querySeq;
        session.audit.mismatch(querySeq, m.check(), m.warden(), m.server(), m.detail());
        if (running != null) {
            finish(running);
        }
        log.error("enforcement.mismatch session={} user={} env={} check={} warden={} server={} query_seq={}",
                session.id, session.identity.username(), session.environment.name(), m.check(), m.warden(),
                m.server(), querySeq);
        session.endReason = "enforcement mismatch: " + m.detail();
        session.fail(new SessionException(SqlState.INTERNAL_ERROR, "Warden ended the session because the server's "
                + "report disagrees with Warden's reading of the statement: " + m.detail(), "Warden's reading: "
                + m.warden() + "; server: " + m.server() + ". The disagreement is recorded in the audit trail "
                + "(enforcement.mismatch); nothing more runs in this session.", null));
    }
}
