package dev.warden.proxy.server;

import dev.warden.audit.AuditLog;
import dev.warden.proxy.admin.AdminServer;
import dev.warden.proxy.admin.BearerAuthenticator;
import dev.warden.proxy.approvals.ApprovalService;
import dev.warden.config.Listen;
import dev.warden.config.Policy;
import dev.warden.identity.TokenValidator;
import dev.warden.pg.codec.FrontendFrameDecoder;
import dev.warden.masking.Masker;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.guardrails.Guardrails;
import dev.warden.proxy.session.CancelRegistry;
import dev.warden.proxy.session.FrontendSession;
import dev.warden.proxy.session.SessionServices;
import dev.warden.proxy.session.SessionTracker;
import dev.warden.proxy.upstream.UpstreamConnector;
import dev.warden.sql.Analyzer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** The listening proxy: accepts clients, gives each a {@link FrontendSession}, and shuts down gracefully. */
public final class WardenServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WardenServer.class);

    private final AtomicReference<Policy> policy;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final ExecutorService blocking;
    private final SessionTracker tracker = new SessionTracker();
    private final AtomicInteger openSessions = new AtomicInteger();
    private Channel serverChannel;
    private AuditLog audit;
    private ApprovalService approvals;
    private AdminServer admin;
    private final java.util.Map<String, CatalogCache> catalogs = new java.util.concurrent.ConcurrentHashMap<>();

    private WardenServer(Policy initial) {
        this.policy = new AtomicReference<>(initial);
        IoHandlerFactory io = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.bossGroup = new MultiThreadIoEventLoopGroup(1, io);
        this.workerGroup = new MultiThreadIoEventLoopGroup(0, io);
        AtomicInteger threads = new AtomicInteger();
        this.blocking = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "warden-blocking-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts listening as the policy says; returns once the port is bound. */
    public static WardenServer start(Policy policy) throws Exception {
        WardenServer server = new WardenServer(policy);
        try {
            server.bind();
        } catch (Exception e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void bind() throws Exception {
        Listen listen = policy.get().listen();
        SslContext tls = ServerTls.create(listen);
        audit = AuditLog.open(policy.get().audit());
        approvals = ApprovalService.open(policy.get().approvals(), audit);
        TokenValidator tokens = new TokenValidator(policy.get().issuers());
        if (policy.get().admin().enabled()) {
            admin = AdminServer.start(policy.get().admin().address().get(), approvals,
                    new BearerAuthenticator(tokens, policy.get().issuers()));
        }
        boolean epoll = Epoll.isAvailable();
        Class<? extends SocketChannel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Guardrails guardrails = new Guardrails(policy.get().guardrails());
        Masker masker = new Masker(policy.get().masking());
        SessionServices services = new SessionServices(policy::get, () -> guardrails, new Analyzer(10_000),
                tokens, tls,
                new UpstreamConnector(clientType, listen.maxMessageBytes()), new CancelRegistry(), blocking,
                openSessions, tracker, audit, () -> masker,
                env -> catalogs.computeIfAbsent(env.name(), n -> new CatalogCache(env, blocking)), approvals);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(serverType)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
                        ch.pipeline().addLast("frames", new FrontendFrameDecoder(policy.get().listen().maxMessageBytes()));
                        ch.pipeline().addLast("session", new FrontendSession(services, id));
                    }
                });
        serverChannel = bootstrap.bind(listen.host(), listen.port()).sync().channel();
        log.info("warden.listening address={} transport={} environments={} policy={}", serverChannel.localAddress(),
                epoll ? "epoll" : "nio", policy.get().environments().keySet(), shortHash());
    }

    private String shortHash() {
        String h = policy.get().versionHash();
        return h.length() > 12 ? h.substring(0, 12) : h;
    }

    /** The bound port (useful when the policy asked for port 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** The admin API's bound port, or -1 when the policy has no {@code admin} section. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    public int openSessions() {
        return openSessions.get();
    }

    /**
     * Stops accepting, lets sessions finish their running statement or transaction until {@code grace}
     * runs out, then closes the rest with FATAL 57P01.
     */
    public void shutdown(Duration grace) {
        log.info("warden.shutdown sessions={} grace={}s", tracker.size(), grace.toSeconds());
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        tracker.beginShutdown();
        long deadline = System.nanoTime() + grace.toNanos();
        while (tracker.size() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (tracker.size() > 0) {
            log.info("warden.shutdown_deadline terminating={}", tracker.size());
            tracker.terminateAll();
            long flushDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (tracker.size() > 0 && System.nanoTime() < flushDeadline) {
                Thread.onSpinWait();
            }
        }
        close();
    }

    @Override
    public void close() {
        if (serverChannel != null) {
            serverChannel.close();
        }
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
        catalogs.values().forEach(CatalogCache::close);
        if (admin != null) {
            admin.close();
        }
        if (approvals != null) {
            approvals.close();
        }
        if (audit != null) {
            audit.close();
        }
    }
}
