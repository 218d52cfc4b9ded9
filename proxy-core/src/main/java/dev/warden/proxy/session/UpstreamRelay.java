package dev.warden.proxy.session;

import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.sql.Analysis;
import dev.warden.pg.message.BackendMessage.RowDescription.Field;
import dev.warden.proxy.session.OutstandingQueue.Action;
import dev.warden.proxy.session.OutstandingQueue.Answer;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The upstream side of a READY session: every backend message is filed under its {@link OutstandingQueue}
 * entry, then relayed as the entry says (forwarded and masked, consumed for Warden's own Describe, or replaced
 * by Warden's error for a blocked statement's stand-in). Result masking happens here; the result record's tally
 * and the tripwire's checks in {@link ExecutionTally}; both hang off the entry's {@link Execution}.
 */
final class UpstreamRelay extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    private final RelaySession session;
    private final OutstandingQueue queue;
    private final ResultMasking masking;
    /** The result record's counts and the tripwire's checks of what the server answers. */
    private final ExecutionTally tally;
    /** Backend frames (filed under their entry) that wait while the catalog is asked about a result's columns. */
    private final ArrayDeque<Filed> waiting = new ArrayDeque<>();
    /** The frame whose RowDescription was decoded last, compared by identity (each frame is a slice of its own). */
    private ByteBuf lastRowDescriptionFrame;
    private Described lastRowDescription;
    /** A repeated statement's RowDescription is not decoded again (see {@link RepeatedFrame}). */
    private final RepeatedFrame<Described> descriptions = new RepeatedFrame<>(UpstreamRelay::described);

    /** A RowDescription's fields and their names, both immutable. */
    private record Described(List<Field> fields, List<String> names) {
    }

    private static Described described(ByteBuf frame) {
        List<Field> fields = ((BackendMessage.RowDescription) BackendMessage.decode(frame)).fields();
        String[] names = new String[fields.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = fields.get(i).name();
        }
        return new Described(fields, List.of(names));
    }

    /**
     * The frame being relayed, until it is handed on (written to the client, released, or held in {@link #waiting}):
     * released when relaying it fails. A message of the server's that does not decode (or masking that throws) ends
     * the session; before, the frame was left unreleased and pinned the buffer it was read into for good.
     */
    private ByteBuf unhanded;

    /** {@code about}: for an error or notice, what its text answers, as it stood when it arrived (see relay). */
    private record Filed(ByteBuf frame, Answer answer, Answering about) {
    }

    /**
     * What an error's or notice's text answers: the analysis its text is masked by (null: a statement Warden does not
     * know, masked as one that may carry anything), and the execution whose policy and notice count apply (null:
     * none; the current policy then).
     */
    private record Answering(Analysis analysis, Execution execution, Entry owner) {
        static final Answering UNKNOWN = new Answering(null, null, null);

        Answering(Analysis analysis, Execution execution) {
            this(analysis, execution, null);
        }
    }

    UpstreamRelay(RelaySession session) {
        this.session = session;
        this.queue = session.queue;
        this.masking = session.masking;
        this.tally = new ExecutionTally(session, frame -> description(frame).names());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        if (session.ending()) {
            frame.release();
            return;
        }
        Answer answer;
        Answering about;
        unhanded = frame;
        try {
            tally.deferResults();
            byte type = frame.getByte(frame.readerIndex());
            if (type == 'S') {
                BackendMessage.ParameterStatus status = (BackendMessage.ParameterStatus) BackendMessage.decode(frame);
                session.lexing.update(status.name(), status.value());
            }
            answer = queue.answered(type);
            session.prepared.answered(answer, type);
            // A notice is filed under no entry (it may come at any time), but the server sends one while it runs
            // the request at the head of the queue when it arrives: it answers that statement (a RAISE in its
            // function or DO body). Resolved now: by the time the frame is relayed (it may wait) the queue moved on.
            about = type == 'E' ? answering(answer.owner(), answer.dropped())
                    : type == 'N' ? answering(queue.head(), queue.pending()) : null;
            if (!answer.dropped().isEmpty()) {
                skippedAfter(frame, answer.owner(), about, answer.dropped());
            } else if (type == 'E' && answer.owner() != null && answer.owner().kind == Kind.SYNC) {
                tally.syncFailed(errorState(frame));
            }
        } catch (RuntimeException e) {
            releaseUnhanded(); // the session ends (exceptionCaught), as before
            throw e;
        }
        if (session.flow.responsesPaused()) {
            unhanded = null;
            waiting.add(new Filed(frame, answer, about));
            return;
        }
        try {
            relay(frame, answer, about);
        } catch (RuntimeException | StackOverflowError e) {
            releaseUnhanded();
            failAndRelease(e);
        }
    }

    /**
     * The server skipped {@code dropped} after the error {@code frame} answering {@code owner}: their statements never
     * ran. Their result records say so: the statement whose Parse, Bind or Describe failed (the error stands for it,
     * see {@link #answering}) with the error's SQLSTATE, the others with 25P02, the code for commands the server
     * ignores after an error. Before, each was recorded as if it had run and succeeded (no SQLSTATE): a pipeline's
     * {@code SELECT 1/0}, which fails at Bind, left a result with no error, and so did every statement skipped after
     * it (an attacker's pass, a113 A2). An error of a statement's own run is counted with it (ExecutionTally#count).
     */
    private void skippedAfter(ByteBuf frame, Entry owner, Answering about, List<Entry> dropped) {
        Execution failed = owner == null || owner.execution != null ? null
                : about != null && about.execution() != null ? about.execution() : executeOfNamed(owner, dropped);
        for (Entry skipped : dropped) {
            if (skipped.ownQuery != null) {
                // A read of Warden's own in the client's batch, after the client's statement that failed: not run.
                skipped.ownQuery.answered.complete(null);
            }
            Execution e = skipped.execution;
            if (e == null || e.finished) {
                continue;
            }
            if (e == failed) {
                e.sqlState = errorState(frame); // at most one execution is the failed one
            } else {
                e.sqlState = SqlState.IN_FAILED_SQL_TRANSACTION;
            }
            finish(e);
        }
    }

    private static String errorState(ByteBuf frame) {
        return ((BackendMessage.ErrorResponse) BackendMessage.decode(frame)).sqlState();
    }

    /**
     * The first Execute among {@code following} of what a failed Parse or Describe names: the statement it prepared
     * or described, or the portal it described; null when none follows (the client runs it in a later batch).
     */
    private static Execution executeOfNamed(Entry owner, List<Entry> following) {
        for (Entry e : following) {
            if (e.kind != Kind.EXECUTE || e.execution == null || e.portal == null) {
                continue;
            }
            boolean named = switch (owner.kind) {
                case PARSE, DESCRIBE_STATEMENT -> owner.statement != null && e.portal.statement == owner.statement;
                case DESCRIBE_PORTAL -> owner.portal != null && e.portal == owner.portal;
                default -> false;
            };
            if (named) {
                return e.execution;
            }
        }
        return null;
    }

    private void releaseUnhanded() {
        ByteBuf frame = unhanded;
        unhanded = null;
        if (frame != null) {
            frame.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        session.client.flush();
        tally.recordDeferred();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        session.flow.upstreamWritable(ctx.channel().isWritable());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.upstreamLost(null);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.upstreamLost(cause);
        ctx.close();
    }

    /** A message no outstanding request can own: dropped, and the session ends ({@link ExecutionTally#unowned}). */
    private void unowned(byte type, ByteBuf frame, Entry entry, boolean lost) {
        unhanded = null;
        frame.release();
        tally.unowned(type, entry, lost);
    }

    /** Relays {@code frame}; when it throws, the frame is still {@link #unhanded} unless it was handed on. */
    private void relay(ByteBuf frame, Answer answer, Answering about) {
        unhanded = frame;
        lastRowDescriptionFrame = null;
        byte type = frame.getByte(frame.readerIndex());
        Entry entry = answer.owner();
        if (type == 'E' && masking != null) {
            session.transactionDdl.failed();
        }
        if (type == 'C' && masking != null && (settingTag(frame) || callsSetConfig(about))) {
            // The server reports a changed client_encoding only before ReadyForQuery: until then the rows of
            // later statements may come in another one (an attacker's pass, a145 F5).
            masking.encodingMayChange();
        }
        if ((type == 'E' || type == 'C') && session.prepared.awaitsTransactionEnd()) {
            if (type == 'E') {
                session.prepared.serverFailed();
            } else if (tagIs(frame, ROLLBACK_TAG)) {
                session.prepared.serverRolledBack();
            }
        }
        if (type == 'E' && session.queue.lostTrack()) { // only an error can lose track: before any other use
            unowned(type, frame, entry, true);
            return;
        }
        if (type == 'E' && entry != null && entry.ownQuery != null && !entry.silent) {
            entry.ownQuery.answer(type, frame); // a read in the client's batch failed: relayed below, and it learns
        }
        if (entry != null && entry.action == Action.SKIP && !OutstandingQueue.asynchronous(type)
                && (entry.silent || type != 'E')) {
            // Warden's own request: its answers are kept for masking, never relayed; an error only when it is
            // silent (a batch of Warden's own), else it stands for the error of the client's request it preceded.
            if (entry.ownQuery != null) {
                entry.ownQuery.answer(type, frame);
            } else if (entry.portal != null && (type == 'T' || type == 'n')) {
                entry.portal.fields = type == 'T' ? rowDescription(frame) : List.of();
            } else if (type == 'T' && entry.kind == Kind.DESCRIBE_STATEMENT && entry.statement != null) {
                entry.statement.fields = rowDescription(frame);
            }
            unhanded = null;
            frame.release();
            return;
        }
        if (entry != null && entry.action == Action.REPLACE_ERROR && type == 'E') {
            BackendMessage.ErrorResponse error = (BackendMessage.ErrorResponse) BackendMessage.decode(frame);
            if (error.message() != null && entry.marker != null && error.message().contains(entry.marker)) {
                unhanded = null;
                frame.release();
                session.client.write(entry.replacement.toByteBuf(session.client.alloc()), session.client.voidPromise());
                return;
            }
        }
        if ((entry == null || entry.execution == null) && ExecutionTally.statementAnswer(type)
                || entry == null && type == 'Z') {
            unowned(type, frame, entry, false);
            return;
        }
        frame = maskResult(type, frame, entry);
        unhanded = frame; // a masked copy in its stead, or null: held in waiting
        if (frame == null) {
            return;
        }
        if (type == 'Z') {
            ready(frame, entry);
            return;
        }
        if (type == 'S' && tally.parameterStatusMismatch(frame, entry)) {
            unhanded = null;
            frame.release();
            return;
        }
        if (entry != null && entry.execution != null) {
            tally.count(type, frame, entry.execution);
            if (session.ending()) {
                // The tripwire ended the session: the client gets the FATAL error, not this frame.
                unhanded = null;
                frame.release();
                return;
            }
        }
        if (type == 'E' || type == 'N' || type == 'A' || type == 'S') {
            // Notifications and parameter reports answer no statement of this session's: masked as such, under
            // the policy of the statement whose answer they came among.
            Answering text = type == 'E' || type == 'N' ? (about == null ? Answering.UNKNOWN : about)
                    : new Answering(null, entry == null ? null : entry.execution);
            if (type == 'N' && withheld(text)) {
                unhanded = null;
                frame.release();
                return;
            }
            frame = maskMessageText(frame, text);
        }
        unhanded = null;
        session.client.write(frame, session.client.voidPromise());
    }

    private void ready(ByteBuf frame, Entry entry) {
        session.transactionStatus = (char) frame.getByte(frame.readerIndex() + 5);
        if (masking != null) {
            masking.encodingReported(); // any change of client_encoding was reported before this ReadyForQuery
            session.transactionDdl.ready(session.transactionStatus, masking::transactionEnded);
        }
        // The server says whether a transaction ended, and how: the portals it dropped are forgotten (see
        // PreparedStatements#ready). Quiet: no later batch of the client's is outstanding, so no cursor of one is
        // taken for committed here.
        session.prepared.ready(session.transactionStatus, waiting.isEmpty() && !session.requests.requestsInFlight());
        if (session.transactionStatus == 'I') {
            // No transaction is open: the server has ended every cursor not WITH HOLD, also those of a text's
            // implicit transaction, which no COMMIT shows. (One a later batch already declared is forgotten too:
            // its rows are then masked whole.)
            if (masking != null) {
                masking.cursorsHeldOnly(session.prepared::holdsCursor);
            }
        }
        if (tally.ready(entry == null ? null : entry.execution)) {
            unhanded = null;
            frame.release();
            return;
        }
        unhanded = null;
        session.client.write(frame, session.client.voidPromise());
        session.readyForQuery();
    }

    private static final byte[] ROLLBACK_TAG = "ROLLBACK".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Whether a CommandComplete's tag is of a statement that may change a setting: SET, RESET, DISCARD, and the ends
     * of transactions and savepoints, which undo a SET LOCAL or a SET made in them.
     */
    private static boolean settingTag(ByteBuf frame) {
        int n = frame.readableBytes() - 6;
        byte first = n < 3 ? 0 : frame.getByte(frame.readerIndex() + 5);
        if (n > 24 || !(first == 'S' && n == 3 || first == 'R' || first == 'D' || first == 'C' || first == 'P')) {
            return false; // SELECT n, INSERT, UPDATE, DELETE ...: read without making a string of the tag
        }
        String tag = frame.toString(frame.readerIndex() + 5, n, java.nio.charset.StandardCharsets.US_ASCII);
        return tag.equals("SET") || tag.equals("RESET") || tag.startsWith("DISCARD") || tag.equals("COMMIT")
                || tag.equals("ROLLBACK") || tag.equals("RELEASE") || tag.equals("PREPARE TRANSACTION")
                || tag.equals("COMMIT PREPARED") || tag.equals("ROLLBACK PREPARED");
    }

    /** Whether the statement answered calls set_config (with its nested bodies, as judged). */
    private static boolean callsSetConfig(Answering about) {
        Analysis a = about == null ? null : about.analysis();
        if (a == null) {
            return false;
        }
        for (dev.warden.sql.StatementFacts top : a.statements()) {
            for (dev.warden.sql.StatementFacts f : top.allStatements()) {
                if (f.functions().contains("set_config") || f.functions().contains("pg_catalog.set_config")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a CommandComplete's tag is exactly {@code tag}. */
    private static boolean tagIs(ByteBuf frame, byte[] tag) {
        int at = frame.readerIndex() + 5;
        if (frame.readableBytes() != 5 + tag.length + 1) {
            return false;
        }
        for (int i = 0; i < tag.length; i++) {
            if (frame.getByte(at + i) != tag[i]) {
                return false;
            }
        }
        return frame.getByte(at + tag.length) == 0;
    }

    void finish(Execution e) {
        tally.finish(e);
    }

    // ---- masking ----------------------------------------------------------------------------------------

    /**
     * Whether the statement's policy masks nothing for this identity here: exempt, or masking off (no rules, no
     * detectors). Then not one byte changes and no column is looked up (a COPY of a table created earlier in the
     * same Query could not be). Read from the policy {@code e} was judged under (the current one for answers that
     * belong to no statement), so a reload that removes an exemption masks the next statement's result.
     */
    private boolean exemptFromMasking(Execution e) {
        PolicySnapshot snapshot = e != null ? e.policy : session.services.snapshot().get();
        return !masking.masksAnything(snapshot.masker());
    }

    /**
     * For an exempt identity under a policy that makes columns sensitive: the result's columns are still
     * resolved and planned (every one kept), so its record names the sensitive columns it received in clear
     * ({@code audit usage}). Not one byte changes; a catalog that cannot be read only leaves them unnamed.
     */
    private boolean auditsClearColumns(Execution e) {
        return e != null && !e.auditLookupFailed && e.policy.masker().identifiesSensitiveColumns();
    }

    /** The columns' names, in order (every result's RowDescription passes here: no stream). */
    private static List<String> names(List<Field> fields) {
        String[] names = new String[fields.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = fields.get(i).name();
        }
        return List.of(names);
    }

    /** A message of Warden's own (the masking notice) ahead of the frame being relayed. */
    private void writeIfAny(ByteBuf message) {
        if (message != null) {
            session.client.write(message, session.client.voidPromise());
        }
    }

    /**
     * Errors, notices, notifications and parameter reports can echo the values a statement touched (a cast
     * error quotes its input, a unique violation its key, RAISE NOTICE and pg_notify anything): for a masked
     * identity their text is masked like a value. Returns the frame to relay: the same buffer when nothing
     * changed.
     */
    private ByteBuf maskMessageText(ByteBuf frame, Answering about) {
        if (masking == null || exemptFromMasking(about.execution())) {
            return frame;
        }
        // Values the server echoes are redacted by construction when the statement the text answers could carry
        // a sensitive value.
        Analysis answering = about.analysis();
        // The server writes the text in the session's client_encoding: read and written back in it (read as UTF-8,
        // a GB18030 text's characters came apart into the digits they end in, which joined a number beside them).
        dev.warden.sql.ClientEncoding encoding = session.lexing.settings().encoding();
        java.nio.charset.Charset charset = encoding == null ? java.nio.charset.StandardCharsets.UTF_8 : encoding.charset();
        BackendMessage masked = MessageTextMasking.mask(BackendMessage.decode(frame, charset),
                (field, text, fields) -> masking.maskMessage(field, text, answering, fields));
        if (masking.encodingUncertain() && highByte(frame)) {
            // The encoding may have changed since the server reported it (see ResultMasking#encodingMayChange): read
            // also with each byte from 0x80 up starting a pair; if either reading masks anything, every field that
            // is not ASCII is redacted (no text in an unknown encoding is written back).
            java.nio.charset.Charset bytes = java.nio.charset.StandardCharsets.ISO_8859_1;
            BackendMessage paired = MessageTextMasking.mask(BackendMessage.decode(pairedCopy(frame), bytes),
                    (field, text, fields) -> masking.maskMessage(field, text, answering, fields));
            if (masked == null && paired == null) {
                return frame;
            }
            BackendMessage redacted = MessageTextMasking.redactNonAscii(BackendMessage.decode(frame, bytes));
            BackendMessage ascii = MessageTextMasking.mask(redacted, // the ASCII fields masked as ever
                    (field, text, fields) -> masking.maskMessage(field, text, answering, fields));
            masked = ascii == null ? redacted : ascii;
            charset = bytes;
        }
        if (masked == null) {
            return frame;
        }
        ByteBuf out = masked.toByteBuf(session.client.alloc(), charset);
        frame.release();
        unhanded = out;
        return out;
    }

    private static boolean highByte(ByteBuf frame) {
        for (int i = frame.readerIndex() + 5; i < frame.writerIndex(); i++) {
            if (frame.getByte(i) < 0) {
                return true;
            }
        }
        return false;
    }

    /** A copy of {@code frame} where each byte from 0x80 up and the byte after it (not a terminator) are 0x80. */
    private static ByteBuf pairedCopy(ByteBuf frame) {
        byte[] b = io.netty.buffer.ByteBufUtil.getBytes(frame);
        for (int i = 5; i < b.length; i++) {
            if (b[i] < 0) {
                b[i] = (byte) 0x80;
                if (i + 1 < b.length && b[i + 1] != 0) {
                    b[++i] = (byte) 0x80;
                }
            }
        }
        return io.netty.buffer.Unpooled.wrappedBuffer(b);
    }

    /**
     * Whether a notice answering {@code e} is withheld: for a masked identity, only the first notice of a statement
     * whose notices may carry masked values is relayed. Their texts are redacted, but how many there are is the
     * code's choice: a loop raising {@code ascii(c)} notices, or running {@code DROP TABLE IF EXISTS} that often,
     * spelled a value in their number and order.
     */
    private boolean withheld(Answering about) {
        Execution e = about.execution();
        if (masking == null || exemptFromMasking(e)) {
            return false;
        }
        if (e == null) {
            if (about.owner() == null) {
                return false;
            }
            // A Parse or Describe runs no statement of its own, but converting its literals (a domain's check, a
            // type's input) may raise notices: counted per message, as a statement's are (their number spelled a
            // value, 19 notices for a 19-character e-mail, with each notice's text redacted: an attacker's pass).
            if (about.owner() != noticesOwner) {
                noticesOwner = about.owner();
                ownerNotices = 0;
            }
            return ownerNotices++ > 0 && masking.noticesMayCarryValues(about.analysis());
        }
        return e.notices++ > 0 && masking.noticesMayCarryValues(about.analysis());
    }

    /** The Parse or Describe whose notices {@link #withheld} counts last, and how many it has counted. */
    private Entry noticesOwner;
    private int ownerNotices;

    /**
     * What an error or notice the server sent while it handled {@code owner} answers ({@code following}: the requests
     * sent after it, up to a Sync at least). A statement's own run (Query, Execute, FunctionCall) answers for itself.
     * Parse, Bind and Describe run no statement but fail as part of one, which the simple protocol would have sent as
     * a Query: Parse (its literals are converted there) and Describe answer the statement they name; Bind, which
     * converts the parameters (a domain's checks run the functions they call: the statement's casts) and plans the
     * statement (an IMMUTABLE call of constants runs then), answers its portal's Execute, whose notices it counts
     * with. Before, all of these were masked as the answer to a statement Warden did not know: a masked identity got
     * {@code invalid input syntax for type integer: "[redacted]"} for its own literal through pgJDBC, and the count
     * of notices a Bind's planning raised was not limited as a Query's is.
     */
    private Answering answering(Entry owner, Iterable<Entry> following) {
        if (owner == null) {
            return Answering.UNKNOWN;
        }
        if (owner.kind == Kind.BIND && owner.statement != null) {
            Entry execute = owner.execution != null || owner.portal == null ? null
                    : OutstandingQueue.executeOf(owner.portal, following);
            Execution e = owner.execution != null ? owner.execution : execute == null ? null : execute.execution;
            Analysis run = e != null ? e.analysis : owner.statement.judged;
            return new Answering(withCasts(run, owner.statement.casts), e);
        }
        if (owner.execution != null) {
            return new Answering(owner.execution.analysis, owner.execution);
        }
        if (owner.action == Action.SKIP && owner.statement != null) {
            // Warden's own Describe of a COPY's query, inside the client's batch: its error stands for the COPY's.
            Entry copy = OutstandingQueue.describedBy(owner.statement, following);
            return copy == null ? Answering.UNKNOWN : new Answering(copy.execution.analysis, copy.execution);
        }
        PreparedStatements.Statement named = owner.statement != null ? owner.statement
                : owner.portal != null ? owner.portal.statement : null;
        if (named == null || !(owner.kind == Kind.PARSE || owner.kind == Kind.DESCRIBE_STATEMENT
                || owner.kind == Kind.DESCRIBE_PORTAL)) {
            return Answering.UNKNOWN;
        }
        return new Answering(named.judged, null, owner);
    }

    /** {@code run} with the statements {@code casts} adds (null: none), one instance per pair in a row. */
    private Analysis withCasts(Analysis run, Analysis casts) {
        if (run == null || casts == null) {
            return casts == null ? run : null; // casts Warden cannot add to a statement it has no reading of
        }
        if (run != castsOf || casts != castsAdded) {
            List<dev.warden.sql.StatementFacts> both = new java.util.ArrayList<>(run.statements());
            both.addAll(casts.statements());
            castsOf = run;
            castsAdded = casts;
            withCasts = new Analysis(both);
        }
        return withCasts;
    }

    /** The last analysis {@link #withCasts} made, and of what: kept while a Bind's notices come. */
    private Analysis castsOf;
    private Analysis castsAdded;
    private Analysis withCasts;

    /**
     * The masking step of the result path. Returns the frame to relay (the same buffer when nothing changes,
     * a new one when values were masked), or null when the frame is held while the catalog is asked about
     * its columns.
     */
    private ByteBuf maskResult(byte type, ByteBuf frame, Entry entry) {
        if (masking == null || entry == null) {
            return frame;
        }
        Execution e = entry.execution;
        switch (type) {
            case 'T' -> {
                List<Field> fields = rowDescription(frame);
                boolean describing = (entry.kind == Kind.DESCRIBE_STATEMENT && entry.statement != null)
                        || (entry.kind == Kind.DESCRIBE_PORTAL && entry.portal != null);
                boolean exempt = exemptFromMasking(e);
                boolean planned = !exempt || (!describing && auditsClearColumns(e));
                if (planned && holdForCatalog(fields, frame, entry, exempt)) {
                    return null;
                }
                if (entry.kind == Kind.DESCRIBE_STATEMENT && entry.statement != null) {
                    entry.statement.fields = fields;
                } else if (entry.kind == Kind.DESCRIBE_PORTAL && entry.portal != null) {
                    entry.portal.fields = fields;
                } else if (e != null) {
                    e.describe(description(frame).names(),
                            planned ? masking.plan(e.policy.masker(), fields, null, e.analysis) : null);
                }
                return frame;
            }
            case 'n' -> {
                if (entry.kind == Kind.DESCRIBE_STATEMENT && entry.statement != null) {
                    entry.statement.fields = List.of();
                } else if (entry.kind == Kind.DESCRIBE_PORTAL && entry.portal != null) {
                    entry.portal.fields = List.of();
                }
                return frame;
            }
            case 'D' -> {
                if (e == null) {
                    return frame;
                }
                boolean exempt = exemptFromMasking(e);
                List<Field> known = e.portal == null ? null : e.portal.describedFields();
                if (!e.described && e.extended && (!exempt || (known != null && auditsClearColumns(e)))) {
                    List<Field> fields = known;
                    if (fields == null) {
                        // Warden describes every portal it does not know the columns of; a portal it did not see
                        // bound (a SQL cursor) has none. Fail closed: unknown columns cannot be masked.
                        throw new SessionException(SqlState.INTERNAL_ERROR, "Warden could not tell which columns "
                                + "this result has, so it cannot mask it; the session was closed");
                    }
                    if (holdForCatalog(fields, frame, entry, exempt)) {
                        return null;
                    }
                    e.describe(names(fields), masking.plan(e.policy.masker(), fields,
                            e.portal.fields != null ? null : e.portal.resultFormats, e.analysis));
                }
                if (e.rows == 0) {
                    // The masking notice goes with the first row: a result that ends with no row (an error, an
                    // empty table) had nothing altered.
                    writeIfAny(masking.notice(e.plan));
                }
                if (e.plan == null || e.plan.masksNothing()) {
                    return frame;
                }
                ByteBuf masked = e.plan.maskDataRow(frame, session.client.alloc());
                if (masked != frame) {
                    frame.release();
                }
                return masked;
            }
            case 'H' -> {
                if (e == null || e.copy != null || exemptFromMasking(e)) {
                    return frame;
                }
                List<Field> described = e.copyDescription == null ? null : e.copyDescription.fields;
                if (described != null) {
                    // Warden's own Describe on this connection answered: it sees temporary tables.
                    if (holdForCatalog(described, frame, entry)) {
                        return null;
                    }
                    e.copy = masking.copyMasker(masking.described(described), CopyStatements.copyFormat(e.analysis),
                            e.analysis);
                    writeIfAny(masking.notice(e.copy.plan()));
                    return frame;
                }
                if (CopyStatements.copyDescribeQuery(e.analysis).isPresent()) {
                    if (CopyStatements.copiesATableItCreates(e.analysis)) {
                        // A table the same Query creates (psql runs such scripts): Warden's Describe ran before it
                        // existed. What it holds came from this batch's own statements, each screened (copying a
                        // sensitive value into a table the catalog does not know is refused), so its unnamed
                        // columns are value-scanned rather than the session closed.
                        int columnCount = frame.getUnsignedShort(frame.readerIndex() + 6); // 'H', length, format
                        e.copy = masking.copyMasker(CopyStatements.unnamedColumns(columnCount),
                                CopyStatements.copyFormat(e.analysis), e.analysis);
                        writeIfAny(masking.notice(e.copy.plan()));
                        return frame;
                    }
                    // Warden describes every COPY TO STDOUT it may mask on the session's connection first; that
                    // failed (an error the server then skipped past): the columns cannot be told, so fail closed
                    // rather than describe them elsewhere.
                    throw new SessionException(SqlState.INTERNAL_ERROR, "Warden could not tell which columns this "
                            + "COPY returns, so it cannot mask it; the session was closed (run the COPY in a "
                            + "statement of its own)");
                }
                return frame;
            }
            case 'd' -> {
                if (e == null || e.copy == null) {
                    return frame;
                }
                ByteBuf masked = e.copy.maskCopyData(frame, session.client.alloc());
                if (masked != frame) {
                    frame.release();
                }
                return masked;
            }
            case 'c' -> {
                if (e != null && e.copy != null) {
                    ByteBuf rest = e.copy.finish(session.client.alloc());
                    e.copy = null;
                    // The description was of this COPY: another COPY of the same text is not masked by it.
                    e.copyDescription = null;
                    if (rest != null) {
                        session.client.write(rest, session.client.voidPromise());
                    }
                }
                return frame;
            }
            default -> {
                return frame;
            }
        }
    }

    /** The fields of a RowDescription, decoded once per frame (masking and the tally both need them). */
    private List<Field> rowDescription(ByteBuf frame) {
        return description(frame).fields();
    }

    private Described description(ByteBuf frame) {
        if (frame != lastRowDescriptionFrame) {
            lastRowDescription = descriptions.decode(frame);
            lastRowDescriptionFrame = frame;
        }
        return lastRowDescription;
    }

    private boolean holdForCatalog(List<Field> fields, ByteBuf frame, Entry entry) {
        return holdForCatalog(fields, frame, entry, false);
    }

    /**
     * True (and the frame held) when the catalog must first be asked about these columns' tables. When only the
     * audit needs them ({@code auditOnly}: nothing is masked), a catalog that cannot be read leaves the columns
     * unnamed instead of ending the session.
     */
    private boolean holdForCatalog(List<Field> fields, ByteBuf frame, Entry entry, boolean auditOnly) {
        java.util.Set<Integer> unknown = masking.unknownTables(fields);
        if (unknown.isEmpty()) {
            return false;
        }
        pause(frame, entry);
        masking.resolve(unknown).whenComplete((ok, failure) -> session.client.eventLoop().execute(() -> {
            if (failure != null && auditOnly && entry.execution != null) {
                log.warn("audit.columns_unresolved session={} reason=\"{}\"", session.id,
                        ClientErrors.unwrap(failure).getMessage());
                entry.execution.auditLookupFailed = true;
                resume();
            } else if (failure != null) {
                failAndRelease(failure);
            } else {
                resume();
            }
        }));
        return true;
    }

    private void pause(ByteBuf frame, Entry entry) {
        unhanded = null;
        waiting.addFirst(new Filed(frame, new Answer(entry, false, List.of()), null));
        session.flow.pauseResponses(true);
    }

    private void resume() {
        if (session.ending()) {
            return;
        }
        session.flow.pauseResponses(false);
        Filed next;
        try {
            while (!session.flow.responsesPaused() && (next = waiting.poll()) != null) {
                if (session.ending()) {
                    // A frame relayed before ended it (the tripwire): nothing more goes to the client, as in
                    // channelRead.
                    next.frame().release();
                    releaseAll();
                    return;
                }
                relay(next.frame(), next.answer(), next.about());
            }
        } catch (RuntimeException | StackOverflowError e) {
            // Runs as a task, outside the pipeline: a failure here must end the session, not stall it.
            releaseUnhanded();
            failAndRelease(e);
            return;
        }
        session.client.flush();
        if (waiting.isEmpty()) {
            relayedAll();
        }
    }

    /**
     * Completes once every frame of the server's that arrived so far has been relayed (masked), none waiting in
     * {@link #waiting} for the catalog: at once when none waits. The queue counts an answer as it arrives, so a
     * request can be answered while its rows still wait here, to be masked by what the names they read mean when
     * they are relayed. A message that changes a name waits for this too (see RelayHandler#waitedFor): before, an
     * attacker's pass (a150 F2) had the rows of {@code EXECUTE b} wait for the catalog (another identity's DDL had
     * dropped what it knew of their table) while the Parse of b behind them went on, and they were masked as its text
     * (a harmless one, which the server then refused): the SSNs went out in clear. Event loop only.
     */
    java.util.concurrent.CompletableFuture<Void> whenRelayed() {
        if (waiting.isEmpty()) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        if (relayed == null) {
            relayed = new java.util.concurrent.CompletableFuture<>();
        }
        return relayed;
    }

    /** See {@link #whenRelayed}: null when nothing waits for it. */
    private java.util.concurrent.CompletableFuture<Void> relayed;

    private void relayedAll() {
        java.util.concurrent.CompletableFuture<Void> done = relayed;
        relayed = null;
        if (done != null) {
            done.complete(null);
        }
    }

    private void failAndRelease(Throwable failure) {
        releaseAll();
        if (ClientErrors.unwrap(failure) instanceof dev.warden.pg.ProtocolException) {
            session.upstreamLost(failure); // a server message that does not decode: 08P01, not a masking failure
            return;
        }
        log.error("masking.catalog_failed session={} reason=\"{}\"", session.id,
                ClientErrors.unwrap(failure).getMessage());
        session.fail(new SessionException(SqlState.INTERNAL_ERROR, "results cannot be masked: "
                + ClientErrors.unwrap(failure).getMessage(), null, failure));
    }

    void releaseAll() {
        tally.batchEnded();
        tally.recordDeferred();
        Filed held;
        while ((held = waiting.poll()) != null) {
            held.frame().release();
        }
        relayedAll(); // the session ends: what waited for the frames is let go (and drops its own)
    }
}
