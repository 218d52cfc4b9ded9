package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

/**
 * Writes a session's requests upstream, each with its {@link OutstandingQueue} entry, in the client's order:
 * Parse, Bind and Describe wait here and go with the next other message (see {@link #send}); a request the
 * server would ignore (it skips to Sync after an error) is dropped and its statement's record finished.
 * Event loop only.
 */
final class UpstreamRequests {

    private final RelaySession session;
    private final OutstandingQueue queue;
    private final Channel upstream;

    UpstreamRequests(RelaySession session) {
        this.session = session;
        this.queue = session.queue;
        this.upstream = session.upstream;
    }

    /**
     * Whether a portal's Bind may go only with that portal's own Execute, once admitted; and (from {@link #markers})
     * the name of a portal that does not exist, for the stand-in of a Bind that does not go. See {@link #sendDeferred}.
     */
    private java.util.function.Predicate<PreparedStatements.Portal> bindWaitsForExecute = p -> false;
    /** Fresh markers for stand-ins (see RelayHandler#standInMarker); null until {@link #gateBinds}. */
    private java.util.function.Supplier<String> markers;
    /**
     * A Bind that does not go: a failing stand-in (an Execute of a portal that does not exist) in its place, whose
     * error the client gets as {@code error}; Warden forgets the portal as when the server refuses a Bind. A Bind
     * recorded going alone has its record end refused.
     */
    private void replaceBind(Deferred d, BackendMessage.ErrorResponse error) {
        Entry e = d.entry();
        d.frame().release();
        session.prepared.bindFailed(e.portal);
        if (e.execution != null) {
            e.execution.sqlState = "42501";
            session.responses.finish(e.execution);
        }
        String marker = markers.get();
        sendNow(new FrontendMessage.Execute(marker, 0).toByteBuf(upstream.alloc()),
                Entry.replaceError(Kind.EXECUTE, error, marker));
    }

    /** Whether a Bind recorded going alone is outdated now: its portal, its judgement's stamp, its record's time. */
    interface Outdated {
        boolean test(PreparedStatements.Portal portal, long judgedAt, long recordedAt);
    }

    private Outdated judgedBefore = (p, at, when) -> false;

    void gateBinds(java.util.function.Predicate<PreparedStatements.Portal> waitsForExecute,
                   java.util.function.Supplier<String> markers,
                   Outdated outdated) {
        this.bindWaitsForExecute = waitsForExecute;
        this.markers = markers;
        this.judgedBefore = outdated;
    }

    /** Writes a request upstream with its entry, unless the server would ignore it (then it is dropped). */
    void send(ByteBuf frame, Entry entry) {
        if (entry.kind == Kind.PARSE || entry.kind == Kind.BIND || entry.kind == Kind.DESCRIBE_STATEMENT
                || entry.kind == Kind.DESCRIBE_PORTAL) {
            // The server starts a statement's clock (statement_timeout) and its implicit transaction at the first
            // message of an extended batch. Warden judges, audits and may hold the batch at Execute: so the
            // preparatory messages wait here and go with the next other message, and the server's clock starts
            // once the statement may run, not while its record is written or an approver decides.
            deferred.add(new Deferred(frame, entry, -1));
            return;
        }
        sendDeferred(entry);
        sendNow(frame, entry);
    }

    /** Writes what waits now, as it goes before the admitted Execute {@code execute} (its own Bind included). */
    void sendWaitingFor(Entry execute) {
        sendDeferred(execute);
    }

    /** Parse, Bind and Describe messages not yet written upstream, in order (see {@link #send}). */
    private final java.util.ArrayDeque<Deferred> deferred = new java.util.ArrayDeque<>();

    /** @param judgedAt a Bind recorded going alone: its judgement's stamp (see {@link #recordedAlone}); else -1 */
    private record Deferred(ByteBuf frame, Entry entry, long judgedAt) {
    }

