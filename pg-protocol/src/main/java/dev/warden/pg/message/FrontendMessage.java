package dev.warden.pg.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Typed messages a client sends after the startup packet. Records holding {@code byte[]} do not copy them
 * and compare them by reference; compare encodings when equality matters.
 */
public sealed interface FrontendMessage {

    /** Writes the whole message: type byte, length, body. */
    void writeTo(ByteBuf out);

    default ByteBuf toByteBuf(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer();
        writeTo(out);
        return out;
    }

    /**
     * Decodes one whole frame (type byte, length, body) as emitted by {@code FrontendFrameDecoder}. Does not
     * move the frame's readerIndex, so the same frame can still be relayed.
     *
     * <p>'p' is ambiguous on the wire (password, SASL initial response, SASL response, GSS data: only the
     * authentication exchange in progress tells them apart), so it decodes to an {@link AuthenticationResponse}
     * holding the raw body.
     */
    static FrontendMessage decode(ByteBuf frame) {
        WireReader r = WireReader.ofTypedFrame(frame, "frontend");
        char type = (char) (frame.getByte(frame.readerIndex()) & 0xFF);
        FrontendMessage message = switch (type) {
            case 'Q' -> new Query(r.readCString("query string"));
            case 'P' -> {
                String statement = r.readCString("statement name");
                String sql = r.readCString("query string");
                int n = r.readCount16("parameter type count");
                int[] types = new int[Math.min(n, r.remaining() / 4 + 1)];
                for (int i = 0; i < n; i++) {
                    int oid = r.readInt("parameter type"); // (fails past the message's end before the array)
                    types[i] = oid;
                }
                yield new Parse(statement, sql, OidList.wrap(types));
            }
            case 'B' -> new Bind(r.readCString("portal name"), r.readCString("statement name"),
                    r.readShorts("parameter format"), r.readNullableValues("parameter"),
                    r.readShorts("result format"));
            case 'D' -> new Describe(readKind(r), r.readCString("name"));
            case 'E' -> new Execute(r.readCString("portal name"), r.readInt("row limit"));
            case 'S' -> new Sync();
            case 'H' -> new Flush();
            case 'C' -> new Close(readKind(r), r.readCString("name"));
            case 'd' -> new CopyData(r.readRest());
            case 'c' -> new CopyDone();
            case 'f' -> new CopyFail(r.readCString("error message"));
            case 'F' -> new FunctionCall(r.readInt("function oid"), r.readShorts("argument format"),
                    r.readNullableValues("argument"), r.readShort("result format"));
            case 'X' -> new Terminate();
            case 'p' -> new AuthenticationResponse(r.readRest());
            default -> throw WireReader.violation(
                    String.format("unknown frontend message type 0x%02x", (int) type));
        };
        r.expectEnd();
        return message;
    }

    private static char readKind(WireReader r) {
        char kind = (char) (r.readByte("kind") & 0xFF);
        if (kind != 'S' && kind != 'P') {
            throw WireReader.violation("invalid kind " + WireReader.typeName(kind) + " in " + r.what()
                    + ", expected 'S' or 'P'");
        }
        return kind;
    }

