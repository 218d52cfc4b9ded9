package dev.warden.proxy.session;

import dev.warden.config.Environment;
import dev.warden.identity.Identity;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.catalog.CatalogCache;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.timeout.IdleStateEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;

/**
 * A READY session: what its two handlers share ({@link RelayHandler} for the client's messages,
 * {@link UpstreamRelay} for the server's) and its end. Event loop only: both channels share one.
 */
final class RelaySession {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    final SessionServices services;
    final String id;
    final Identity identity;
    final Environment environment;
    /** The PostgreSQL role the upstream connection logged in as (the identity's own, or the shared login). */
    final String upstreamLogin;
    final Channel client;
    final Channel upstream;
    final SessionAudit audit;
    final SessionLexing lexing;
    final Tripwire tripwire;
    final CatalogCache catalog;
    final ResultMasking masking;
    final OutstandingQueue queue = new OutstandingQueue();
    final PreparedStatements prepared = new PreparedStatements();
    final SessionSearchPath searchPath = new SessionSearchPath();
    final TemporaryRelations temporaryRelations = new TemporaryRelations();
    final TransactionDdl transactionDdl = new TransactionDdl();
    final FlowControl flow;
    final RelayHandler requests;
    final UpstreamRelay responses;
    /** Called once when the session ends, for what the startup phase set up (counters, cancel key, timers). */
    private final Runnable onEnd;
    private final long startedNanos;
    long statementCount;
    static final String CLIENT_DISCONNECTED = "client disconnected";
    String endReason = CLIENT_DISCONNECTED;
    char transactionStatus;
    private boolean closeWhenIdle;
    /** A FATAL error is on its way to the client; nothing more is read or relayed. */
    private boolean failing;
    private boolean closed;

    RelaySession(SessionServices services, String id, Identity identity, Environment environment, Channel client,
                 Channel upstream, String upstreamLogin, SessionAudit audit, SessionLexing lexing,
                 Tripwire tripwire, char transactionStatus, long startedNanos, Runnable onEnd) {
        this.services = services;
        this.id = id;
        this.identity = identity;
        this.environment = environment;
        this.client = client;
        this.upstream = upstream;
        this.upstreamLogin = upstreamLogin;
        this.audit = audit;
        this.lexing = lexing;
        this.tripwire = tripwire;
        this.transactionStatus = transactionStatus;
        this.startedNanos = startedNanos;
        this.onEnd = onEnd;
        this.catalog = services.catalogs().apply(environment);
        if (catalog != null) {
            catalog.systemTables(); // read once per environment, ahead of the first write it judges
        }
        this.masking = new ResultMasking(services.masker(), catalog, identity, environment.name());
        masking.followSearchPath(searchPath::schemas);
        masking.followClientEncoding(() -> lexing.settings().clientEncodingName());
        masking.ownRole(upstreamLogin);
        masking.followTransaction(analysis -> analysis == null ? transactionDdl.unreadable()
                : transactionDdl.before(analysis));
        masking.looksUpWith(services.analyzer());
        masking.followPrepared(name -> {
            PreparedStatements.Statement s = prepared.statement(name);
            return s == null ? null : s.judged;
        });
        masking.followCursorsStanding(prepared::cursorStands);
        masking.followCursorQueries(name -> {
            PreparedStatements.Portal cursor = prepared.portal(name);
            return cursor == null || !cursor.declared || !cursor.statement.bodiesChanged ? null
                    : cursor.statement.judged;
        });
        // The server drops the session's temporary relations when its backend exits, which closes this connection.
        upstream.closeFuture().addListener(closed -> {
            masking.sessionEnded();
            transactionDdl.ended();
            if (catalog != null) {
                catalog.inFlight(masking, null);
            }
        });
        if (catalog != null) {
            catalog.inFlight(masking, this::reaching);
            transactionDdl.publishTo(unreadable -> catalog.openDdl(masking, unreadable));
            transactionDdl.publishPreparedTo(catalog::preparedDdl);
        }
        this.flow = FlowControl.of(client);
        flow.attachUpstream(upstream);
        this.requests = new RelayHandler(this);
        this.responses = new UpstreamRelay(this);
    }

    /**
     * What DDL of open transactions made unreadable, for looking names up: this session's, and other sessions'
     * (see {@link CatalogCache#openDdlElsewhere}), whose definitions masking judges this session's results with.
     */
    dev.warden.proxy.guardrails.Unreadable openDdl() {
        dev.warden.proxy.guardrails.Unreadable own = transactionDdl.unreadable();
        return catalog == null ? own : own.with(catalog.openDdlElsewhere(masking));
    }

