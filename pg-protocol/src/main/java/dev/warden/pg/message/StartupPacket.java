package dev.warden.pg.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The untyped packets a client may send before its first typed message: int32 length (counting itself),
 * int32 code, body. The code distinguishes a protocol version from the SSL, GSSAPI-encryption and cancel
 * requests.
 */
public sealed interface StartupPacket {
    /** Protocol 3.0 as sent in a StartupMessage: major 3 in the high 16 bits, minor 0. */
    int PROTOCOL_3_0 = 196608;
    int CANCEL_REQUEST_CODE = 80877102;
    int SSL_REQUEST_CODE = 80877103;
    int GSSENC_REQUEST_CODE = 80877104;
    /** PostgreSQL's MAX_STARTUP_PACKET_LENGTH; longer packets are refused before being buffered. */
    int MAX_LENGTH = 10000;
    int MIN_LENGTH = 8;

    /** Writes the whole packet, length included. */
    void writeTo(ByteBuf out);

    default ByteBuf toByteBuf(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer();
        writeTo(out);
        return out;
    }

    /**
     * Decodes one whole packet (length included) between readerIndex and writerIndex without moving the
     * readerIndex. A StartupMessage whose major version is not 3 is returned with no parameters (its body
     * layout is unknown), so the caller can answer "unsupported frontend protocol" itself.
     */
    static StartupPacket decode(ByteBuf packet) {
        int start = packet.readerIndex();
        int size = packet.readableBytes();
        if (size < MIN_LENGTH) {
            throw WireReader.violation("invalid startup packet length " + size);
        }
        int length = packet.getInt(start);
        if (length != size) {
            throw WireReader.violation("invalid startup packet length " + length + " (packet holds " + size + ")");
        }
        int code = packet.getInt(start + 4);
        int end = start + size;
        switch (code) {
            case SSL_REQUEST_CODE:
                requireLength(length, 8, "SSL request");
                return new SslRequest();
            case GSSENC_REQUEST_CODE:
                requireLength(length, 8, "GSSAPI encryption request");
                return new GssEncRequest();
            case CANCEL_REQUEST_CODE:
                // Protocol 3.2 allows longer secret keys; Warden speaks 3.0 to clients, so exactly 16 bytes.
                requireLength(length, 16, "cancel request");
                return new CancelRequest(packet.getInt(start + 8), packet.getInt(start + 12));
            default:
                if (code >>> 16 != 3) {
                    return new StartupMessage(code, Map.of());
                }
                WireReader body = WireReader.ofUntypedPacket(packet, start + 8, end, "startup packet");
                return new StartupMessage(code, readParameters(body));
        }
    }

    private static void requireLength(int length, int expected, String what) {
        if (length != expected) {
            throw WireReader.violation("invalid " + what + " length " + length + ", expected " + expected);
        }
    }

    private static Map<String, String> readParameters(WireReader body) {
        Map<String, String> params = new LinkedHashMap<>();
        while (true) {
            if (body.remaining() == 0) {
                throw WireReader.violation("startup packet is missing its final terminator");
            }
            String name = body.readCString("parameter name");
            if (name.isEmpty()) {
                break;
            }
            String value = body.readCString("value of parameter \"" + name + "\"");
            // Refused rather than "last one wins": the proxy checks the user it sees, and two readers of
            // the same packet must never disagree about who is connecting.
            if (params.putIfAbsent(name, value) != null) {
                throw WireReader.violation("duplicate startup parameter \"" + name + "\"");
            }
        }
        if (body.remaining() != 0) {
            throw WireReader.violation(body.remaining() + " unexpected bytes after the startup parameters");
        }
        return params;
    }

    /** Connection start: protocol version and parameters such as user, database, application_name. */
    record StartupMessage(int protocolVersion, Map<String, String> parameters) implements StartupPacket {
        public StartupMessage {
            parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        /** A protocol 3.0 startup message. */
        public static StartupMessage of(Map<String, String> parameters) {
            return new StartupMessage(PROTOCOL_3_0, parameters);
        }

        public int majorVersion() {
            return protocolVersion >>> 16;
        }

        public int minorVersion() {
            return protocolVersion & 0xFFFF;
        }

        public String user() {
            return parameters.get("user");
        }

        /** Null when absent; PostgreSQL then defaults the database to the user name. */
        public String database() {
            return parameters.get("database");
        }

        @Override
        public void writeTo(ByteBuf out) {
            int lengthIndex = out.writerIndex();
            out.writeInt(0);
            out.writeInt(protocolVersion);
            parameters.forEach((name, value) -> {
                WireWriter.cstring(out, name);
                WireWriter.cstring(out, value);
            });
            out.writeByte(0);
            out.setInt(lengthIndex, out.writerIndex() - lengthIndex);
        }
    }

    record SslRequest() implements StartupPacket {
        @Override
        public void writeTo(ByteBuf out) {
            out.writeInt(8);
            out.writeInt(SSL_REQUEST_CODE);
        }
    }

    record GssEncRequest() implements StartupPacket {
        @Override
        public void writeTo(ByteBuf out) {
            out.writeInt(8);
            out.writeInt(GSSENC_REQUEST_CODE);
        }
    }

    record CancelRequest(int processId, int secretKey) implements StartupPacket {
        @Override
        public void writeTo(ByteBuf out) {
            out.writeInt(16);
            out.writeInt(CANCEL_REQUEST_CODE);
            out.writeInt(processId);
            out.writeInt(secretKey);
        }
    }
}
