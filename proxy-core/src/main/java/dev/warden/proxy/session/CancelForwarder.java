package dev.warden.proxy.session;

import dev.warden.pg.message.StartupPacket.CancelRequest;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's CancelRequest: Warden's own key is mapped to the upstream's, and the request is sent to the
 * upstream server on a new connection, as the protocol wants. A session waiting for an approval withdraws it.
 */
final class CancelForwarder {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    private CancelForwarder() {
    }

    static void forward(CancelRegistry cancels, CancelRequest cancel, Channel from, String sessionId,
                        dev.warden.proxy.upstream.UpstreamConnector upstreams) {
        cancels.cancelLocally(cancel.processId(), cancel.secretKey());
        cancels.lookup(cancel.processId(), cancel.secretKey()).ifPresentOrElse(target -> {
            send(target, from, sessionId, upstreams);
            log.info("cancel.forwarded session={} upstream={}", sessionId, target.upstream());
        }, () -> log.info("cancel.unknown_key session={}", sessionId));
    }

    /** Sends a CancelRequest for {@code target}'s backend on a new connection to its server. */
    static void send(CancelRegistry.Target target, Channel from, String sessionId,
                     dev.warden.proxy.upstream.UpstreamConnector upstreams) {
        new Bootstrap().group(from.eventLoop()).channel(from.getClass())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .resolver(upstreams.resolverFor(target.upstream().getHostString()))
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.upstream().getHostString(), target.upstream().getPort())
                .addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        f.channel().writeAndFlush(new CancelRequest(target.processId(), target.secretKey())
                                .toByteBuf(f.channel().alloc())).addListener(ChannelFutureListener.CLOSE);
                    } else {
                        log.warn("cancel.failed session={} reason=\"{}\"", sessionId,
                                ClientErrors.describeConnectFailure(f.cause()));
                    }
                });
    }
}