    /** Simple-protocol query; may hold several statements. */
    record Query(String sql) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'Q');
            WireWriter.cstring(out, sql);
            WireWriter.end(out, at);
        }
    }

    /** Parameter type OIDs; 0 means "let the server infer". */
    record Parse(String statement, String sql, List<Integer> parameterTypes) implements FrontendMessage {
        public Parse {
            parameterTypes = OidList.of(parameterTypes);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'P');
            WireWriter.cstring(out, statement);
            WireWriter.cstring(out, sql);
            out.writeShort(parameterTypes.size());
            for (int oid : parameterTypes) {
                out.writeInt(oid);
            }
            WireWriter.end(out, at);
        }
    }

    /** A null element of {@code parameters} is SQL NULL. */
    record Bind(String portal, String statement, List<Short> parameterFormats, List<byte[]> parameters,
                List<Short> resultFormats) implements FrontendMessage {
        public Bind {
            parameterFormats = List.copyOf(parameterFormats);
            parameters = ImmutableLists.copyAllowingNulls(parameters);
            resultFormats = List.copyOf(resultFormats);
        }

        /** What a relay needs from a Bind: which portal, which statement, which result formats. */
        public record Target(String portal, String statement, List<Short> resultFormats) {
        }

        /**
         * Reads a Bind frame's names and result formats, stepping over the parameter values without copying
         * them: the relay sees every Bind, and parameters can be large. Validates the frame like decode.
         */
        public static Target target(ByteBuf frame) {
            WireReader r = WireReader.ofTypedFrame(frame, "frontend");
            String portal = r.readCString("portal name");
            String statement = r.readCString("statement name");
            r.readShorts("parameter format");
            r.skipNullableValues("parameter");
            List<Short> resultFormats = List.copyOf(r.readShorts("result format"));
            r.expectEnd();
            return new Target(portal, statement, resultFormats);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'B');
            WireWriter.cstring(out, portal);
            WireWriter.cstring(out, statement);
            WireWriter.shorts(out, parameterFormats);
            WireWriter.nullableValues(out, parameters);
            WireWriter.shorts(out, resultFormats);
            WireWriter.end(out, at);
        }
    }

    /** {@code kind} is 'S' (prepared statement) or 'P' (portal). */
    record Describe(char kind, String name) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'D');
            out.writeByte(kind);
            WireWriter.cstring(out, name);
            WireWriter.end(out, at);
        }
    }

    /** {@code maxRows} 0 means no limit. */
    record Execute(String portal, int maxRows) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'E');
            WireWriter.cstring(out, portal);
            out.writeInt(maxRows);
            WireWriter.end(out, at);
        }
    }

    record Sync() implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'S'));
        }
    }

    record Flush() implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'H'));
        }
    }

    /** {@code kind} is 'S' (prepared statement) or 'P' (portal). */
    record Close(char kind, String name) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'C');
            out.writeByte(kind);
            WireWriter.cstring(out, name);
            WireWriter.end(out, at);
        }
    }

    record CopyData(byte[] data) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'd');
            out.writeBytes(data);
            WireWriter.end(out, at);
        }
    }

    record CopyDone() implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'c'));
        }
    }

    record CopyFail(String message) implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'f');
            WireWriter.cstring(out, message);
            WireWriter.end(out, at);
        }
    }

    /** A null element of {@code arguments} is SQL NULL. */
    record FunctionCall(int functionOid, List<Short> argumentFormats, List<byte[]> arguments, short resultFormat)
            implements FrontendMessage {
        public FunctionCall {
            argumentFormats = List.copyOf(argumentFormats);
            arguments = ImmutableLists.copyAllowingNulls(arguments);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'F');
            out.writeInt(functionOid);
            WireWriter.shorts(out, argumentFormats);
            WireWriter.nullableValues(out, arguments);
            out.writeShort(resultFormat);
            WireWriter.end(out, at);
        }
    }

    record Terminate() implements FrontendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'X'));
        }
    }

    /**
     * Any 'p' message: PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse. {@code data} is the
     * raw body; the accessor that applies depends on which authentication request was sent.
     */
    record AuthenticationResponse(byte[] data) implements FrontendMessage {

        /** Body of a PasswordMessage (cleartext password or "md5..." hash), as an answer to that request. */
        public static AuthenticationResponse password(String password) {
            if (password.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("password contains a zero byte");
            }
            byte[] text = password.getBytes(StandardCharsets.UTF_8);
            byte[] body = new byte[text.length + 1];
            System.arraycopy(text, 0, body, 0, text.length);
            return new AuthenticationResponse(body);
        }

        /** SASLInitialResponse: mechanism name, int32 length of the client-first message, the message. */
        public static AuthenticationResponse saslInitial(String mechanism, byte[] clientFirst) {
            byte[] name = mechanism.getBytes(StandardCharsets.UTF_8);
            int dataLength = clientFirst == null ? 0 : clientFirst.length;
            byte[] body = new byte[name.length + 1 + 4 + dataLength];
            System.arraycopy(name, 0, body, 0, name.length);
            int at = name.length + 1;
            int len = clientFirst == null ? -1 : clientFirst.length;
            body[at] = (byte) (len >>> 24);
            body[at + 1] = (byte) (len >>> 16);
            body[at + 2] = (byte) (len >>> 8);
            body[at + 3] = (byte) len;
            if (clientFirst != null) {
                System.arraycopy(clientFirst, 0, body, at + 4, clientFirst.length);
            }
            return new AuthenticationResponse(body);
        }

        /** SASLResponse: the body is the mechanism's message itself. */
        public static AuthenticationResponse saslResponse(byte[] data) {
            return new AuthenticationResponse(data.clone());
        }

        /**
         * The body read as a PasswordMessage: UTF-8 up to the terminating zero.
         *
         * @throws dev.warden.pg.ProtocolException if the body has no terminator or bytes after it
         */
        public String password() {
            int zero = -1;
            for (int i = 0; i < data.length; i++) {
                if (data[i] == 0) {
                    zero = i;
                    break;
                }
            }
            if (zero < 0) {
                throw WireReader.violation("missing string terminator for password in message type 'p'");
            }
            if (zero != data.length - 1) {
                throw WireReader.violation((data.length - 1 - zero)
                        + " unexpected trailing bytes in message type 'p'");
            }
            return new String(data, 0, zero, StandardCharsets.UTF_8);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'p');
            out.writeBytes(data);
            WireWriter.end(out, at);
        }
    }
}
