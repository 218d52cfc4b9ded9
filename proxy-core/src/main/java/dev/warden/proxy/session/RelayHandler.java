package dev.warden.proxy.session;

import dev.warden.audit.event.QueryEvent;
import dev.warden.config.Environment;
import dev.warden.identity.Identity;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.proxy.guardrails.DecisionMemo;
import dev.warden.proxy.guardrails.Guardrails;
import dev.warden.proxy.guardrails.Unreadable;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The client side of a READY session: every client message is read (its statement analysed and screened by
 * {@link StatementReading}, then passed through the {@link StatementGate}), then written upstream by
 * {@link UpstreamRequests} with an entry in the {@link OutstandingQueue} when it expects an answer. While a statement waits for its gate the messages behind it wait too, in order. The
 * answers are handled by {@link UpstreamRelay}; the session's life by {@link RelaySession}.
 */
final class RelayHandler extends io.netty.channel.ChannelInboundHandlerAdapter {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(FrontendSession.class);

    private static final long MAX_HELD_BYTES = 1 << 20;

    private final RelaySession session;
    private final SessionServices services;
    private final Identity identity;
    private final Environment environment;
    private final Channel client;
    private final Channel upstream;
    private final SessionAudit audit;
    private final ResultMasking masking;
    private final StatementGate gate;
    private final OutstandingQueue queue;
    private final PreparedStatements prepared;
    private final FlowControl flow;
    private final UpstreamRequests writer;
    private final StatementReading reader;
    /** Client frames that arrived while a statement waits for its gate. */
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private long heldBytes;
    /** Reasons the client's stream is held (a gate, an analysis, a catalog read). Released when back at zero. */
    private int holds;
    /** After a blocked Parse: like PostgreSQL, ignore messages until Sync. */
    private boolean discardUntilSync;
    /** After a blocked Query: COPY data the client may already be sending is dropped, never relayed. */
    private boolean dropCopyData;
    /** A Bind, Execute or FunctionCall was relayed since the last Sync: it may still be changing settings. */
    private boolean executedSinceSync;
    /**
     * An Execute or FunctionCall sent since the last Sync may have changed a setting that changes what a statement
     * means (see {@link #settingsNeutral}): the server reports such changes at ReadyForQuery only, so what an approval
     * would be shown and bound with is not known until the batch ends (see {@link #settingsUnknown}).
     */
    private boolean settingsMayChangeInBatch;
    /**
     * The request (Sync, Query, FunctionCall) whose ReadyForQuery reports the settings changed by the statements that
     * may have changed them, sent before it; while it is outstanding they are not known. Null when none.
     */
    private Entry settlesSettings;
    /** See {@link #unreportedFirst}: what was read for the statement about to be judged again; else null. */
    private String unreportedRead;
    /** The reason a client gave with SET warden.reason, for approval requests. */
    private volatile String sessionReason;
    private final java.security.SecureRandom random = new java.security.SecureRandom();
    /**
     * The prefix of the names of Warden's own statements and portals on the session's connection (its search_path
     * and temporary schema reads, a COPY's Describe): a token no client statement contains, and no text Warden sends
     * shows (see {@link #standInMarker}).
     */
    final String ownNames = "warden_own_" + Long.toHexString(random.nextLong() & Long.MAX_VALUE);
    /** The name of the statement that describes a COPY's columns (see OwnRequests.describeCopy). */
    private final String copyDescribeName = ownNames + "_copy";
    /** The guardrails' decisions for the shapes this session repeats. */
    private final DecisionMemo decisions = new DecisionMemo();

    RelayHandler(RelaySession session) {
        this.session = session;
        this.services = session.services;
        this.identity = session.identity;
        this.environment = session.environment;
        this.client = session.client;
        this.upstream = session.upstream;
        this.audit = session.audit;
        this.masking = session.masking;
        this.queue = session.queue;
        this.prepared = session.prepared;
        this.flow = session.flow;
        this.writer = new UpstreamRequests(session);
        this.writer.gateBinds(this::bindWaitsForExecute, this::standInMarker, this::judgedBefore);
        this.reader = new StatementReading(session, this, writer);
        this.gate = new StatementGate(audit, services.approvals(), services.blockingExecutor(), identity,
                environment.name(), session.id, () -> sessionReason,
                AuditBudget.allowanceFor(client, identity.username()));
        audit.chargeResultsTo(gate::chargeRecorded);
    }

