package dev.warden.proxy.session;

import dev.warden.config.Environment;
import dev.warden.config.Policy;
import dev.warden.identity.Identity;
import dev.warden.pg.ProtocolException;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import dev.warden.pg.message.StartupPacket.CancelRequest;
import dev.warden.pg.message.StartupPacket.GssEncRequest;
import dev.warden.pg.message.StartupPacket.SslRequest;
import dev.warden.pg.message.StartupPacket.StartupMessage;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.ResultEvent;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.proxy.upstream.UpstreamConnection;
import dev.warden.sql.Analysis;
import dev.warden.proxy.upstream.UpstreamConnector;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client connection, as an explicit state machine:
 * {@code STARTUP → (TLS) → AUTHENTICATING → CONNECTING → READY → CLOSED}.
 *
 * <p>In READY, client frames go to the upstream and upstream frames to the client as the same bytes
 * (retained slices from the frame decoders); the session only peeks at type bytes. Everything runs on
 * the client channel's event loop, which the upstream channel shares.
 */
public final class FrontendSession extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);
    /** Frames a client may pipeline before its session is ready; more is a protocol abuse. */
    private static final int MAX_EARLY_FRAMES = 1024;

    enum State { STARTUP, AUTHENTICATING, CONNECTING, READY, CLOSED }

    private final SessionServices services;
    private final String id;
    private State state = State.STARTUP;
    private Channel client;
    private Channel upstream;
    private StartupMessage startup;
    private Identity identity;
    private Environment environment;
    private CancelRegistry.Key cancelKey;
    private final Queue<ByteBuf> earlyFrames = new ArrayDeque<>();
    /** Client frames that arrived while a statement waits for its audit record to be durable. */
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private boolean holding;
    private long heldBytes;
    private static final long MAX_HELD_BYTES = 1 << 20;
    /** Reasons the client's stream is held: an audit write, an approval. Released when back at zero. */
    private int holds;
    /** The approval this session waits for, withdrawn if the client cancels or leaves. */
    private String pendingApproval;
    /** The reason a client gave with SET warden.reason, for approval requests. */
    private String sessionReason;
    /** Statements relayed upstream whose results are being counted for the audit trail, oldest first. */
    private final ArrayDeque<Execution> executions = new ArrayDeque<>();
    /** Extended protocol: statement name → its text and analysis; portal name → statement name. */
    private final Map<String, Prepared> statements = new java.util.HashMap<>();
    private final Map<String, Portal> portals = new java.util.HashMap<>();
    /** Masking of results; null when this identity sees clear values. */
    private ResultMasking masking;
    /** Describe messages sent upstream (the client's and Warden's own), answered in order. */
    private final ArrayDeque<PendingDescribe> describes = new ArrayDeque<>();
    /** Upstream frames that wait while the catalog is asked what a result's columns are. */
    private final ArrayDeque<ByteBuf> upstreamHeld = new ArrayDeque<>();
    private boolean upstreamPaused;
    /** The RowDescription decoded while relaying the current frame (cleared for every new frame). */
    private ByteBuf lastRowDescriptionFrame;
    private java.util.List<BackendMessage.RowDescription.Field> lastRowDescription;
    private SessionAudit audit;
    private long startedNanos;
    private long statementCount;
    private String endReason = "client disconnected";
    private ScheduledFuture<?> startupTimeout;
    private ScheduledFuture<?> tokenExpiry;
    /** Messages sent upstream that end in a ReadyForQuery (Query, Sync, FunctionCall), and those answered. */
    private long readyRequested;
    private long readyReceived;
    /** Blocked statements whose stand-in error from the upstream must be replaced by Warden's own. */
    private final ArrayDeque<BlockedStatement> blocked = new ArrayDeque<>();
    /** After a blocked Parse: like PostgreSQL, ignore extended-protocol messages until Sync. */
    private boolean discardUntilSync;
    /** After a blocked Query: COPY data the client may already be sending is dropped, never relayed. */
    private boolean dropCopyData;
    /** A token no client statement contains, used in the stand-in statement sent for a blocked one. */
    private final String blockMarker = "warden_blocked_" + Long.toHexString(new java.security.SecureRandom().nextLong() & Long.MAX_VALUE);
    private char transactionStatus = 'I';
    private boolean closeWhenIdle;
    /** A FATAL error is on its way to the client; nothing more is read or relayed. */
    private boolean failing;
    /** How the server reads statement texts: followed from its ParameterStatus reports. */
    private final SessionLexing lexing = new SessionLexing();
    /** The environment's catalog: what the functions a statement calls do. */
    private dev.warden.proxy.catalog.CatalogCache catalog;
    /** An Execute or FunctionCall was relayed since the last Sync: it may still be changing settings. */
    private boolean executedSinceSync;
    /** Compares what the server reports with Warden's reading; a disagreement ends the session. */
    private Tripwire tripwire;
    /** The statement the server answered last in the running batch, which a ParameterStatus is blamed on. */
    private Execution lastAnswered;
    /** Texts of prepared statements that are not UTF-8, by statement name, kept for their audit records. */
    private final Map<String, byte[]> preparedBytes = new java.util.HashMap<>();

    public FrontendSession(SessionServices services, String id) {
        this.services = services;
        this.id = id;
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        startedNanos = System.nanoTime();
        Policy policy = policy();
        audit = new SessionAudit(services.audit(), id, policy.versionHash(),
                policy.audit().keepLiterals() ? sql -> sql
                        : sql -> services.analyzer().redactLiterals(sql, lexing.standardConformingStrings()),
                policy.audit().keepLiterals());
        services.openSessions().incrementAndGet();
        services.tracker().add(this);
        Duration timeout = policy().listen().startupTimeout();
        if (!timeout.isZero()) {
            startupTimeout = ctx.executor().schedule(() -> {
                if (state != State.READY && state != State.CLOSED) {
                    fail(new SessionException(SqlState.CONNECTION_FAILURE,
                            "startup did not complete within " + timeout.toMillis() + " ms"));
                }
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closeEverything();
        ctx.fireChannelInactive();
    }

    private void closeEverything() {
        if (state == State.CLOSED) {
            return;
        }
        State was = state;
        state = State.CLOSED;
        services.openSessions().decrementAndGet();
        services.tracker().remove(this);
        services.cancels().unregister(cancelKey);
        if (startupTimeout != null) {
            startupTimeout.cancel(false);
        }
        if (tokenExpiry != null) {
            tokenExpiry.cancel(false);
        }
        ByteBuf early;
        while ((early = earlyFrames.poll()) != null) {
            early.release();
        }
        if (upstream != null && upstream.isActive()) {
            upstream.writeAndFlush(new FrontendMessage.Terminate().toByteBuf(upstream.alloc()))
                    .addListener(ChannelFutureListener.CLOSE);
        }
        if (client != null) {
            client.close();
        }
        if (pendingApproval != null && services.approvals() != null) {
            services.approvals().withdraw(pendingApproval);
        }
        ByteBuf waiting;
        while ((waiting = held.poll()) != null) {
            waiting.release();
        }
        while ((waiting = upstreamHeld.poll()) != null) {
            waiting.release();
        }
        if (was == State.READY) {
            long ms = (System.nanoTime() - startedNanos) / 1_000_000;
            audit.sessionEnd(ms, statementCount, endReason);
            log.info("session.end session={} user={} env={} statements={} duration_ms={}", id, identity.username(),
                    environment.name(), statementCount, ms);
        }
    }

    // ---- inbound from the client ---------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (failing) {
            release(msg);
            return;
        }
        switch (state) {
            case READY -> relayToUpstream((ByteBuf) msg);
            case STARTUP -> onStartupPacket(ctx, msg);
            case AUTHENTICATING -> onPassword(ctx, msg);
            case CONNECTING -> holdEarly(msg);
            case CLOSED -> release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // While a statement waits for its audit record, what came before it in the same batch waits too:
        // PostgreSQL starts statement_timeout at the first message of a batch.
        if (state == State.READY && !holding) {
            upstream.flush();
        }
        ctx.fireChannelReadComplete();
    }

    private void relayToUpstream(ByteBuf frame) {
        if (holding) {
            holdFrame(frame);
            return;
        }
        byte type = frame.getByte(frame.readerIndex());
        switch (type) {
            case 'X' -> {
                frame.release();
                endReason = "client terminated";
                closeEverything();
            }
            case 'B' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    FrontendMessage.Bind.Target bind = FrontendMessage.Bind.target(frame);
                    Prepared prepared = statements.get(bind.statement());
                    portals.put(bind.portal(), new Portal(prepared, bind.resultFormats()));
                    forward(frame);
                    if (masking != null && (prepared == null || prepared.fields == null)) {
                        // The client never described this statement: ask for the portal's columns ourselves
                        // and keep the answer, so its rows can still be masked.
                        describes.add(new PendingDescribe('P', bind.portal(), true, readyRequested + 1));
                        forward(new FrontendMessage.Describe('P', bind.portal()).toByteBuf(upstream.alloc()));
                    }
                }
            }
            case 'E' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    executedSinceSync = true;
                    onExecute(frame);
                }
            }
            case 'D' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    if (masking != null) {
                        FrontendMessage.Describe d = (FrontendMessage.Describe) FrontendMessage.decode(frame);
                        describes.add(new PendingDescribe(d.kind(), d.name(), false, readyRequested + 1));
                    }
                    forward(frame);
                }
            }
            case 'C' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    FrontendMessage.Close close = (FrontendMessage.Close) FrontendMessage.decode(frame);
                    (close.kind() == 'S' ? statements : portals).remove(close.name());
                    if (close.kind() == 'S') {
                        preparedBytes.remove(close.name());
                    }
                    forward(frame);
                }
            }
            case 'Q' -> {
                if (discardUntilSync) {
                    // After the error of a blocked Parse, PostgreSQL ignores every message until Sync, a Query
                    // included (postgres.c: ignore_till_sync): so does Warden, or the Query would be counted
                    // as awaiting an answer the server never sends.
                    frame.release();
                } else {
                    dropCopyData = false;
                    audit.receiving(StatementBytes.ofQuery(frame));
                    onQuery(frame);
                }
            }
            case 'P' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    rememberParsedBytes(frame);
                    onParse(frame);
                }
            }
            case 'F' -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    executedSinceSync = true;
                    audit.receiving(null);
                    onFunctionCall(frame);
                }
            }
            case 'S' -> {
                executedSinceSync = false;
                discardUntilSync = false;
                readyRequested++;
                forward(frame);
            }
            case 'd', 'c', 'f' -> {
                if (dropCopyData || discardUntilSync) {
                    frame.release();
                } else {
                    forward(frame);
                }
            }
            default -> {
                if (discardUntilSync) {
                    frame.release();
                } else {
                    forward(frame);
                }
            }
        }
    }

    private void forward(ByteBuf frame) {
        upstream.write(frame, upstream.voidPromise());
    }

    // ---- guardrails: every statement is analysed and decided before it is relayed ------------------

    /** Whether earlier requests may still be running upstream (and changing settings Warden follows). */
    private boolean requestsInFlight() {
        return readyRequested > readyReceived || executedSinceSync;
    }

    /**
     * Runs {@code next} with the reading once the effects of the functions it calls are known: read from the
     * catalog first when not cached (the client's stream waits meanwhile, in order). If the catalog cannot
     * be read, those functions stay unknown and count as dynamic SQL: Warden fails closed.
     */
    private void withFunctionEffects(SessionLexing.Reading reading, ByteBuf frame,
                                     java.util.function.Consumer<SessionLexing.Reading> next) {
        if (reading.analysis() == null || catalog == null) {
            next.accept(reading);
            return;
        }
        java.util.Set<String> missing = catalog.functionsToResolve(reading.analysis());
        if (missing.isEmpty()) {
            next.accept(withEffects(reading));
            return;
        }
        holdUntil(catalog.resolveFunctions(missing, services.analyzer()), frame, (done, failure) -> {
            if (failure != null) {
                log.warn("catalog.functions_unavailable session={} env={} functions={} reason=\"{}\"", id,
                        environment.name(), missing, ClientErrors.unwrap(failure).getMessage());
            }
            next.accept(withEffects(reading));
        });
    }

    private SessionLexing.Reading withEffects(SessionLexing.Reading reading) {
        SessionLexing.Reading r = reading.with(catalog.withFunctionEffects(reading.analysis(), lexing.standardConformingStrings()));
        return masking == null ? r : masking.screen(r); // masking refuses what it cannot follow (issue 13)
    }

    /**
     * Holds the client's stream until {@code work} completes, then runs {@code then} on the event loop (a
     * failure there ends the session instead of stalling it) and relays what was held meanwhile, in order.
     */
    private <T> void holdUntil(CompletableFuture<T> work, ByteBuf frame,
                               java.util.function.BiConsumer<T, Throwable> then) {
        hold();
        work.whenComplete((value, failure) -> client.eventLoop().execute(() -> {
            if (state == State.CLOSED || failing) {
                frame.release();
                return;
            }
            try {
                then.accept(value, failure);
            } catch (RuntimeException e) {
                fail(e);
                return;
            }
            releaseHeld();
        }));
    }

    /**
     * Reads a statement text, then runs {@code next} with the reading. Texts whose statements are all known
     * (the cache, the lexer) are read here; a text that needs JSqlParser is read on the analysis pool while
     * the client's stream waits, so one session's new or pathological statements never stall the event loop
     * other sessions share. A full pool refuses the statement.
     */
    private void readThen(ByteBuf frame, int textOffset, java.util.function.Consumer<SessionLexing.Reading> then) {
        // The identity in production; tests of the tripwire make Warden misread on purpose here.
        java.util.function.Consumer<SessionLexing.Reading> next = r -> then.accept(r.analysis() == null ? r
                : r.with(services.readingOverride().apply(r.analysis())));
        boolean inFlight = requestsInFlight();
        SessionLexing.Settings settings = lexing.settings();
        SessionLexing.Reading known = SessionLexing.read(settings, services.analyzer(), frame, textOffset, inFlight,
                false);
        if (known != null) {
            withFunctionEffects(known, frame, next);
            return;
        }
        CompletableFuture<SessionLexing.Reading> cold;
        try {
            cold = CompletableFuture.supplyAsync(() -> SessionLexing.read(settings, services.analyzer(), frame,
                    textOffset, inFlight, true), services.analysisExecutor());
        } catch (java.util.concurrent.RejectedExecutionException e) {
            cold = CompletableFuture.failedFuture(e);
        }
        holdUntil(cold, frame, (reading, failure) -> {
            SessionLexing.Reading r = reading;
            if (failure != null) {
                log.warn("analysis.refused session={} user={} reason=\"{}\"", id, identity.username(),
                        ClientErrors.unwrap(failure).toString());
                r = new SessionLexing.Reading("-- not analysed: Warden's analysis capacity was exhausted", null,
                        Decision.block("analysis-capacity", "Warden is analysing too many new statements "
                                + "right now", "try again in a moment"));
            }
            withFunctionEffects(r, frame, next);
        });
    }

    private void onQuery(ByteBuf frame) {
        readThen(frame, frame.readerIndex() + 5, reading -> onQuery(frame, reading));
    }

    private void onQuery(ByteBuf frame, SessionLexing.Reading reading) {
        String sql = reading.sql();
        Analysis analysis = reading.analysis();
        Decision decision = reading.refusal() != null ? reading.refusal()
                : services.guardrails().get().decide(identity, environment, analysis, environment.upstream().user());
        long ordinal = ++readyRequested;
        if (!decision.allowed()) {
            // Set now, before the audit write completes: frames behind this one are held and see it.
            dropCopyData = true;
        }
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && services.approvals() != null
                && decision.retry()) {
            dropCopyData = true;
            retryApproval(sql, analysis, decision, QueryEvent.Protocol.SIMPLE, null, frame, ordinal,
                    new FrontendMessage.Query(blockMarker), seq -> {
                Execution execution = new Execution(seq, false, ordinal);
                execution.analysis = analysis;
                executions.add(execution);
                dropCopyData = false;
                forward(frame);
            });
            return;
        }
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && services.approvals() != null) {
            dropCopyData = false;
            requestApproval(sql, analysis, decision, QueryEvent.Protocol.SIMPLE, null, frame, ordinal,
                    new FrontendMessage.Query(blockMarker), seq -> {
                        Execution execution = new Execution(seq, false, ordinal);
                        execution.analysis = analysis;
                        executions.add(execution);
                        forward(frame);
                    });
            return;
        }
        if (analysis != null) {
            rememberReason(analysis);
        }
        writeAhead(audit.query(sql, analysis, decision, QueryEvent.Protocol.SIMPLE, null), frame, ordinal, seq -> {
            if (decision.allowed()) {
                Execution execution = new Execution(seq, false, ordinal);
                execution.analysis = analysis;
                executions.add(execution);
                invalidateCatalogAfterDdl(analysis);
                forward(frame);
            } else {
                frame.release();
                refuse(decision, analysis, new FrontendMessage.Query(blockMarker), ordinal);
            }
        }, new FrontendMessage.Query(blockMarker));
    }

    private void invalidateCatalogAfterDdl(Analysis analysis) {
        if (masking == null || analysis == null) {
            return;
        }
        for (dev.warden.sql.StatementFacts top : analysis.statements()) {
            // DDL run by a DO block, a function body or dynamic SQL changes the catalog as much as DDL typed.
            for (dev.warden.sql.StatementFacts f : top.allStatements()) {
                dev.warden.sql.StatementKind k = f.kind();
                if (k == dev.warden.sql.StatementKind.CREATE || k == dev.warden.sql.StatementKind.ALTER
                        || k == dev.warden.sql.StatementKind.DROP || k == dev.warden.sql.StatementKind.DROP_OWNED
                        || k == dev.warden.sql.StatementKind.REASSIGN_OWNED || f.dynamicSql()) {
                    masking.invalidate();
                    return;
                }
            }
        }
    }

    private void onExecute(ByteBuf frame) {
        FrontendMessage.Execute execute = (FrontendMessage.Execute) FrontendMessage.decode(frame);
        Portal portal = portals.get(execute.portal());
        Prepared prepared = portal == null ? null : portal.statement;
        String statementName = prepared == null ? null : prepared.name;
        long ordinal = readyRequested + 1;
        String sql = prepared == null ? "-- portal \"" + execute.portal() + "\" of a statement Warden did not see"
                : prepared.sql;
        audit.receiving(prepared == null ? null : preparedBytes.get(prepared.name));
        writeAhead(audit.query(sql, prepared == null ? null : prepared.analysis, Decision.ALLOW,
                QueryEvent.Protocol.EXTENDED, statementName), frame, ordinal, seq -> {
                    Execution execution = new Execution(seq, true, ordinal);
                    execution.portal = portal;
                    execution.analysis = prepared == null ? null : prepared.analysis;
                    executions.add(execution);
                    invalidateCatalogAfterDdl(execution.analysis);
                    forward(frame);
                }, new FrontendMessage.Parse("", blockMarker, java.util.List.of()));
    }

    /**
     * Holds a statement for an approver. The client is told at once (a NoticeResponse naming the request,
     * who may approve and for how long); the statement is relayed only once approved. Denied, expired or
     * withdrawn requests end in an error, and nothing reaches the database.
     */
    private void requestApproval(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                 String preparedName, ByteBuf frame, long readyOrdinal, FrontendMessage standIn,
                                 java.util.function.LongConsumer relay) {
        var approvals = services.approvals();
        String reason = dev.warden.proxy.approvals.ApprovalRequest.reasonFrom(sql).orElse(sessionReason);
        String fingerprint = analysis == null || analysis.statements().isEmpty() ? ""
                : analysis.statements().get(0).fingerprint();
        var request = approvals.newRequest(identity, environment.name(), sql, fingerprint, decision.rule(),
                decision.approvers(), reason, id);
        client.writeAndFlush(BackendMessage.NoticeResponse.of("NOTICE", "01000", approvals.noticeFor(request))
                .toByteBuf(client.alloc()));
        log.info("approval.requested session={} user={} env={} rule={} approval={}", id, identity.username(),
                environment.name(), decision.rule(), request.id());
        writeAhead(audit.query(sql, analysis, decision, protocol, preparedName, request.id()), frame, readyOrdinal,
                seq -> {
                    hold();
                    pendingApproval = request.id();
                    approvals.request(request).whenComplete((outcome, failure) -> client.eventLoop().execute(() -> {
                        pendingApproval = null;
                        if (state == State.CLOSED || failing) {
                            frame.release();
                            return;
                        }
                        if (outcome instanceof dev.warden.proxy.approvals.Outcome.Approved) {
                            log.info("approval.approved session={} approval={}", id, request.id());
                            relay.accept(seq);
                        } else {
                            frame.release();
                            if (standIn instanceof FrontendMessage.Parse) {
                                discardUntilSync = true;
                            } else {
                                dropCopyData = true;
                            }
                            String state = outcome instanceof dev.warden.proxy.approvals.Outcome.Denied
                                    ? SqlState.INSUFFICIENT_PRIVILEGE : SqlState.QUERY_CANCELED;
                            String message = outcome != null ? outcome.describe()
                                    : "approval " + request.id() + " could not be recorded: "
                                    + ClientErrors.unwrap(failure).getMessage();
                            refuse(BackendMessage.ErrorResponse.of("ERROR", outcome == null
                                    ? SqlState.INSUFFICIENT_PRIVILEGE : state, message, null, null), standIn, readyOrdinal);
                        }
                        upstream.flush();
                        releaseHeld();
                    }));
                }, standIn);
    }

    /**
     * {@code mode: retry}, for clients that cannot wait in a session: a statement approved earlier (same
     * identity, same text, within the retry window) runs once; otherwise a request is filed and the statement
     * fails at once naming it. The store is read off the event loop.
     */
    private void retryApproval(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                               String preparedName, ByteBuf frame, long readyOrdinal, FrontendMessage standIn,
                               java.util.function.LongConsumer relay) {
        var approvals = services.approvals();
        String fingerprint = analysis.statements().isEmpty() ? "" : analysis.statements().get(0).fingerprint();
        var request = approvals.newRequest(identity, environment.name(), sql, fingerprint, decision.rule(),
                decision.approvers(), dev.warden.proxy.approvals.ApprovalRequest.reasonFrom(sql).orElse(sessionReason),
                id);
        hold();
        CompletableFuture.supplyAsync(() -> {
            var approved = approvals.consumeApproved(identity, environment.name(), fingerprint, sql);
            if (approved.isPresent()) {
                return approved.get().request().id();
            }
            try {
                approvals.submit(request);
                return null;
            } catch (dev.warden.proxy.approvals.ApprovalException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, services.blockingExecutor()).whenComplete((approvedId, failure) -> client.eventLoop().execute(() -> {
            if (state == State.CLOSED || failing) {
                frame.release();
                return;
            }
            if (failure == null && approvedId != null) {
                log.info("approval.used session={} approval={}", id, approvedId);
                writeAhead(audit.query(sql, analysis, Decision.ALLOW, protocol, preparedName, approvedId),
                        frame, readyOrdinal, relay, standIn);
            } else {
                String message = failure != null
                        ? "approval could not be requested: " + ClientErrors.unwrap(failure).getMessage()
                        : "approval required by Warden rule \"" + decision.rule() + "\": request " + request.id()
                        + " was filed for " + String.join(" or ", decision.approvers())
                        + "; run the same statement again once it is approved";
                if (standIn instanceof FrontendMessage.Parse) {
                    discardUntilSync = true;
                }
                writeAhead(audit.query(sql, analysis, decision, protocol, preparedName,
                        failure == null ? request.id() : null), frame, readyOrdinal, seq -> {
                            frame.release();
                            refuse(BackendMessage.ErrorResponse.of("ERROR", SqlState.INSUFFICIENT_PRIVILEGE, message,
                                    null, "warden approvals approve " + request.id()), standIn, readyOrdinal);
                        }, standIn);
            }
            releaseHeld();
        }));
    }

    /** {@code SET warden.reason = '...'} stays in the session for its next approval request. */
    private void rememberReason(Analysis analysis) {
        for (dev.warden.sql.StatementFacts f : analysis.statements()) {
            if (f.kind() == dev.warden.sql.StatementKind.SET) {
                dev.warden.proxy.approvals.ApprovalRequest.reasonFromSet(f.text()).ifPresent(r -> sessionReason = r);
            }
        }
    }

    /**
     * No audit record, no query: holds the client's stream until {@code record} is durable, then runs
     * {@code relay}. If the audit trail cannot be written the statement is refused with 58030 (unless the
     * policy says {@code on_failure: allow}); {@code standIn} takes its place upstream.
     */
    private void writeAhead(CompletableFuture<Long> record, ByteBuf frame, long readyOrdinal,
                            java.util.function.LongConsumer relay, FrontendMessage standIn) {
        statementCount++;
        hold();
        record.whenComplete((seq, failure) -> client.eventLoop().execute(() -> {
            if (state == State.CLOSED || failing) {
                frame.release();
                return;
            }
            if (failure == null) {
                relay.accept(seq);
            } else if (!policy().audit().refuseOnFailure()) {
                log.error("audit.unavailable session={} on_failure=allow reason=\"{}\"", id,
                        ClientErrors.unwrap(failure).getMessage());
                relay.accept(-1L);
            } else {
                frame.release();
                if (standIn instanceof FrontendMessage.Parse) {
                    discardUntilSync = true;
                }
                String reason = ClientErrors.unwrap(failure).getMessage();
                log.error("audit.unavailable session={} reason=\"{}\" statement refused", id, reason);
                refuse(BackendMessage.ErrorResponse.of("ERROR", SqlState.IO_ERROR, "statement not executed: "
                        + reason, null, "Warden writes an audit record before every statement"), standIn,
                        readyOrdinal);
            }
            releaseHeld();
        }));
    }

    private void hold() {
        holds++;
        holding = true;
    }

    /**
     * Frames that arrive while the stream is held wait in order. Reading stops only when a client has
     * pipelined a lot, so a statement's wait for its audit record costs no extra system calls.
     */
    private void holdFrame(ByteBuf frame) {
        held.add(frame);
        heldBytes += frame.readableBytes();
        if (heldBytes > MAX_HELD_BYTES && client.config().isAutoRead()) {
            client.config().setAutoRead(false);
        }
    }

    private void releaseHeld() {
        if (--holds > 0) {
            return;
        }
        holding = false;
        ByteBuf next;
        try {
            while (!holding && (next = held.poll()) != null) {
                heldBytes -= next.readableBytes();
                relayToUpstream(next);
            }
        } catch (RuntimeException e) {
            // Runs as a task, outside the pipeline: a bad frame ends the session instead of stalling it.
            fail(e);
            return;
        }
        upstream.flush();
        if (!holding && !client.config().isAutoRead() && upstream.isWritable()) {
            client.config().setAutoRead(true);
        }
    }

    private void onParse(ByteBuf frame) {
        FrontendMessage.Parse decoded = (FrontendMessage.Parse) FrontendMessage.decode(frame);
        int nameEnd = frame.indexOf(frame.readerIndex() + 5, frame.writerIndex(), (byte) 0);
        readThen(frame, nameEnd + 1, reading -> onParse(frame, decoded, reading));
    }

    private void onParse(ByteBuf frame, FrontendMessage.Parse decoded, SessionLexing.Reading reading) {
        FrontendMessage.Parse parse = new FrontendMessage.Parse(decoded.statement(), reading.sql(),
                decoded.parameterTypes());
        Analysis analysis = reading.analysis();
        Decision decision = reading.refusal() != null ? reading.refusal()
                : services.guardrails().get().decide(identity, environment, analysis, environment.upstream().user());
        if (decision.allowed()) {
            statements.put(parse.statement(), new Prepared(parse.statement(), parse.sql(), analysis));
            forward(frame);
            return;
        }
        long ordinal = readyRequested + 1;
        FrontendMessage.Parse standIn = new FrontendMessage.Parse(parse.statement(), blockMarker, java.util.List.of());
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && services.approvals() != null
                && decision.retry()) {
            retryApproval(parse.sql(), analysis, decision, QueryEvent.Protocol.EXTENDED, parse.statement(), frame,
                    ordinal, standIn, seq -> {
                        statements.put(parse.statement(), new Prepared(parse.statement(), parse.sql(), analysis));
                        forward(frame);
                    });
            return;
        }
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && services.approvals() != null) {
            // Approved at Parse: the prepared statement may then be executed as the client binds it.
            requestApproval(parse.sql(), analysis, decision, QueryEvent.Protocol.EXTENDED, parse.statement(), frame,
                    ordinal, standIn, seq -> {
                        statements.put(parse.statement(), new Prepared(parse.statement(), parse.sql(), analysis));
                        forward(frame);
                    });
            return;
        }
        discardUntilSync = true;
        writeAhead(audit.query(parse.sql(), analysis, decision, QueryEvent.Protocol.EXTENDED, parse.statement()),
                frame, ordinal, seq -> {
                    frame.release();
                    refuse(decision, analysis, standIn, ordinal);
                }, standIn);
    }

    private void onFunctionCall(ByteBuf frame) {
        long ordinal = ++readyRequested;
        Decision decision = services.guardrails().get().decideFunctionCall(environment);
        FrontendMessage.FunctionCall call = (FrontendMessage.FunctionCall) FrontendMessage.decode(frame);
        writeAhead(audit.query("-- FunctionCall oid=" + call.functionOid(), null, decision,
                QueryEvent.Protocol.EXTENDED, null), frame, ordinal, seq -> {
                    if (decision.allowed()) {
                        executions.add(new Execution(seq, false, ordinal));
                        forward(frame);
                    } else {
                        frame.release();
                        refuse(decision, null, new FrontendMessage.Query(blockMarker), ordinal);
                    }
                }, new FrontendMessage.Query(blockMarker));
    }

    /**
     * Refuses a statement. Nothing of it reaches the database: a stand-in that fails with a syntax error is
     * sent instead, so the upstream itself puts an open transaction into the failed state and answers in
     * protocol order; its error is replaced by Warden's 42501 on the way back.
     */
    private void refuse(Decision decision, Analysis analysis, FrontendMessage standIn, long readyOrdinal) {
        log.info("query.blocked session={} user={} env={} rule={} kinds={}", id, identity.username(),
                environment.name(), decision.rule(), analysis == null ? "[FUNCTION_CALL]"
                        : analysis.statements().stream().map(f -> f.kind().name()).toList());
        refuse(BackendMessage.ErrorResponse.of("ERROR", SqlState.INSUFFICIENT_PRIVILEGE, decision.clientMessage(),
                null, decision.hint()), standIn, readyOrdinal);
    }

    private void refuse(BackendMessage.ErrorResponse error, FrontendMessage standIn, long readyOrdinal) {
        blocked.add(new BlockedStatement(readyOrdinal, error));
        forward(standIn.toByteBuf(upstream.alloc()));
    }

    private record BlockedStatement(long readyOrdinal, BackendMessage.ErrorResponse error) {
    }

    /** A prepared statement as Parse named it; {@code fields} once a Describe has told its columns. */
    private static final class Prepared {
        final String name;
        final String sql;
        final Analysis analysis;
        java.util.List<BackendMessage.RowDescription.Field> fields;

        Prepared(String name, String sql, Analysis analysis) {
            this.name = name;
            this.sql = sql;
            this.analysis = analysis;
        }
    }

    /** A bound portal: its statement, the result formats Bind chose, and its columns once described. */
    private static final class Portal {
        final Prepared statement;
        final java.util.List<Short> resultFormats;
        java.util.List<BackendMessage.RowDescription.Field> fields;

        Portal(Prepared statement, java.util.List<Short> resultFormats) {
            this.statement = statement;
            this.resultFormats = resultFormats;
        }
    }

    private record PendingDescribe(char kind, String name, boolean injected, long readyOrdinal) {
    }

    /** A statement running upstream; what comes back is counted for its {@code result} audit event. */
    private static final class Execution {
        final long querySeq;
        final boolean extended;
        final long readyOrdinal;
        final long started = System.nanoTime();
        /** The server's answers so far (command tags, EmptyQueryResponse), for the tripwire. */
        final java.util.List<String> answers = new java.util.ArrayList<>();
        long rows;
        long bytes;
        String commandTag;
        String sqlState;
        java.util.List<String> columns = java.util.List.of();
        Analysis analysis;
        Portal portal;
        dev.warden.masking.MaskPlan plan;
        dev.warden.masking.CopyMasker copy;

        Execution(long querySeq, boolean extended, long readyOrdinal) {
            this.querySeq = querySeq;
            this.extended = extended;
            this.readyOrdinal = readyOrdinal;
        }
    }

    private void finish(Execution e) {
        audit.result(e.querySeq, e.rows, e.bytes, e.columns.stream().map(ResultEvent.Column::clear).toList(),
                (System.nanoTime() - e.started) / 1000, e.sqlState, e.commandTag, e.answers);
    }

    /** Counts what the upstream returns for the oldest running statement; peeks, never copies. */
    private void tally(byte type, ByteBuf frame) {
        Execution head = executions.peek();
        if (head == null) {
            return;
        }
        switch (type) {
            case 'D', 'd' -> {
                head.rows++;
                head.bytes += frame.readableBytes();
            }
            case 'T' -> head.columns = rowDescription(frame).stream()
                    .map(BackendMessage.RowDescription.Field::name).toList();
            case 'C' -> {
                head.commandTag = ((BackendMessage.CommandComplete) BackendMessage.decode(frame)).tag();
                if (checkAnswer(head, head.commandTag)) {
                    return;
                }
                if (head.extended) {
                    finish(executions.poll());
                }
            }
            case 'I' -> {
                if (checkAnswer(head, dev.warden.sql.CommandTags.EMPTY_QUERY_RESPONSE)) {
                    return;
                }
                if (head.extended) {
                    finish(executions.poll());
                }
            }
            case 's' -> {
                if (head.extended) {
                    finish(executions.poll());
                }
            }
            case 'E' -> {
                head.sqlState = ((BackendMessage.ErrorResponse) BackendMessage.decode(frame)).sqlState();
                lastAnswered = head;
                tripwire.running(head.analysis);
                tripwire.failed();
                if (head.extended) {
                    finish(executions.poll());
                }
            }
            default -> {
            }
        }
    }

    // ---- the tripwire: what the server reports must match what Warden analysed ----------------------

    /** True when the answer disagrees with the running statement's analysis (the session is then ending). */
    private boolean checkAnswer(Execution head, String answer) {
        lastAnswered = head;
        tripwire.running(head.analysis);
        java.util.Optional<Tripwire.Mismatch> mismatch = tripwire.answered(head.analysis, head.extended,
                head.answers, answer, this::preparedFacts);
        mismatch.ifPresent(m -> trip(m, head));
        return mismatch.isPresent();
    }

    /**
     * A ParameterStatus, judged against the statements of the batch running now. The statement it is blamed on
     * is the last one the server answered in this batch (PostgreSQL 14 and later report changes just before
     * ReadyForQuery), or the one running (earlier versions report them as they happen).
     */
    private boolean checkParameterStatus(ByteBuf frame) {
        Execution head = executions.peek();
        if (head != null) {
            tripwire.running(head.analysis);
        }
        Execution blamed = lastAnswered != null ? lastAnswered : head;
        BackendMessage.ParameterStatus status = (BackendMessage.ParameterStatus) BackendMessage.decode(frame);
        java.util.Optional<Tripwire.Mismatch> mismatch = tripwire.parameter(status.name(), status.value());
        mismatch.ifPresent(m -> trip(m, blamed));
        return mismatch.isPresent();
    }

    /** The facts of a statement prepared with Parse, for {@code EXECUTE name} (they share one namespace). */
    private java.util.Optional<dev.warden.sql.StatementFacts> preparedFacts(String name) {
        Prepared p = statements.get(name);
        if (p == null || p.analysis == null || p.analysis.statements().size() != 1) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(p.analysis.statements().get(0));
    }

    /**
     * Warden's reading was wrong: the disagreement goes to the audit trail and the log, and the session ends
     * with a FATAL error (an open transaction is rolled back with it); nothing more is relayed either way.
     */
    private void trip(Tripwire.Mismatch m, Execution running) {
        long querySeq = running == null ? -1 : running.querySeq;
        audit.mismatch(querySeq, m.check(), m.warden(), m.server(), m.detail());
        if (running != null && executions.peek() == running) {
            finish(executions.poll());
        }
        log.error("enforcement.mismatch session={} user={} env={} check={} warden={} server={} query_seq={}", id,
                identity.username(), environment.name(), m.check(), m.warden(), m.server(), querySeq);
        endReason = "enforcement mismatch: " + m.detail();
        fail(new SessionException(SqlState.INTERNAL_ERROR, "Warden ended the session because the server's report "
                + "disagrees with Warden's reading of the statement: " + m.detail(), "Warden's reading: "
                + m.warden() + "; server: " + m.server() + ". The disagreement is recorded in the audit trail "
                + "(enforcement.mismatch); nothing more runs in this session.", null));
    }

    /** The text of a Parse, when not UTF-8, for the audit records of the statement's executions. */
    private void rememberParsedBytes(ByteBuf frame) {
        byte[] text = StatementBytes.ofParse(frame);
        audit.receiving(text);
        String name = StatementBytes.parseName(frame);
        if (text == null) {
            preparedBytes.remove(name);
        } else {
            preparedBytes.put(name, text);
        }
    }

    private void onStartupPacket(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof StartupPacket packet)) {
            release(msg);
            throw new SessionException(SqlState.PROTOCOL_VIOLATION, "expected a startup packet");
        }
        if (packet instanceof SslRequest) {
            if (ctx.pipeline().get(SslHandler.class) != null) {
                throw new SessionException(SqlState.PROTOCOL_VIOLATION, "SSLRequest received twice");
            }
            // startTls: the 'S' itself goes out in plaintext, everything after it through TLS.
            ctx.pipeline().addFirst("tls", new SslHandler(services.serverTls().newEngine(ctx.alloc()), true));
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
        } else if (packet instanceof GssEncRequest) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
        } else if (packet instanceof CancelRequest cancel) {
            forwardCancel(cancel);
            ctx.close();
        } else if (packet instanceof StartupMessage message) {
            onStartupMessage(ctx, message);
        }
    }

    private void onStartupMessage(ChannelHandlerContext ctx, StartupMessage message) {
        Policy policy = policy();
        if (message.protocolVersion() >> 16 != 3) {
            throw new SessionException(SqlState.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol "
                    + (message.protocolVersion() >> 16) + "." + (message.protocolVersion() & 0xffff)
                    + ": Warden speaks protocol 3.0");
        }
        if (message.user() == null || message.user().isEmpty()) {
            throw new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "no user name in the startup message: connect with user=<your login, e.g. e-mail>");
        }
        if (message.parameters().containsKey("replication")) {
            throw new SessionException(SqlState.FEATURE_NOT_SUPPORTED,
                    "replication connections are not supported through Warden");
        }
        if (services.openSessions().get() > policy.listen().maxConnections()) {
            throw new SessionException(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already: Warden "
                    + "allows " + policy.listen().maxConnections() + " connections (listen.max_connections)");
        }
        boolean tls = ctx.pipeline().get(SslHandler.class) != null;
        if (!tls && !(policy.listen().allowPlaintextOnLoopback() && isLoopback(ctx.channel()))) {
            throw new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "Warden requires TLS: connect with sslmode=require (tokens are never sent in plaintext)");
        }
        startup = message;
        java.util.List<String> unsupported = message.parameters().keySet().stream()
                .filter(k -> k.startsWith("_pq_.")).toList();
        if ((message.protocolVersion() & 0xffff) > 0 || !unsupported.isEmpty()) {
            ctx.write(new BackendMessage.NegotiateProtocolVersion(0, unsupported).toByteBuf(ctx.alloc()));
        }
        state = State.AUTHENTICATING;
        ctx.writeAndFlush(new BackendMessage.AuthenticationCleartextPassword().toByteBuf(ctx.alloc()));
    }

    private static boolean isLoopback(Channel ch) {
        return ch.localAddress() instanceof InetSocketAddress local && local.getAddress() != null
                && local.getAddress().isLoopbackAddress()
                && ch.remoteAddress() instanceof InetSocketAddress remote && remote.getAddress() != null
                && remote.getAddress().isLoopbackAddress();
    }

    private void onPassword(ChannelHandlerContext ctx, Object msg) {
        String token;
        try {
            if (!(msg instanceof ByteBuf frame) || frame.getByte(frame.readerIndex()) != 'p') {
                throw new SessionException(SqlState.PROTOCOL_VIOLATION,
                        "expected a password message carrying an OIDC token");
            }
            FrontendMessage decoded = FrontendMessage.decode(frame);
            token = ((FrontendMessage.AuthenticationResponse) decoded).password().trim();
        } finally {
            release(msg);
        }
        if (token.isEmpty()) {
            throw new SessionException(SqlState.INVALID_PASSWORD,
                    "empty password: Warden expects an OIDC token as the password (see `warden token`)");
        }
        state = State.CONNECTING;
        ctx.channel().config().setAutoRead(false);
        String user = startup.user();
        CompletableFuture
                .supplyAsync(() -> {
                    try {
                        return services.tokens().get().validate(token, user);
                    } catch (dev.warden.identity.AuthenticationException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, services.blockingExecutor())
                .whenComplete((id, failure) -> ctx.executor().execute(() -> {
                    if (state == State.CLOSED) {
                        return;
                    }
                    if (failure != null) {
                        Throwable cause = ClientErrors.unwrap(failure);
                        log.info("auth.failure session={} user={} client={} reason=\"{}\"", this.id, user,
                                ctx.channel().remoteAddress(), cause.getMessage());
                        audit.authFailure(user, String.valueOf(ctx.channel().remoteAddress()), cause.getMessage(),
                                ClientErrors.fatal(cause).sqlState());
                        fail(cause);
                    } else {
                        onAuthenticated(ctx, id);
                    }
                }));
    }

    private void onAuthenticated(ChannelHandlerContext ctx, Identity who) {
        identity = who;
        String envName = startup.database() == null || startup.database().isEmpty()
                ? startup.user() : startup.database();
        Environment env = policy().environment(envName).orElse(null);
        SessionException refused = null;
        if (env == null) {
            refused = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "environment \"" + envName
                    + "\" is not defined in the Warden policy: use the environment name as the database");
        } else if (!env.allows(who.username(), who.groups())) {
            refused = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "user \"" + who.username()
                    + "\" is not allowed in environment \"" + envName + "\" (groups " + who.groups() + ")");
        }
        if (refused != null) {
            log.info("auth.failure session={} user={} reason=\"{}\"", id, who.username(), refused.getMessage());
            audit.authFailure(who.username(), String.valueOf(ctx.channel().remoteAddress()), refused.getMessage(),
                    refused.sqlState());
            fail(refused);
            return;
        }
        environment = env;
        services.upstreams().connect(ctx.channel().eventLoop(), env, startup.parameters()).addListener(f -> {
            if (state == State.CLOSED) {
                if (f.isSuccess()) {
                    ((UpstreamConnection) f.getNow()).channel().close();
                }
                return;
            }
            if (f.isSuccess()) {
                onUpstreamReady(ctx, (UpstreamConnection) f.getNow());
            } else {
                log.warn("upstream.connect_failed session={} env={} upstream={}:{} reason=\"{}\"", id, env.name(),
                        env.upstream().host(), env.upstream().port(), ClientErrors.describeConnectFailure(f.cause()));
                fail(new SessionException(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                        "cannot connect to environment \"" + env.name() + "\": "
                                + ClientErrors.describeConnectFailure(f.cause()), null, f.cause()));
            }
        });
    }

    private void onUpstreamReady(ChannelHandlerContext ctx, UpstreamConnection connection) {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        audit.sessionStart(identity, environment.name(), String.valueOf(ctx.channel().remoteAddress()),
                tls == null ? "none" : tls.engine().getSession().getProtocol(),
                startup.parameters().getOrDefault("application_name", "")).whenComplete((seq, failure) ->
                ctx.executor().execute(() -> {
                    if (state == State.CLOSED) {
                        connection.channel().close();
                    } else if (failure != null && policy().audit().refuseOnFailure()) {
                        connection.channel().close();
                        fail(new SessionException(SqlState.IO_ERROR, "session refused: "
                                + ClientErrors.unwrap(failure).getMessage(), null, failure));
                    } else {
                        startRelay(ctx, connection);
                    }
                }));
    }

    private void startRelay(ChannelHandlerContext ctx, UpstreamConnection connection) {
        upstream = connection.channel();
        connection.parameters().forEach(p -> lexing.update(p.name(), p.value()));
        java.util.Map<String, String> reported = new java.util.HashMap<>();
        connection.parameters().forEach(p -> reported.put(p.name(), p.value()));
        tripwire = new Tripwire(reported);
        catalog = services.catalogs().apply(environment);
        masking = new ResultMasking(services.masker(), catalog, identity,
                environment.name());
        upstream.pipeline().addLast("relay", new UpstreamRelay(this));
        if (connection.backendKey() != null) {
            cancelKey = services.cancels().register(new CancelRegistry.Target(
                    UpstreamConnector.cancelAddress(environment.upstream()),
                    connection.backendKey().processId(), connection.backendKey().secretKey()),
                    () -> client.eventLoop().execute(() -> {
                        if (pendingApproval != null && services.approvals() != null) {
                            log.info("approval.withdrawn session={} approval={} by=cancel", id, pendingApproval);
                            services.approvals().withdraw(pendingApproval);
                        }
                    }));
        }
        ByteBuf out = ctx.alloc().buffer();
        new BackendMessage.AuthenticationOk().writeTo(out);
        connection.parameters().forEach(p -> p.writeTo(out));
        if (cancelKey != null) {
            new BackendMessage.BackendKeyData(cancelKey.processId(), cancelKey.secretKey()).writeTo(out);
        }
        new BackendMessage.ReadyForQuery(connection.transactionStatus()).writeTo(out);
        ctx.writeAndFlush(out);
        state = State.READY;
        startupTimeout.cancel(false);
        scheduleTokenExpiry(ctx);
        Duration idle = policy().listen().idleTimeout();
        if (!idle.isZero()) {
            ctx.pipeline().addFirst("idle", new IdleStateHandler(0, 0, idle.toMillis(), TimeUnit.MILLISECONDS));
        }
        log.info("session.start session={} user={} kind={} groups={} env={} client={} tls={} upstream_tls={} app=\"{}\"",
                id, identity.username(), identity.kind(), identity.groups(), environment.name(),
                ctx.channel().remoteAddress(), ctx.pipeline().get(SslHandler.class) != null, connection.tls(),
                startup.parameters().getOrDefault("application_name", ""));
        ByteBuf early;
        while ((early = earlyFrames.poll()) != null) {
            relayToUpstream(early);
        }
        upstream.flush();
        ctx.channel().config().setAutoRead(true);
    }

    private void scheduleTokenExpiry(ChannelHandlerContext ctx) {
        if (!policy().listen().closeOnTokenExpiry() || identity.expiresAt() == null) {
            return;
        }
        long delay = Math.max(0, Duration.between(Instant.now(), identity.expiresAt()).toMillis())
                + policy().listen().tokenExpiryGrace().toMillis();
        tokenExpiry = ctx.executor().schedule(() -> fail(new SessionException(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "terminating connection because the OIDC token of \""
                + identity.username() + "\" expired at " + identity.expiresAt() + "; reconnect with a fresh token")),
                delay, TimeUnit.MILLISECONDS);
    }

    private void holdEarly(Object msg) {
        if (!(msg instanceof ByteBuf frame) || earlyFrames.size() >= MAX_EARLY_FRAMES) {
            release(msg);
            throw new SessionException(SqlState.PROTOCOL_VIOLATION, "too many messages before the session was ready");
        }
        earlyFrames.add(frame);
    }

    private void forwardCancel(CancelRequest cancel) {
        services.cancels().cancelLocally(cancel.processId(), cancel.secretKey());
        services.cancels().lookup(cancel.processId(), cancel.secretKey()).ifPresentOrElse(target -> {
            new Bootstrap().group(client.eventLoop()).channel(client.getClass())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(target.upstream().getHostString(), target.upstream().getPort())
                    .addListener((io.netty.channel.ChannelFuture f) -> {
                        if (f.isSuccess()) {
                            f.channel().writeAndFlush(new CancelRequest(target.processId(), target.secretKey())
                                    .toByteBuf(f.channel().alloc())).addListener(ChannelFutureListener.CLOSE);
                        } else {
                            log.warn("cancel.failed session={} reason=\"{}\"", id,
                                    ClientErrors.describeConnectFailure(f.cause()));
                        }
                    });
            log.info("cancel.forwarded session={} upstream={}", id, target.upstream());
        }, () -> log.info("cancel.unknown_key session={}", id));
    }

    // ---- inbound from the upstream (called by UpstreamRelay on the same event loop) ---------------

    void relayToClient(ByteBuf frame) {
        if (state != State.READY || failing) {
            frame.release();
            return;
        }
        if (upstreamPaused) {
            upstreamHeld.add(frame);
            return;
        }
        // Frames are pooled objects: a decoded RowDescription is valid for this call only.
        lastRowDescriptionFrame = null;
        byte type = frame.getByte(frame.readerIndex());
        if (type == 'S') {
            BackendMessage.ParameterStatus status = (BackendMessage.ParameterStatus) BackendMessage.decode(frame);
            lexing.update(status.name(), status.value());
        }
        if (masking != null) {
            frame = maskResult(type, frame);
            if (frame == null) {
                return;
            }
        }
        if (type == 'Z') {
            transactionStatus = (char) frame.getByte(frame.readerIndex() + 5);
            readyReceived++;
            while (!executions.isEmpty() && executions.peek().readyOrdinal <= readyReceived) {
                Execution done = executions.poll();
                java.util.Optional<Tripwire.Mismatch> mismatch = done.extended ? java.util.Optional.empty()
                        : tripwire.queryDone(done.analysis, done.answers, done.sqlState != null);
                finish(done);
                if (mismatch.isPresent()) {
                    trip(mismatch.get(), done);
                    frame.release();
                    return;
                }
            }
            tripwire.ready();
            lastAnswered = null;
            while (!blocked.isEmpty() && blocked.peek().readyOrdinal() <= readyReceived) {
                blocked.poll();
            }
            while (!describes.isEmpty() && describes.peek().readyOrdinal() <= readyReceived) {
                describes.poll();
            }
            client.write(frame, client.voidPromise());
            if (closeWhenIdle && isIdle()) {
                terminate();
            }
            return;
        }
        if (type == 'E' && !blocked.isEmpty() && blocked.peek().readyOrdinal() == readyReceived + 1) {
            BackendMessage.ErrorResponse upstreamError = (BackendMessage.ErrorResponse) BackendMessage.decode(frame);
            if (upstreamError.message() != null && upstreamError.message().contains(blockMarker)) {
                frame.release();
                client.write(blocked.poll().error().toByteBuf(client.alloc()), client.voidPromise());
                return;
            }
        }
        if (type == 'S' && checkParameterStatus(frame)) {
            frame.release();
            return;
        }
        if (!executions.isEmpty()) {
            tally(type, frame);
            if (failing) {
                // The tripwire ended the session: the client gets the FATAL error, not this frame.
                frame.release();
                return;
            }
        }
        if (type == 'E' || type == 'N' || type == 'A' || type == 'S') {
            frame = maskMessageText(type, frame);
        }
        client.write(frame, client.voidPromise());
    }

    /**
     * Errors, notices, notifications and parameter reports can echo the values a statement touched (a cast
     * error quotes its input, a unique violation its key, RAISE NOTICE and pg_notify anything): for a masked
     * identity their text is masked like a value. Returns the frame to relay: the same buffer when nothing
     * changed.
     */
    private ByteBuf maskMessageText(byte type, ByteBuf frame) {
        if (masking == null || exemptFromMasking()) {
            return frame;
        }
        BackendMessage message = BackendMessage.decode(frame);
        BackendMessage masked = null;
        // The statement the text answers: tally() has already retired an extended execution that failed.
        Analysis answering = type == 'E' && lastAnswered != null ? lastAnswered.analysis
                : executions.isEmpty() ? null : executions.peek().analysis;
        if (message instanceof BackendMessage.ErrorResponse e) {
            java.util.Map<Character, String> fields = maskFields(e.fields(), answering);
            masked = fields == null ? null : new BackendMessage.ErrorResponse(fields);
        } else if (message instanceof BackendMessage.NoticeResponse n) {
            java.util.Map<Character, String> fields = maskFields(n.fields(), answering);
            masked = fields == null ? null : new BackendMessage.NoticeResponse(fields);
        } else if (message instanceof BackendMessage.NotificationResponse a) {
            String payload = masking.maskMessage(a.payload(), null);
            masked = payload.equals(a.payload()) ? null
                    : new BackendMessage.NotificationResponse(a.processId(), a.channel(), payload);
        } else if (message instanceof BackendMessage.ParameterStatus p) {
            String value = masking.maskMessage(p.value(), null);
            masked = value.equals(p.value()) ? null : new BackendMessage.ParameterStatus(p.name(), value);
        }
        if (masked == null) {
            return frame;
        }
        frame.release();
        return masked.toByteBuf(client.alloc());
    }

    /** The masked text fields, or null when none changed. Severity, code, position and names are kept. */
    private java.util.Map<Character, String> maskFields(java.util.Map<Character, String> fields, Analysis answering) {
        java.util.Map<Character, String> out = new java.util.LinkedHashMap<>(fields);
        boolean changed = false;
        for (char f : new char[] {'M', 'D', 'H', 'W', 'q'}) {
            String v = fields.get(f);
            if (v != null) {
                String m = masking.maskMessage(v, answering, fields);
                if (!m.equals(v)) {
                    out.put(f, m);
                    changed = true;
                }
            }
        }
        return changed ? out : null;
    }

    /**
     * The masking step of the result path. Returns the frame to relay (the same buffer when nothing changes,
     * a new one when values were masked), or null when the frame was consumed (Warden's own Describe
     * answers) or is held while the catalog is asked about its columns.
     */
    private ByteBuf maskResult(byte type, ByteBuf frame) {
        Execution head = executions.peek();
        boolean simpleBatch = head != null && !head.extended && head.readyOrdinal == readyReceived + 1;
        switch (type) {
            case 'T' -> {
                java.util.List<BackendMessage.RowDescription.Field> fields = rowDescription(frame);
                boolean exempt = exemptFromMasking();
                if (!exempt && holdForCatalog(fields, frame)) {
                    return null;
                }
                if (simpleBatch) {
                    head.plan = exempt ? null : masking.plan(fields, null, head.analysis);
                    writeIfAny(masking.notice(head.plan, client.alloc()));
                    return frame;
                }
                PendingDescribe d = describes.poll();
                if (d == null) {
                    return frame;
                }
                record(d, fields);
                if (d.injected()) {
                    frame.release();
                    return null;
                }
                return frame;
            }
            case 'n' -> {
                PendingDescribe d = simpleBatch ? null : describes.poll();
                if (d != null) {
                    record(d, java.util.List.of());
                    if (d.injected()) {
                        frame.release();
                        return null;
                    }
                }
                return frame;
            }
            case 'E' -> {
                // PostgreSQL skips to Sync after an error: Describes of this batch will not be answered.
                describes.removeIf(d -> d.readyOrdinal() == readyReceived + 1);
                return frame;
            }
            case 'D' -> {
                if (head == null) {
                    return frame;
                }
                if (head.plan == null && head.extended && !exemptFromMasking()) {
                    java.util.List<BackendMessage.RowDescription.Field> fields = portalFields(head.portal);
                    if (fields == null) {
                        // No description at all (should not happen: Warden describes undescribed portals).
                        // Fail closed: an empty plan cannot tell sensitive from clear, so refuse the rows.
                        throw new SessionException(SqlState.INTERNAL_ERROR, "Warden could not tell which columns "
                                + "this result has, so it cannot mask it; the session was closed");
                    }
                    if (holdForCatalog(fields, frame)) {
                        return null;
                    }
                    head.plan = masking.plan(fields, head.portal.fields != null ? null : head.portal.resultFormats,
                            head.analysis);
                    writeIfAny(masking.notice(head.plan, client.alloc()));
                }
                if (head.plan == null || head.plan.masksNothing()) {
                    return frame;
                }
                ByteBuf masked = head.plan.maskDataRow(frame, client.alloc());
                if (masked != frame) {
                    frame.release();
                }
                return masked;
            }
            case 'H' -> {
                if (head == null || head.copy != null || exemptFromMasking()) {
                    return frame;
                }
                java.util.Optional<String> describe = ResultMasking.copyDescribeQuery(head.analysis);
                if (describe.isEmpty()) {
                    return frame;
                }
                pauseUpstream(frame);
                Execution copying = head;
                masking.describe(describe.get()).whenComplete((columns, failure) -> client.eventLoop().execute(() -> {
                    if (failure != null) {
                        failAndRelease(failure);
                        return;
                    }
                    try {
                        copying.copy = masking.copyMasker(columns, ResultMasking.copyFormat(copying.analysis),
                                copying.analysis);
                        writeIfAny(masking.notice(copying.copy.plan(), client.alloc()));
                    } catch (RuntimeException e) {
                        failAndRelease(e);
                        return;
                    }
                    resumeUpstream(frame);
                }));
                return null;
            }
            case 'd' -> {
                if (head == null || head.copy == null) {
                    return frame;
                }
                ByteBuf masked = head.copy.maskCopyData(frame, client.alloc());
                if (masked != frame) {
                    frame.release();
                }
                return masked;
            }
            case 'c' -> {
                if (head != null && head.copy != null) {
                    ByteBuf rest = head.copy.finish(client.alloc());
                    head.copy = null;
                    if (rest != null) {
                        client.write(rest, client.voidPromise());
                    }
                }
                return frame;
            }
            default -> {
                return frame;
            }
        }
    }

    private void writeIfAny(ByteBuf message) {
        if (message != null) {
            client.write(message, client.voidPromise());
        }
    }

    /** Read from the current policy, so a reload that removes an exemption masks the next result. */
    private boolean exemptFromMasking() {
        return policy().masking().unmaskedFor().exempts(identity.username(), identity.groups(),
                identity.kind() == Identity.Kind.AGENT);
    }

    /**
     * The fields of a RowDescription, decoded once per frame: masking and the audit tally both need them, one
     * after the other, for the same frame.
     */
    private java.util.List<BackendMessage.RowDescription.Field> rowDescription(ByteBuf frame) {
        if (frame != lastRowDescriptionFrame) {
            lastRowDescription = ((BackendMessage.RowDescription) BackendMessage.decode(frame)).fields();
            lastRowDescriptionFrame = frame;
        }
        return lastRowDescription;
    }

    private void record(PendingDescribe d, java.util.List<BackendMessage.RowDescription.Field> fields) {
        if (d.kind() == 'S') {
            Prepared p = statements.get(d.name());
            if (p != null) {
                p.fields = fields;
            }
        } else {
            Portal p = portals.get(d.name());
            if (p != null) {
                p.fields = fields;
            }
        }
    }

    private static java.util.List<BackendMessage.RowDescription.Field> portalFields(Portal portal) {
        if (portal == null) {
            return null;
        }
        if (portal.fields != null) {
            return portal.fields;
        }
        return portal.statement == null ? null : portal.statement.fields;
    }

    /** True (and the frame held) when the catalog must first be asked about these columns' tables. */
    private boolean holdForCatalog(java.util.List<BackendMessage.RowDescription.Field> fields, ByteBuf frame) {
        java.util.Set<Integer> unknown = masking.unknownTables(fields);
        if (unknown.isEmpty()) {
            return false;
        }
        pauseUpstream(frame);
        masking.resolve(unknown).whenComplete((ok, failure) -> client.eventLoop().execute(() -> {
            if (failure != null) {
                failAndRelease(failure);
            } else {
                resumeUpstream(frame);
            }
        }));
        return true;
    }

    private void pauseUpstream(ByteBuf first) {
        upstreamPaused = true;
        upstreamHeld.addFirst(first);
        upstream.config().setAutoRead(false);
    }

    private void resumeUpstream(ByteBuf first) {
        if (state != State.READY || failing) {
            return;
        }
        upstreamPaused = false;
        ByteBuf next;
        try {
            while (!upstreamPaused && (next = upstreamHeld.poll()) != null) {
                relayToClient(next);
            }
        } catch (RuntimeException e) {
            // Runs as a task, outside the pipeline: a failure here must end the session, not stall it.
            failAndRelease(e);
            return;
        }
        client.flush();
        if (!upstreamPaused) {
            upstream.config().setAutoRead(client.isWritable());
        }
    }

    private void failAndRelease(Throwable failure) {
        ByteBuf held;
        while ((held = upstreamHeld.poll()) != null) {
            held.release();
        }
        log.error("masking.catalog_failed session={} reason=\"{}\"", id, ClientErrors.unwrap(failure).getMessage());
        fail(new SessionException(SqlState.INTERNAL_ERROR, "results cannot be masked: "
                + ClientErrors.unwrap(failure).getMessage(), null, failure));
    }

    void upstreamReadComplete() {
        if (client != null) {
            client.flush();
        }
    }

    void upstreamLost(Throwable cause) {
        if (state != State.READY) {
            return;
        }
        log.warn("upstream.lost session={} env={} reason=\"{}\"", id, environment.name(),
                cause == null ? "closed" : ClientErrors.describeConnectFailure(cause));
        upstream = null;
        fail(new SessionException(SqlState.CONNECTION_FAILURE, "lost the connection to environment \""
                + environment.name() + "\": the upstream server closed the connection"));
    }

    /** Backpressure: stop reading from the upstream while the client cannot keep up, and vice versa. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (state == State.READY && upstream != null && !upstreamPaused) {
            upstream.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    void upstreamWritabilityChanged(boolean writable) {
        if (state == State.READY) {
            client.config().setAutoRead(writable);
        }
    }

    // ---- shutdown, timeouts, errors --------------------------------------------------------------

    private boolean isIdle() {
        return readyRequested == readyReceived && transactionStatus == 'I';
    }

    void beginShutdown() {
        client.eventLoop().execute(() -> {
            closeWhenIdle = true;
            if (state != State.READY || isIdle()) {
                terminate();
            }
        });
    }

    void terminate() {
        client.eventLoop().execute(() -> fail(new SessionException(SqlState.ADMIN_SHUTDOWN,
                "terminating connection because Warden is shutting down")));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && state == State.READY && isIdle()) {
            fail(new SessionException(SqlState.IDLE_SESSION_TIMEOUT,
                    "terminating connection due to idle timeout (listen.idle_timeout "
                            + policy().listen().idleTimeout().toSeconds() + "s)"));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = ClientErrors.unwrap(cause);
        if (t instanceof java.io.IOException && !(t instanceof javax.net.ssl.SSLException)) {
            log.debug("client.io_error session={} reason=\"{}\"", id, t.getMessage());
            closeEverything();
            return;
        }
        if (t instanceof ProtocolException || t instanceof SessionException) {
            log.info("session.refused session={} client={} reason=\"{}\"", id, ctx.channel().remoteAddress(),
                    t.getMessage());
        } else if (t instanceof javax.net.ssl.SSLException || t instanceof io.netty.handler.codec.DecoderException) {
            log.info("client.tls_error session={} client={} reason=\"{}\"", id, ctx.channel().remoteAddress(),
                    t.getMessage());
            closeEverything();
            return;
        } else {
            log.error("session.error session={}", id, t);
        }
        fail(t);
    }

    /** Sends the client a FATAL error for {@code failure} and closes the session. */
    private void fail(Throwable failure) {
        if (state == State.CLOSED) {
            return;
        }
        if (failing) {
            return;
        }
        failing = true;
        BackendMessage.ErrorResponse error = ClientErrors.fatal(failure);
        if (client != null && client.isActive()) {
            client.writeAndFlush(error.toByteBuf(client.alloc())).addListener(f -> closeEverything());
        } else {
            closeEverything();
        }
    }

    private Policy policy() {
        return services.policy().get();
    }

    private static void release(Object msg) {
        io.netty.util.ReferenceCountUtil.release(msg);
    }

}
