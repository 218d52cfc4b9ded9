package dev.warden.proxy.upstream;

import dev.warden.config.Environment;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import dev.warden.identity.Identity;
import dev.warden.proxy.privilege.SessionLogins;
import dev.warden.proxy.privilege.SettingsReset;
import dev.warden.pg.codec.BackendFrameDecoder;
import dev.warden.pg.message.StartupPacket;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/**
 * Opens the upstream connection of one client session: the login the policy chooses for the identity
 * ({@link SessionLogins}), TCP on the client's own event loop (so relaying never crosses threads), TLS as the
 * environment says, then the StartupMessage and password login. The returned future completes at the
 * upstream's first ReadyForQuery.
 */
public final class UpstreamConnector {

    /** Startup parameters that Warden sets itself rather than passing on from the client. */
    private static final java.util.Set<String> OWN_PARAMETERS = java.util.Set.of("user", "database");

    private final Class<? extends Channel> channelType;
    private final int maxMessageBytes;
    private final UpstreamTls tls = new UpstreamTls();
    private final SessionLogins logins;
    /** Netty's asynchronous DNS resolver (the default one calls the blocking JDK resolver on the event loop). */
    private final io.netty.resolver.AddressResolverGroup<InetSocketAddress> resolver;

    public UpstreamConnector(dev.warden.proxy.server.Transport transport, int maxMessageBytes,
                             SessionLogins logins) {
        this.channelType = transport.socketType();
        this.maxMessageBytes = maxMessageBytes;
        this.logins = logins;
        this.resolver = new io.netty.resolver.dns.DnsAddressResolverGroup(
                new io.netty.resolver.dns.DnsNameResolverBuilder().datagramChannelType(transport.datagramType()));
    }