    StatementGate gate() {
        return gate;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (session.ending()) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        relayToUpstream((ByteBuf) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // While a statement waits for its gate, what came before it in the same batch waits too:
        // PostgreSQL starts statement_timeout at the first message of a batch.
        if (holds == 0 && !session.ending()) {
            upstream.flush();
        }
        ctx.fireChannelReadComplete();
    }

    /** Relays one client message, or holds it behind a statement that waits. */
    void relayToUpstream(ByteBuf frame) {
        if (holds > 0) {
            held.add(frame);
            heldBytes += frame.readableBytes();
            if (heldBytes > MAX_HELD_BYTES) {
                flow.clientBacklog(true);
            }
            return;
        }
        byte type = frame.getByte(frame.readerIndex());
        if (type == 'X') {
            frame.release();
            session.clientTerminated();
            return;
        }
        if (type != 'S' && (discardUntilSync || queue.serverSkipsUntilSync())) {
            // After an error in an extended-protocol message (Warden's refusal or the server's own), PostgreSQL
            // ignores every message until Sync, a Query or FunctionCall included (postgres.c: ignore_till_sync):
            // so does Warden, or it would wait for answers the server never sends.
            frame.release();
            return;
        }
        if (type != 'd' && type != 'c' && type != 'f') {
            // Another message: the client is done with a refused COPY's data (an extended-protocol COPY FROM STDIN
            // after it got none of its own: an attacker's pass left the server waiting in COPY for data dropped).
            dropCopyData = false;
        }
        if ((type == 'S' || type == 'H') && queue.copyInOpen()) {
            // The server is in COPY FROM STDIN, which ignores a Sync or Flush (see OutstandingQueue#dataInCopy).
            if (type == 'S' && queue.dataInCopy()) {
                writer.send(frame, OutstandingQueue.tentativeSync());
            } else {
                frame.release();
            }
            return;
        }
        if (type == 'S') {
            CompletableFuture<Void> copy = queue.copyMayStart();
            if (copy != null) {
                // Whether the server reads it inside a COPY FROM STDIN or after it, its answer to the COPY tells.
                // A Flush makes the server send what it has (an Execute's CommandComplete waits for one).
                upstream.writeAndFlush(new FrontendMessage.Flush().toByteBuf(upstream.alloc()), upstream.voidPromise());
                holdUntil(copy, frame, (started, failure) -> {
                    held.addFirst(frame);
                    heldBytes += frame.readableBytes();
                });
                return;
            }
        }
        if (sendsDeferred(type) && writer.anyDeferred()) {
            List<PreparedStatements.Portal> alone = writer.bindsGoingAlone(frame);
            if (!alone.isEmpty()) {
                List<PreparedStatements.Statement> stale = staleEffects(alone);
                if (!stale.isEmpty() && refreshedFor != frame) {
                    // As an Execute does (withEffectsNowThen): the Bind runs a parameter type's domain checks and
                    // casts as they are now, so they are applied again before it is judged (an attacker's pass had
                    // a CHECK added after the Parse delete rows at a Bind recorded as allowed). Every stale one:
                    // when only the first was, a second Bind went with its checks as of its Parse.
                    refreshedFor = frame;
                    aloneReadFrom = Long.MAX_VALUE; // the reads' stamps (a stamp from before them refused them)
                    CompletableFuture<Void> applied = new CompletableFuture<>();
                    holdUntil(applied, frame, (done, failure) -> {
                        held.addFirst(frame); // judged again when the hold ends
                        heldBytes += frame.readableBytes();
                    });
                    withEffectsOfEachThen(stale, 0, frame, () -> applied.complete(null));
                    return;
                }
                long judgedAt = refreshedFor == frame ? Math.min(invalidations(), aloneReadFrom) : invalidations();
                refreshedFor = null;
                recordBindsGoingAlone(frame, alone, judgedAt);
                return;
            }
        }
        switch (type) {
            case 'P' -> onParse(frame);
            case 'B' -> {
                // The server plans at Bind, and folds an IMMUTABLE call there: its body may change a setting
                // (set_config('client_encoding', ...)), reported only at ReadyForQuery (a helper's pass).
                executedSinceSync = true;
                onBind(frame);
            }
            case 'E' -> {
                executedSinceSync = true;
                onExecute(frame);
            }
            case 'D' -> onDescribe(frame);
            case 'C' -> {
                FrontendMessage.Close close = (FrontendMessage.Close) decoded(frame);
                String name = PreparedStatements.wireName(close.name());
                if (name == null) {
                    refuseName(frame, close.name());
                    return;
                }
                if (!name.isEmpty() && !queue.isEmpty() && (waitedFor(queue.readingNames(), frame)
                        || waitedFor(queue.changingNamesBySql(), frame))) {
                    return;
                }
                // What it removes rides with its entry: restored if the server skips the Close.
                writer.send(frame, close.kind() == 'S'
                        ? Entry.forward(Kind.CLOSE, prepared.closedStatement(name), null, null)
                        : Entry.forward(Kind.CLOSE, null, prepared.closedPortal(name), null));
            }
            case 'Q' -> {
                readFrom = invalidations();
                audit.receiving(StatementBytes.ofQuery(frame));
                reader.readThen(frame, frame.readerIndex() + 5, reading -> onQuery(frame, reading));
            }
            case 'F' -> {
                executedSinceSync = true;
                audit.receiving(null);
                onFunctionCall(frame);
            }
            case 'S' -> {
                executedSinceSync = false;
                discardUntilSync = false;
                Entry sync = Entry.forward(Kind.SYNC);
                if (settingsMayChangeInBatch) {
                    settingsMayChangeInBatch = false;
                    settlesSettings = sync;
                }
                Unreadable committing = syncCommits();
                if (committing.isEmpty()) {
                    writer.send(frame, sync);
                } else {
                    // It commits the batch's implicit transaction, DDL included: as a COMMIT does (see admit).
                    holdUntil(session.catalog.withdrawReaching(session.masking, backend(), committing), frame, (done, failure) -> {
                        if (failure != null) {
                            // The Sync cannot be refused alone: the session ends, and the server rolls back.
                            frame.release();
                            throw new SessionException(SqlState.LOCK_NOT_AVAILABLE, "Warden could not cancel "
                                    + "another session's statement that this transaction's DDL reaches, sent before "
                                    + "the DDL, which may wait on its locks; the transaction is rolled back", null,
                                    ClientErrors.unwrap(failure));
                        }
                        writer.send(frame, sync);
                    });
                }
            }
            case 'd', 'c', 'f' -> {
                if (dropCopyData) {
                    // The data of a refused COPY ... FROM STDIN, up to its CopyDone or CopyFail.
                    dropCopyData = type == 'd';
                    frame.release();
                } else if (type == 'c') {
                    copyDone(frame);
                } else {
                    if (type == 'd') {
                        copyData(frame);
                    } else {
                        copyDigest = null;
                        copyBytes = 0;
                        copyMessages = 0;
                    }
                    queue.copyDataSent(type);
                    upstream.write(frame, upstream.voidPromise());
                }
            }
            case 'H' -> writer.sendAfterDeferred(frame);
            default -> upstream.write(frame, upstream.voidPromise());
        }
    }

    // ---- COPY ... FROM STDIN data ------------------------------------------------------------------------

    /** The SHA-256 over the COPY data sent since the last CopyDone or CopyFail (null when the policy redacts). */
    private java.security.MessageDigest copyDigest;
    private long copyBytes;
    private long copyMessages;
    /** The seq of the query record of the last statement let through: a COPY's data is recorded under it. */
    private long lastQuerySeq = -1;

    /** Counts (and digests) one CopyData's contents: read in place, nothing copied. */
    private void copyData(ByteBuf frame) {
        if (copyMessages == 0) {
            copyDigest = services.snapshot().get().audit().keepLiterals() ? sha256() : null;
        }
        copyMessages++;
        int from = frame.readerIndex() + 5;
        int length = frame.writerIndex() - from;
        copyBytes += Math.max(0, length);
        if (copyDigest != null && length > 0) {
            for (java.nio.ByteBuffer b : frame.nioBuffers(from, length)) {
                copyDigest.update(b);
            }
        }
    }

    private static java.security.MessageDigest sha256() {
        try {
            return java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * The client ends its COPY ... FROM STDIN: the {@code copy.data} record of what it sent is written first, and the
     * CopyDone goes only once it is (the server commits the rows only at the CopyDone). Before, the rows of a COPY
     * were in no record, and an approval of a COPY's text covered whatever rows came after it (a helper's pass, a119:
     * 500 rows under an approval of "import 1 row"). When the record cannot be written and the policy refuses on
     * audit failure, a CopyFail goes in its place: the server loads nothing. A CopyDone outside a COPY Warden sent
     * (the server ignores it) goes as it is.
     */
    private void copyDone(ByteBuf frame) {
        if (copyMessages == 0 && !queue.copyInOpen()) {
            queue.copyDataSent((byte) 'c');
            upstream.write(frame, upstream.voidPromise());
            return;
        }
        String digest = copyDigest == null ? null : java.util.HexFormat.of().formatHex(copyDigest.digest());
        CompletableFuture<Long> written = audit.copyIn(lastQuerySeq, copyBytes, copyMessages, digest);
        copyDigest = null;
        copyBytes = 0;
        copyMessages = 0;
        holdUntil(written, frame, (seq, failure) -> {
            queue.copyDataSent((byte) 'c');
            if (failure != null && services.snapshot().get().policy().audit().refuseOnFailure()) {
                log.error("audit.unavailable session={} reason=\"{}\" COPY data refused", session.id,
                        ClientErrors.unwrap(failure).getMessage());
                frame.release();
                upstream.write(new FrontendMessage.CopyFail("Warden could not write the audit record of the COPY's "
                        + "data").toByteBuf(upstream.alloc()), upstream.voidPromise());
            } else {
                upstream.write(frame, upstream.voidPromise());
            }
            upstream.flush();
        });
    }

    // ---- reading statements ----------------------------------------------------------------------------

    /** Whether earlier requests may still be running upstream (and changing settings Warden follows). */
    boolean requestsInFlight() {
        return !queue.isEmpty() || executedSinceSync || writer.anyDeferred();
    }

    /**
     * Holds the client's stream until {@code work} completes, then runs {@code then} on the event loop (a
     * failure there ends the session instead of stalling it) and relays what was held meanwhile, in order.
     */
    <T> void holdUntil(CompletableFuture<T> work, ByteBuf frame, BiConsumer<T, Throwable> then) {
        holds++;
        work.whenComplete((value, failure) -> client.eventLoop().execute(() -> {
            if (session.ending()) {
                frame.release();
                return;
            }
            try {
                then.accept(value, failure);
            } catch (RuntimeException | StackOverflowError e) {
                session.fail(e);
                return;
            }
            releaseHeld();
        }));
    }

    private void releaseHeld() {
        if (--holds > 0) {
            return;
        }
        ByteBuf next;
        try {
            while (holds == 0 && (next = held.poll()) != null) {
                heldBytes -= next.readableBytes();
                relayToUpstream(next);
            }
        } catch (RuntimeException | StackOverflowError e) {
            // Runs as a task, outside the pipeline: a bad frame ends the session instead of stalling it.
            session.fail(e);
            return;
        }
        upstream.flush();
        if (holds == 0 && heldBytes <= MAX_HELD_BYTES) {
            flow.clientBacklog(false);
        }
    }

    /**
     * Passes a statement through the gate (the stream waits), then forwards it or sends its stand-in. A statement
     * that commits DDL first has the other sessions' statements in flight that the DDL reaches cancelled (see
     * {@link RelaySession#withdrawReaching}): judged before the DDL was sent, one may be waiting on a lock this
     * transaction took earlier, and would run what the COMMIT makes (a trigger, a rule, a view). When they are not
     * answered in time, the COMMIT is refused (42501, {@code ddl-commit-waits}) and the transaction stays open:
     * COMMIT again.
     */
    private void admit(ByteBuf frame, StatementGate.Statement statement, long judgedAt, Kind standInKind,
                       Consumer<StatementGate.Forward> forward, Runnable refused) {
        admit(frame, statement, null, judgedAt, standInKind, forward, refused);
    }

    /** {@code casts}: what binding its parameters runs (a prepared statement's, see Statement#casts), or null. */
    private void admit(ByteBuf frame, StatementGate.Statement statement, Analysis casts, long judgedAt,
                       Kind standInKind, Consumer<StatementGate.Forward> forward, Runnable refused) {
        Unreadable committing = committedDdl(statement.analysis());
        if (committing.isEmpty()) {
            admitNow(frame, statement, casts, judgedAt, standInKind, forward, refused);
            return;
        }
        holdUntil(session.catalog.withdrawReaching(session.masking, backend(), committing), frame, (done, failure) -> {
            StatementGate.Statement judged = statement;
            if (failure != null && statement.decision().allowed()) {
                log.warn("ddl_commit.refused session={} reason=\"{}\"", session.id,
                        ClientErrors.unwrap(failure).getMessage());
                judged = new StatementGate.Statement(statement.policy(), statement.sql(), statement.parameters(),
                        statement.analysis(), Decision.block("ddl-commit-waits", "another session's statement, sent "
                                + "before this transaction's DDL and reaching it, may be waiting on this transaction's "
                                + "locks and could not be cancelled in time", "COMMIT again"),
                        statement.protocol(), statement.preparedName(), statement.approvalText(),
                        statement.continuesApproval());
            }
            admitNow(frame, judged, casts, judgedAt, standInKind, forward, refused);
        });
    }

    /**
     * The DDL {@code analysis} commits: this transaction's and its own when it has a COMMIT (END, PREPARE
     * TRANSACTION, which keeps the locks: over-counted), or a CALL or DO outside a transaction block (which may
     * COMMIT), and every prepared transaction's for a COMMIT PREPARED.
     * NONE otherwise (without allocating: every transaction's COMMIT passes here).
     */
    private Unreadable committedDdl(Analysis analysis) {
        if (session.catalog == null || analysis == null) {
            return Unreadable.NONE;
        }
        boolean commits = false;
        boolean prepared = false;
        boolean routine = false;
        List<StatementFacts> statements = analysis.statements();
        for (int i = 0; i < statements.size(); i++) {
            StatementFacts f = statements.get(i);
            if (f.kind() == dev.warden.sql.StatementKind.COMMIT) {
                commits = true;
                prepared |= JudgedExposures.commitsPrepared(f);
            } else if ((f.kind() == dev.warden.sql.StatementKind.CALL || f.kind() == dev.warden.sql.StatementKind.DO)
                    && session.transactionStatus == 'I') {
                // Outside a transaction block a procedure or DO block may COMMIT: an extended batch's implicit
                // transaction (its DDL included) ends there, before the Sync. (In a block it cannot: not counted.)
                commits = true;
                routine = true;
            }
        }
        if (!commits) {
            return Unreadable.NONE;
        }
        Unreadable ddl = session.transactionDdl.unreadable();
        if (statements.size() > 1 || routine) {
            ddl = ddl.with(Unreadable.changedBy(analysis));
        }
        return prepared ? ddl.with(session.catalog.preparedDdl()) : ddl;
    }

    /**
     * How many times DDL invalidated the session's catalog so far (0 without one), lower while a catalog read that
     * DDL's end overlapped may still leave what it read (CatalogCache#stamp): stamps a judgement.
     */
    private long invalidations() {
        return session.catalog == null ? 0 : session.catalog.stamp();
    }

    /**
     * {@link #invalidations} before the catalog reads began that the statement being read is judged with (its
     * functions' effects, built into its analysis, and the names looked up): with the count at its judgement, the
     * lower is its stamp (see {@link #admitNow}). A stamp read only at the judgement counted DDL that another
     * session committed while those reads waited (on the catalog, or on the session's own server for its
     * temporary schema) as seen, and the statement ran a function body it was not judged with. Set when a Query or
     * Execute is first read and each time {@link StatementReading} applies the effects anew; names read again
     * ({@link #lookedUpThen}) leave it, as the effects judged were applied before.
     */
    private long readFrom;

    /** StatementReading applies a statement's function effects anew, from reads made after {@code invalidations}. */
    void readingFrom(long invalidations) {
        readFrom = invalidations;
    }

    /** The stamp of a judgement made now of the statement being read (see {@link #readFrom}). */
    private long judgementStamp() {
        return Math.min(invalidations(), readFrom);
    }

    /** This session's server backend (0 when the server sent no key). */
    private int backend() {
        CancelRegistry.Target target = session.upstreamCancel;
        return target == null ? 0 : target.processId();
    }

    /**
     * The DDL a Sync commits: the open transaction's, when the session was idle at its last ReadyForQuery (the
     * batch runs in an implicit transaction, which the Sync ends; a BEGIN inside the batch over-counts). NONE
     * otherwise.
     */
    private Unreadable syncCommits() {
        return session.catalog == null || session.transactionStatus != 'I' ? Unreadable.NONE
                : session.transactionDdl.unreadable();
    }

    /**
     * @param judgedAt the catalog's invalidations read before the statement was judged ({@link #invalidations}): DDL
     *     seen after it counts (an approval may take minutes; a COMMIT's wait for other sessions' statements, and
     *     the audit record's write, take moments). Read here, after that wait, it missed another session's trigger
     *     committed during it.
     */
    private void admitNow(ByteBuf frame, StatementGate.Statement statement, Analysis casts, long judgedAt,
                          Kind standInKind, Consumer<StatementGate.Forward> forward, Runnable refused) {
        session.statementCount++;
        HeldRead read = heldRead;
        heldRead = null;
        holdUntil(gate.admit(statement, notice -> client.writeAndFlush(BackendMessage.NoticeResponse.of("NOTICE",
                "01000", notice).toByteBuf(client.alloc()))), frame, (verdict, failure) -> {
            if (failure != null) {
                frame.release(); // never relayed: the session ends with the gate's failure
                throw new SessionException(SqlState.INTERNAL_ERROR, "statement gate failed: "
                        + ClientErrors.unwrap(failure).getMessage(), null, failure);
            }
            boolean inBatch = readsInBatch();
            if (verdict instanceof StatementGate.Forward f && f.approvalId() != null && read != null
                    && !statement.decision().retry() && (queue.betweenBatches() || inBatch)) {
                // Held, then approved: what it reaches is read again, and it goes only if nothing of it changed while
                // it waited. A migration made outside Warden during the hold (an enum renamed, a view replaced) ran
                // under the approval of what it replaced (a helper's pass, a124).
                OwnRequests.OwnQuery again = ownRead(read, inBatch);
                holdUntil(again.answered, frame, (value, failed) -> afterApproval(frame, statement, casts, judgedAt,
                        standInKind, forward, refused, f, !read.value().equals(value)));
                return;
            }
            afterApproval(frame, statement, casts, judgedAt, standInKind, forward, refused, verdict, false);
        });
    }

    /** {@link #admitNow} once the gate decided, and (approved after a hold) what it reaches was read again. */
    private void afterApproval(ByteBuf frame, StatementGate.Statement statement, Analysis casts, long judgedAt,
                               Kind standInKind, Consumer<StatementGate.Forward> forward, Runnable refused,
                               StatementGate.Verdict verdict, boolean changedWhileHeld) {
        if (verdict instanceof StatementGate.Forward f && (changedWhileHeld
                || redefinedWhileWaiting(statement.analysis(), judgedAt, f.approvalId() != null)
                || redefinedWhileWaiting(casts, judgedAt, f.approvalId() != null))) {
            Decision outdated = f.approvalId() != null ? Decision.block("approval-outdated", "what the "
                    + "statement reaches was redefined (DDL) while it waited for approval " + f.approvalId()
                    + ", after it was judged: it may now run what was not judged (a trigger, a rule, a body)",
                    "run it again: it is judged with the change (and asks for approval again)")
                    : judgedBeforeDdl();
            holdUntil(gate.refuseApproved(statement, outdated, f.approvalId()), frame, (again, failed) -> {
                frame.release();
                refused.run();
                String marker = standInMarker();
                writer.sendStandIn(OwnRequests.standIn(standInKind, marker), standInKind,
                        ((StatementGate.Refuse) again).error(), marker);
            });
            return;
        }
        if (verdict instanceof StatementGate.Forward f) {
            lastQuerySeq = f.querySeq();
            forward.accept(f);
            return;
        }
        frame.release();
        refused.run();
        BackendMessage.ErrorResponse error = ((StatementGate.Refuse) verdict).error();
        String marker = standInMarker();
        writer.sendStandIn(OwnRequests.standIn(standInKind, marker), standInKind, error, marker);
    }

    /** Whether another session's DDL may have redefined what {@code portal}'s Bind runs since {@code judgedAt}. */
    private boolean redefinedSince(PreparedStatements.Portal portal, long judgedAt) {
        return redefinedWhileWaiting(portal.statement.judged, judgedAt, false)
                || redefinedWhileWaiting(portal.statement.casts, judgedAt, false);
    }

    /**
     * Whether the Bind of {@code portal}, recorded going alone at {@code recordedAt} ({@link System#nanoTime}) with
     * its judgement stamped {@code judgedAt}, must not go now (see UpstreamRequests#sendDeferred): it waited longer
     * than the catalog's entries count as current (a migration outside Warden is seen no sooner; measured from the
     * record, not from the entries' age, which refused a Bind whose entries expired while its record was written),
     * or another session's DDL may have redefined what it runs.
     */
    private boolean judgedBefore(PreparedStatements.Portal portal, long judgedAt, long recordedAt) {
        return System.nanoTime() - recordedAt > CatalogCache.TTL_NANOS || redefinedSince(portal, judgedAt);
    }

    /** The refusal of a statement sent at once whose judgement another session's DDL made outdated. */
    private static Decision judgedBeforeDdl() {
        return Decision.block("judged-before-ddl", "another session's DDL redefined what the statement reaches after "
                + "Warden judged it and before it was sent (while its audit record was written): it may now run what "
                + "was not judged", "run it again: it is judged with the change");
    }

    /**
     * Whether DDL seen since {@code judgedAt} may have redefined a name {@code analysis} uses, or a function,
     * procedure or aggregate when it reads or writes a relation or calls a function (a trigger's function replaced
     * runs with a write that names only the table). An {@code approved} statement (which waited minutes, perhaps)
     * counts every name it reaches (through views too) and the catalog channel's notifications and dynamic SQL,
     * which name nothing; one sent at once counts DDL through Warden that named a relation or function it uses, and
     * is not refused for a migration outside Warden that happened to end while its audit record was written.
     * (DDL still open when it is forwarded: its COMMIT cancels the statement, see {@link #admit}.)
     */
    private boolean redefinedWhileWaiting(Analysis analysis, long judgedAt, boolean approved) {
        // (judgedAt: see admitNow)
        CatalogCache catalog = session.catalog;
        if (catalog == null || analysis == null || catalog.invalidations() == judgedAt) {
            return false;
        }
        // Not this session's own DDL, sent before the statement (its transaction ending while the audit record was
        // written refused a harmless write that followed it in a pipeline): see CatalogCache#namedRedefinedSince.
        long own = session.masking.ddlAuthor;
        if (approved ? catalog.redefinedSince(catalog.reachedNames(analysis), judgedAt, own)
                : catalog.namedRedefinedSince(usedNames(catalog.names(analysis), analysis), judgedAt, own)) {
            return true;
        }
        return catalog.namedRedefinedSince(Set.of(CatalogCache.ANY_ROUTINE), judgedAt, own)
                && dev.warden.proxy.catalog.StatementWalk.any(analysis, f -> f.unparsed() || f.dynamicSql()
                || !f.tablesRead().isEmpty() || !f.tablesWritten().isEmpty() || !f.functions().isEmpty()
                || !f.implicitCalls().isEmpty());
    }

    /**
     * Of {@code words} (every name-like word of the texts, as DDL's redefinitions are recorded), those that are
     * relations or functions the statement (or a body it runs) uses: a SET that says "set" is not redefined by
     * an ALTER ... SET DEFAULT. All of them when Warden could not read a statement of it.
     */
    private static Set<String> usedNames(Set<String> words, Analysis analysis) {
        Set<String> used = new java.util.HashSet<>();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.unparsed() || f.dynamicSql() || f.kind() == StatementKind.DO || f.kind() == StatementKind.OTHER) {
                    return words;
                }
                f.tablesRead().forEach(t -> used.add(t.name().toLowerCase(java.util.Locale.ROOT)));
                f.tablesWritten().forEach(t -> used.add(t.name().toLowerCase(java.util.Locale.ROOT)));
                for (String function : f.functions()) {
                    used.add(function.substring(function.lastIndexOf('.') + 1).toLowerCase(java.util.Locale.ROOT));
                }
            }
        }
        Set<String> out = new java.util.HashSet<>();
        for (String word : words) {
            if (used.contains(word.toLowerCase(java.util.Locale.ROOT))) {
                out.add(word);
            }
        }
        return out;
    }

    private Decision decide(PolicySnapshot policy, Analysis analysis) {
        CatalogCache catalog = session.catalog;
        if (catalog == null) {
            return decisions.decide(policy.guardrails(), identity, environment, analysis, session.upstreamLogin);
        }
        // This transaction's DDL, and what other sessions' open transactions changed: a statement that waits on
        // one's lock runs the triggers, rules and bodies it then commits (CatalogCache#openDdlElsewhere).
        Unreadable open = session.openDdl();
        boolean otherTemporary = session.temporaryRelations.namesOtherSchema(analysis);
        if (Guardrails.anyUnreadable(analysis, open) || otherTemporary) {
            // Not remembered: the decision holds for these open transactions' DDL only, or for a statement that names
            // another session's temporary schema (judged with every session's).
            everyTemporary = otherTemporary;
            try {
                return policy.guardrails().decide(identity, environment, analysis, session.upstreamLogin,
                        namedRelations, open);
            } finally {
                everyTemporary = false;
            }
        }
        return decisions.decide(policy.guardrails(), identity, environment, analysis, session.upstreamLogin,
                namedRelations, judgedAt(catalog));
    }

    /**
     * What a decision made with {@link #namedRelations} depends on besides the statement: the catalog's generation,
     * and whether the session may have temporary relations (see {@link TemporaryRelations}).
     */
    private long judgedAt(CatalogCache catalog) {
        return catalog.generation() * 4 + session.temporaryRelations.state();
    }

    /** Set while a statement that names another session's temporary schema is judged (see {@link #decide}). */
    private boolean everyTemporary;

    private String visibleTemporary() {
        return everyTemporary ? CatalogCache.ANY_TEMPORARY : session.temporaryRelations.visibleSchemas();
    }

    /** What the environment's catalog says of the relations a statement names, for rules on tables. */
    private final Guardrails.NamedRelations namedRelations = new Guardrails.NamedRelations() {
        @Override
        public java.util.Set<String> holding(String relation) {
            return session.catalog.schemasHolding(relation, visibleTemporary());
        }

        @Override
        public java.util.Set<dev.warden.sql.TableRef> namedByViews(String relation) {
            return session.catalog.namedByViews(relation, visibleTemporary());
        }

        @Override
        public java.util.Set<String> computingEverywhere() {
            return session.catalog.computingEverywhere();
        }

        @Override
        public List<StatementFacts> runBy(String relation, boolean written) {
            return session.catalog.runBy(relation, written, visibleTemporary());
        }

        @Override
        public java.util.Set<String> systemTables() {
            return session.catalog.systemTables();
        }

        @Override
        public java.util.Set<String> creatable() {
            // The catalog reads what its own login may create in: the session's answer only when it logs in as that.
            return environment.upstream().user().equals(session.upstreamLogin) ? session.catalog.creatableSchemas()
                    : null;
        }
    };

    // ---- the messages ------------------------------------------------------------------------------------

    private void onQuery(ByteBuf frame, SessionLexing.Reading reading) {
        Analysis text = reading.analysis();
        if (!queue.isEmpty() && (waitedFor(text == null || Execution.readsNames(text) ? queue.namesUnsettled() : null, frame)
                || waitedFor(text == null || changesNames(text) ? queue.readingNames() : null, frame)
                || waitedFor(text == null || changesNames(text) ? queue.changingNamesBySql() : null, frame))) {
            return; // read again when the names are settled
        }
        prepared.simpleQuery();
        String unknown = reading.refusal() == null ? unknownExecuted(reading.analysis()) : null;
        if (unknown != null) {
            // Answered as the server answers an EXECUTE of a statement that does not exist, and not relayed: nothing
            // of the text runs. Recorded as a refusal (before, it had no record: a text could hide there unseen).
            reading = new SessionLexing.Reading(reading.sql(), reading.analysis(), Decision.asServer(
                    "unknown-prepared-statement", "26000", "prepared statement \"" + unknown + "\" does not exist",
                    "Warden saw no statement of that name prepared in this session"), reading.read());
        }
        Decision kept = reading.refusal() == null ? overKeptBudget(reading) : null;
        if (kept != null) {
            reading = new SessionLexing.Reading(reading.sql(), reading.analysis(), kept, reading.read());
        }
        Decision screenedOut = reading.refusal() == null ? executedScreenedOut(reading.analysis()) : null;
        if (screenedOut != null) {
            reading = new SessionLexing.Reading(reading.sql(), reading.analysis(), screenedOut, reading.read());
        }
        Analysis executed = reading.refusal() == null ? preparedExecuted(reading.analysis()) : null;
        if (executed != null && session.catalog != null) {
            // As the catalog has them now (StatementReading resolved the functions they call with the EXECUTE's).
            executed = session.catalog.withFunctionEffects(executed, session.lexing.standardConformingStrings());
        }
        if (executed == null) {
            admitQuery(frame, reading, null);
        } else {
            Analysis judged = executed;
            SessionLexing.Reading admitted = reading;
            lookedUpThen(judged, frame, () -> admitQuery(frame, admitted, judged));
        }
    }

    /**
     * A name {@code analysis} EXECUTEs that no statement Warden saw prepared has (in this session, or earlier in the
     * same text), or null: Warden cannot judge what it runs. The server refuses it too, unless the statement was
     * prepared where Warden did not read it (an attacker's pass prepared a DELETE under the name {@code transaction},
     * which Warden then read as PREPARE TRANSACTION, and ran it).
     */
    private String unknownExecuted(Analysis analysis) {
        if (analysis == null) {
            return null;
        }
        java.util.Set<String> preparedHere = null;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f = top; f != null; f = f.inner().orElse(null)) {
                if (f.kind() == StatementKind.PREPARE && f.preparedName().isPresent()) {
                    if (preparedHere == null) {
                        preparedHere = new java.util.HashSet<>();
                    }
                    preparedHere.add(f.preparedName().get());
                } else {
                    // EXECUTE name, and CREATE TABLE ... AS EXECUTE name (under EXPLAIN too), as executedBy reads them.
                    String name = f.kind() == StatementKind.EXECUTE ? f.preparedName().orElse(null)
                            : f.kind() == StatementKind.CREATE || f.kind() == StatementKind.EXPLAIN
                            ? dev.warden.sql.TextReferences.createdFromExecute(f.text()).orElse(null) : null;
                    if (name != null && prepared.statement(name) == null
                            && (preparedHere == null || !preparedHere.contains(name))) {
                        return name;
                    }
                }
            }
        }
        return null;
    }

    /**
     * Masking's refusal of a prepared statement an EXECUTE of {@code analysis} runs, or of a cursor's query a FETCH
     * runs, as screened when the catalog last moved on (see {@link #screenIfChanged}); null: none.
     */
    private Decision executedScreenedOut(Analysis analysis) {
        if (analysis == null || masking == null) {
            return null;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f = top; f != null; f = f.inner().orElse(null)) {
                PreparedStatements.Statement statement = ranBy(f);
                if (statement != null && statement.screenedOut != null) {
                    return statement.screenedOut;
                }
            }
        }
        return null;
    }

    /**
     * The statements SQL PREPARE made that the EXECUTEs of {@code analysis} run (null: none): the server plans each
     * again when what it names has changed since (a trigger added, a view replaced), so it is judged again; and
     * it runs the functions they call as they are then, so each is given as its text alone reads (before function
     * effects, applied again by the caller) where Warden kept that.
     */
    Analysis preparedExecuted(Analysis analysis) {
        if (analysis == null) {
            return null;
        }
        // Every statement's path: nothing allocated unless it EXECUTEs.
        List<StatementFacts> executed = null;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f = top; f != null; f = f.inner().orElse(null)) {
                PreparedStatements.Statement statement = executedBy(f);
                if (statement != null) {
                    if (executed == null) {
                        executed = new java.util.ArrayList<>();
                    }
                    executed.addAll((statement.read != null ? statement.read : statement.judged).statements());
                }
            }
        }
        return executed == null || executed.isEmpty() ? null : new Analysis(executed);
    }

    /**
     * Gives the statements SQL PREPARE made that the EXECUTEs of {@code analysis} run the effects of the functions
     * they call as the catalog has them now (their names are looked up with the EXECUTE's, see StatementReading),
     * when it moved on since they were applied: masking follows an EXECUTE into {@link
     * PreparedStatements.Statement#judged}, and a function a migration replaced runs its new body. So do the queries
     * of the cursors its FETCHes and MOVEs read (see {@link #cursorsFetched}).
     */
    void executedWithEffectsNow(Analysis analysis) {
        CatalogCache catalog = session.catalog;
        if (analysis == null || catalog == null) {
            return;
        }
        long at = catalog.generation();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f = top; f != null; f = f.inner().orElse(null)) {
                PreparedStatements.Statement statement = ranBy(f);
                if (statement != null && statement.read != null && statement.effectsStale(at)) {
                    screenIfChanged(statement, statement.reappliedWithoutCasts(catalog.withFunctionEffects(
                            statement.read, session.lexing.standardConformingStrings()), at,
                            reader.currentUntil(statement.read)), f.kind() != StatementKind.FETCH
                            && f.kind() != StatementKind.MOVE);
                }
            }
        }
    }

    /**
     * The queries of the cursors {@code analysis} FETCHes or MOVEs as their texts alone give them (before function
     * effects), or null: a cursor's plan was made at DECLARE, but the functions it calls run as they are at each
     * FETCH (a PL/pgSQL body replaced meanwhile runs its new body). Masking judges them with StatementReading's.
     */
    Analysis cursorsFetched(Analysis analysis) {
        if (analysis == null) {
            return null;
        }
        List<StatementFacts> fetched = null;
        for (StatementFacts f : analysis.statements()) {
            PreparedStatements.Statement query = fetchedBy(f);
            if (query != null && query.read != null) {
                if (fetched == null) {
                    fetched = new java.util.ArrayList<>();
                }
                fetched.addAll(query.read.statements());
            }
        }
        return fetched == null ? null : new Analysis(fetched);
    }

    /** The prepared statement or the cursor's query {@code f} runs ({@link #executedBy}, {@link #fetchedBy}), or null. */
    private PreparedStatements.Statement ranBy(StatementFacts f) {
        PreparedStatements.Statement executed = executedBy(f);
        return executed != null ? executed : fetchedBy(f);
    }

    /** The query of the cursor {@code f} FETCHes or MOVEs, when Warden saw its DECLARE; else null. */
    private PreparedStatements.Statement fetchedBy(StatementFacts f) {
        if (f.kind() != StatementKind.FETCH && f.kind() != StatementKind.MOVE) {
            return null;
        }
        PreparedStatements.Portal cursor = dev.warden.sql.TextReferences.cursorName(f).map(prepared::portal)
                .orElse(null);
        return cursor == null || !cursor.declared ? null : cursor.statement;
    }

    /**
     * When the bodies a prepared statement runs changed since it was screened ({@code changed}), or it writes (what
     * the triggers and rules of the tables it writes run is the catalog's, not its own), masking screens it as it runs
     * now: a refusal (a function now hands a sensitive value off, a trigger now copies one into a clear table) stands
     * for its executions. Its search_path is as known then (every candidate when not read since: a batch cannot stop
     * to read it). Otherwise a prepared statement ({@code replanned}: the server plans it again, unlike a cursor) is
     * judged again for its rows by what the catalog now holds of the relations it reads (a view replaced outside
     * Warden), with the search_path it was judged with.
     */
    private void screenIfChanged(PreparedStatements.Statement statement, boolean changed, boolean replanned) {
        if (masking == null) {
            return;
        }
        if (changed || writes(statement.judged)) {
            statement.screenedOut = masking.screen(new SessionLexing.Reading(statement.sql, statement.judged, null))
                    .refusal();
        } else if (replanned) {
            masking.catalogMovedOn(statement.judged);
        }
    }

    /** Whether a statement of {@code analysis}, or one a function it calls runs, may write. */
    private static boolean writes(Analysis analysis) {
        if (analysis == null) {
            return false;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.writes()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The prepared statement {@code f} runs (EXECUTE, CREATE TABLE ... AS EXECUTE), or null. */
    private PreparedStatements.Statement executedBy(StatementFacts f) {
        PreparedStatements.Statement statement = f.kind() == StatementKind.EXECUTE
                ? f.preparedName().map(prepared::statement).orElse(null)
                // CREATE TABLE ... AS EXECUTE name (under EXPLAIN too) runs it as well.
                : f.kind() == StatementKind.CREATE || f.kind() == StatementKind.EXPLAIN
                ? dev.warden.sql.TextReferences.createdFromExecute(f.text()).map(prepared::statement).orElse(null)
                : null;
        return statement != null && statement.analysis != null ? statement : null;
    }

    /**
     * Runs {@code then} once the catalog has looked up what {@code analysis} names, when a rule names tables (the
     * client's stream waits meanwhile, in order); if it cannot be read, the names stay unknown (fail closed).
     */
    private void lookedUpThen(Analysis analysis, ByteBuf frame, Runnable then) {
        lookedUpThen(analysis, frame, then, 1);
    }

    /** {@code read}: as in {@link StatementReading}, names are read again when DDL ended meanwhile. */
    private void lookedUpThen(Analysis analysis, ByteBuf frame, Runnable then, int read) {
        CatalogCache catalog = session.catalog;
        long invalidations = catalog == null ? 0 : catalog.invalidations();
        // A repeated shape asks the catalog once (ScreenedShapes), as StatementReading does for a Query.
        java.util.Set<String> missing = catalog == null || analysis == null
                || !services.snapshot().get().guardrails().namesTables(environment) ? java.util.Set.of()
                : masking != null && masking.shapes() != null ? masking.shapes().functionsToResolve(analysis, true)
                : catalog.functionsToResolve(analysis, true);
        dev.warden.sql.Analysis bodies = catalog == null || analysis == null ? null
                : session.openDdl().definitionsNamedBy(analysis);
        if (bodies != null && services.snapshot().get().guardrails().namesTables(environment)) {
            missing = new java.util.LinkedHashSet<>(missing);
            missing.addAll(catalog.functionsToResolve(bodies, true));
        }
        // The temporary schema's read waits on the server: DDL ending meanwhile drops what was read too.
        Runnable judged = catalog == null ? then : () -> {
            if (catalog.invalidations() != invalidations && read < StatementReading.MAX_READS) {
                lookedUpThen(analysis, frame, then, read + 1);
                return;
            }
            then.run();
        };
        if (missing.isEmpty()) {
            temporarySchemaThen(analysis, frame, judged);
            return;
        }
        holdUntil(catalog.resolveFunctions(missing, services.analyzer()).exceptionally(failure -> null), frame,
                (done, failure) -> {
                    if (catalog.invalidations() != invalidations && read < StatementReading.MAX_READS) {
                        lookedUpThen(analysis, frame, then, read + 1); // what was read was dropped meanwhile
                        return;
                    }
                    temporarySchemaThen(analysis, frame, judged);
                });
    }

    /**
     * Runs {@code then}, first reading the session's temporary schema when a rule names tables, the session may
     * have temporary relations, and a name of {@code analysis} could mean another session's: then only its own
     * count (see {@link TemporaryRelations}). Between the client's batches only, once per backend (the name never
     * changes); inside a batch every session's count, as before.
     */
    void temporarySchemaThen(Analysis analysis, ByteBuf frame, Runnable then) {
        CatalogCache catalog = session.catalog;
        if (catalog == null || analysis == null || !session.temporaryRelations.worthReadingSchema()
                || !writer.betweenBatches() || !services.snapshot().get().guardrails().namesTables(environment)
                || !catalog.namesTemporary(analysis)) {
            then.run();
            return;
        }
        OwnRequests.OwnQuery read = OwnRequests.readTemporarySchema(ownNames + "_temp", writer::send,
                upstream.alloc());
        upstream.flush();
        holdUntil(read.answered, frame, (schema, failure) -> {
            session.temporaryRelations.schemaRead(schema);
            then.run();
        });
    }

    private void admitQuery(ByteBuf frame, SessionLexing.Reading reading, Analysis executed) {
        long judgedAt = judgementStamp();
        PolicySnapshot policy = services.snapshot().get();
        Analysis analysis = reading.analysis();
        Decision decision = reading.refusal() != null ? reading.refusal()
                : decide(policy, judgedWithExecuted(analysis, executed));
        if (decision.allowed() && executed != null) {
            decision = decide(policy, executed);
        }
        if (settledFirst(decision, frame, () -> admitQuery(frame, reading, executed))) {
            return;
        }
        decision = settingsUnknown(decision, analysis);
        // An SQL EXECUTE's approval binds what its prepared statement reaches (a helper's pass, a124: the key of
        // EXECUTE p held no definition, and a function p calls was replaced after the approval).
        Analysis reached = withExecuted(analysis, executed);
        if (unreportedFirst(decision, reached, frame, () -> admitQuery(frame, reading, executed))) {
            return;
        }
        String unreported = takeUnreported();
        decision = readOrRefused(decision, unreported);
        if (analysis != null && decision.verdict() == Decision.Verdict.ALLOW) {
            rememberReason(analysis);
        }
        admit(frame, new StatementGate.Statement(policy, reading.sql(), null, recordedWith(analysis, executed),
                decision, QueryEvent.Protocol.SIMPLE, null, approvalText(decision, reached, executed == null ? null
                        : withWhatItExecutes(reading.sql(), executed), reading.sql(), unreported)),
                judgedAt, Kind.QUERY, f -> {
                    Execution execution = new Execution(f.querySeq(), false, analysis, null, policy);
                    List<StatementFacts> run = session.temporaryRelations.sending(analysis, session.catalog);
                    if (masking != null) {
                        session.transactionDdl.sending(analysis, run, masking.invalidateAfterDdl(analysis, run));
                    }
                    describeCopy(execution);
                    Entry sent = Entry.forward(Kind.QUERY, null, null, execution);
                    if (settingsMayChangeInBatch || !settingsNeutral(analysis)) {
                        settingsMayChangeInBatch = false;
                        settlesSettings = sent; // its ReadyForQuery reports what it, and the batch before it, set
                    }
                    // Ignored by the server (an earlier error in the batch came back before it went): it runs no
                    // PREPARE, DEALLOCATE or DECLARE. Applied anyway, they were never undone: a helper's pass (a122)
                    // followed a SELECT 1/0 with PREPARE p AS <harmless>, and Warden judged EXECUTE p as that.
                    boolean ignored = queue.serverSkipsUntilSync();
                    writer.send(frame, sent);
                    if (!ignored) {
                        ranSql(analysis, execution, reading.read());
                    }
                }, () -> dropCopyData = true);
    }

    /**
     * {@code analysis} as the guardrails judge it when its SQL EXECUTEs run {@code executed}, which is judged after
     * it: an EXECUTE of a statement Warden saw prepared, with constants for arguments (binding them runs nothing of
     * its own, see {@link dev.warden.sql.TextReferences#executesWithConstants}), writes only if what it runs writes.
     * Not for a statement a Parse made with a user type declared for a parameter: converting the constants to it runs
     * its domain's checks, which {@code executed} does not hold (a helper's pass, a143 F0: a domain whose CHECK
     * deleted rows ran so unheld, and for the read-only agent).
     * Before, every EXECUTE was a write, and one of a prepared read was held for approval in production (attacker pass
     * a139, F2). {@code analysis} as it is when what is executed writes, or when the text also prepares, deallocates
     * or discards (its EXECUTE may run a statement the same text makes).
     */
    private Analysis judgedWithExecuted(Analysis analysis, Analysis executed) {
        if (analysis == null || executed == null) {
            return analysis;
        }
        for (StatementFacts top : executed.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.writes() || f.dynamicSql()) {
                    return analysis;
                }
            }
        }
        List<StatementFacts> out = null;
        for (int i = 0; i < analysis.statements().size(); i++) {
            StatementFacts f = analysis.statements().get(i);
            StatementKind kind = f.kind();
            if (kind == StatementKind.PREPARE || kind == StatementKind.DEALLOCATE || Execution.discardsNames(f)) {
                return analysis;
            }
            StatementFacts read = null;
            if (kind == StatementKind.EXECUTE && executesAReadWithConstants(f)) {
                read = readOnly(f, f.inner());
            } else if (kind == StatementKind.EXPLAIN && f.inner().isPresent()
                    && f.inner().get().kind() == StatementKind.EXECUTE && f.nested().isEmpty() && !f.dynamicSql()
                    && f.functions().isEmpty() && onlyItsName(f, f.inner().get().preparedName())
                    && f.tablesWritten().isEmpty() && executesAReadWithConstants(f.inner().get())) {
                // EXPLAIN [ANALYZE] [VERBOSE] EXECUTE q(constants) of a read: it plans (or runs) the read alone (an
                // attacker's pass, a148 F2: a plain one was held as a write in production). Not with options in
                // parentheses: the analysis reads calls in them, and it stays as it was.
                read = readOnly(f, Optional.of(readOnly(f.inner().get(), f.inner().get().inner())));
            }
            if (read != null) {
                if (out == null) {
                    out = new ArrayList<>(analysis.statements());
                }
                out.set(i, read);
            }
        }
        return out == null ? analysis : new Analysis(out);
    }

    /**
     * Whether {@code f}, an SQL EXECUTE, runs a statement Warden saw prepared (by Parse with built-in parameter types
     * only), with constants for arguments and nothing else to run; see {@link #judgedWithExecuted}.
     */
    private boolean executesAReadWithConstants(StatementFacts f) {
        return f.kind() == StatementKind.EXECUTE && f.writes() && f.nested().isEmpty() && !f.dynamicSql()
                && !f.unparsed() && f.functions().isEmpty() && onlyItsName(f)
                && f.tablesWritten().isEmpty() && executedBy(f) != null && builtInTypes(executedBy(f))
                && dev.warden.sql.TextReferences.executesWithConstants(f.text(),
                        session.lexing.standardConformingStrings());
    }

    /** {@code f} as a statement that writes nothing, with {@code inner} for what it wraps. */
    private static StatementFacts readOnly(StatementFacts f, Optional<StatementFacts> inner) {
        return new StatementFacts(f.text(), f.fingerprint(), f.kind(), f.objectType(), false, f.tablesRead(),
                f.tablesWritten(), f.columnsRead(), f.columnsWritten(), f.hasWhere(), f.functions(),
                f.dataModifyingCte(), f.copy(), f.roleTarget(), f.preparedName(), inner, f.innerKinds(),
                f.unparsed(), f.nested(), f.implicitCalls(), f.dynamicSql());
    }

    /** Whether every parameter type Parse declared for {@code statement} is built in (or left to the server). */
    private static boolean builtInTypes(PreparedStatements.Statement statement) {
        for (int type : statement.parameterTypes) {
            if (Integer.compareUnsigned(type, 16384) >= 0) {
                return false; // FirstNormalObjectId: a type made in the database, a domain among them
            }
        }
        return true;
    }

    /**
     * Whether the implicit calls of the SQL EXECUTE {@code f}, whose arguments are constants, are only what its text
     * reads as calls that are none: {@code name(} as a type modifier's input (as in {@code varchar(10)}), and the
     * minus the grammar folds into a negative number.
     */
    private static boolean onlyItsName(StatementFacts f) {
        return onlyItsName(f, f.preparedName());
    }

    /** {@link #onlyItsName(StatementFacts)} for an EXPLAIN of the EXECUTE of {@code name}. */
    private static boolean onlyItsName(StatementFacts f, Optional<String> name) {
        for (String call : f.implicitCalls()) {
            if (!call.equals("op:-") && !(name.isPresent() && call.equals("typmod:" + name.get()))) {
                return false;
            }
        }
        return true;
    }

    /** What an approver is told of a COPY ... FROM STDIN: its rows come after the approval (see {@link #copyDone}). */
    static final String COPY_IN_NOTE = "\n-- COPY FROM STDIN: the rows are sent after the approval and are not shown "
            + "here; the audit log records their size and SHA-256 (copy.data)";

    /**
     * {@code approvalText} (or {@code sql} when null) with {@link #COPY_IN_NOTE} when {@code analysis} has a COPY ...
     * FROM STDIN; else {@code approvalText} as it is.
     */
    private static String withCopyNote(Analysis analysis, String approvalText, String sql) {
        if (analysis != null) {
            for (StatementFacts f : analysis.statements()) {
                if (f.copy().isPresent() && f.copy().get().direction() == dev.warden.sql.CopySpec.Direction.FROM
                        && f.copy().get().target() == dev.warden.sql.CopySpec.Target.STDIN) {
                    return (approvalText == null ? sql : approvalText) + COPY_IN_NOTE;
                }
            }
        }
        return approvalText;
    }

    /**
     * For a statement held for approval, {@code approvalText} (or {@code sql}) with {@link #COPY_IN_NOTE} for a COPY
     * FROM STDIN and the session's settings that change what its literals and values mean: the approver sees them, and
     * the approval (and a grant's later uses) binds to them; {@code approvalText} as it is otherwise. Before, a helper's pass (a119) set DateStyle to DMY, and an UPDATE of the orders "before '01/12/2025'"
     * that the approver read as 12 January ran on eleven months of them.
     */
    private String approvalText(Decision decision, Analysis analysis, String approvalText, String sql,
                                String unreported) {
        if (decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL) {
            return approvalText; // only what is held for approval is shown to an approver (no work per statement)
        }
        String text = withCopyNote(analysis, approvalText, sql);
        String shown = text == null ? sql : text;
        if (sql != null && shown.startsWith(sql)) {
            shown = commentLinesMarked(sql) + shown.substring(sql.length());
        }
        StringBuilder out = new StringBuilder(shown);
        String settings = session.lexing.meaningSettings();
        if (!settings.isEmpty()) {
            out.append("\n-- session settings: ").append(settings);
        }
        out.append("\n-- settings the server does not report: ").append(unreported != null ? unreported
                : "not read (the statement came while the session's earlier requests were unanswered)");
        String bodies = bodiesDigest(analysis);
        if (bodies != null) {
            out.append("\n-- function bodies it runs: sha256 ").append(bodies);
        }
        String temporary = temporaryNames(analysis);
        if (temporary != null) {
            out.append("\n-- names of this session's temporary relations (unqualified, the server finds those "
                    + "first): ").append(temporary);
        }
        return out.append("\n-- rule: ").append(decision.rule()).append(" (approvers: ")
                .append(String.join(", ", new java.util.TreeSet<>(decision.approvers()))).append(')').toString();
    }

    /**
     * {@code sql} for an approver, each of its lines after the first that starts with {@code --} marked as the
     * statement's own: a requester wrote Warden's annotation lines ({@code -- session settings: ...}, {@code -- rule:
     * ...}) into a comment, with {@code OR id > 0} after blank lines, and the request looked like a one-row UPDATE
     * (a helper's pass, a135 F7). What runs is unchanged; the approval binds the marked text.
     */
    static String commentLinesMarked(String sql) {
        if (sql.indexOf('\n') < 0) {
            return sql;
        }
        String[] lines = sql.split("\n", -1);
        StringBuilder out = new StringBuilder(sql.length() + 32);
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                out.append('\n');
                if (lines[i].stripLeading().startsWith("--")) {
                    out.append(STATEMENT_LINE);
                }
            }
            out.append(lines[i]);
        }
        return out.toString();
    }

    /** The mark of a statement's own comment line in an approval's text ({@link #commentLinesMarked}). */
    static final String STATEMENT_LINE = "-- [a line of the statement:] ";

    /**
     * The relations {@code analysis} (and what it runs) names unqualified, or in pg_temp, that a temporary relation
     * of this session is called, sorted, or null when none: an approver reading {@code UPDATE orders ... WHERE id =
     * 8} took orders for public.orders, while it was the requester's temporary view whose id was
     * public.orders.customer_id, and the approved statement updated three rows (a helper's pass, a135 F2).
     */
    private String temporaryNames(Analysis analysis) {
        CatalogCache catalog = session.catalog;
        String visible = session.temporaryRelations.visibleSchemas();
        if (analysis == null || catalog == null || visible == null) {
            return null;
        }
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                for (Set<dev.warden.sql.TableRef> refs : List.of(f.tablesRead(), f.tablesWritten())) {
                    for (dev.warden.sql.TableRef t : refs) {
                        if (t.schema() != null && !t.schema().isEmpty() && !t.schema().startsWith("pg_temp")) {
                            continue; // qualified: that schema's, whatever the session made
                        }
                        Set<String> schemas = catalog.schemasHolding(t.name(), visible);
                        if (schemas != null && schemas.stream().anyMatch(s -> s.startsWith("pg_temp"))) {
                            out.add(t.name());
                        }
                    }
                }
            }
        }
        return out.isEmpty() ? null : String.join(", ", out);
    }

    /**
     * A digest of what the statement runs beyond its own text (the statements of the function bodies, triggers and
     * the like it reaches, as Warden read them), or null when nothing: it goes into the approval's text, so an
     * approval (a retry's, a grant's later use) covers the statement only while those bodies are the ones it was
     * judged with. With the rule and its approvers, as a policy now decides it. A helper's pass (a121) had a retry
     * run under an approval after the function it calls was replaced to delete from another table, and a dba's
     * approval stand for a rule that now asked pii-readers.
     */
    static String bodiesDigest(Analysis analysis) {
        if (analysis == null) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f != top) {
                    java.util.TreeSet<String> written = new java.util.TreeSet<>(); // sets iterate per JVM
                    f.tablesWritten().forEach(t -> written.add(t.toString()));
                    parts.add(f.kind() + " " + written + " " + f.text());
                }
            }
        }
        if (parts.isEmpty()) {
            return null;
        }
        java.util.Collections.sort(parts);
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (String part : parts) {
                sha.update(part.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return java.util.HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * For a statement held for approval: first reads the settings that change what it means and that the server does
     * not report ({@link OwnRequests#readUnreportedSettings}: the search_path, {@code transform_null_equals}) on the
     * session's connection, when the server is between the client's batches (the client's messages of this batch
     * wait in Warden: see UpstreamRequests#send), then runs {@code again}, which judges it again and takes them
     * ({@link #takeUnreported}) for the approver and the approval's key. Before, an approver saw {@code UPDATE
     * orders ...} with no word of a search_path that made {@code orders} the requester's own table, nor of {@code
     * transform_null_equals}, under which {@code phone = NULL} matches every NULL (a helper's pass, a119). Returns
     * false when it reads nothing: not held for approval, read already, or requests in flight (then the text says
     * they were not read).
     */
    private boolean unreportedFirst(Decision decision, Analysis analysis, ByteBuf frame, Runnable again) {
        boolean inBatch = readsInBatch();
        if (decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL || unreportedRead != null
                || !queue.betweenBatches() && !inBatch) {
            return false;
        }
        List<String> relations = relationsNamed(analysis);
        String text = statementsText(analysis);
        boolean inBlock = session.transactionStatus != 'I';
        OwnRequests.OwnQuery read = ownRead(new HeldRead(relations, text, inBlock, null), inBatch);
        holdUntil(read.answered, frame, (value, failure) -> {
            if (value == null && inBatch && queue.serverSkipsUntilSync()) {
                // The read failed in the client's batch (its error went to the client for this statement) or an
                // earlier statement of the batch failed: the server skips this one, so it is neither judged nor run.
                frame.release();
                return;
            }
            unreportedRead = value != null ? value : NOT_READ;
            reportedNow = value != null ? read.second() : null;
            heldRead = value == null ? null : new HeldRead(relations, text, inBlock, value);
            again.run();
        });
        return true;
    }

    /**
     * Whether a read of Warden's own may go inside the client's unsynced batch now (see OwnRequests#read): the
     * client's earlier messages of the batch are on the wire without a Sync (a JDBC transaction's BEGIN goes in one
     * batch with its first statement; a pipeline), the server does not skip to Sync and is not in a COPY. Before, a
     * statement held for approval there was read neither when held (the approver was shown "not read") nor once
     * approved, so a migration during the hold ran under the approval (a helper's pass, a125 G4); in retry mode it
     * was refused (as approval-settings-unknown).
     */
    private boolean readsInBatch() {
        return !queue.betweenBatches() && !queue.serverSkipsUntilSync() && !discardUntilSync && !queue.copyInOpen()
                && !queue.trackLost(); // not lostTrack(), which is read once, to end the session (a127 P3)
    }

    /** Sends {@link OwnRequests#readUnreportedSettings} of {@code read}'s arguments, as its own batch or inside the client's. */
    private OwnRequests.OwnQuery ownRead(HeldRead read, boolean inBatch) {
        OwnRequests.OwnQuery query = OwnRequests.readUnreportedSettings(ownNames + "_settings", read.relations(),
                read.text(), read.inBlock(), inBatch, writer::sendAhead, upstream.alloc());
        if (inBatch) {
            // No Sync: a Flush has the server send the answers (it would keep them until the client's Sync).
            upstream.write(new FrontendMessage.Flush().toByteBuf(upstream.alloc()), upstream.voidPromise());
        }
        upstream.flush();
        return query;
    }

    /** What {@link #unreportedFirst} read for the statement judged again now, and with what: see {@link #admitNow}. */
    private record HeldRead(List<String> relations, String text, boolean inBlock, String value) {
    }

    private HeldRead heldRead;

    /**
     * {@code analysis} for its query record: each SQL EXECUTE with the statements it runs ({@code executed}) nested,
     * so that the record names the tables they read and write (a helper's pass, a131: {@code EXECUTE p} of a prepared
     * UPDATE named no table, and {@code audit search --table} missed it); and each statement with what the relations
     * it reads and writes run ({@link #withWhatRelationsRun}).
     */
    private Analysis recordedWith(Analysis analysis, Analysis executed) {
        if (executed == null || analysis == null) {
            return withWhatRelationsRun(analysis);
        }
        List<StatementFacts> out = new ArrayList<>(analysis.statements().size());
        for (StatementFacts f : analysis.statements()) {
            out.add(f.kind() == StatementKind.EXECUTE ? f.withNested(executed.statements(), false) : f);
        }
        return withWhatRelationsRun(new Analysis(out));
    }

    /**
     * What {@link #withWhatRelationsRun} found last: for statements with which fact lists (see
     * {@link SessionAudit#sameFacts}), at which catalog state, what each one's relations run (null: nothing for any).
     */
    private record RunByRelations(List<StatementFacts> from, long at, List<List<StatementFacts>> run) {
    }

    private RunByRelations runByRelations;

    /**
     * {@code analysis} with, nested in each statement, what the relations it reads and writes run as the catalog
     * knows it (the statements of their triggers' functions, their rules' actions, the bodies of functions their
     * defaults, constraints, view definitions and policies call; a few levels deep), so that its query record names
     * the tables those write: an INSERT whose trigger updates another table, or a read of a view calling a function
     * that writes, named only the table or view in the text (a helper's pass, a133 F2). Found once per statement
     * shape and catalog state; where relations run nothing, {@code analysis} itself, so the record's summary of a
     * repeated statement stays cached.
     */
    private Analysis withWhatRelationsRun(Analysis analysis) {
        CatalogCache catalog = session.catalog;
        if (analysis == null || catalog == null) {
            return analysis;
        }
        List<StatementFacts> statements = analysis.statements();
        long at = judgedAt(catalog);
        RunByRelations known = runByRelations;
        if (known == null || known.at != at || !SessionAudit.sameFacts(known.from, statements)) {
            String temporary = session.temporaryRelations.visibleSchemas();
            List<List<StatementFacts>> run = null;
            for (int i = 0; i < statements.size(); i++) {
                List<StatementFacts> r = runByRelationsOf(statements.get(i), catalog, temporary);
                if (!r.isEmpty()) {
                    if (run == null) {
                        run = new ArrayList<>(java.util.Collections.nCopies(statements.size(), List.of()));
                    }
                    run.set(i, r);
                }
            }
            known = new RunByRelations(statements, at, run);
            runByRelations = known;
        }
        if (known.run == null) {
            return analysis;
        }
        List<StatementFacts> out = new ArrayList<>(statements.size());
        for (int i = 0; i < statements.size(); i++) {
            out.add(statements.get(i).withNested(known.run.get(i), false));
        }
        return new Analysis(out);
    }

    /** How many levels of relations' triggers, rules and bodies a query record follows. */
    private static final int RECORDED_RUN_DEPTH = 4;

    /** What the relations {@code top} and what it runs read and write run, each relation once; in catalog order. */
    private static List<StatementFacts> runByRelationsOf(StatementFacts top, CatalogCache catalog, String temporary) {
        List<StatementFacts> out = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        List<StatementFacts> todo = top.allStatements();
        for (int depth = 0; depth < RECORDED_RUN_DEPTH && !todo.isEmpty(); depth++) {
            List<StatementFacts> next = new ArrayList<>();
            for (StatementFacts f : todo) {
                for (int written = 0; written < 2; written++) {
                    for (dev.warden.sql.TableRef t : written == 1 ? f.tablesWritten() : f.tablesRead()) {
                        if (t.equals(dev.warden.sql.TableRef.ANY_RELATION)
                                || !seen.add(written + t.name())) {
                            continue;
                        }
                        List<StatementFacts> run = catalog.runBy(t.name(), written == 1, temporary);
                        if (run != null) {
                            for (StatementFacts r : run) {
                                out.add(r);
                                next.addAll(r.allStatements());
                            }
                        }
                    }
                }
            }
            todo = next;
        }
        return out;
    }

    private static Analysis withExecuted(Analysis analysis, Analysis executed) {
        if (executed == null || analysis == null) {
            return analysis;
        }
        List<StatementFacts> all = new ArrayList<>(analysis.statements());
        all.addAll(executed.statements());
        return new Analysis(all);
    }

    /** The relations {@code analysis} (and what it runs) reads or writes, as quoted (qualified) names, sorted. */
    private static List<String> relationsNamed(Analysis analysis) {
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        if (analysis != null) {
            for (StatementFacts top : analysis.statements()) {
                for (StatementFacts f : top.allStatements()) {
                    for (Set<dev.warden.sql.TableRef> refs : List.of(f.tablesRead(), f.tablesWritten())) {
                        for (dev.warden.sql.TableRef t : refs) {
                            out.add((t.schema() == null || t.schema().isEmpty() ? ""
                                    : quoted(t.schema()) + ".") + quoted(t.name()));
                        }
                    }
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * The texts of {@code analysis}'s statements and of what they run (an EXECUTE's statement, the bodies Warden
     * follows), and the functions it resolved (a Unicode-escaped name is decoded there), one per line: whose names
     * {@link #unreportedFirst} looks for.
     */
    private static String statementsText(Analysis analysis) {
        StringBuilder out = new StringBuilder();
        if (analysis != null) {
            for (StatementFacts top : analysis.statements()) {
                for (StatementFacts f : top.allStatements()) {
                    out.append(f.text()).append('\n');
                    f.functions().forEach(fn -> out.append(fn).append('\n'));
                    f.implicitCalls().forEach(call -> out.append(call).append('\n'));
                }
            }
        }
        return out.toString();
    }

    private static String quoted(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /**
     * {@code decision}, or, in retry mode, a refusal when what the approval would bind ({@link #unreportedFirst})
     * could not be read: a retry sent the same way would match it whatever it then ran.
     */
    private static Decision readOrRefused(Decision decision, String unreported) {
        // NOT_READ by identity: a text the server returned is never that instance. A fixed text in the key would let
        // a retry match whatever it then ran (a helper's pass, a123, failed the read on purpose with a schema name
        // LATIN1 cannot carry).
        if (unreported != null && unreported != NOT_READ || !decision.retry()
                || decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL) {
            return decision;
        }
        return Decision.block("approval-settings-unknown", "this statement needs an approval in retry mode, and the "
                + "settings and definitions it runs under could not be read (the session's earlier requests were "
                + "unanswered, or the read failed or was made in a repeatable read or serializable transaction), so "
                + "an approval could not be bound to them", "send it once the session's earlier requests are answered, "
                + "outside a repeatable read or serializable transaction block, in a transaction that has not failed, "
                + "with a client encoding that carries the search_path's names");
    }

    /**
     * What {@link #unreportedFirst} keeps when its read failed (a failed transaction; a name the client encoding
     * cannot carry, which a client may choose): shown as it says, and no approval in retry mode is bound to it.
     */
    private static final String NOT_READ = "not read (the read failed: a failed transaction, a name the client "
            + "encoding cannot carry, or a repeatable read or serializable transaction, whose snapshot of the catalog "
            + "may be older than what the statement runs)";

    /** What {@link #unreportedFirst} read for the statement judged again now, or null; read once. */
    private String takeUnreported() {
        String read = unreportedRead;
        unreportedRead = null;
        reportedNow = null;
        return read;
    }

    /**
     * With {@link #unreportedRead}: the settings the server reports at a batch's end, as the read found them (in the
     * format of SessionLexing#meaningSettings), or null.
     */
    private String reportedNow;

    /**
     * A fresh token for the stand-in of one refused statement (the text, statement or portal name the server fails
     * on), which its error names. Fresh each time: the server shows a stand-in's text in {@code pg_stat_activity},
     * where the identity's other sessions read it, and a client that knew the next one could name a cursor or
     * statement so (a helper's pass, a121, read it there).
     */
    String standInMarker() {
        return "warden_blocked_" + Long.toHexString(random.nextLong() & Long.MAX_VALUE);
    }

    /**
     * The statements that run no code of a user's, and so change no setting: not SET, RESET, DISCARD, the end of a
     * transaction (which undoes its SET LOCAL), DO, CALL, EXECUTE; nor any statement that reads or writes a relation
     * (a view's, a default's, a trigger's or a policy's code may call {@code set_config}: a helper's pass, a122,
     * changed DateStyle through a view, a column default and a cursor's FETCH), nor DDL.
     */
    private static final Set<StatementKind> SETTINGS_NEUTRAL = java.util.EnumSet.of(StatementKind.BEGIN,
            StatementKind.SAVEPOINT, StatementKind.RELEASE, StatementKind.SHOW, StatementKind.EMPTY,
            StatementKind.PREPARE, StatementKind.DEALLOCATE, StatementKind.LISTEN, StatementKind.UNLISTEN);

    /**
     * Whether {@code analysis} surely changes no setting: only {@link #SETTINGS_NEUTRAL} statements, and SELECTs
     * of no relation that call no function ({@code SELECT 1}).
     */
    static boolean settingsNeutral(Analysis analysis) {
        if (analysis == null) {
            return false;
        }
        for (StatementFacts top : analysis.statements()) {
            List<StatementFacts> all = top.allStatements();
            for (int i = 0; i < all.size(); i++) { // per Execute: no iterator
                StatementFacts f = all.get(i);
                if (f.unparsed() || f.dynamicSql()) {
                    return false;
                }
                if (!SETTINGS_NEUTRAL.contains(f.kind()) && !(f.kind() == StatementKind.SELECT
                        && f.tablesRead().isEmpty() && f.functions().isEmpty() && f.implicitCalls().isEmpty())) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * For a statement held for approval behind a batch already ended (its Sync, or a Query, sent) whose statements may
     * have changed a setting: waits for that batch's ReadyForQuery, which brings the server's reports, then runs
     * {@code again}, which judges it with them. (Inside the client's unsynced batch the reports would come only at
     * its Sync, after this statement: {@link #settingsUnknown} refuses it.) Returns false when it need not wait.
     */
    private boolean settledFirst(Decision decision, ByteBuf frame, Runnable again) {
        if (decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL || settingsMayChangeInBatch
                || settlesSettings == null || !queue.outstanding(settlesSettings)) {
            return false;
        }
        holdUntil(queue.whenAnswered(settlesSettings), frame, (done, failure) -> again.run());
        return true;
    }

    /**
     * Whether {@code analysis} names what the session's open transaction redefined (a function's body, a view): the
     * catalog holds the committed one, and a retry's approval of the statement as read then would cover the new one
     * (a helper's pass, a122, replaced a pg_temp function inside its transaction and the retry ran the new body).
     */
    private boolean reachesOpenDdl(Analysis analysis) {
        if (analysis == null) {
            return false;
        }
        Unreadable open = session.transactionDdl.unreadable();
        if (open.isEmpty()) {
            return false;
        }
        for (StatementFacts top : analysis.statements()) {
            if (!open.namedBy(top).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code analysis} has WHERE CURRENT OF (read from its tokens, comments between the words too). A helper's
     * pass (a125) had a retry-mode UPDATE approved while the cursor stood on one row run, in a new transaction, on
     * another row of the cursor declared again.
     */
    private boolean atCursorPosition(Analysis analysis) {
        if (analysis != null) {
            for (StatementFacts top : analysis.statements()) {
                for (StatementFacts f : top.allStatements()) {
                    if (Analyzer.actsAtCursorPosition(f.text(), session.lexing.standardConformingStrings())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Whether {@code analysis} declares a cursor whose query writes. A helper's pass (a127) had one approved DECLARE of
     * {@code SELECT lo_from_bytea(...)} create thirty large objects, rewound and fetched ten times, each FETCH
     * recorded as a read.
     */
    private static boolean declaresOverWrites(Analysis analysis) {
        if (analysis != null) {
            for (StatementFacts f : analysis.statements()) {
                if (f.kind() == StatementKind.DECLARE && f.writes()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * {@code decision}, or a refusal when it holds the statement for approval while a statement sent before it may
     * have changed a setting whose report has not come (see {@link #settingsMayChangeInBatch} and {@link
     * #settlesSettings}): the approver would be shown, and the approval bound with, the settings before it. A
     * helper's pass (a121) pipelined {@code SET DateStyle = 'ISO, DMY'} before an UPDATE: approved under MDY as
     * shown, it ran under DMY, on other rows. Also refused: in retry mode, a statement that reaches what its own
     * open transaction redefined ({@link #reachesOpenDdl}).
     */
    private Decision settingsUnknown(Decision decision, Analysis analysis) {
        if (decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL) {
            return decision;
        }
        if (declaresOverWrites(analysis)) {
            return Decision.block("approval-cursor-writes", "this statement declares a cursor whose query writes "
                    + "(it calls a function that changes something), and it needs an approval: an approval covers one "
                    + "execution, while the server runs a cursor's query again each time it is rewound (MOVE or FETCH "
                    + "backwards, ABSOLUTE 0) and once more at COMMIT for a WITH HOLD cursor",
                    "run the query itself (SELECT ...), which is approved for one execution");
        }
        if (decision.retry() && reachesOpenDdl(analysis)) {
            return Decision.block("approval-open-ddl", "this statement needs an approval in retry mode, and it "
                    + "reaches what its own open transaction redefined (a function, a view), which an approval, "
                    + "given for the statement as it was read, does not cover", "commit (or roll back) that DDL first, "
                    + "then run the statement: it is judged, and approved, with what it then runs");
        }
        if (decision.retry() && atCursorPosition(analysis)) {
            return Decision.block("approval-cursor-position", "this statement needs an approval in retry mode, and it "
                    + "acts WHERE CURRENT OF a cursor, whose query and position an approval given now cannot be bound "
                    + "to when it is sent again", "fetch the row's key and name it in the statement, or ask for a rule "
                    + "in hold mode");
        }
        if (settlesSettings != null && !queue.outstanding(settlesSettings)) {
            settlesSettings = null;
        }
        if (!settingsMayChangeInBatch && settlesSettings == null) {
            return decision;
        }
        if (settlesSettings == null && readsInBatch()) {
            // Inside the batch the read tells the reported settings as they are now (a JDBC batch of two held
            // UPDATEs: the first writes, so it may have changed them, and the second was refused): judged again once
            // read (unreportedFirst), and refused only if they are not those Warden read the statement with.
            if (unreportedRead == null || reportedNow != null && reportedNow.equals(session.lexing.meaningSettings())) {
                return decision;
            }
        }
        return Decision.block("approval-settings-unknown", "this statement needs an approval, and a statement sent "
                + "before it may change the settings it runs under (DateStyle, TimeZone, client_encoding ...), which "
                + "the server reports only at the end of that statement's batch: the approver would see the ones "
                + "before it",
                "wait for the answer to the statements that change settings (their ReadyForQuery), then send this one");
    }

    /**
     * {@code sql} with the parameter types its Parse declared ({@code -- parameter types: $1 text, $2 bytea}), for
     * approvers and the approval's key; null when it declared none. The same text and values mean another statement
     * under other types: a helper's pass (a121) had {@code length($1)} approved with {@code $1} declared text (8)
     * and run, under that approval, with it declared bytea (3).
     */
    static String withParameterTypes(PreparedStatements.Statement statement, String sql) {
        if (statement == null || statement.parameterTypes.isEmpty()) {
            return null;
        }
        StringBuilder out = new StringBuilder(sql).append("\n-- parameter types:");
        boolean any = false;
        for (int i = 0; i < statement.parameterTypes.size(); i++) {
            int oid = statement.parameterTypes.get(i);
            any |= oid != 0;
            out.append(i == 0 ? " $" : ", $").append(i + 1).append(' ').append(typeName(oid));
        }
        return any ? out.toString() : null;
    }

    /** A declared parameter type's name: the built-in types clients declare, else its OID. */
    private static String typeName(int oid) {
        return switch (oid) {
            case 0 -> "unspecified";
            case 16 -> "boolean";
            case 17 -> "bytea";
            case 18 -> "\"char\"";
            case 19 -> "name";
            case 20 -> "bigint";
            case 21 -> "smallint";
            case 23 -> "integer";
            case 25 -> "text";
            case 26 -> "oid";
            case 114 -> "json";
            case 700 -> "real";
            case 701 -> "double precision";
            case 1042 -> "character";
            case 1043 -> "character varying";
            case 1082 -> "date";
            case 1083 -> "time";
            case 1114 -> "timestamp";
            case 1184 -> "timestamp with time zone";
            case 1186 -> "interval";
            case 1700 -> "numeric";
            case 2950 -> "uuid";
            case 3802 -> "jsonb";
            default -> "type oid " + Integer.toUnsignedString(oid);
        };
    }

    /** {@code sql}, then each statement its EXECUTEs run, for approvers and the approval's key. */
    private static String withWhatItExecutes(String sql, Analysis executed) {
        StringBuilder out = new StringBuilder(sql);
        for (StatementFacts f : executed.statements()) {
            out.append("\n-- EXECUTE runs: ").append(f.text());
        }
        return out.toString();
    }

    private void onParse(ByteBuf frame) {
        byte[] textBytes = StatementBytes.ofParse(frame);
        audit.receiving(textBytes);
        FrontendMessage.Parse decoded = (FrontendMessage.Parse) decoded(frame);
        String name = PreparedStatements.wireName(decoded.statement());
        if (name == null) {
            refuseName(frame, decoded.statement());
            return;
        }
        if (!name.equals(decoded.statement())) {
            decoded = new FrontendMessage.Parse(name, decoded.sql(), decoded.parameterTypes());
        }
        FrontendMessage.Parse named = decoded;
        if (!name.isEmpty() && !queue.isEmpty() && (waitedFor(queue.readingNames(), frame)
                || waitedFor(queue.changingNamesBySql(), frame))) {
            return;
        }
        if (overKeptBudget('S', name, PreparedStatements.Statement.keptBytes(decoded.sql(), textBytes,
                decoded.parameterTypes().size()), frame, "a prepared statement")) {
            return;
        }
        int nameEnd = frame.indexOf(frame.readerIndex() + 5, frame.writerIndex(), (byte) 0);
        // Read before the effects are applied: a change meanwhile makes the Execute apply them again.
        long effectsAt = session.catalog == null ? -1 : session.catalog.generation();
        reader.readThen(frame, nameEnd + 1, reading -> {
            Analysis casts = reading.analysis() == null || session.catalog == null ? null
                    : parameterCasts(named.parameterTypes());
            if (casts == null) {
                parsed(frame, named, textBytes, reading, null, null, effectsAt);
            } else {
                lookedUpThen(casts, frame, () -> parsed(frame, named, textBytes, reading, casts,
                        session.catalog.withFunctionEffects(casts, session.lexing.standardConformingStrings()),
                        effectsAt));
            }
        });
    }

    /**
     * Runs {@code then} once {@code statement} has the effects of the functions it calls (and its parameter types'
     * casts) as the catalog has them now, when the catalog moved on since they were applied: a function replaced
     * meanwhile (by a migration, outside Warden) runs its new body at this Execute.
     */
    private void withEffectsNowThen(PreparedStatements.Statement statement, ByteBuf frame, Runnable then) {
        CatalogCache catalog = session.catalog;
        if (statement == null || catalog == null || !statement.effectsStale(catalog.generation())) {
            then.run();
            return;
        }
        long at = catalog.generation();
        reader.appliedAgainThen(new SessionLexing.Reading(statement.sql, statement.read, null), frame, reading -> {
            long currentUntil = reader.currentUntil(statement.read);
            if (statement.castsRead == null) {
                screenIfChanged(statement, statement.reapplied(reading.analysis(), null, at, currentUntil), true);
                then.run();
                return;
            }
            lookedUpThen(statement.castsRead, frame, () -> {
                screenIfChanged(statement, statement.reapplied(reading.analysis(), catalog.withFunctionEffects(
                        statement.castsRead, session.lexing.standardConformingStrings()), at, currentUntil), true);
                then.run();
            });
        });
    }

    /**
     * What binding a value to each parameter whose user type a Parse gives by OID runs, as one statement that casts
     * to those types ({@code cast:#oid}): the server checks the value against the type's domains and casts, which
     * the text does not name. Null when every type is built in (or left to the server, 0): they run no user code.
     */
    private Analysis parameterCasts(List<Integer> types) {
        java.util.Set<String> casts = null;
        for (int oid : types) {
            if (Integer.toUnsignedLong(oid) >= 16384) {
                if (casts == null) {
                    casts = new java.util.LinkedHashSet<>();
                }
                casts.add("cast:#" + Integer.toUnsignedString(oid));
            }
        }
        if (casts == null) {
            return null;
        }
        StatementFacts select = services.analyzer().analyze("SELECT NULL").statements().get(0);
        return new Analysis(List.of(select.withImplicitCalls(casts)));
    }

    /**
     * {@code parameterCasts}: see {@link #parameterCasts}, judged with the statement (null: none), as read and as
     * applied; {@code effectsAt}: the catalog's generation before the reading's effects were applied.
     */
    private void parsed(ByteBuf frame, FrontendMessage.Parse decoded, byte[] textBytes,
                        SessionLexing.Reading reading, Analysis castsRead, Analysis parameterCasts, long effectsAt) {
        PolicySnapshot policy = services.snapshot().get();
        Analysis analysis = reading.analysis();
        Decision decision = reading.refusal() != null ? reading.refusal() : decide(policy, analysis);
        if (decision.allowed() && parameterCasts != null) {
            decision = decide(policy, parameterCasts);
        }
        PreparedStatements.Statement statement = new PreparedStatements.Statement(decoded.statement(),
                reading.sql(), analysis, PreparedStatements.Origin.PROTOCOL, textBytes, decoded.parameterTypes(),
                reading.read(), castsRead, parameterCasts);
        statement.effectsAt = effectsAt;
        statement.effectsCurrentUntil = reading.read() == null ? 0 : reader.currentUntil(reading.read());
        if (decision.allowed() || decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL) {
            // Preparing runs nothing: a statement that needs approval is judged at each Execute, with the
            // values it is bound to, so one approval is one execution.
            prepared.parsed(statement);
            writer.send(frame, Entry.forward(Kind.PARSE, statement, null, null));
            return;
        }
        discardUntilSync = true;
        admit(frame, new StatementGate.Statement(policy, reading.sql(), null, analysis, decision,
                QueryEvent.Protocol.EXTENDED, decoded.statement()), invalidations(), Kind.PARSE, f -> {
                    throw new IllegalStateException("a blocked statement was let through");
                }, () -> { });
    }

    private void onBind(ByteBuf frame) {
        FrontendMessage.Bind bind = (FrontendMessage.Bind) decoded(frame);
        String statementName = PreparedStatements.wireName(bind.statement());
        String portalName = PreparedStatements.wireName(bind.portal());
        if (statementName == null || portalName == null) {
            refuseName(frame, statementName == null ? bind.statement() : bind.portal());
            return;
        }
        PreparedStatements.Statement statement = prepared.statement(statementName);
        if (!queue.isEmpty() && (waitedFor(statement == null ? null : queue.unsettled(statement, null), frame)
                || !portalName.isEmpty() && (waitedFor(queue.readingNames(), frame)
                || waitedFor(queue.changingNamesBySql(), frame)))) {
            return;
        }
        if (statement != null && executesPreparedFetch(statement.analysis, 0)) {
            refuseExecuteOfFetch(frame, statementName);
            return;
        }
        dev.warden.sql.ClientEncoding encoding = session.lexing.settings().encoding();
        PreparedStatements.Portal portal = new PreparedStatements.Portal(portalName, statement,
                bind.resultFormats(), BoundParameters.of(bind, statement == null ? List.of() : statement.parameterTypes,
                encoding));
        portal.boundIn(bind, encoding);
        portal.keepLongValues(bind);
        if (overKeptBudget('P', portalName, portal.keptBytes, frame, "a portal")) {
            return;
        }
        prepared.bound(portal);
        writer.send(frame, Entry.forward(Kind.BIND, statement, portal, null));
        if (masking != null && portal.describedFields() == null) {
            // The client has not described this statement: ask for the portal's columns ourselves and keep
            // the answer, so its rows can still be masked.
            writer.send(OwnRequests.describePortal(portalName, upstream.alloc()), Entry.skip(portal));
        }
    }

    /**
     * Whether a client message of {@code type} sends the Parse, Bind and Describe messages that wait (see
     * UpstreamRequests#send): only such a message records the Binds it sends alone. CopyData, CopyDone and CopyFail
     * outside COPY (which the server ignores) go without them: a Bind recorded then waited on, judged with the checks
     * of then, for a later message to send (a helper's review found a Sync sending one after a migration).
     */
    private static boolean sendsDeferred(byte type) {
        return type == 'E' || type == 'S' || type == 'H' || type == 'Q' || type == 'F' || type == 'C';
    }

    /** The message whose lone Binds' effects were applied again last (once per message, see relayToUpstream). */
    private ByteBuf refreshedFor;

    /**
     * The lowest {@link #readFrom} of the reads that applied {@link #refreshedFor}'s lone Binds' effects again: the
     * stamp of their judgement (DDL that ended during those reads was not seen).
     */
    private long aloneReadFrom;

    /** The statements of {@code alone} whose effects predate the catalog's state, each once; empty when none. */
    private List<PreparedStatements.Statement> staleEffects(List<PreparedStatements.Portal> alone) {
        CatalogCache catalog = session.catalog;
        List<PreparedStatements.Statement> stale = List.of();
        for (PreparedStatements.Portal p : alone) {
            if (catalog != null && p.statement.effectsStale(catalog.generation()) && !stale.contains(p.statement)) {
                if (stale.isEmpty()) {
                    stale = new ArrayList<>(2);
                }
                stale.add(p.statement);
            }
        }
        return stale;
    }

    /** Applies the effects of {@code stale}'s statements from the {@code i}th again, one after another, then {@code then}. */
    private void withEffectsOfEachThen(List<PreparedStatements.Statement> stale, int i, ByteBuf frame, Runnable then) {
        if (i == stale.size()) {
            then.run();
            return;
        }
        readFrom = invalidations(); // lowered by StatementReading when it reads the effects anew
        withEffectsNowThen(stale.get(i), frame, () -> {
            aloneReadFrom = Math.min(aloneReadFrom, readFrom);
            withEffectsOfEachThen(stale, i + 1, frame, then);
        });
    }

    /**
     * Binds that {@code frame} would send upstream without their own Execute (a Sync or Flush after a Bind, a Bind
     * followed by another portal's Execute): the server plans each, and planning computes the IMMUTABLE calls of
     * constants. Each gets a query record of its own before it goes, with the statement and its bound values, and a
     * result record when the server answers the Bind; {@code frame} is relayed then. A record that cannot be written
     * keeps its Bind from going, as for any statement. (An attacker's pass ran such a call with no record.) A Bind
     * whose statement another session's DDL redefined after {@code judgedAt} (while the records were written) does
     * not go: refused {@code judged-before-ddl}, as an Execute is (see {@link #admitNow}).
     */
    private void recordBindsGoingAlone(ByteBuf frame, List<PreparedStatements.Portal> alone, long judgedAt) {
        PolicySnapshot policy = services.snapshot().get();
        @SuppressWarnings("unchecked")
        CompletableFuture<StatementGate.Verdict>[] records = new CompletableFuture[alone.size()];
        StatementGate.Statement[] statements = new StatementGate.Statement[alone.size()];
        for (int i = 0; i < alone.size(); i++) {
            PreparedStatements.Statement statement = alone.get(i).statement;
            session.statementCount++;
            statements[i] = new StatementGate.Statement(policy, statement.sql, alone.get(i).parameters,
                    withWhatRelationsRun(statement.judged), Decision.ALLOW, QueryEvent.Protocol.EXTENDED,
                    statement.name);
            records[i] = gate.admit(statements[i], notice -> { });
        }
        holdUntil(CompletableFuture.allOf(records), frame, (done, failure) -> {
            if (failure != null) {
                frame.release();
                throw new SessionException(SqlState.INTERNAL_ERROR, "statement gate failed: "
                        + ClientErrors.unwrap(failure).getMessage(), null, failure);
            }
            List<CompletableFuture<StatementGate.Verdict>> outdated = null;
            for (int i = 0; i < alone.size(); i++) {
                if (records[i].join() instanceof StatementGate.Forward && redefinedSince(alone.get(i), judgedAt)) {
                    records[i] = gate.refuseApproved(statements[i], judgedBeforeDdl(), null);
                    if (outdated == null) {
                        outdated = new ArrayList<>(2);
                    }
                    outdated.add(records[i]);
                }
            }
            if (outdated == null) {
                sendBindsGoingAlone(frame, alone, records, policy, judgedAt);
                return;
            }
            holdUntil(CompletableFuture.allOf(outdated.toArray(CompletableFuture[]::new)), frame, (again, failed) -> {
                if (failed != null) {
                    frame.release();
                    throw new SessionException(SqlState.INTERNAL_ERROR, "statement gate failed: "
                            + ClientErrors.unwrap(failed).getMessage(), null, failed);
                }
                sendBindsGoingAlone(frame, alone, records, policy, judgedAt);
            });
        });
    }

    private void sendBindsGoingAlone(ByteBuf frame, List<PreparedStatements.Portal> alone,
                                     CompletableFuture<StatementGate.Verdict>[] records, PolicySnapshot policy,
                                     long judgedAt) {
        for (int i = 0; i < alone.size(); i++) {
            PreparedStatements.Portal portal = alone.get(i);
            StatementGate.Verdict verdict = records[i].join();
            if (verdict instanceof StatementGate.Forward f) {
                writer.recordedAlone(portal, new Execution(f.querySeq(), true, portal.statement.judged, portal,
                        policy), null, judgedAt);
            } else {
                writer.recordedAlone(portal, null, ((StatementGate.Refuse) verdict).error(), judgedAt);
            }
        }
        held.addFirst(frame); // relayed first when the hold ends, now that its Binds go recorded
        heldBytes += frame.readableBytes();
    }

    /**
     * Whether the Bind of {@code portal} may go only with its own admitted Execute (see
     * {@code UpstreamRequests#sendDeferred}): its statement is unknown, or not allowed as Warden judges it now.
     * Asked only when a Bind would go without its Execute.
     */
    private boolean bindWaitsForExecute(PreparedStatements.Portal portal) {
        PreparedStatements.Statement statement = portal.statement;
        if (statement == null || statement.judged == null) {
            return true;
        }
        // As admitExecute decides: the statement with its parameter types' casts and domain checks.
        PolicySnapshot policy = services.snapshot().get();
        return !PreparedStatements.decisionOf(statement, policy, session.catalog == null ? 0
                : judgedAt(session.catalog), a -> decide(policy, a)).allowed();
    }

    private void onDescribe(ByteBuf frame) {
        FrontendMessage.Describe d = (FrontendMessage.Describe) decoded(frame);
        String name = PreparedStatements.wireName(d.name());
        if (name == null) {
            refuseName(frame, d.name());
            return;
        }
        PreparedStatements.Statement statement = d.kind() == 'S' ? prepared.statement(name) : null;
        PreparedStatements.Portal portal = d.kind() == 'S' ? null : prepared.portal(name);
        if (!queue.isEmpty() && waitedFor(queue.unsettled(statement, portal), frame)) {
            return;
        }
        if (statement != null && executesPreparedFetch(statement.analysis, 0)) {
            refuseExecuteOfFetch(frame, name);
            return;
        }
        if (statement != null && statement.analysis != null && statement.analysis.statements().stream()
                .anyMatch(f -> f.kind() == StatementKind.FETCH)) {
            // PostgreSQL ends the server process (a NULL pointer, signal 11: every session of the cluster ends and
            // it recovers) when a prepared FETCH is described as a statement after its cursor was closed
            // (FetchStatementTargetList); a read-only agent brought the database down so (an attacker's pass, a146
            // F0). Its portal describes safely: the server checks the cursor at Bind.
            audit.receiving(null);
            refuse(frame, "-- Describe of prepared statement \"" + name + "\", a FETCH", Decision.asServer(
                    "describe-prepared-fetch", "0A000", "Warden does not relay a Describe of a prepared FETCH "
                    + "statement: PostgreSQL fails on one whose cursor is closed, and the whole server restarts",
                    "Bind the statement and Describe the portal instead"));
            return;
        }
        if (d.kind() == 'S') {
            writer.send(frame, Entry.forward(Kind.DESCRIBE_STATEMENT, statement, null, null));
        } else {
            writer.send(frame, Entry.forward(Kind.DESCRIBE_PORTAL, null, portal, null));
        }
    }

    /**
     * Holds {@code frame} until {@code decider} is answered, then reads it again: returns false when there is none.
     * {@code decider} is a request whose answer settles what a name means on the server (see
     * {@link OutstandingQueue#unsettled}), or one whose rows are masked by what a name means when they come, which
     * {@code frame} would change (see {@link OutstandingQueue#readingNames}). A Flush of Warden's own makes the server
     * send the answer now (inside a batch it keeps its output until the client's Sync, which is held behind {@code
     * frame}); the server's answers to it are only the earlier requests' own.
     */
    private boolean waitedFor(Entry decider, ByteBuf frame) {
        if (decider == null) {
            return false;
        }
        upstream.writeAndFlush(new FrontendMessage.Flush().toByteBuf(upstream.alloc()), upstream.voidPromise());
        // Answered and relayed: its rows may still wait for the catalog, and are masked by what the names they read
        // mean when they go (a150 F2, see UpstreamRelay#whenRelayed).
        holdUntil(queue.whenAnswered(decider).thenCompose(answered -> session.responses.whenRelayed()), frame,
                (done, failure) -> {
                    held.addFirst(frame);
                    heldBytes += frame.readableBytes();
                });
        return true;
    }

    /**
     * Whether {@code analysis} EXECUTEs (also as CREATE TABLE ... AS EXECUTE, under EXPLAIN too) a prepared statement
     * that is a FETCH, or one that EXECUTEs such a statement. PostgreSQL computes such an EXECUTE's columns from the
     * FETCH's cursor when it parses, binds or describes it, and dereferences a null pointer when the cursor is
     * closed: the whole server restarts (an attacker's pass, a148 F0, after the Describe of the FETCH itself was
     * refused). A text Warden could not read counts as none: the server refuses the EXECUTE of a name it lacks.
     */
    private boolean executesPreparedFetch(Analysis analysis, int depth) {
        if (analysis == null) {
            return false;
        }
        if (depth > 16) {
            // A chain this long of EXECUTEs of EXECUTEs is not followed further: it counts as reaching a FETCH.
            // Before, past four links it counted as reaching none, and a chain of five crashed the server (a150 F1).
            return true;
        }
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f = top; f != null; f = f.inner().orElse(null)) {
                String name = f.kind() == StatementKind.EXECUTE ? f.preparedName().orElse(null)
                        : f.kind() == StatementKind.CREATE || f.kind() == StatementKind.EXPLAIN
                        ? dev.warden.sql.TextReferences.createdFromExecute(f.text()).orElse(null) : null;
                PreparedStatements.Statement executed = name == null ? null : prepared.statement(name);
                if (executed != null && executed.analysis != null && (executed.analysis.statements().stream()
                        .anyMatch(g -> g.kind() == StatementKind.FETCH)
                        || executesPreparedFetch(executed.analysis, depth + 1))) {
                    return true;
                }
            }
        }
        return false;
    }

    private void refuseExecuteOfFetch(ByteBuf frame, String name) {
        audit.receiving(null);
        refuse(frame, "-- statement \"" + name + "\", an EXECUTE of a prepared FETCH", Decision.asServer(
                "execute-prepared-fetch", "0A000", "Warden does not relay an EXECUTE of a prepared FETCH statement "
                + "in the extended protocol: PostgreSQL fails on one whose cursor is closed, and the whole server "
                + "restarts", "Bind and Execute the FETCH statement itself, or send FETCH as a Query"));
    }

    /** Whether {@code analysis} changes what names mean by SQL: PREPARE, DEALLOCATE, DISCARD, DECLARE, CLOSE. */
    private static boolean changesNames(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            StatementKind k = f.kind();
            if (k == StatementKind.PREPARE || k == StatementKind.DEALLOCATE
                    || Execution.discardsNames(f) || k == StatementKind.DECLARE
                    || k == StatementKind.CLOSE) {
                return true;
            }
        }
        return false;
    }

    /**
     * Every Execute is audited with the statement it runs and its bound values. A statement that needs
     * approval (prepared by Parse or by SQL PREPARE) waits for one here, per execution.
     */
    private void onExecute(ByteBuf frame) {
        // Before the effects are found current or applied anew (withEffectsNowThen): see readFrom.
        readFrom = invalidations();
        FrontendMessage.Execute execute = (FrontendMessage.Execute) decoded(frame);
        String name = PreparedStatements.wireName(execute.portal());
        if (name == null) {
            refuseName(frame, execute.portal());
            return;
        }
        PreparedStatements.Portal portal = prepared.portalToRun(name);
        PreparedStatements.Statement statement = portal == null ? null : portal.statement;
        if (portal != null && !queue.isEmpty() && (waitedFor(queue.unsettled(null, portal), frame)
                || statement != null && (statement.analysis == null || changesNames(statement.analysis))
                && waitedFor(queue.readingNames(), frame))) {
            return;
        }
        if (statement == null) {
            // No portal, as far as Warden followed the session, or one of a statement Warden did not read: judged by
            // nothing, so not run. Answered as the server answers for a portal that does not exist, and recorded as
            // a refusal. (Before, it was relayed unjudged: names Warden kept apart where the server did not ran a
            // statement Warden never judged.)
            audit.receiving(null);
            refuse(frame, "-- Execute of portal \"" + name + "\", which Warden does not know", Decision.asServer(
                    "unknown-portal", "34000", "portal \"" + name + "\" does not exist", null));
            return;
        }
        String sql = statement.sql;
        audit.receiving(statement.textBytes);
        withEffectsNowThen(statement, frame, () -> {
            Analysis analysis = portal.declared && !statement.bodiesChanged ? statement.analysis : statement.judged;
            if (portal.declared && statement.bodiesChanged && masking != null) {
                // A cursor's portal: its plan, and the search_path it was judged with, are the DECLARE's (see
                // ResultMasking#exposedAsDeclared); the functions it calls run as they are now.
                masking.exposedAsDeclaredAndNow(statement.analysis, analysis);
            }
            lookedUpThen(statement.judged, frame, () -> admitExecute(frame, portal, statement, sql, analysis));
        });
    }

    private void admitExecute(ByteBuf frame, PreparedStatements.Portal portal, PreparedStatements.Statement statement,
                              String sql, Analysis analysis) {
        long judgedAt = judgementStamp();
        PolicySnapshot policy = services.snapshot().get();
        Decision decision = analysis == null ? Decision.block("unknown-portal", "Warden has no reading of the "
                + "statement portal \"" + portal.name + "\" runs, so it cannot judge it", "Parse it through Warden")
                : Decision.ALLOW;
        if (analysis != null) {
            // Judged again when the policy or the catalog moved on: the server plans a prepared statement again when
            // what it names changed (a trigger or rule added, a view replaced), and an approval applies per
            // execution. SQL PREPARE was judged as a PREPARE, so its statement is judged here in full.
            decision = PreparedStatements.decisionOf(statement, policy, session.catalog == null ? 0
                    : judgedAt(session.catalog), a -> decide(policy, a));
        }
        if (settledFirst(decision, frame, () -> admitExecute(frame, portal, statement, sql, analysis))) {
            return;
        }
        decision = settingsUnknown(decision, analysis);
        // An SQL EXECUTE sent in a Parse: its approval binds, and shows, what the prepared statement runs (see
        // admitQuery).
        Analysis executed = decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL ? preparedExecuted(analysis)
                : null;
        if (executed != null && session.catalog != null) {
            executed = session.catalog.withFunctionEffects(executed, session.lexing.standardConformingStrings());
        }
        Analysis reached = withExecuted(analysis, executed);
        if (unreportedFirst(decision, reached, frame, () -> admitExecute(frame, portal, statement, sql,
                analysis))) {
            return;
        }
        String unreported = takeUnreported();
        decision = readOrRefused(decision, unreported);
        String shown = decision.verdict() != Decision.Verdict.REQUIRE_APPROVAL ? null
                : executed == null ? withParameterTypes(statement, sql)
                : withWhatItExecutes(java.util.Objects.requireNonNullElse(withParameterTypes(statement, sql), sql),
                        executed);
        List<String> parameters = portal == null ? null
                : portal.parametersUnder(session.lexing.settings().encoding());
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && portal != null) {
            // Held: the approver is shown every value whole (the record keeps 256 characters and a digest).
            parameters = portal.parametersForApprover(session.lexing.settings().encoding());
            if (parameters == null) {
                decision = Decision.block("approval-value-unshown", "a value bound to this statement is longer than "
                        + BoundParameters.APPROVER_MAX_CHARS + " characters, more than an approver can be shown",
                        "bind shorter values, or split the statement");
                parameters = portal.parametersUnder(session.lexing.settings().encoding());
            }
        }
        String approvalText = approvalText(decision, reached, shown, sql, unreported);
        // A later Execute of a portal an approval let start continues under it only while what the approver was
        // shown still holds: the bodies of the functions it runs and the settings their code reads, as read now.
        // Before, a function replaced (or a setting its code reads SET by the requester) between two Executes ran
        // under the first one's approval (attacker pass a142, F5: a body replaced by a DELETE emptied a table).
        // Otherwise it is held for an approval of its own.
        String continues = portal == null || portal.ranUnderApproval == null
                || !java.util.Objects.equals(portal.approvedText, approvalText) ? null : portal.ranUnderApproval;
        admit(frame, new StatementGate.Statement(policy, sql, parameters, recordedWith(analysis, executed),
                decision, QueryEvent.Protocol.EXTENDED, statement == null ? null : statement.name,
                approvalText, continues),
                statement == null ? null : statement.casts, judgedAt, Kind.EXECUTE, f -> {
                    if (f.approvalId() != null && portal != null) {
                        portal.ranUnderApproval = f.approvalId();
                        portal.approvedText = approvalText;
                    }
                    Execution execution = new Execution(f.querySeq(), true, analysis, portal, policy);
                    List<StatementFacts> run = session.temporaryRelations.sending(analysis, session.catalog);
                    if (masking != null) {
                        session.transactionDdl.sending(analysis, run, masking.invalidateAfterDdl(analysis, run));
                        OwnRequests.describeCursor(portal, writer::send, upstream.alloc());
                    }
                    if (!settingsMayChangeInBatch && !settingsNeutral(analysis)) {
                        settingsMayChangeInBatch = true;
                    }
                    Entry sent = Entry.forward(Kind.EXECUTE, statement, portal, execution);
                    // The portal's Bind goes with its own Execute before Warden's Describe of a COPY, whose Close
                    // would otherwise send it as a Bind without its Execute, which is refused (a helper's review).
                    writer.sendWaitingFor(sent);
                    describeCopy(execution);
                    boolean ignored = queue.serverSkipsUntilSync(); // as for a Query (see admitQuery)
                    writer.send(frame, sent);
                    if (!ignored) {
                        ranSql(analysis, execution, statement == null ? null : statement.read);
                    }
                }, () -> discardUntilSync = true);
    }

    /**
     * Decodes a client frame. One that does not decode (a name without its end, a field cut short) is released
     * before its error ends the session: it is a slice of the buffer the client's bytes were read into, and left
     * unreleased it pinned that buffer for good, so a client reconnecting to send one more each time grew Warden's
     * memory without bound (MalformedFrameLeakTest).
     */
    private static FrontendMessage decoded(ByteBuf frame) {
        try {
            return FrontendMessage.decode(frame);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /**
     * Refuses an extended-protocol message whose statement or portal name is not plain ASCII. The server converts a
     * name from the client encoding and keys it by its first 63 bytes; Warden keeps ASCII names so (see
     * {@link PreparedStatements#wireName}), and no client it knows of names statements otherwise. Before, names
     * Warden decoded alike (two LATIN1 bytes, both U+FFFD to a UTF-8 decoder) were one statement to it and two to
     * the server: an attacker's pass had Warden judge, audit and mask a decoy while the server ran another.
     */
    /**
     * Refuses (53400) a Parse or Bind that would make the session's statements and portals hold more than
     * {@code budgets.sessions.kept_bytes} of Warden's heap, counting {@code adding} for the one named {@code name} of
     * {@code kind} ('S' or 'P'), which it replaces. True when refused.
     */
    private boolean overKeptBudget(char kind, String name, long adding, ByteBuf frame, String what) {
        long change = adding - prepared.keptBytes(kind, name);
        if (change <= 0) {
            return false; // a replacement that keeps no more (an unnamed portal's next Bind, usually)
        }
        Decision refusal = keptRefusal(services.snapshot().get().policy().budgets(), change);
        if (refusal == null) {
            return false;
        }
        audit.receiving(null);
        refuse(frame, "-- " + what + " past the budget of kept statements and portals", refusal);
        return true;
    }

    /**
     * The refusal when keeping {@code change} more bytes takes the session past {@code budgets.sessions.kept_bytes},
     * or all sessions of its identity together past {@code kept_bytes_per_identity}; null when both hold.
     */
    private Decision keptRefusal(dev.warden.config.Budgets budgets, long change) {
        java.util.OptionalLong limit = budgets.keptPerSession();
        long after = prepared.keptBytes() + change;
        if (limit.isPresent() && after > limit.getAsLong()) {
            return keptRefusal(after, limit.getAsLong());
        }
        java.util.OptionalLong identityLimit = budgets.keptPerIdentity();
        if (identityLimit.isPresent()) {
            long identityAfter = prepared.identityKeptBytes() + change;
            if (identityAfter > identityLimit.getAsLong()) {
                return Decision.asServer("identity-kept-bytes", dev.warden.pg.SqlState.CONFIGURATION_LIMIT_EXCEEDED,
                        "the sessions of this identity would keep about " + (identityAfter >> 10) + " KiB of "
                                + "prepared statements and portals in Warden together, more than "
                                + "budgets.sessions.kept_bytes_per_identity (" + (identityLimit.getAsLong() >> 10)
                                + " KiB)",
                        "close statements and portals the identity's sessions no longer need (Close, DEALLOCATE, "
                                + "CLOSE), or end some of its sessions, or raise the budget");
            }
        }
        return null;
    }

    /**
     * For a Query that PREPAREs or DECLAREs (its statements and cursors are kept as a Parse's and a Bind's are): the
     * refusal of {@link #overKeptBudget(char, String, long, ByteBuf, String)} when the session already holds its
     * budget, or would with the text kept once for each; null otherwise.
     */
    private Decision overKeptBudget(SessionLexing.Reading reading) {
        if (reading.analysis() == null) {
            return null;
        }
        long adding = 0;
        for (StatementFacts f : reading.analysis().statements()) {
            if (f.kind() == StatementKind.PREPARE || f.kind() == StatementKind.DECLARE) {
                adding += PreparedStatements.Statement.keptBytes(f.text(), null, 0);
            }
        }
        return adding == 0 ? null : keptRefusal(services.snapshot().get().policy().budgets(), adding);
    }

    private static Decision keptRefusal(long after, long limit) {
        return Decision.asServer("session-kept-bytes", dev.warden.pg.SqlState.CONFIGURATION_LIMIT_EXCEEDED,
                "this session's prepared statements and portals would hold about " + (after >> 10) + " KiB in "
                        + "Warden, more than budgets.sessions.kept_bytes (" + (limit >> 10) + " KiB)",
                "close statements and portals the session no longer needs (Close, DEALLOCATE, CLOSE), or raise "
                        + "the budget");
    }

    private void refuseName(ByteBuf frame, String name) {
        audit.receiving(null);
        refuse(frame, "-- a statement or portal name of non-ASCII bytes", Decision.block("statement-name",
                "Warden reads statement and portal names of ASCII characters only (this one: "
                        + name.codePoints().filter(c -> c >= 0x80).count() + " other characters)",
                "name prepared statements and portals in ASCII"));
    }

    /** Refuses one extended-protocol message: audited, answered with {@code decision}'s error, then skip to Sync. */
    private void refuse(ByteBuf frame, String sql, Decision decision) {
        admit(frame, new StatementGate.Statement(services.snapshot().get(), sql, null, null, decision,
                QueryEvent.Protocol.EXTENDED, null), invalidations(), Kind.EXECUTE, f -> {
                    throw new IllegalStateException("a refused message was let through");
                }, () -> discardUntilSync = true);
    }

    private void onFunctionCall(ByteBuf frame) {
        PolicySnapshot policy = services.snapshot().get();
        Decision decision = policy.guardrails().decideFunctionCall(environment);
        if (decision.allowed() && masking != null && masking.masksAnything(policy.masker())) {
            // Its answer (FunctionCallResponse) carries a value of a function Warden cannot name: a masked identity
            // would get table_to_xml(...) of a sensitive table in clear (an attacker's pass did, with the baseline's
            // function-call-message rule off).
            decision = Decision.block("masking-function-call", "a masked identity may not call functions by OID "
                    + "(the FunctionCall message): Warden cannot tell what the answer carries", "call the function "
                    + "with SELECT, whose result is masked");
        }
        FrontendMessage.FunctionCall call = (FrontendMessage.FunctionCall) decoded(frame);
        CatalogCache catalog = session.catalog;
        if (!decision.allowed() || catalog == null) {
            admitCall(frame, call, policy, decision, null, null);
            return;
        }
        // With the baseline's rule off the call is judged as the SELECT of that function would be, with what its body
        // does: before, every rule was passed (a helper's pass, a121, updated an order on prod with no approval
        // through a FunctionCall of a function whose SELECT is held).
        int oid = call.functionOid();
        holdUntil(catalog.callOf(oid), frame, (sql, failure) -> {
            if (sql == null) {
                admitCall(frame, call, policy, Decision.block("function-call-message", failure != null
                        ? "Warden could not read which function OID " + Integer.toUnsignedString(oid) + " is"
                        : "no function has OID " + Integer.toUnsignedString(oid), "call the function with SELECT"),
                        null, null);
                return;
            }
            Analysis read = services.analyzer().analyze(sql, session.lexing.standardConformingStrings());
            lookedUpThen(read, frame, () -> {
                Analysis judged = catalog.withFunctionEffects(read, session.lexing.standardConformingStrings());
                PolicySnapshot now = services.snapshot().get();
                admitCall(frame, call, now, settingsUnknown(decide(now, judged), judged), judged, sql);
            });
        });
    }

    /** {@code runs}: the call as Warden read it ({@code SELECT schema.name(NULL)}), shown to approvers; or null. */
    private void admitCall(ByteBuf frame, FrontendMessage.FunctionCall call, PolicySnapshot policy,
                           Decision decision, Analysis analysis, String runs) {
        String text = SessionAudit.FUNCTION_CALL_TEXT + call.functionOid();
        // Its record names the arguments too, as a Bind's names its values: they are what the function runs with.
        admit(frame, new StatementGate.Statement(policy, text, BoundParameters.ofCall(call), analysis, decision,
                QueryEvent.Protocol.EXTENDED, null, runs == null ? null
                        : approvalText(decision, analysis, text + "\n-- calls: " + runs, text, null)), invalidations(),
                Kind.FUNCTION_CALL, f -> {
                    session.temporaryRelations.sendingUnread();
                    Entry sent = Entry.forward(Kind.FUNCTION_CALL, null, null, new Execution(f.querySeq(), false,
                            null, null, policy));
                    settingsMayChangeInBatch = false;
                    settlesSettings = sent; // a function Warden cannot name may set anything
                    writer.send(frame, sent);
                }, () -> { });
    }

    /** A COPY TO STDOUT that may be masked is described first on the session's connection (see OwnRequests). */
    private void describeCopy(Execution execution) {
        if (masking != null && masking.masksAnything(execution.policy.masker())) {
            OwnRequests.describeCopy(execution, copyDescribeName, writer.betweenBatches(),
                    writer::send, upstream.alloc());
        }
    }

    /** Follows SQL that changes the namespace of statements and portals; a cursor keeps its DECLARE's exposure. */
    /** {@code read}: the same statements before function effects (see PreparedStatements.Statement#read), or null. */
    private void ranSql(Analysis analysis, Execution execution, Analysis read) {
        List<PreparedStatements.Portal> cursors = prepared.ranSql(analysis, execution, read);
        CatalogCache catalog = session.catalog;
        for (int i = 0; i < cursors.size() && catalog != null; i++) { // per statement: no iterator
            PreparedStatements.Statement query = cursors.get(i).statement;
            if (query.read != null) {
                long at = catalog.generation();
                query.declaredWith(catalog.withFunctionEffects(query.read, session.lexing.standardConformingStrings()),
                        at, reader.currentUntil(query.read));
            }
        }
        if (masking != null) {
            masking.declared(analysis, execution);
            masking.cursorsHeldOnly(prepared::holdsCursor);
            cursors.forEach(c -> masking.exposedAsDeclared(c.statement.analysis, analysis));
        }
    }

    /** {@code SET warden.reason = '...'} stays in the session for its next approval request. */
    private void rememberReason(Analysis analysis) {
        for (StatementFacts f : analysis.statements()) {
            if (f.kind() == StatementKind.SET) {
                dev.warden.proxy.approvals.ApprovalRequest.reasonFromSet(f.text()).ifPresent(r -> sessionReason = r);
            }
        }
    }

    /** Frees what the stream held (the session is ending). */
    void releaseAll() {
        ByteBuf waiting;
        while ((waiting = held.poll()) != null) {
            waiting.release();
        }
        writer.releaseAll();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        flow.clientWritable(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.close();
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (!session.idleEvent(evt)) {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.exception(cause);
    }
}
