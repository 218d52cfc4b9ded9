package dev.warden.proxy.session;

import dev.warden.config.Environment;
import dev.warden.config.Policy;
import dev.warden.identity.Identity;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import dev.warden.pg.message.StartupPacket.CancelRequest;
import dev.warden.pg.message.StartupPacket.GssEncRequest;
import dev.warden.pg.message.StartupPacket.SslRequest;
import dev.warden.pg.message.StartupPacket.StartupMessage;
import dev.warden.proxy.upstream.UpstreamConnection;
import dev.warden.proxy.upstream.UpstreamConnector;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client connection until it is READY: {@code STARTUP → (TLS) → AUTHENTICATING → CONNECTING}. The startup
 * packet (or SSLRequest, or CancelRequest, handed to {@link CancelForwarder}), the OIDC token as password, the
 * environment, and the upstream login as the identity. At READY this handler replaces itself with the
 * {@link RelayHandler} of a {@link RelaySession}, as {@code UpstreamHandshake} does on the upstream side; it
 * stays the session's handle for the {@link SessionTracker} (shutdown) and its counters.
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
    private StartupMessage startup;
    private Identity identity;
    private Environment environment;
    /** The PostgreSQL role this session logged in as (SET ROLE to it changes nothing). */
    private CancelRegistry.Key cancelKey;
    private final Queue<ByteBuf> earlyFrames = new ArrayDeque<>();
    private SessionAudit audit;
    /** The {@code role.settings_reset} record of this session's login, if its role's settings were reset. */
    private CompletableFuture<Long> settingsResetWritten = CompletableFuture.completedFuture(0L);
    private long startedNanos;
    private ScheduledFuture<?> startupTimeout;
    private ScheduledFuture<?> tokenExpiry;
    /** The {@code jti} of the token the session logged in with, if it had one: a reload may revoke it. */
    private String tokenId;
    /** The identity key this session is counted under (budgets.sessions.per_identity), until it ends; null: none. */
    private String claimed;
    /** The entry {@link #claimed} names: its kept bytes are what this identity's sessions keep together. */
    private SessionTracker.Held claimedHeld;
    /** The token's issuer's username and groups prefixes when it was accepted: the identity's names carry them. */
    private String namePrefixes;
    /** The READY session, once there is one. */
    private volatile RelaySession relay;
    /** A FATAL error is on its way to the client; nothing more is read. */
    private boolean failing;
    /** How the server reads statement texts: followed from its ParameterStatus reports. */
    private final SessionLexing lexing = new SessionLexing();

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
        audit = new SessionAudit(services.audit(), ctx.executor(), id, policy.versionHash(),
                sql -> services.analyzer().redactLiterals(sql, lexing.standardConformingStrings()),
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

    /** The end of the session in any state: counters, cancel key, timers (the relay ends its own part). */
    private void closeEverything() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        services.openSessions().decrementAndGet();
        services.tracker().remove(this);
        if (claimed != null) {
            services.tracker().release(claimed);
            claimed = null;
        }
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
        if (client != null && relay == null) {
            client.close();
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
            case STARTUP -> onStartupPacket(ctx, msg);
            case AUTHENTICATING -> onPassword(ctx, msg);
            case CONNECTING -> holdEarly(msg);
            case READY, CLOSED -> release(msg);
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
            CancelForwarder.forward(services.cancels(), cancel, ctx.channel(), id, services.upstreams());
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
        if (ConnectionBudget.loginsFull(ctx.channel(), policy.listen().maxConnections())) {
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
        FlowControl.of(ctx.channel()).holdClient(FlowControl.ClientHold.LOGIN, true);
        String user = startup.user();
        dev.warden.identity.TokenValidator validator = services.tokens().get();
        Channel channel = ctx.channel();
        CompletableFuture<Identity> checked;
        try {
            checked = CompletableFuture.supplyAsync(() -> {
                if (!channel.isActive() || ConnectionBudget.refused(channel)) {
                    // Gone while queued (startup_timeout, the client left, or displaced by the connection budget and
                    // being closed): no check, and no fetch of keys.
                    throw new java.util.concurrent.CompletionException(new SessionException(
                            SqlState.CONNECTION_FAILURE, "the client left before its token was checked"));
                }
                try {
                    return validator.validate(token, user);
                } catch (dev.warden.identity.AuthenticationException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, services.loginExecutor());
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new SessionException(SqlState.TOO_MANY_CONNECTIONS, "too many logins are waiting for their token "
                    + "to be checked; try again");
        }
        checked.whenComplete((id, failure) -> ctx.executor().execute(() -> {
            if (state == State.CLOSED || ConnectionBudget.refused(ctx.channel())) {
                return;
            }
            if (failure != null) {
                Throwable cause = ClientErrors.unwrap(failure);
                log.info("auth.failure session={} user={} client={} reason=\"{}\"", this.id,
                        SessionAudit.bounded(user),
                        ctx.channel().remoteAddress(), cause.getMessage());
                audit.authFailure(user, String.valueOf(ctx.channel().remoteAddress()), cause.getMessage(),
                        ClientErrors.fatal(cause).sqlState());
                fail(cause);
            } else {
                tokenId = tokenIdOf(token);
                namePrefixes = validator.issuerConfig(id.issuer()).map(FrontendSession::namePrefixes)
                        .orElse(null);
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
        dev.warden.config.IssuerConfig issuerNow = policy().issuers().stream()
                .filter(i -> i.issuer().equals(who.issuer())).findFirst().orElse(null);
        String prefixesNow = issuerNow == null ? null : namePrefixes(issuerNow);
        if (issuerNow != null && tokenId != null && issuerNow.deniedTokenIds().contains(tokenId)) {
            // A reload revoked the token while it was checked (or queued to be) against the policy before it.
            refused = new SessionException(SqlState.INVALID_PASSWORD, "token id '" + SessionAudit.bounded(tokenId)
                    + "' is revoked (identity.issuers[].denied_token_ids)");
        } else if (namePrefixes != null && !namePrefixes.equals(prefixesNow)) {
            // A reload changed (or removed) the token's issuer while the token was checked: the names were made
            // with prefixes the policy in force no longer gives.
            refused = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "the Warden policy changed "
                    + "the token's issuer (its username_prefix or groups_prefix, or whether it is trusted) during "
                    + "login; connect again");
        } else if (env == null) {
            // Cut: the client chose it (up to the pre-login message limit), and the reason is recorded and logged.
            refused = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "environment \""
                    + SessionAudit.bounded(envName) + "\" is not defined in the Warden policy: use the environment "
                    + "name as the database");
        } else if (!env.allows(who.username(), who.groups())) {
            refused = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "user \"" + who.username()
                    + "\" is not allowed in environment \"" + envName + "\" (groups " + who.groups() + ")");
        } else {
            refused = services.upstreams().refusal(env, who, startup.parameters())
                    .map(r -> new SessionException(r.sqlState(), r.message())).orElse(null);
        }
        if (refused != null) {
            log.info("auth.failure session={} user={} reason=\"{}\"", id, who.username(), refused.getMessage());
            audit.authFailure(who.username(), String.valueOf(ctx.channel().remoteAddress()), refused.getMessage(),
                    refused.sqlState());
            fail(refused);
            return;
        }
        int limit = policy().budgets().sessionsPerIdentity().orElse(0);
        String key = who.issuer() + " " + who.username();
        SessionTracker.Held held = services.tracker().claim(key, limit);
        if (held == null) {
            SessionException tooMany = new SessionException(SqlState.TOO_MANY_CONNECTIONS, "too many sessions for "
                    + "user \"" + who.username() + "\": Warden allows one identity " + limit + " at once "
                    + "(budgets.sessions.per_identity), so that one cannot take every connection the server has");
            log.info("auth.failure session={} user={} reason=\"{}\"", id, who.username(), tooMany.getMessage());
            audit.authFailure(who.username(), String.valueOf(ctx.channel().remoteAddress()), tooMany.getMessage(),
                    tooMany.sqlState());
            fail(tooMany);
            return;
        }
        claimed = key;
        claimedHeld = held;
        environment = env;
        services.upstreams().connect(ctx.channel().eventLoop(), env, who, startup.parameters(),
                reset -> settingsResetWritten = audit.settingsReset(who, env.name(), reset)).addListener(f -> {
            if (state == State.CLOSED) {
                if (f.isSuccess()) {
                    ((UpstreamConnection) f.getNow()).channel().close();
                }
                return;
            }
            if (f.isSuccess()) {
                onUpstreamReady(ctx, (UpstreamConnection) f.getNow());
            } else if (f.cause() instanceof dev.warden.proxy.upstream.LoginRefusedException roleRefused) {
                log.info("auth.failure session={} user={} reason=\"{}\"", id, who.username(), roleRefused.getMessage());
                audit.authFailure(who.username(), String.valueOf(ctx.channel().remoteAddress()), roleRefused.getMessage(),
                        roleRefused.sqlState());
                fail(new SessionException(roleRefused.sqlState(), roleRefused.getMessage()));
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
        CompletableFuture<Long> started = audit.sessionStart(identity, environment.name(),
                String.valueOf(ctx.channel().remoteAddress()), tls == null ? "none" : tls.engine().getSession()
                        .getProtocol(), startup.parameters().getOrDefault("application_name", ""));
        // The reset of the role's login settings, if there was one, is on record before the session goes on.
        CompletableFuture.allOf(settingsResetWritten, started).whenComplete((written, failure) ->
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
        Channel upstream = connection.channel();
        connection.parameters().forEach(p -> lexing.update(p.name(), p.value()));
        java.util.Map<String, String> reported = new java.util.HashMap<>();
        connection.parameters().forEach(p -> reported.put(p.name(), p.value()));
        RelaySession session = new RelaySession(services, id, identity, environment, ctx.channel(), upstream,
                connection.loginUser(), audit,
                lexing, new Tripwire(reported), connection.transactionStatus(), startedNanos, this::closeEverything);
        relay = session;
        if (claimedHeld != null) {
            session.prepared.countInto(claimedHeld.kept);
        }
        upstream.pipeline().addLast("relay", session.responses);
        if (connection.backendKey() != null) {
            CancelRegistry.Target target = new CancelRegistry.Target(
                    UpstreamConnector.cancelAddress(environment.upstream()),
                    connection.backendKey().processId(), connection.backendKey().secretKey());
            session.upstreamCancel = target;
            cancelKey = services.cancels().register(target, () -> client.eventLoop().execute(session::cancelled));
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
        // The database role too: with opaque role names it is the one link from PostgreSQL's own logs to a person.
        log.info("session.start session={} user={} kind={} groups={} env={} role={} client={} tls={} upstream_tls={} "
                        + "app=\"{}\"",
                id, identity.username(), identity.kind(), identity.groups(), environment.name(), connection.loginUser(),
                ctx.channel().remoteAddress(), ctx.pipeline().get(SslHandler.class) != null, connection.tls(),
                SessionAudit.bounded(startup.parameters().getOrDefault("application_name", "")));
        ctx.pipeline().replace(this, "session", session.requests);
        // Right above TLS, on both legs: every write of the relay passes it (see TlsWriteBatch).
        if (ctx.pipeline().get("tls") instanceof SslHandler) {
            ctx.pipeline().addAfter("tls", "batch", new TlsWriteBatch());
        }
        if (upstream.pipeline().get("tls") instanceof SslHandler) {
            upstream.pipeline().addAfter("tls", "batch", new TlsWriteBatch());
        }
        ByteBuf early;
        while ((early = earlyFrames.poll()) != null) {
            session.requests.relayToUpstream(early);
        }
        upstream.flush();
        session.flow.holdClient(FlowControl.ClientHold.LOGIN, false);
    }

    private void scheduleTokenExpiry(ChannelHandlerContext ctx) {
        if (!policy().listen().closeOnTokenExpiry() || identity.expiresAt() == null) {
            return;
        }
        long delay = Math.max(0, Duration.between(Instant.now(), identity.expiresAt()).toMillis())
                + policy().listen().tokenExpiryGrace().toMillis();
        tokenExpiry = ctx.executor().schedule(() -> relay.fail(new SessionException(
                SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "terminating connection because the OIDC token of \""
                + identity.username() + "\" expired at " + identity.expiresAt() + "; reconnect with a fresh token")),
                delay, TimeUnit.MILLISECONDS);
    }

    /** The token's {@code jti}; read after {@code validate} has verified the token, so it is the issuer's. */
    private static String tokenIdOf(String token) {
        try {
            return com.nimbusds.jwt.SignedJWT.parse(token).getJWTClaimsSet().getJWTID();
        } catch (java.text.ParseException e) {
            return null;
        }
    }

    /**
     * A reload applies to sessions already logged in, not only to new ones: a session whose token's id the new
     * policy revokes, whose issuer it no longer trusts, or whose identity it no longer allows in the environment
     * (or maps to no role) ends with FATAL 28000, as when its token expires. Logins still in progress are judged
     * the same way. Runs on the session's event loop.
     */
    void policyReloaded(Policy next) {
        Channel channel = client;
        if (channel == null) {
            return;
        }
        channel.eventLoop().execute(() -> {
            if (state == State.CLOSED || identity == null) {
                return;
            }
            String reason = noLongerAllowedBy(next);
            if (reason == null) {
                return;
            }
            log.info("session.revoked session={} user={} reason=\"{}\"", id, identity.username(), reason);
            SessionException ended = new SessionException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "terminating connection because " + reason);
            RelaySession ready = relay;
            if (ready != null) {
                ready.fail(ended);
            } else {
                fail(ended);
            }
        });
    }

    private String noLongerAllowedBy(Policy next) {
        dev.warden.config.IssuerConfig issuer = next.issuers().stream()
                .filter(i -> i.issuer().equals(identity.issuer())).findFirst().orElse(null);
        if (issuer == null) {
            return "the Warden policy no longer trusts the issuer of the OIDC token of \"" + identity.username() + "\"";
        }
        if (tokenId != null && issuer.deniedTokenIds().contains(tokenId)) {
            return "the OIDC token of \"" + identity.username() + "\" was revoked (identity.issuers[].denied_token_ids)";
        }
        if (namePrefixes != null && !namePrefixes.equals(namePrefixes(issuer))) {
            // The session's names were made with the old prefixes; policy rules now name that issuer's users otherwise.
            return "the username_prefix or groups_prefix of the issuer of the OIDC token of \"" + identity.username()
                    + "\" changed";
        }
        if (environment == null) {
            return null; // not yet chosen: onAuthenticated reads the policy in force
        }
        Environment env = next.environment(environment.name()).orElse(null);
        if (env == null) {
            return "environment \"" + environment.name() + "\" is no longer defined in the Warden policy";
        }
        if (!env.allows(identity.username(), identity.groups())) {
            return "user \"" + identity.username() + "\" is no longer allowed in environment \"" + env.name()
                    + "\" (groups " + identity.groups() + ")";
        }
        return services.upstreams().refusal(env, identity, startup.parameters())
                .map(r -> "the Warden policy no longer lets this session in: " + r.message()).orElse(null);
    }

    private static String namePrefixes(dev.warden.config.IssuerConfig issuer) {
        return issuer.usernamePrefix() + "\0" + issuer.groupsPrefix();
    }

    private void holdEarly(Object msg) {
        if (!(msg instanceof ByteBuf frame) || earlyFrames.size() >= MAX_EARLY_FRAMES) {
            release(msg);
            throw new SessionException(SqlState.PROTOCOL_VIOLATION, "too many messages before the session was ready");
        }
        earlyFrames.add(frame);
    }

    void beginShutdown() {
        RelaySession ready = relay;
        if (ready != null) {
            ready.beginShutdown();
        } else {
            terminate();
        }
    }

    void terminate() {
        RelaySession ready = relay;
        if (ready != null) {
            ready.terminate();
            return;
        }
        client.eventLoop().execute(() -> fail(new SessionException(SqlState.ADMIN_SHUTDOWN,
                "terminating connection because Warden is shutting down")));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = ClientErrors.unwrap(cause);
        if (ClientErrors.logClientFailure(t, id, ctx.channel().remoteAddress(), log)) {
            closeEverything();
        } else {
            fail(t);
        }
    }

    /** Sends the client a FATAL error for {@code failure} and closes the connection (before READY). */
    private void fail(Throwable failure) {
        if (state == State.CLOSED || failing) {
            return;
        }
        RelaySession ready = relay;
        if (ready != null) {
            ready.fail(failure);
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
