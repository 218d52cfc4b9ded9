package dev.warden.proxy.session;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.util.EnumSet;
import java.util.Set;

/**
 * The one owner of {@code autoRead} for the whole life of a client channel, and of its upstream channel once the
 * session is READY. Each side stops being read for named reasons and is read again only when none is left, so
 * two parts of Warden can never undo each other's pause:
 * <ul>
 *   <li>the client, while its login is being decided ({@link ClientHold#LOGIN}: the token is validated and the
 *       upstream connected off the loop), once the pre-login budget refused it ({@link ClientHold#REFUSED}, for
 *       good), while Warden holds a lot of its pipelined frames ({@link ClientHold#BACKLOG}) or the upstream
 *       cannot take more ({@link ClientHold#UPSTREAM_UNWRITABLE});</li>
 *   <li>the upstream, while a result waits for its columns to be resolved ({@link UpstreamHold#RESOLVING}) or
 *       the client cannot take more ({@link UpstreamHold#CLIENT_UNWRITABLE}: backpressure, so a slow client
 *       never makes Warden buffer a whole result).</li>
 * </ul>
 * Found through the client channel ({@link #of}), created by the first handler that needs it. Event loop only.
 */
final class FlowControl {

    /** Why the client's channel is not read. */
    enum ClientHold { LOGIN, REFUSED, BACKLOG, UPSTREAM_UNWRITABLE }

    /** Why the upstream channel is not read. */
    enum UpstreamHold { RESOLVING, CLIENT_UNWRITABLE }

    private static final AttributeKey<FlowControl> KEY = AttributeKey.valueOf("warden.flow-control");

    private final Channel client;
    private Channel upstream;
    private final Set<ClientHold> clientHolds = EnumSet.noneOf(ClientHold.class);
    private final Set<UpstreamHold> upstreamHolds = EnumSet.noneOf(UpstreamHold.class);

    private FlowControl(Channel client) {
        this.client = client;
    }

    /** The flow control of {@code client}'s channel (made on first use). */
    static FlowControl of(Channel client) {
        FlowControl existing = client.attr(KEY).get();
        if (existing != null) {
            return existing;
        }
        FlowControl made = new FlowControl(client);
        client.attr(KEY).set(made);
        return made;
    }

    /** The session is READY: its upstream channel is read as this flow control says from now on. */
    void attachUpstream(Channel channel) {
        upstream = channel;
        apply();
    }

    void holdClient(ClientHold reason, boolean hold) {
        if (hold ? clientHolds.add(reason) : clientHolds.remove(reason)) {
            apply();
        }
    }

    void holdUpstream(UpstreamHold reason, boolean hold) {
        if (hold ? upstreamHolds.add(reason) : upstreamHolds.remove(reason)) {
            apply();
        }
    }

    /** Warden holds more of the client's frames than it wants to (they wait for a statement's gate). */
    void clientBacklog(boolean full) {
        holdClient(ClientHold.BACKLOG, full);
    }

    void upstreamWritable(boolean writable) {
        holdClient(ClientHold.UPSTREAM_UNWRITABLE, !writable);
    }

    void clientWritable(boolean writable) {
        holdUpstream(UpstreamHold.CLIENT_UNWRITABLE, !writable);
    }

    /** Responses wait (their columns are being resolved): stop reading more of them. */
    void pauseResponses(boolean paused) {
        holdUpstream(UpstreamHold.RESOLVING, paused);
    }

    boolean responsesPaused() {
        return upstreamHolds.contains(UpstreamHold.RESOLVING);
    }

    private void apply() {
        set(client, clientHolds.isEmpty());
        if (upstream != null) {
            set(upstream, upstreamHolds.isEmpty());
        }
    }

    private static void set(Channel channel, boolean read) {
        if (channel.isActive() && channel.config().isAutoRead() != read) {
            channel.config().setAutoRead(read);
        }
    }
}
