package dev.warden.pg.codec;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.StartupPacket;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a client's byte stream. Starts in the startup phase and emits decoded {@link StartupPacket}s; after
 * a {@link StartupPacket.StartupMessage} it emits each typed message whole (type byte, length, body) as a
 * retained slice of the input, which the receiver releases.
 *
 * <p>Limits it enforces: startup packets of 8..10000 bytes; nothing may follow an SSL or GSSAPI-encryption
 * request in the same read (such bytes were sent in plaintext before the handshake and must never be
 * processed); after a CancelRequest the connection has no further use and input is dropped. After a
 * {@link ProtocolException} all further input is dropped so one error cannot cascade into others.
 */
public final class FrontendFrameDecoder extends ByteToMessageDecoder {
    private static final String FRONTEND_TYPES = "BCcdDEHFPpQSXf";

    private enum Phase { STARTUP, TYPED, DISCARD }

    private final TypedFrameSplitter splitter;
    private Phase phase = Phase.STARTUP;

    public FrontendFrameDecoder(int maxMessageBytes) {
        this.splitter = new TypedFrameSplitter("frontend", FRONTEND_TYPES, maxMessageBytes);
    }

    /**
     * The largest typed message accepted from now on: a server may start low (before authentication, only a
     * password message is expected) and raise it once the client has logged in. Call on the channel's loop.
     */
    public void limitMessageBytes(int max) {
        splitter.limitMessageBytes(max);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            switch (phase) {
                case STARTUP -> decodeStartup(in, out);
                case TYPED -> {
                    ByteBuf frame = splitter.next(in);
                    if (frame != null) {
                        out.add(frame);
                    }
                }
                case DISCARD -> in.skipBytes(in.readableBytes());
            }
        } catch (ProtocolException e) {
            phase = Phase.DISCARD;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    private void decodeStartup(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int start = in.readerIndex();
        int length = in.getInt(start);
        if (length < StartupPacket.MIN_LENGTH || length > StartupPacket.MAX_LENGTH) {
            throw new ProtocolException(SqlState.PROTOCOL_VIOLATION, "invalid startup packet length " + length);
        }
        if (in.readableBytes() < length) {
            return;
        }
        StartupPacket packet = StartupPacket.decode(in.slice(start, length));
        in.skipBytes(length);
        if (packet instanceof StartupPacket.SslRequest) {
            requireNothingBuffered(in, "SSL");
        } else if (packet instanceof StartupPacket.GssEncRequest) {
            requireNothingBuffered(in, "GSSAPI encryption");
        } else if (packet instanceof StartupPacket.StartupMessage) {
            phase = Phase.TYPED;
        } else {
            phase = Phase.DISCARD; // CancelRequest: PostgreSQL closes the connection after it
        }
        out.add(packet);
    }

    /** Checked before emitting the request, so the proxy never starts a handshake over poisoned input. */
    private static void requireNothingBuffered(ByteBuf in, String what) {
        if (in.isReadable()) {
            throw new ProtocolException(SqlState.PROTOCOL_VIOLATION,
                    "received unencrypted data after " + what + " request");
        }
    }
}
