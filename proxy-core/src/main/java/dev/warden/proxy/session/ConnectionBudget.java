package dev.warden.proxy.session;

import dev.warden.config.Policy;
import dev.warden.pg.SqlState;
import dev.warden.pg.codec.FrontendFrameDecoder;
import dev.warden.pg.message.BackendMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What a client costs before it has logged in, kept apart from what logged-in sessions may use.
 *
 * <ul>
 *   <li>Connections that have not logged in yet share a pool of {@link #preLoginLimit}
 *       ({@code budgets.pre_login.connections}; by default a quarter of {@code listen.max_connections}, at least
 *       64), of which one client address (an IPv6 client's /64, {@link #clientNetwork}) may hold
 *       {@link #perAddressLimit} ({@code budgets.pre_login.per_address};
 *       by default a quarter of the pool, at least 16). Beyond its address's share a new connection is told
 *       53300 and closed at once. When the whole pool is taken, a new connection from an address holding fewer
 *       than the address holding most displaces that address's oldest waiting connection (told 53300 and
 *       closed) instead of being refused: idle sockets from a few hosts (four shares fill the pool) cannot keep
 *       everyone else from logging in. The startup timeout bounds how long any of them lasts.</li>
 *   <li>{@code max_connections} counts logged-in sessions only ({@link #loginsFull}), so it is the pool the
 *       pre-login flood cannot reach.</li>
 *   <li>Before login the frame decoder accepts messages of at most {@code budgets.pre_login.max_message_bytes}
 *       (16 KB by default: a password message carries a token); the configured {@code max_message_bytes} applies once logged in.
 *       A client announcing a 64 MiB password message is refused when its five-byte header arrives.</li>
 * </ul>
 * Login is recognised where it is decided: the session's {@code AuthenticationOk} going out. Then the per
 * channel handler raises the decoder's limit and leaves the pipeline, so logged-in traffic pays nothing.
 */
public final class ConnectionBudget {

    private static final AttributeKey<Slot> SLOT = AttributeKey.valueOf("warden.connection-budget");

    private final Supplier<Policy> policy;
    private final AtomicInteger loggedIn = new AtomicInteger();
    /** Connections waiting to log in, by client address, oldest first; guarded by itself. */
    private final Map<InetAddress, ArrayDeque<Slot>> waiting = new HashMap<>();
    private volatile int preLogin;

    /** @param policy the policy in force: its {@code listen.max_connections} and {@code budgets.pre_login} */
    public ConnectionBudget(Supplier<Policy> policy) {
        this.policy = policy;
    }

    int preLoginLimit() {
        Policy p = policy.get();
        return p.budgets().preLoginConnections(p.listen().maxConnections());
    }

    int perAddressLimit() {
        Policy p = policy.get();
        return p.budgets().preLoginPerAddress(p.listen().maxConnections());
    }

    /**
     * What a client's pre-login share is counted by: its IPv4 address, or the /64 prefix of its IPv6 address. One
     * IPv6 host is routinely given a whole /64 (SLAAC, privacy addresses), so counting its addresses one by one would
     * let one host take the whole pool.
     */
    public static InetAddress clientNetwork(InetAddress address) {
        if (!(address instanceof java.net.Inet6Address)) {
            return address;
        }
        byte[] bytes = address.getAddress();
        java.util.Arrays.fill(bytes, 8, 16, (byte) 0);
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("16 bytes are an IPv6 address", e);
        }
    }

    public int loggedIn() {
        return loggedIn.get();
    }

    public int preLogin() {
        return preLogin;
    }

    /** The handler to put first in a new client channel's pipeline. */
    public ChannelDuplexHandler newHandler(int maxMessageBytes) {
        return new Gate(maxMessageBytes);
    }

    /**
     * Whether {@code max_connections} logged-in sessions already exist, so the client on {@code channel}
     * (about to log in) must be refused with 53300. False for channels without a budget (tests of the session
     * alone).
     */
    public static boolean loginsFull(Channel channel, int maxConnections) {
        Slot slot = channel.attr(SLOT).get();
        return slot != null && slot.budget.loggedIn.get() >= maxConnections;
    }

    /** Whether the budget refused the client on {@code channel} (53300), which is then being closed. */
    public static boolean refused(Channel channel) {
        Slot slot = channel.attr(SLOT).get();
        return slot != null && slot.refused;
    }

    /** Where one channel stands; read by {@link #loginsFull} and by the close listener. */
    private static final class Slot {
        final ConnectionBudget budget;
        final Channel channel;
        final InetAddress address;
        boolean admitted;
        boolean loggedIn;
        /**
         * Refused (53300): nothing it sends is read any more. On io_uring the refusal's close waits for its write to
         * complete, and a receive already submitted (or the peer's half-close) may still deliver bytes meanwhile;
         * read on the token-check threads too.
         */
        volatile boolean refused;

        Slot(ConnectionBudget budget, Channel channel, InetAddress address) {
            this.budget = budget;
            this.channel = channel;
            this.address = address;
        }

        void release() {
            if (loggedIn) {
                budget.loggedIn.decrementAndGet();
            } else if (admitted) {
                budget.leavePreLogin(this);
            }
        }
    }

    /**
     * Admits {@code slot} to the pre-login pool: within its address's share, and, when the pool is full, in place of
     * the oldest waiting connection of the address holding most, if that address holds more than {@code slot}'s
     * will. Event loops of every channel call it, so the pool is guarded by one lock (one short walk over the
     * addresses waiting, at most the pool's size, when the pool is full).
     */
    private boolean tryEnterPreLogin(Slot slot) {
        Slot displaced = null;
        synchronized (waiting) {
            ArrayDeque<Slot> mine = waiting.get(slot.address);
            int held = mine == null ? 0 : mine.size();
            if (held >= perAddressLimit()) {
                return false;
            }
            if (preLogin >= preLoginLimit()) {
                ArrayDeque<Slot> most = null;
                for (ArrayDeque<Slot> queue : waiting.values()) {
                    if (most == null || queue.size() > most.size()) {
                        most = queue;
                    }
                }
                if (most == null || most.size() <= held + 1) {
                    return false;
                }
                displaced = most.pollFirst();
                if (most.isEmpty()) {
                    waiting.remove(displaced.address);
                }
                preLogin--;
            }
            waiting.computeIfAbsent(slot.address, a -> new ArrayDeque<>()).addLast(slot);
            preLogin++;
        }
        if (displaced != null) {
            Slot gone = displaced;
            gone.channel.eventLoop().execute(() -> refuse(gone.channel, "sorry, too many connections waiting to log "
                    + "in; this one waited longest from the address holding most: try again shortly"));
        }
        return true;
    }

    /** Leaves the pool (logged in, or closed); false when it was no longer in it (displaced). */
    private boolean leavePreLogin(Slot slot) {
        synchronized (waiting) {
            ArrayDeque<Slot> queue = waiting.get(slot.address);
            if (queue == null || !queue.remove(slot)) {
                return false;
            }
            if (queue.isEmpty()) {
                waiting.remove(slot.address);
            }
            preLogin--;
            return true;
        }
    }

    private static void refuse(Channel channel, String message) {
        Slot slot = channel.attr(SLOT).get();
        if (slot != null) {
            slot.refused = true;
        }
        if (!channel.isActive()) {
            return;
        }
        FlowControl.of(channel).holdClient(FlowControl.ClientHold.REFUSED, true);
        channel.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", SqlState.TOO_MANY_CONNECTIONS, message, null,
                null).toByteBuf(channel.alloc())).addListener(ChannelFutureListener.CLOSE);
    }

    /** One per client channel, until it logs in. */
    private final class Gate extends ChannelDuplexHandler {
        private final int maxMessageBytes;

        Gate(int maxMessageBytes) {
            this.maxMessageBytes = maxMessageBytes;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            InetAddress address = ctx.channel().remoteAddress() instanceof InetSocketAddress a
                    ? clientNetwork(a.getAddress()) : null;
            Slot slot = new Slot(ConnectionBudget.this, ctx.channel(), address);
            ctx.channel().attr(SLOT).set(slot);
            slot.admitted = address != null && tryEnterPreLogin(slot);
            ctx.channel().closeFuture().addListener(f -> ctx.channel().eventLoop().execute(slot::release));
            super.channelActive(ctx);
            if (!slot.admitted) {
                refuse(ctx.channel(), "sorry, too many connections waiting to log in (from this address or in all); "
                        + "try again shortly");
            }
        }

        /** What a refused client sends is dropped here, before any frame of it is decoded. */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            Slot slot = ctx.channel().attr(SLOT).get();
            if (slot != null && slot.refused) {
                io.netty.util.ReferenceCountUtil.release(msg);
                return;
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            boolean login = msg instanceof ByteBuf buf && isAuthenticationOk(buf);
            super.write(ctx, msg, promise);
            if (login) {
                Slot slot = ctx.channel().attr(SLOT).get();
                if (slot.admitted && !slot.loggedIn && leavePreLogin(slot)) {
                    slot.loggedIn = true;
                    loggedIn.incrementAndGet();
                }
                FrontendFrameDecoder frames = ctx.pipeline().get(FrontendFrameDecoder.class);
                if (frames != null) {
                    frames.limitMessageBytes(maxMessageBytes);
                }
                ctx.pipeline().remove(this);
            }
        }

        /** {@code R}, length 8, code 0: the server's word that the client is in. */
        private static boolean isAuthenticationOk(ByteBuf buf) {
            int i = buf.readerIndex();
            return buf.readableBytes() >= 9 && buf.getByte(i) == 'R' && buf.getInt(i + 1) == 8
                    && buf.getInt(i + 5) == 0;
        }
    }
}
