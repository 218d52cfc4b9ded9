package dev.warden.pg.message;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.SqlState;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Bounds-checked reads over one message body. Works on absolute indexes so the caller's buffer keeps its
 * readerIndex (frames are often relayed as-is after being inspected). Every short read becomes a
 * {@link ProtocolException} naming the message and the field instead of an IndexOutOfBoundsException.
 */
final class WireReader {
    private final ByteBuf buf;
    private final String what;
    private int pos;
    private final int end;
    /** How strings are decoded: UTF-8 unless a caller reads text in a session's client_encoding. */
    private java.nio.charset.Charset charset = StandardCharsets.UTF_8;

    /** Reads strings as {@code charset}'s text from here on. */
    WireReader in(java.nio.charset.Charset charset) {
        this.charset = charset;
        return this;
    }

    private WireReader(ByteBuf buf, int start, int end, String what) {
        this.buf = buf;
        this.pos = start;
        this.end = end;
        this.what = what;
    }

    /**
     * Checks the 5-byte header of a whole typed frame (type byte + int32 length) against the frame size and
     * returns a reader over its body.
     */
    static WireReader ofTypedFrame(ByteBuf frame, String side) {
        int start = frame.readerIndex();
        int size = frame.readableBytes();
        if (size < 5) {
            throw violation("truncated " + side + " message: " + size + " bytes, need at least 5");
        }
        char type = (char) (frame.getByte(start) & 0xFF);
        int length = frame.getInt(start + 1);
        if (length != size - 1) {
            throw violation("invalid message length " + length + " for message type " + typeName(type)
                    + " (frame holds " + (size - 1) + ")");
        }
        return new WireReader(frame, start + 5, start + size, messageName(type));
    }

    /** Reader over a startup-phase packet body (after its int32 length). */
    static WireReader ofUntypedPacket(ByteBuf packet, int bodyStart, int end, String what) {
        return new WireReader(packet, bodyStart, end, what);
    }

    static String typeName(char type) {
        return type >= 0x20 && type < 0x7F ? "'" + type + "'" : String.format("0x%02x", (int) type);
    }

    /** Built once: a reader is made per frame, and the name is only read when a frame is malformed. */
    private static final String[] MESSAGE_NAMES = new String[256];

    static {
        for (int t = 0; t < MESSAGE_NAMES.length; t++) {
            MESSAGE_NAMES[t] = "message type " + typeName((char) t);
        }
    }

    private static String messageName(char type) {
        return MESSAGE_NAMES[type & 0xFF];
    }

    static ProtocolException violation(String message) {
        return new ProtocolException(SqlState.PROTOCOL_VIOLATION, message);
    }

    int remaining() {
        return end - pos;
    }

    private void need(int n, String field) {
        need(n, field, "");
    }

    /** {@code field + suffix} names the field; joined only for the error, not on every read. */
    private void need(int n, String field, String suffix) {
        if (n < 0 || end - pos < n) {
            throw violation("truncated " + field + suffix + " in " + what + ": need " + n + " bytes, " + (end - pos)
                    + " left");
        }
    }

    byte readByte(String field) {
        need(1, field);
        return buf.getByte(pos++);
    }

    short readShort(String field) {
        return readShort(field, "");
    }

    private short readShort(String field, String suffix) {
        need(2, field, suffix);
        short v = buf.getShort(pos);
        pos += 2;
        return v;
    }

    int readInt(String field) {
        return readInt(field, "");
    }

    private int readInt(String field, String suffix) {
        need(4, field, suffix);
        int v = buf.getInt(pos);
        pos += 4;
        return v;
    }

    /**
     * An Int16 count, read unsigned as PostgreSQL's {@code pq_getmsgint(msg, 2)} reads it: a Bind may carry up to
     * 65,535 values (read signed, one of more than 32,767 ended the session here and ran on the server).
     */
    int readCount16(String field) {
        return readCount16(field, "");
    }

    /** The count of {@code field}s, named "{@code field} count" in errors. */
    private int readCount16(String field, String suffix) {
        return Short.toUnsignedInt(readShort(field, suffix));
    }

    byte[] readBytes(int n, String field) {
        need(n, field);
        byte[] out = new byte[n];
        buf.getBytes(pos, out);
        pos += n;
        return out;
    }

    byte[] readRest() {
        return readBytes(remaining(), "data");
    }

    String readCString(String field) {
        int zero = buf.indexOf(pos, end, (byte) 0);
        if (zero < 0) {
            throw violation("missing string terminator for " + field + " in " + what);
        }
        String s = buf.toString(pos, zero - pos, charset);
        pos = zero + 1;
        return s;
    }

    /** Int32 length then that many bytes; -1 means SQL NULL (returned as null). */
    byte[] readNullableValue(String field) {
        int len = readInt(field, " length");
        if (len == -1) {
            return null;
        }
        if (len < -1) {
            throw violation("invalid " + field + " length " + len + " in " + what);
        }
        return readBytes(len, field);
    }

    List<Short> readShorts(String field) {
        int n = readCount16(field, " count");
        List<Short> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(readShort(field));
        }
        return out;
    }

    List<byte[]> readNullableValues(String field) {
        int n = readCount16(field, " count");
        List<byte[]> out = new ArrayList<>(Math.min(n, remaining() / 4 + 1));
        for (int i = 0; i < n; i++) {
            out.add(readNullableValue(field));
        }
        return Collections.unmodifiableList(out);
    }

    /** Steps over a counted list of nullable values without copying them. */
    void skipNullableValues(String field) {
        int n = readCount16(field, " count");
        for (int i = 0; i < n; i++) {
            int len = readInt(field, " length");
            if (len < -1) {
                throw violation("invalid " + field + " length " + len + " in " + what);
            }
            if (len > 0) {
                need(len, field);
                pos += len;
            }
        }
    }

    void expectEnd() {
        if (pos != end) {
            throw violation((end - pos) + " unexpected trailing bytes in " + what);
        }
    }

    String what() {
        return what;
    }
}
