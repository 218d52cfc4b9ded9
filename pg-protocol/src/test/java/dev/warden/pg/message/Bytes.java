package dev.warden.pg.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;

/** Test helpers: encode a message to hex, build buffers from hex. */
final class Bytes {
    private Bytes() {
    }

    static String hexOf(FrontendMessage m) {
        ByteBuf out = Unpooled.buffer();
        m.writeTo(out);
        return hexAndRelease(out);
    }

    static String hexOf(BackendMessage m) {
        ByteBuf out = Unpooled.buffer();
        m.writeTo(out);
        return hexAndRelease(out);
    }

    static String hexOf(StartupPacket m) {
        ByteBuf out = Unpooled.buffer();
        m.writeTo(out);
        return hexAndRelease(out);
    }

    private static String hexAndRelease(ByteBuf out) {
        try {
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    static ByteBuf fromHex(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex.replace(" ", "")));
    }

    static String ascii(String s) {
        return HexFormat.of().formatHex(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
