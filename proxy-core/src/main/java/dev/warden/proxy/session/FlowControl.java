package dev.warden.proxy.session;

import io.netty.channel.Channel;

/**
 * The one owner of {@code autoRead} on both channels of a READY session. Each side stops being read for named
 * reasons, and is read again only when none is left: the client while Warden holds a lot of its pipelined
 * frames or the upstream cannot take more; the upstream while a result waits for its columns to be resolved
 * or the client cannot take more (backpressure, so a slow client never makes Warden buffer a whole result).
 * Event loop only.
 */
final class FlowControl {

    private final Channel client;
    private final Channel upstream;
    private boolean clientBacklogFull;
    private boolean upstreamUnwritable;
    private boolean responsesPaused;
    private boolean clientUnwritable;

    FlowControl(Channel client, Channel upstream) {
        this.client = client;
        this.upstream = upstream;
    }

    /** Warden holds more of the client's frames than it wants to (they wait for a statement's gate). */
    void clientBacklog(boolean full) {
        clientBacklogFull = full;
        apply();
    }

    void upstreamWritable(boolean writable) {
        upstreamUnwritable = !writable;
        apply();
    }

    void clientWritable(boolean writable) {
        clientUnwritable = !writable;
        apply();
    }

    /** Responses wait (their columns are being resolved): stop reading more of them. */
    void pauseResponses(boolean paused) {
        responsesPaused = paused;
        apply();
    }

    boolean responsesPaused() {
        return responsesPaused;
    }

    private void apply() {
        set(client, !(clientBacklogFull || upstreamUnwritable));
        set(upstream, !(responsesPaused || clientUnwritable));
    }

    private static void set(Channel channel, boolean read) {
        if (channel.isActive() && channel.config().isAutoRead() != read) {
            channel.config().setAutoRead(read);
        }
    }
}
