package dev.warden.pg.message;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encoding helpers shared by every message: header with back-patched length, C strings, value lists. */
final class WireWriter {
    private WireWriter() {
    }

    /** Writes the type byte and a length placeholder; returns the index of the length field. */
    static int begin(ByteBuf out, char type) {
        out.writeByte(type);
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        return lengthIndex;
    }

    /** Back-patches the length (which counts itself but not the type byte). */
    static void end(ByteBuf out, int lengthIndex) {
        out.setInt(lengthIndex, out.writerIndex() - lengthIndex);
    }

    static void cstring(ByteBuf out, String s) {
        cstring(out, s, StandardCharsets.UTF_8);
    }

    static void cstring(ByteBuf out, String s, java.nio.charset.Charset charset) {
        // A zero byte inside would end the string early and desynchronise the peer's parser.
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("string to encode contains a zero byte");
        }
        out.writeCharSequence(s, charset);
        out.writeByte(0);
    }

    static void shorts(ByteBuf out, List<Short> values) {
        out.writeShort(values.size());
        for (short v : values) {
            out.writeShort(v);
        }
    }

    static void nullableValue(ByteBuf out, byte[] value) {
        if (value == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(value.length);
            out.writeBytes(value);
        }
    }

    static void nullableValues(ByteBuf out, List<byte[]> values) {
        out.writeShort(values.size());
        for (byte[] v : values) {
            nullableValue(out, v);
        }
    }
}
