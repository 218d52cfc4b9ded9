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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What a client costs before it has logged in, kept apart from what logged-in sessions may use.
 *
 * <ul>
 *   <li>Connections that have not logged in yet share a pool of {@link #preLoginLimit}
 *       ({@code budgets.pre_login.connections}; by default a quarter of {@code listen.max_connections}, at least
 *       64), of which one client address may hold {@link #perAddressLimit} ({@code budgets.pre_login.per_address};
 *       by default a quarter of the pool, at least 16). Beyond that a new connection is told
 *       53300 and closed at once. Idle sockets from one host therefore cannot take the slots of people
 *       logging in from elsewhere; the startup timeout bounds how long any of them lasts.</li>
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
    private final AtomicInteger preLogin = new AtomicInteger();
    private final AtomicInteger loggedIn = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> preLoginByAddress = new ConcurrentHashMap<>();

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

    public int loggedIn() {
        return loggedIn.get();
    }

    public int preLogin() {
        return preLogin.get();
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

    /** Where one channel stands; read by {@link #loginsFull} and by the close listener. */
    private static final class Slot {
        final ConnectionBudget budget;
        final InetAddress address;
        boolean admitted;
        boolean loggedIn;

        Slot(ConnectionBudget budget, InetAddress address) {
            this.budget = budget;
            this.address = address;
        }

        void release() {
            if (loggedIn) {
                budget.loggedIn.decrementAndGet();
            } else if (admitted) {
                budget.leavePreLogin(address);
            }
        }
    }

    private boolean tryEnterPreLogin(InetAddress address) {
        if (preLogin.incrementAndGet() > preLoginLimit()) {
            preLogin.decrementAndGet();
            return false;
        }
        AtomicInteger mine = preLoginByAddress.computeIfAbsent(address, a -> new AtomicInteger());
        if (mine.incrementAndGet() > perAddressLimit()) {
            mine.decrementAndGet();
            preLogin.decrementAndGet();
            return false;
        }
        return true;
    }

    private void leavePreLogin(InetAddress address) {
        preLogin.decrementAndGet();
        preLoginByAddress.computeIfPresent(address, (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** One per client channel, until it logs in. */
    private final class Gate extends ChannelDuplexHandler {
        private final int maxMessageBytes;

        Gate(int maxMessageBytes) {
            this.maxMessageBytes = maxMessageBytes;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            InetAddress address = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            Slot slot = new Slot(ConnectionBudget.this, address);
            ctx.channel().attr(SLOT).set(slot);
            slot.admitted = address != null && tryEnterPreLogin(address);
            ctx.channel().closeFuture().addListener(f -> ctx.channel().eventLoop().execute(slot::release));
            super.channelActive(ctx);
            if (!slot.admitted) {
                FlowControl.of(ctx.channel()).holdClient(FlowControl.ClientHold.REFUSED, true);
                ctx.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", SqlState.TOO_MANY_CONNECTIONS,
                        "sorry, too many connections waiting to log in (from this address or in all); "
                                + "try again shortly", null, null).toByteBuf(ctx.alloc()))
                        .addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            boolean login = msg instanceof ByteBuf buf && isAuthenticationOk(buf);
            super.write(ctx, msg, promise);
            if (login) {
                Slot slot = ctx.channel().attr(SLOT).get();
                if (slot.admitted && !slot.loggedIn) {
                    slot.loggedIn = true;
                    leavePreLogin(slot.address);
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