    /**
     * The resolver for an upstream host, also for the connections that carry CancelRequests: the asynchronous
     * DNS resolver for a name; for an IP literal, which needs no lookup, the plain one.
     */
    public io.netty.resolver.AddressResolverGroup<? extends java.net.SocketAddress> resolverFor(String host) {
        return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host)
                ? io.netty.resolver.DefaultAddressResolverGroup.INSTANCE : resolver;
    }

    /** Why {@code who} may not log in to {@code environment} at all (no mapped role, a role-changing option). */
    public Optional<LoginRefusal> refusal(Environment environment, Identity who, Map<String, String> clientParameters) {
        return logins.refusal(environment, who, clientParameters);
    }

    /**
     * @param settingsReset hears, on {@code loop} and before the upstream login begins, the login settings of the
     *     identity's role that were reset for this login, if it had any: they are gone whether or not the login
     *     then succeeds
     */
    public Future<UpstreamConnection> connect(EventLoop loop, Environment environment, Identity who,
                                              Map<String, String> clientParameters,
                                              java.util.function.Consumer<SettingsReset> settingsReset) {
        Promise<UpstreamConnection> promise = loop.newPromise();
        logins.acquire(environment, who).whenComplete((lease, failure) -> loop.execute(() -> {
            if (failure != null) {
                promise.tryFailure(failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure);
                return;
            }
            promise.addListener(p -> lease.release().run());
            lease.settingsReset().ifPresent(settingsReset);
            // The TLS context (and its root certificate file) is made off the event loop, once per upstream.
            tls.prepare(environment.upstream(), java.util.concurrent.ForkJoinPool.commonPool())
                    .whenComplete((ok, tlsFailure) -> loop.execute(() -> {
                        if (tlsFailure != null) {
                            promise.tryFailure(new UpstreamException("cannot set up TLS toward the upstream: "
                                    + tlsFailure.getMessage(), tlsFailure));
                            return;
                        }
                        try {
                            connect(loop, environment, lease.login(), clientParameters, promise);
                        } catch (RuntimeException e) {
                            promise.tryFailure(e);
                        }
                    }));
        }));
        return promise;
    }

    private void connect(EventLoop loop, Environment environment, UpstreamLogin login,
                         Map<String, String> clientParameters, Promise<UpstreamConnection> promise) {
        Upstream upstream = environment.upstream();
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("user", login.user());
        parameters.put("database", upstream.database());
        clientParameters.forEach((k, v) -> {
            if (!OWN_PARAMETERS.contains(k)) {
                parameters.put(k, v);
            }
        });
        if (environment.roles().isPresent()) {
            // The session starts as the login Warden chose, whatever role a per-role or per-database default
            // names (ALTER ROLE CURRENT_USER SET role = ..., made by the identity in an earlier session): a startup
            // setting outranks both, and RESET ROLE then returns to it too. Clients cannot send their own
            // (SessionLogins.refusal).
            parameters.put("role", "none");
        }
        UpstreamHandshake handshake = new UpstreamHandshake(environment.name(), login, promise);
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) upstream.connectTimeout().toMillis())
                .option(ChannelOption.ALLOCATOR, dev.warden.proxy.server.BufferAllocator.forServing())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .resolver(resolverFor(upstream.host()))
                .handler(new ChannelInboundHandlerAdapter());
        ChannelFuture connected = bootstrap.connect(upstream.host(), upstream.port());
        connected.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            Channel ch = connected.channel();
            ch.pipeline().addLast("frames", new BackendFrameDecoder(maxMessageBytes));
            ch.pipeline().addLast("handshake", handshake);
            long deadline = Math.max(1000, upstream.connectTimeout().toMillis() * 2);
            var timeout = loop.schedule(() -> promise.tryFailure(
                    new UpstreamException("login to the upstream did not finish within " + deadline + " ms")),
                    deadline, java.util.concurrent.TimeUnit.MILLISECONDS);
            promise.addListener(p -> {
                timeout.cancel(false);
                if (!p.isSuccess()) {
                    ch.close();
                }
            });
            if (upstream.tls() == TlsMode.DISABLE) {
                handshake.sendStartup(ch, StartupPacket.StartupMessage.of(parameters), false);
            } else {
                ch.pipeline().addBefore("frames", "ssl-response",
                        new SslResponseReader(upstream, parameters, handshake));
                ch.writeAndFlush(new StartupPacket.SslRequest().toByteBuf(ch.alloc()));
            }
        });
    }

    /** The address to send CancelRequests for this environment to. */
    public static InetSocketAddress cancelAddress(Upstream upstream) {
        return InetSocketAddress.createUnresolved(upstream.host(), upstream.port());
    }

    /**
     * Reads the one-byte answer to SSLRequest. Any byte after an 'S' that arrives before the TLS
     * handshake could be injected by a man in the middle (CVE-2021-23222), so it fails the connection.
     */
    private final class SslResponseReader extends ChannelInboundHandlerAdapter {
        private final Upstream upstream;
        private final Map<String, String> parameters;
        private final UpstreamHandshake handshake;

        SslResponseReader(Upstream upstream, Map<String, String> parameters, UpstreamHandshake handshake) {
            this.upstream = upstream;
            this.parameters = parameters;
            this.handshake = handshake;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            ByteBuf in = (ByteBuf) msg;
            try {
                byte answer = in.readByte();
                if (in.isReadable()) {
                    throw new UpstreamException("upstream sent unexpected data after its answer to SSLRequest");
                }
                ctx.pipeline().remove(this);
                if (answer == 'S') {
                    SslHandler ssl = tls.newHandler(upstream, ctx.alloc());
                    ctx.pipeline().addFirst("tls", ssl);
                    ssl.handshakeFuture().addListener(h -> {
                        if (h.isSuccess()) {
                            handshake.sendStartup(ctx.channel(), StartupPacket.StartupMessage.of(parameters), true);
                        } else {
                            handshake.fail(new UpstreamException("TLS handshake with the upstream failed: "
                                    + h.cause().getMessage(), h.cause()));
                        }
                    });
                } else if (answer == 'N') {
                    throw new UpstreamException("upstream does not accept TLS but the policy requires tls: "
                            + upstream.tls().name().toLowerCase().replace('_', '-'));
                } else {
                    throw new UpstreamException("upstream answered SSLRequest with unexpected byte 0x"
                            + Integer.toHexString(answer & 0xff));
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            handshake.fail(cause);
        }
    }
}
