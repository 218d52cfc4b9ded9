package dev.warden.pg.codec;

import dev.warden.pg.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the upstream server's byte stream into frames. Emits each whole message (type byte, length, body)
 * as a retained slice of the input; the receiver releases it. After a {@link ProtocolException} the rest of
 * the stream is dropped: once framing is lost nothing after it can be trusted.
 */
public final class BackendFrameDecoder extends ByteToMessageDecoder {
    private static final String BACKEND_TYPES = "RK23CdcGHWDIEVvnNAtS1sZT";

    private final TypedFrameSplitter splitter;
    private boolean failed;

    public BackendFrameDecoder(int maxMessageBytes) {
        this.splitter = new TypedFrameSplitter("backend", BACKEND_TYPES, maxMessageBytes);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            ByteBuf frame = splitter.next(in);
            if (frame != null) {
                out.add(frame);
            }
        } catch (ProtocolException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }
}
