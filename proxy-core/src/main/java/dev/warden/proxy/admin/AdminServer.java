package dev.warden.proxy.admin;

import dev.warden.config.AdminSettings;
import dev.warden.proxy.approvals.ApprovalService;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP API, on Netty.
 *
 * <pre>
 * GET  /healthz                    200 while the process serves
 * GET  /readyz                     200 once approvals are started, else 503
 * GET  /approvals                  {"approvals": [...]}: pending first (taking turns by requester), then recent;
 *                                  only those the caller requested or may decide; at most 200
 * GET  /approvals?pending=true&amp;requester=NAME&amp;before=ID&amp;limit=N
 *                                  pending ones only, newest first, a page at a time (any parameter may be left
 *                                  out); {"approvals": [...], "next": ID} while more may follow
 * GET  /approvals/{id}             one record
 * POST /approvals/{id}/approve     body {"comment": "..."} (optional); answers the updated record
 * POST /approvals/{id}/deny        body {"comment": "..."}
 * </pre>
 * {@code HEAD} works wherever {@code GET} does. Errors are {@code {"error": "...", "status": N}}: 400 bad body or
 * query parameter,
 * 401 no or invalid token, 403 self-approval or not allowed to decide a request one may see, 404 unknown id or
 * one the caller may not see (reads and decisions alike), 405 wrong method, 409 already decided, 413 body over
 * 64 KiB, 503 store unavailable or too busy.
 *
 * <p>Limits: {@value #MAX_CONNECTIONS} connections at once; when all are open, a new one takes the place of one
 * that waits for its request, or whose client has not taken its answer for a second, of the address holding most
 * ({@link AdminConnections}), and is closed on accept only when every one is being answered. A request must arrive
 * whole within {@link #REQUEST_DEADLINE}, and its answer must be computed and written whole to the connection (the
 * client taking all but what the kernel's buffers hold) within {@link #ANSWER_DEADLINE} of its arrival; a request
 * sent before the last one is answered closes the connection. Headers up to 8 KiB. Bound beyond loopback it speaks
 * TLS only.
 */
public final class AdminServer implements AutoCloseable {

    static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final int MAX_CONNECTIONS = 256;
    static final Duration REQUEST_DEADLINE = Duration.ofSeconds(10);
    /**
     * Past the approval store's own bound (a read given up after 30 s of silence) and an identity provider's
     * (5 s a fetch), so that only a stuck worker or a client that does not read loses its connection.
     */
    static final Duration ANSWER_DEADLINE = Duration.ofSeconds(45);
    private static final int WORKERS = 4;
    private static final int WORK_QUEUE = 256;

    private final EventLoopGroup group;
    private final ThreadPoolExecutor workers;
    private final Channel channel;
    private final boolean tls;

    private AdminServer(EventLoopGroup group, ThreadPoolExecutor workers, Channel channel, boolean tls) {
        this.group = group;
        this.workers = workers;
        this.channel = channel;
        this.tls = tls;
    }

    /** Binds a loopback {@code address} in plain HTTP; refuses any other address (it would need TLS). */
    public static AdminServer start(AdminSettings.Address address, ApprovalService approvals,
                                    Supplier<BearerAuthenticator> authenticator) throws IOException {
        return start(address, approvals, authenticator, Optional.empty(), REQUEST_DEADLINE);
    }

    /** {@link #start(AdminSettings.Address, ApprovalService, Supplier, Optional, Duration, Duration)} with
     * {@link #ANSWER_DEADLINE}. */
    public static AdminServer start(AdminSettings.Address address, ApprovalService approvals,
                                    Supplier<BearerAuthenticator> authenticator, Optional<SslContext> tls,
                                    Duration requestDeadline) throws IOException {
        return start(address, approvals, authenticator, tls, requestDeadline, ANSWER_DEADLINE);
    }

    /**
     * Binds {@code address} and starts serving. {@code tls} is required when the address is not loopback
     * (bearer tokens cross this port) and used wherever given. A request must arrive whole within
     * {@code requestDeadline}, and its answer be written whole to the connection within {@code answerDeadline} of
     * its arrival.
     */
    public static AdminServer start(AdminSettings.Address address, ApprovalService approvals,
                                    Supplier<BearerAuthenticator> authenticator, Optional<SslContext> tls,
                                    Duration requestDeadline, Duration answerDeadline) throws IOException {
        if (tls.isEmpty() && !isLoopback(address.host())) {
            throw new IOException("the admin API at " + address.host() + " is not on loopback, so it needs TLS");
        }
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor workers = new ThreadPoolExecutor(WORKERS, WORKERS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(WORK_QUEUE), r -> {
                    Thread t = new Thread(r, "warden-admin-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, r -> {
            Thread t = new Thread(r, "warden-admin-io");
            t.setDaemon(true);
            return t;
        }, NioIoHandler.newFactory());
        AdminRoutes routes = new AdminRoutes(approvals, authenticator);
        AdminConnections connections = new AdminConnections(MAX_CONNECTIONS);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // The group's one thread accepts and serves every connection: AdminConnections is its own.
                        if (!connections.admit(ch)) {
                            log.warn("admin connection refused: {} open, each being answered", MAX_CONNECTIONS);
                            ch.close();
                            return;
                        }
                        tls.ifPresent(ctx -> ch.pipeline().addLast("tls", ctx.newHandler(ch.alloc())));
                        ch.pipeline().addLast("http", new HttpServerCodec(4096, 8192, 8192));
                        ch.pipeline().addLast("body", new HttpObjectAggregator(MAX_BODY_BYTES));
                        ch.pipeline().addLast("admin", new AdminHttpHandler(routes, workers, requestDeadline,
                                answerDeadline, connections));
                    }
                });
        Channel channel;
        try {
            channel = bootstrap.bind(address.host(), address.port()).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownNow();
            throw new IOException("cannot bind the admin API to " + address.host() + ":" + address.port() + ": "
                    + e.getMessage(), e);
        }
        AdminServer admin = new AdminServer(group, workers, channel, tls.isPresent());
        log.info("admin API listening address={}:{} tls={}", address.host(), admin.port(), tls.isPresent());
        return admin;
    }

    /** Literal loopback only: a name such as {@code 127.attacker.example} is not resolved and not trusted. */
    public static boolean isLoopback(String host) {
        if (host.equals("localhost")) {
            return true;
        }
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false;
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** {@code http(s)://host:port} as bound, for tests and log lines. */
    public URI uri() {
        InetSocketAddress a = (InetSocketAddress) channel.localAddress();
        String host = a.getAddress().getHostAddress();
        return URI.create((tls ? "https" : "http") + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":"
                + a.getPort());
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownNow();
    }
}
