package dev.warden.bench;

import dev.warden.pg.message.StartupPacket;
import dev.warden.proxy.server.TlsProvider;
import dev.warden.proxy.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;

/**
 * The bench's yardstick, not a product: a TLS byte pipe between pgbench and PostgreSQL, built the way Warden's
 * relay is (Netty on Warden's transport, one event loop per core, the client and its upstream connection on the
 * same loop, TCP_NODELAY, OpenSSL through netty-tcnative on both legs, a flush at the end of each read) and doing
 * nothing else: no framing, no analysis, no audit, no masking. What it costs per transaction is the floor under any
 * relay of this design on the machine, so the harness can say how much of Warden's gap to PgBouncer is the
 * design's (Java, Netty, a second TLS stack) and how much is Warden's features.
 *
 * <p>The client's {@code SSLRequest} is answered {@code S}; the upstream leg asks PostgreSQL for TLS the same
 * way when {@code upstreamTls} is set. Everything after that (the startup message, SCRAM, queries) is copied
 * through unread, so pgbench logs in to PostgreSQL with PostgreSQL's own password.
 */
final class TlsPipe implements AutoCloseable {

    /** Its event loops' thread names start so: the JFR summary leaves them out of Warden's samples. */
    static final String THREADS = "tls-pipe";

    private final EventLoopGroup loops;
    private final Channel server;

    private TlsPipe(EventLoopGroup loops, Channel server) {
        this.loops = loops;
        this.server = server;
    }

    static TlsPipe start(String upstreamHost, int upstreamPort, boolean upstreamTls) throws Exception {
        // Warden's transport (-Dwarden.transport), so that the pipe stays Warden's relay with nothing else.
        Transport transport = Transport.chosen();
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        SslContext serverTls = SslContextBuilder.forServer(cert.key(), cert.cert())
                .sslProvider(TlsProvider.get()).protocols("TLSv1.3", "TLSv1.2").build();
        SslContext clientTls = SslContextBuilder.forClient().sslProvider(TlsProvider.get())
                .trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null).build();
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(),
                new DefaultThreadFactory(THREADS, true), transport.ioHandlerFactory());
        try {
            Channel server = new ServerBootstrap().group(loops).channel(transport.serverType())
                    // Warden's allocator, so that the pipe stays Warden's relay with nothing else.
                    .childOption(ChannelOption.ALLOCATOR, dev.warden.proxy.server.BufferAllocator.forServing())
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel client) {
                            client.pipeline().addLast("ssl-request", new SslRequest(serverTls));
                            connectUpstream(client, transport, upstreamHost, upstreamPort,
                                    upstreamTls ? clientTls : null);
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            return new TlsPipe(loops, server);
        } catch (Exception e) {
            loops.shutdownGracefully();
            throw e;
        }
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        loops.shutdownGracefully().syncUninterruptibly();
    }

    /** Connects on the client's own loop; the client is read only once the upstream leg is ready. */
    private static void connectUpstream(Channel client, Transport transport, String host, int port, SslContext tls) {
        new Bootstrap().group(client.eventLoop()).channel(transport.socketType())
                .option(ChannelOption.ALLOCATOR, dev.warden.proxy.server.BufferAllocator.forServing())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel upstream) {
                        upstream.pipeline().addLast("upstream-tls", new UpstreamTls(client, tls));
                    }
                })
                .connect(host, port).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        client.close();
                    }
                });
    }

    /** Both legs joined: the upstream channel becomes the client's peer and the client starts reading. */
    private static void join(Channel client, Channel upstream) {
        upstream.pipeline().addLast("pipe", new Pipe(client));
        client.pipeline().addLast("pipe", new Pipe(upstream));
        client.closeFuture().addListener(f -> upstream.close());
        upstream.closeFuture().addListener(f -> client.close());
        client.config().setAutoRead(true);
        upstream.config().setAutoRead(true);
    }

    /** Answers the client's SSLRequest with {@code S} and starts TLS; anything else closes the connection. */
    private static final class SslRequest extends ChannelInboundHandlerAdapter {
        private final SslContext tls;
        private ByteBuf pending;

        SslRequest(SslContext tls) {
            this.tls = tls;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (pending == null) {
                pending = ctx.alloc().buffer(8);
            }
            pending.writeBytes(in, Math.min(in.readableBytes(), 8 - pending.readableBytes()));
            boolean extra = in.isReadable();
            in.release();
            if (pending.readableBytes() < 8) {
                return;
            }
            boolean ssl = !extra && pending.getInt(0) == 8 && pending.getInt(4) == StartupPacket.SSL_REQUEST_CODE;
            pending.release();
            pending = null;
            if (!ssl) {
                ctx.close(); // pgbench is run with sslmode=require: nothing else is expected first
                return;
            }
            // 'S' goes out in the clear before the engine is added; the client's hello follows it.
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'S'}));
            ctx.pipeline().replace(this, "tls", new SslHandler(tls.newEngine(ctx.alloc())));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (pending != null) {
                pending.release();
                pending = null;
            }
        }
    }

    /**
     * The upstream leg's start: asks PostgreSQL for TLS, waits for its {@code S}, adds the engine and joins the
     * legs when the handshake is done. Without TLS it joins them at once.
     */
    private static final class UpstreamTls extends ChannelInboundHandlerAdapter {
        private final Channel client;
        private final SslContext tls;

        UpstreamTls(Channel client, SslContext tls) {
            this.client = client;
            this.tls = tls;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (tls == null) {
                ctx.pipeline().remove(this);
                join(client, ctx.channel());
                return;
            }
            ctx.writeAndFlush(ctx.alloc().buffer(8).writeInt(8).writeInt(StartupPacket.SSL_REQUEST_CODE));
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (in.readableBytes() != 1 || in.getByte(0) != 'S') {
                    ctx.close();
                    return;
                }
            } finally {
                ReferenceCountUtil.release(in);
            }
            SslHandler handler = new SslHandler(tls.newEngine(ctx.alloc(), "localhost", 5432));
            ctx.pipeline().replace(this, "tls", handler);
            handler.handshakeFuture().addListener(f -> {
                if (f.isSuccess()) {
                    join(client, ctx.channel());
                } else {
                    ctx.close();
                }
            });
            ctx.read();
        }
    }

    /** Copies what one leg reads to the other, flushes once per read, and stops reading while the other is full. */
    private static final class Pipe extends ChannelInboundHandlerAdapter {
        private final Channel peer;

        Pipe(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            peer.write(msg, peer.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
            if (!peer.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                peer.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