    /**
     * Writes what waits, before {@code trigger}. Bind plans the statement, and planning computes IMMUTABLE (and, for
     * estimates, STABLE) calls of constants: a Bind of a statement Warden did not allow (one that needs approval, or
     * one it refuses at Execute) goes only with its own admitted Execute. Sent otherwise (a Sync or Flush after it, the
     * stand-in of its refused Execute), it is replaced by a failing stand-in, so the client gets an error in its place
     * and the server skips to Sync; Warden forgets the portal as when the server refuses a Bind. (An attacker's pass
     * had Parse, Bind, Sync insert into a guarded table through such a call, with no approval and no record.)
     */
    private void sendDeferred(Entry trigger) {
        Deferred d;
        while ((d = deferred.poll()) != null) {
            Entry e = d.entry();
            boolean ownExecute = trigger != null && trigger.kind == Kind.EXECUTE
                    && trigger.action == OutstandingQueue.Action.FORWARD && trigger.portal == e.portal;
            BackendMessage.ErrorResponse unrecorded = e.kind != Kind.BIND || e.portal == null || unrecordedBinds.isEmpty()
                    ? null : unrecordedBinds.remove(e.portal);
            // A Bind with no record of its own never goes without its own Execute: a refused message's stand-in
            // (its Execute refused: no record, an approval denied, a budget) takes such Binds with it, with its
            // error; and one that had to wait for its Execute when the message sending it came (so not recorded)
            // and is allowed by now (a policy reloaded, the catalog moved on meanwhile) went unrecorded before (a
            // helper's review).
            if (e.kind == Kind.BIND && e.action == OutstandingQueue.Action.FORWARD && e.portal != null && !ownExecute
                    && markers != null && (unrecorded != null || e.execution == null
                    || bindWaitsForExecute.test(e.portal))) {
                replaceBind(d, unrecorded != null ? unrecorded : trigger != null
                        && trigger.action == OutstandingQueue.Action.REPLACE_ERROR ? trigger.replacement
                        : BackendMessage.ErrorResponse.of("ERROR", "42501", "blocked by Warden: the Bind of a "
                        + "statement Warden did not allow runs only with its own Execute (planning it may run the "
                        + "functions it calls)"));
                continue;
            }
            if (e.kind == Kind.BIND && e.action == OutstandingQueue.Action.FORWARD && e.execution != null
                    && !ownExecute && markers != null && d.judgedAt() >= 0
                    && judgedBefore.test(e.portal, d.judgedAt(), e.execution.started)) {
                // Recorded going alone, and still here when the judgement went out of date (an approval of another
                // statement was waited for, or a message came that does not send it): not sent.
                replaceBind(d, BackendMessage.ErrorResponse.of("ERROR", "42501", "blocked by Warden: this Bind was "
                        + "judged before what it runs may have changed (DDL, or the catalog's entries expired) and "
                        + "had not gone yet; bind it again"));
                continue;
            }
            sendNow(d.frame(), e);
        }
    }

    /**
     * The portals of the Binds that wait here and would go without their own Execute if {@code message} (the client's
     * next message, not a Parse, Bind or Describe) were sent now, of statements Warden allows: each then runs its
     * planning with no Execute of its own, and gets a record of its own first (see {@link #recordedAlone}). Empty in
     * the usual Bind, Execute order. Binds of statements Warden does not allow are replaced, not recorded (see
     * {@link #sendDeferred}).
     */
    java.util.List<PreparedStatements.Portal> bindsGoingAlone(ByteBuf message) {
        if (deferred.isEmpty() || markers == null) {
            return java.util.List.of();
        }
        java.util.List<PreparedStatements.Portal> alone = null;
        for (Deferred d : deferred) {
            Entry e = d.entry();
            if (e.kind != Kind.BIND || e.action != OutstandingQueue.Action.FORWARD || e.portal == null
                    || e.execution != null || unrecordedBinds.containsKey(e.portal)
                    || executes(message, e.portal) || bindWaitsForExecute.test(e.portal)) {
                continue;
            }
            if (alone == null) {
                alone = new java.util.ArrayList<>(2);
            }
            alone.add(e.portal);
        }
        return alone == null ? java.util.List.of() : alone;
    }

    /** Whether {@code message} is an Execute of {@code portal}: its name, and the portal the name means now. */
    private boolean executes(ByteBuf message, PreparedStatements.Portal portal) {
        int at = message.readerIndex();
        if (message.getByte(at) != 'E' || session.prepared.portal(portal.name) != portal) {
            return false;
        }
        String name = portal.name;
        at += 5;
        for (int i = 0; i < name.length(); i++, at++) {
            if (at >= message.writerIndex() || message.getByte(at) != (byte) name.charAt(i)) {
                return false;
            }
        }
        return at < message.writerIndex() && message.getByte(at) == 0;
    }

