package dev.warden.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One admin connection: whole requests in (the aggregator before it caps the body), JSON out.
 *
 * <p>A request must arrive whole, headers and body, within {@code requestDeadline} of the connection opening
 * or of the previous answer; otherwise the connection is closed. That is what defeats slowloris: a client
 * trickling one byte every few seconds holds no thread (Netty reads without blocking) and loses its socket
 * when the deadline passes. Probes ({@code /healthz}, {@code /readyz}) are answered on the event loop; anything
 * that authenticates (a JWKS fetch may block) or reads the store runs on {@code workers}.
 *
 * <p>Once a request has arrived, its answer must be computed and written whole to the connection (the client taking
 * all but what the kernel's socket buffers hold) within {@code answerDeadline}; otherwise the connection is closed.
 * A worker that is stuck (a store or identity provider that does not answer) or a client that never reads a large
 * answer would otherwise hold its connection for good, and at {@link AdminServer#MAX_CONNECTIONS} such connections
 * even {@code /healthz} is refused. A worker whose connection was closed still finishes its call: a decision may be
 * made that its caller never hears of, as when any connection drops.
 */
final class AdminHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private final AdminRoutes routes;
    private final Executor workers;
    private final Duration requestDeadline;
    private final Duration answerDeadline;
    private final AdminConnections connections;
    private ScheduledFuture<?> deadline;
    /** A request arrived and its answer has not been written whole yet. Event loop only. */
    private boolean answering;

    AdminHttpHandler(AdminRoutes routes, Executor workers, Duration requestDeadline, Duration answerDeadline,
                     AdminConnections connections) {
        this.connections = connections;
        this.routes = routes;
        this.workers = workers;
        this.requestDeadline = requestDeadline;
        this.answerDeadline = answerDeadline;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        armDeadline(ctx, requestDeadline);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarmDeadline();
        super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (answering) {
            // Sent before the last answer was taken (pipelined): the bytes read already hold it, so stopping reads
            // does not stop it. Answers in order and one worker task per connection are simpler kept by closing.
            ctx.close();
            return;
        }
        answering = true;
        armDeadline(ctx, answerDeadline);
        connections.answering(ctx.channel());
        // One request at a time per connection: stop reading until this one is answered.
        ctx.channel().config().setAutoRead(false);
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (request.decoderResult().isFailure()) {
            send(ctx, AdminRoutes.Response.error(400, "malformed HTTP request"), false, false);
            return;
        }
        boolean head = request.method().equals(HttpMethod.HEAD);
        String method = head ? "GET" : request.method().name();
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path;
        java.util.Map<String, java.util.List<String>> query;
        try {
            path = uri.path();
            query = uri.parameters();
        } catch (IllegalArgumentException e) {
            // A malformed %-escape: the caller's mistake, answered as one rather than by a dropped connection.
            send(ctx, AdminRoutes.Response.error(400, "malformed request URI"), false, head);
            return;
        }
        int queryStart = request.uri().indexOf('?');
        if ((queryStart < 0 ? request.uri() : request.uri().substring(0, queryStart)).indexOf('%') >= 0) {
            // No path of the API needs a %-escape, and routing the decoded path let /approvals/ID%2Fapprove approve
            // where a proxy in front filtering on the raw path saw none of it (an attacker's pass, a113 A6).
            send(ctx, AdminRoutes.Response.error(404, "no such endpoint: the path holds a %-escape, which no path "
                    + "of the admin API needs"), false, head);
            return;
        }
        if (request.headers().getAll(HttpHeaderNames.AUTHORIZATION).size() > 1) {
            // Which of two tokens is the caller's is not for Warden to pick (it took the first).
            send(ctx, AdminRoutes.Response.error(400, "more than one Authorization header"), false, head);
            return;
        }
        AdminRoutes.Request r = new AdminRoutes.Request(method, path,
                request.headers().get(HttpHeaderNames.AUTHORIZATION),
                request.content().toString(StandardCharsets.UTF_8), query);
        if (AdminRoutes.isProbe(path)) {
            send(ctx, routes.answer(r), keepAlive, head);
            return;
        }
        try {
            workers.execute(() -> send(ctx, routes.answer(r), keepAlive, head));
        } catch (RejectedExecutionException e) {
            send(ctx, AdminRoutes.Response.error(503, "the admin API is busy; try again"), false, head);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    /** May run on a worker thread: Netty hands the write to the channel's event loop. */
    private void send(ChannelHandlerContext ctx, AdminRoutes.Response response, boolean keepAlive, boolean head) {
        byte[] bytes = (response.body().toString() + "\n").getBytes(StandardCharsets.UTF_8);
        ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes);
        FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(response.status()), content);
        out.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
        out.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        if (response.challenge()) {
            out.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        if (!keepAlive) {
            out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ChannelFuture written = ctx.writeAndFlush(out);
            written.addListener(ChannelFutureListener.CLOSE);
            givesWayIfNotTaken(ctx, written);
            return;
        }
        out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ChannelFuture written = ctx.writeAndFlush(out);
        written.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
                return;
            }
            answering = false;
            armDeadline(ctx, requestDeadline);
            connections.waiting(f.channel());
            f.channel().config().setAutoRead(true);
        });
        givesWayIfNotTaken(ctx, written);
    }

    /**
     * An answer the client has not taken within a second (it does not read) lets its connection give way to a new
     * one when all are open, as one waiting for a request does: else a client that sends requests and reads nothing
     * holds its connections for the answer deadline, and enough of them keep a probe out.
     */
    private void givesWayIfNotTaken(ChannelHandlerContext ctx, ChannelFuture written) {
        if (written.isDone()) {
            return;
        }
        ctx.executor().schedule(() -> {
            if (!written.isDone()) {
                connections.waiting(ctx.channel());
            }
        }, 1, TimeUnit.SECONDS);
    }

    /** On the event loop only: {@code channelRead0} and the write's listener run there. */
    private void armDeadline(ChannelHandlerContext ctx, Duration within) {
        disarmDeadline();
        deadline = ctx.executor().schedule(() -> {
            ctx.close();
        }, within.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void disarmDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