    /** The upstream backend's cancel key (null when the server sent none): see {@link #withdrawReaching}. */
    volatile CancelRegistry.Target upstreamCancel;

    /** How long a COMMIT of DDL waits for the statements it cancels elsewhere to be answered. */
    static final long WITHDRAW_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

    /**
     * {@link CatalogCache.StatementsInFlight}: another session is about to commit {@code ddl}. This session's
     * statements in flight that it reaches were judged without it and may be waiting on that transaction's lock
     * (taken before the DDL): the catalog withdraws those that wait ({@link #withdraw}). Runs on this session's
     * event loop.
     */
    CompletableFuture<CatalogCache.Reaching> reaching(dev.warden.proxy.guardrails.Unreadable ddl) {
        CompletableFuture<CatalogCache.Reaching> out = new CompletableFuture<>();
        client.eventLoop().execute(() -> {
            OutstandingQueue.Entry last = ending() ? null : queue.lastRunning(a -> reaches(a, ddl));
            CancelRegistry.Target target = upstreamCancel;
            out.complete(last == null ? null : new CatalogCache.Reaching(target == null ? 0 : target.processId(),
                    last != queue.firstRunning() || startsLater(last.execution.analysis),
                    () -> withdraw(last)));
        });
        return out;
    }

    /**
     * Cancels this session's statements on the server, up to {@code last}: the committing session waits until
     * {@code last} is answered (the client sees the server's 57014).
     */
    private CompletableFuture<Void> withdraw(OutstandingQueue.Entry last) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        client.eventLoop().execute(() -> {
            CancelRegistry.Target target = upstreamCancel;
            if (closed || !queue.holds(last)) {
                done.complete(null);
                return;
            }
            if (target == null) {
                done.completeExceptionally(new IllegalStateException("session " + id + " has no cancel key"));
                return;
            }
            log.info("ddl_commit.cancel session={} reason=\"another session commits DDL this session's statement in "
                    + "flight reaches, judged before it, waiting on that session's locks\"", id);
            whenAnswered(last, target, done, System.nanoTime(), 0);
        });
        return done;
    }

    /**
     * Completes {@code done} once {@code entry} is answered. The cancel is sent again every 100 ms meanwhile: it
     * stops what the backend runs at the time, which may be a statement pipelined before {@code entry}.
     */
    private void whenAnswered(OutstandingQueue.Entry entry, CancelRegistry.Target target,
                              CompletableFuture<Void> done, long started, int polls) {
        if (closed || !queue.holds(entry)) {
            done.complete(null);
        } else if (System.nanoTime() - started > WITHDRAW_NANOS) {
            if (catalog == null || target.processId() == 0) {
                done.completeExceptionally(new java.util.concurrent.TimeoutException("session " + id
                        + "'s cancelled statement was not answered"));
            } else {
                terminateStubborn(entry, target, done);
            }
        } else {
            if (polls % 50 == 0) {
                CancelForwarder.send(target, client, id, services.upstreams());
            }
            client.eventLoop().schedule(() -> whenAnswered(entry, target, done, started, polls + 1), 2,
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** How long the catalog may take to answer a termination before the COMMIT is refused instead. */
    private static final long TERMINATE_SECONDS = 10;

    /**
     * The statement another session's DDL COMMIT waits for ignored the cancel for {@link #WITHDRAW_NANOS} (a
     * PL/pgSQL body that traps {@code query_canceled}, or a backend waiting to send rows its client does not read):
     * its backend is terminated, which no handler can trap, and once the server says it has exited, the session ends
     * with 57P01. Left running, it refused every COMMIT of DDL that reaches it on the database for as long as it
     * chose (attacker pass 21); let through, the COMMIT would race it. When the server refuses (Warden's login may
     * terminate only backends of its own role, or with {@code pg_signal_backend}), finds the pid serving another
     * connection, or the backend does not exit in time, the COMMIT is refused as before ({@code ddl-commit-waits}).
     */
    private void terminateStubborn(OutstandingQueue.Entry entry, CancelRegistry.Target target,
                                   CompletableFuture<Void> done) {
        log.warn("ddl_commit.terminate session={} pid={} reason=\"its statement ignored the cancel of another "
                + "session's DDL COMMIT for {} s\"", id, target.processId(),
                java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(WITHDRAW_NANOS));
        // Before the server is asked: the session may end (the backend's 57P01) before the answer comes back.
        String reason = endReason;
        endReason = "terminated: a statement ignored the cancel of another session's DDL COMMIT";
        int port = upstream.localAddress() instanceof java.net.InetSocketAddress local ? local.getPort() : -1;
        CompletableFuture<Boolean> asked;
        try {
            asked = catalog.terminate(target.processId(), port, upstreamLogin);
        } catch (RuntimeException e) {
            // The catalog's executor refused the task (Warden stops): the COMMIT is refused, never left waiting.
            asked = CompletableFuture.failedFuture(e);
        }
        asked.orTimeout(TERMINATE_SECONDS, java.util.concurrent.TimeUnit.SECONDS).whenComplete((accepted, failure) ->
                client.eventLoop().execute(() -> {
                    if (Boolean.TRUE.equals(accepted)) {
                        // The backend has exited (PostgreSQL 14 and later say so only then): its statement runs no
                        // more. Its end may not reach Warden (the connection's unread rows come first, and a client
                        // that does not read leaves them unread), so the session ends here.
                        fail(new SessionException(dev.warden.pg.SqlState.ADMIN_SHUTDOWN, "terminating connection: a "
                                + "statement ignored the cancel of another session's DDL COMMIT for "
                                + java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(WITHDRAW_NANOS) + " s"));
                        done.complete(null);
                    } else {
                        endReason = reason;
                        done.completeExceptionally(new java.util.concurrent.TimeoutException("session " + id
                                + "'s cancelled statement was not answered, and its backend could not be terminated"));
                    }
                }));
    }

    /**
     * Whether {@code analysis}, running now, may still start a statement later (which is planned with the catalog
     * of then): a text of several statements, or one that runs a user function's body (nested statements). Unknown
     * counts.
     */
    static boolean startsLater(dev.warden.sql.Analysis analysis) {
        if (analysis == null || analysis.statements().size() != 1) {
            return true;
        }
        dev.warden.sql.StatementFacts only = analysis.statements().get(0);
        return only.allStatements().size() > 1 || only.unparsed() || only.dynamicSql();
    }

    /**
     * Whether committing {@code ddl} may change what {@code analysis} runs: it names what the DDL made unreadable,
     * or the DDL made something that runs with every read or write (a trigger, a rule, a policy), or replaced or
     * altered a function (one a trigger, rule, default or policy already calls, or another function's body: no name
     * of it is in the statement's text), and it reads or writes a relation or calls a function. An unknown
     * statement counts.
     */
    static boolean reaches(dev.warden.sql.Analysis analysis, dev.warden.proxy.guardrails.Unreadable ddl) {
        if (analysis == null) {
            return true;
        }
        boolean everyRelation = ddl.everything() || !ddl.deferred().isEmpty() || !ddl.functions().isEmpty()
                || !ddl.bodies().isEmpty();
        for (dev.warden.sql.StatementFacts top : analysis.statements()) {
            if (!ddl.namedBy(top).isEmpty()) {
                return true;
            }
            if (everyRelation && dev.warden.proxy.catalog.StatementWalk.any(top, f -> f.unparsed() || f.dynamicSql()
                    || !f.tablesRead().isEmpty() || !f.tablesWritten().isEmpty() || !f.functions().isEmpty()
                    || !f.implicitCalls().isEmpty())) {
                return true;
            }
        }
        return false;
    }

    boolean ending() {
        return failing || closed;
    }

    /** The client or an approval: withdraw the approval a statement waits for (a CancelRequest came). */
    void cancelled() {
        requests.gate().withdrawPending("cancel");
    }

    void clientTerminated() {
        endReason = "client terminated";
        close();
    }

    /** A ReadyForQuery went to the client. */
    void readyForQuery() {
        if (closeWhenIdle && isIdle()) {
            terminate();
        }
    }

    private boolean isIdle() {
        return queue.isEmpty() && transactionStatus == 'I';
    }

    void beginShutdown() {
        client.eventLoop().execute(() -> {
            closeWhenIdle = true;
            if (isIdle()) {
                terminate();
            }
        });
    }

    void terminate() {
        client.eventLoop().execute(() -> fail(new SessionException(SqlState.ADMIN_SHUTDOWN,
                "terminating connection because Warden is shutting down")));
    }

    /** True when the event was the idle timeout and ended the session. */
    boolean idleEvent(Object evt) {
        if (evt instanceof IdleStateEvent && !ending() && isIdle()) {
            fail(new SessionException(SqlState.IDLE_SESSION_TIMEOUT,
                    "terminating connection due to idle timeout (listen.idle_timeout "
                            + services.policy().get().listen().idleTimeout().toSeconds() + "s)"));
            return true;
        }
        return false;
    }

    void exception(Throwable cause) {
        Throwable t = ClientErrors.unwrap(cause);
        if (ClientErrors.logClientFailure(t, id, client.remoteAddress(), log)) {
            close();
        } else {
            fail(t);
        }
    }

    void upstreamLost(Throwable cause) {
        if (ending()) {
            return;
        }
        log.warn("upstream.lost session={} env={} reason=\"{}\"", id, environment.name(),
                cause == null ? "closed" : ClientErrors.describeConnectFailure(cause));
        if (cause != null && ClientErrors.unwrap(cause) instanceof dev.warden.pg.ProtocolException broken) {
            // Warden closed it: the server sent what does not read as the protocol (its text names lengths and type
            // bytes, never contents). Not "the server closed the connection".
            fail(new SessionException(SqlState.PROTOCOL_VIOLATION, "the upstream server of environment \""
                    + environment.name() + "\" sent a message Warden cannot read (" + broken.getMessage()
                    + "); the session was closed"));
            return;
        }
        fail(new SessionException(SqlState.CONNECTION_FAILURE, "lost the connection to environment \""
                + environment.name() + "\": the upstream server closed the connection"));
    }

    /** Sends the client a FATAL error for {@code failure} and closes the session. */
    /** How long a failed session waits for its client to take the FATAL before it closes anyway. */
    private static final long FAIL_CLOSE_SECONDS = 5;

    void fail(Throwable failure) {
        if (ending()) {
            return;
        }
        failing = true;
        BackendMessage.ErrorResponse error = ClientErrors.fatal(failure);
        String state = error.sqlState();
        if (SqlState.INTERNAL_ERROR.equals(state) || SqlState.STATEMENT_TOO_COMPLEX.equals(state)) {
            Throwable t = ClientErrors.unwrap(failure);
            StackTraceElement at = t.getStackTrace().length > 0 ? t.getStackTrace()[0] : null;
            log.warn("session.internal_error session={} error={} at={}", id, t.getClass().getName(), at);
        }
        if (endReason.equals(CLIENT_DISCONNECTED)) {
            // Warden ends it (the token expired or was revoked, the identity is no longer allowed, an internal
            // error): its session.end record says so, not that the client went away (an attacker's pass, a113 A4).
            String message = String.valueOf(error.message());
            endReason = "ended by Warden: " + error.sqlState() + " "
                    + (message.length() > 200 ? message.substring(0, 200) + "…" : message);
        }
        if (client.isActive()) {
            client.writeAndFlush(error.toByteBuf(client.alloc())).addListener(f -> close());
            // A client that does not read would hold the write, and so the session and its slot, open for good.
            client.eventLoop().schedule(this::close, FAIL_CLOSE_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        } else {
            close();
        }
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        prepared.countInto(null); // what the session kept no longer counts against its identity
        onEnd.run();
        CancelRegistry.Target target = upstreamCancel;
        if (target != null && upstream.isActive() && queue.lastRunning(a -> true) != null) {
            // The server reads neither the Terminate nor the socket's end while a statement runs or waits on a lock:
            // left alone, it would run on after the session ended, out of reach of another session's COMMIT of DDL
            // (see withdrawReaching), and run what that COMMIT made (a trigger) although it was judged without.
            log.info("session.cancel_in_flight session={} reason=\"the session ends with a statement in flight\"", id);
            CancelForwarder.send(target, client, id, services.upstreams());
        }
        if (upstream.isActive()) {
            upstream.writeAndFlush(new FrontendMessage.Terminate().toByteBuf(upstream.alloc()))
                    .addListener(ChannelFutureListener.CLOSE);
        }
        client.close();
        requests.gate().withdrawPending("disconnect");
        requests.gate().recordUncounted();
        requests.releaseAll();
        for (OutstandingQueue.Entry unanswered : queue.clear()) {
            if (unanswered.ownQuery != null) {
                unanswered.ownQuery.answered.complete(null);
            }
            Execution running = unanswered.execution;
            if (running != null && !running.finished) {
                // Sent, not answered: whether it ran to the end (and committed) is not known. Its result record
                // says the connection ended under it (before, it had none: an attacker's pass, a114 B4).
                if (running.sqlState == null) {
                    running.sqlState = SqlState.CONNECTION_FAILURE;
                }
                responses.finish(running);
            }
        }
        responses.releaseAll();
        long ms = (System.nanoTime() - startedNanos) / 1_000_000;
        audit.sessionEnd(ms, statementCount, endReason);
        log.info("session.end session={} user={} env={} statements={} duration_ms={}", id, identity.username(),
                environment.name(), statementCount, ms);
    }
}