    /**
     * The Bind of {@code portal} goes alone with its record written: {@code execution} (its record's sequence) is
     * finished by the server's answer to the Bind. {@code refusal} non-null: the record could not be written, and the
     * Bind is replaced by a stand-in that fails with it.
     */
    void recordedAlone(PreparedStatements.Portal portal, Execution execution, BackendMessage.ErrorResponse refusal,
                       long judgedAt) {
        if (refusal != null) {
            unrecordedBinds.put(portal, refusal);
            return;
        }
        for (int i = deferred.size(); i > 0; i--) {
            Deferred d = deferred.poll();
            if (d.entry().kind == Kind.BIND && d.entry().portal == portal && d.entry().execution == null) {
                d = new Deferred(d.frame(), Entry.forward(Kind.BIND, d.entry().statement, portal, execution),
                        judgedAt);
            }
            deferred.add(d);
        }
    }

    /** Binds going alone whose records could not be written, with the error their stand-ins fail with. */
    private final java.util.Map<PreparedStatements.Portal, BackendMessage.ErrorResponse> unrecordedBinds =
            new java.util.IdentityHashMap<>(2);

    private void sendNow(ByteBuf frame, Entry entry) {
        if (entry.action == OutstandingQueue.Action.FORWARD && (entry.kind == Kind.QUERY
                || entry.kind == Kind.EXECUTE || entry.kind == Kind.FUNCTION_CALL)) {
            session.searchPath.statementSent();
        }
        if (queue.sent(entry)) {
            if (entry.action != OutstandingQueue.Action.SKIP && (entry.kind == Kind.QUERY || entry.kind == Kind.SYNC
                    || entry.kind == Kind.FUNCTION_CALL)) {
                session.transactionDdl.requestSent();
            }
            upstream.write(frame, upstream.voidPromise());
        } else {
            frame.release();
            if (entry.isClientParse()) {
                session.prepared.parseFailed(entry.statement, false);
            } else if (entry.isClientBind()) {
                session.prepared.bindFailed(entry.portal);
            } else if (entry.isClientClose()) {
                session.prepared.closeSkipped(entry);
            }
            if (entry.execution != null) {
                // Never sent: the server skips to the Sync after an error. Recorded as a command it ignored, as those
                // it skipped are (see UpstreamRelay#skippedAfter).
                if (entry.execution.sqlState == null) {
                    entry.execution.sqlState = dev.warden.pg.SqlState.IN_FAILED_SQL_TRANSACTION;
                }
                session.responses.finish(entry.execution);
            }
        }
    }

    /**
     * Writes a message that asks for no answer of its own (Flush) after the Parse, Bind and Describe messages that
     * wait: a Flush overtaking them left their answers unsent and the client waiting (an attacker's pass).
     */
    void sendAfterDeferred(ByteBuf frame) {
        sendDeferred(null);
        upstream.write(frame, upstream.voidPromise());
    }

    /** Sends the stand-in of a refused statement; the server's error for it becomes {@code error}. */
    /**
     * Writes a request of a batch of Warden's own at once, ahead of the client's messages that wait here (see
     * {@link #send}): for when the server is between the client's batches counting what was sent ({@link
     * OutstandingQueue#betweenBatches}), since none of what waits has begun one.
     */
    void sendAhead(ByteBuf frame, Entry entry) {
        sendNow(frame, entry);
    }

    void sendStandIn(FrontendMessage standIn, Kind kind, BackendMessage.ErrorResponse error, String marker) {
        send(standIn.toByteBuf(upstream.alloc()), Entry.replaceError(kind, error, marker));
    }

    /** Whether Parse, Bind or Describe messages wait to go with the next other message. */
    boolean anyDeferred() {
        return !deferred.isEmpty();
    }

    /**
     * Whether Warden may put a batch of its own (ending in Sync) on the wire now without joining the client's:
     * the server is between the client's batches and no message of the client's waits here.
     */
    boolean betweenBatches() {
        return queue.betweenBatches() && deferred.isEmpty();
    }

    /** Frees the messages that wait (the session is ending). */
    void releaseAll() {
        Deferred d;
        while ((d = deferred.poll()) != null) {
            d.frame().release();
        }
        unrecordedBinds.clear();
    }
}
