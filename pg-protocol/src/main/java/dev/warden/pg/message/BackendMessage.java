package dev.warden.pg.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Typed messages a PostgreSQL server sends. Records are nested here, so {@code BackendMessage.CopyData}
 * and {@code FrontendMessage.CopyData} do not clash. Records holding {@code byte[]} do not copy them and
 * compare them by reference; compare encodings when equality matters.
 */
public sealed interface BackendMessage {

    /** Writes the whole message: type byte, length, body. */
    void writeTo(ByteBuf out);

    default ByteBuf toByteBuf(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer();
        writeTo(out);
        return out;
    }

    /**
     * As {@link #toByteBuf(ByteBufAllocator)}, with the text of errors, notices, notifications and parameter reports
     * in {@code charset} (a session's client_encoding, which the server writes them in); other messages as they are.
     */
    default ByteBuf toByteBuf(ByteBufAllocator alloc, java.nio.charset.Charset charset) {
        ByteBuf out = alloc.buffer();
        writeTo(out, charset);
        return out;
    }

    /** See {@link #toByteBuf(ByteBufAllocator, java.nio.charset.Charset)}. */
    default void writeTo(ByteBuf out, java.nio.charset.Charset charset) {
        writeTo(out);
    }

    /**
     * {@link #decode(ByteBuf)}, reading the text of errors, notices, notifications and parameter reports as
     * {@code charset}'s (the session's client_encoding): read as UTF-8, an SJIS or GB18030 text's characters came
     * apart into replacement characters and the ASCII bytes inside them.
     */
    static BackendMessage decode(ByteBuf frame, java.nio.charset.Charset charset) {
        return decode(frame, WireReader.ofTypedFrame(frame, "backend").in(charset));
    }

    /**
     * Decodes one whole frame (type byte, length, body) as emitted by {@code BackendFrameDecoder}. Does not
     * move the frame's readerIndex, so the same frame can still be relayed.
     */
    static BackendMessage decode(ByteBuf frame) {
        return decode(frame, WireReader.ofTypedFrame(frame, "backend"));
    }

    private static BackendMessage decode(ByteBuf frame, WireReader r) {
        char type = (char) (frame.getByte(frame.readerIndex()) & 0xFF);
        BackendMessage message = switch (type) {
            case 'R' -> decodeAuthentication(r);
            case 'K' -> new BackendKeyData(r.readInt("process id"), r.readInt("secret key"));
            case '2' -> new BindComplete();
            case '3' -> new CloseComplete();
            case 'C' -> new CommandComplete(r.readCString("command tag"));
            case 'd' -> new CopyData(r.readRest());
            case 'c' -> new CopyDone();
            case 'G' -> new CopyInResponse(r.readByte("overall format"), r.readShorts("column format"));
            case 'H' -> new CopyOutResponse(r.readByte("overall format"), r.readShorts("column format"));
            case 'W' -> new CopyBothResponse(r.readByte("overall format"), r.readShorts("column format"));
            case 'D' -> new DataRow(r.readNullableValues("column value"));
            case 'I' -> new EmptyQueryResponse();
            case 'E' -> new ErrorResponse(readFields(r));
            case 'N' -> new NoticeResponse(readFields(r));
            case 'V' -> new FunctionCallResponse(r.readNullableValue("result"));
            case 'v' -> {
                int newestMinor = r.readInt("newest minor version");
                int n = r.readInt("unrecognized option count");
                if (n < 0) {
                    throw WireReader.violation("negative unrecognized option count " + n + " in " + r.what());
                }
                List<String> options = new ArrayList<>(Math.min(n, r.remaining()));
                for (int i = 0; i < n; i++) {
                    options.add(r.readCString("option name"));
                }
                yield new NegotiateProtocolVersion(newestMinor, options);
            }
            case 'n' -> new NoData();
            case 'A' -> new NotificationResponse(r.readInt("process id"), r.readCString("channel"),
                    r.readCString("payload"));
            case 't' -> {
                int n = r.readCount16("parameter count");
                List<Integer> types = new ArrayList<>(Math.min(n, r.remaining() / 4 + 1));
                for (int i = 0; i < n; i++) {
                    types.add(r.readInt("parameter type"));
                }
                yield new ParameterDescription(types);
            }
            case 'S' -> new ParameterStatus(r.readCString("parameter name"), r.readCString("parameter value"));
            case '1' -> new ParseComplete();
            case 's' -> new PortalSuspended();
            case 'Z' -> {
                char status = (char) (r.readByte("transaction status") & 0xFF);
                if (status != 'I' && status != 'T' && status != 'E') {
                    throw WireReader.violation("invalid transaction status " + WireReader.typeName(status)
                            + " in " + r.what());
                }
                yield new ReadyForQuery(status);
            }
            case 'T' -> {
                int n = r.readCount16("field count");
                List<RowDescription.Field> fields = new ArrayList<>(Math.min(n, r.remaining() / 19 + 1));
                for (int i = 0; i < n; i++) {
                    fields.add(new RowDescription.Field(r.readCString("field name"), r.readInt("table oid"),
                            r.readShort("column number"), r.readInt("type oid"), r.readShort("type size"),
                            r.readInt("type modifier"), r.readShort("format code")));
                }
                yield new RowDescription(fields);
            }
            default -> throw WireReader.violation(String.format("unknown backend message type 0x%02x", (int) type));
        };
        r.expectEnd();
        return message;
    }

    private static Authentication decodeAuthentication(WireReader r) {
        int code = r.readInt("authentication code");
        switch (code) {
            case AuthenticationOk.CODE:
                return new AuthenticationOk();
            case AuthenticationCleartextPassword.CODE:
                return new AuthenticationCleartextPassword();
            case AuthenticationMd5Password.CODE:
                return new AuthenticationMd5Password(r.readBytes(4, "salt"));
            case AuthenticationSasl.CODE: {
                List<String> mechanisms = new ArrayList<>();
                while (true) {
                    String name = r.readCString("SASL mechanism");
                    if (name.isEmpty()) {
                        break;
                    }
                    mechanisms.add(name);
                }
                return new AuthenticationSasl(mechanisms);
            }
            case AuthenticationSaslContinue.CODE:
                return new AuthenticationSaslContinue(r.readRest());
            case AuthenticationSaslFinal.CODE:
                return new AuthenticationSaslFinal(r.readRest());
            default:
                // Kerberos, SCM, GSS, SSPI: the proxy only needs to know which one to refuse it; any
                // mechanism data (e.g. GSSContinue) is skipped.
                r.readRest();
                return new AuthenticationOther(code);
        }
    }

    private static Map<Character, String> readFields(WireReader r) {
        Map<Character, String> fields = new LinkedHashMap<>();
        while (true) {
            byte code = r.readByte("field code");
            if (code == 0) {
                return fields;
            }
            fields.put((char) (code & 0xFF), r.readCString("field " + WireReader.typeName((char) (code & 0xFF))));
        }
    }

    private static void writeFields(ByteBuf out, char type, Map<Character, String> fields) {
        writeFields(out, type, fields, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void writeFields(ByteBuf out, char type, Map<Character, String> fields,
                                    java.nio.charset.Charset charset) {
        int at = WireWriter.begin(out, type);
        fields.forEach((code, value) -> {
            if (code == 0) {
                throw new IllegalArgumentException("field code must not be zero");
            }
            out.writeByte(code);
            WireWriter.cstring(out, value, charset);
        });
        out.writeByte(0);
        WireWriter.end(out, at);
    }

    private static Map<Character, String> standardFields(String severity, String sqlState, String message,
                                                         String detail, String hint) {
        Map<Character, String> fields = new LinkedHashMap<>();
        fields.put('S', severity);
        // 'V' is the non-localized severity that clients (pgJDBC, libpq) rely on.
        fields.put('V', severity);
        fields.put('C', sqlState);
        fields.put('M', message);
        if (detail != null) {
            fields.put('D', detail);
        }
        if (hint != null) {
            fields.put('H', hint);
        }
        return fields;
    }

    /** The 'R' messages: an authentication request or outcome. */
    sealed interface Authentication extends BackendMessage {
        int code();
    }

    private static void writeAuth(ByteBuf out, int code, byte[] data) {
        int at = WireWriter.begin(out, 'R');
        out.writeInt(code);
        out.writeBytes(data);
        WireWriter.end(out, at);
    }

    record AuthenticationOk() implements Authentication {
        static final int CODE = 0;

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, CODE, new byte[0]);
        }
    }

    record AuthenticationCleartextPassword() implements Authentication {
        static final int CODE = 3;

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, CODE, new byte[0]);
        }
    }

    /** {@code salt} is 4 bytes. */
    record AuthenticationMd5Password(byte[] salt) implements Authentication {
        static final int CODE = 5;

        public AuthenticationMd5Password {
            if (salt.length != 4) {
                throw new IllegalArgumentException("MD5 salt must be 4 bytes, got " + salt.length);
            }
        }

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, CODE, salt);
        }
    }

    /** Mechanisms the server offers, in its order of preference. */
    record AuthenticationSasl(List<String> mechanisms) implements Authentication {
        static final int CODE = 10;

        public AuthenticationSasl {
            mechanisms = List.copyOf(mechanisms);
        }

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'R');
            out.writeInt(CODE);
            for (String m : mechanisms) {
                WireWriter.cstring(out, m);
            }
            out.writeByte(0);
            WireWriter.end(out, at);
        }
    }

    /** Carries the SCRAM server-first message. */
    record AuthenticationSaslContinue(byte[] data) implements Authentication {
        static final int CODE = 11;

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, CODE, data);
        }
    }

    /** Carries the SCRAM server-final message. */
    record AuthenticationSaslFinal(byte[] data) implements Authentication {
        static final int CODE = 12;

        @Override
        public int code() {
            return CODE;
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, CODE, data);
        }
    }

    /**
     * Methods Warden does not implement (2 KerberosV5, 6 SCM, 7 GSS, 8 GSSContinue, 9 SSPI...). Any
     * mechanism data is dropped when decoding, so re-encoding gives only the code.
     */
    record AuthenticationOther(int code) implements Authentication {
        @Override
        public void writeTo(ByteBuf out) {
            writeAuth(out, code, new byte[0]);
        }
    }

    record BackendKeyData(int processId, int secretKey) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'K');
            out.writeInt(processId);
            out.writeInt(secretKey);
            WireWriter.end(out, at);
        }
    }

    record BindComplete() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, '2'));
        }
    }

    record CloseComplete() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, '3'));
        }
    }

    /** {@code tag} such as "SELECT 3", "INSERT 0 1", "UPDATE 2". */
    record CommandComplete(String tag) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'C');
            WireWriter.cstring(out, tag);
            WireWriter.end(out, at);
        }
    }

    record CopyData(byte[] data) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'd');
            out.writeBytes(data);
            WireWriter.end(out, at);
        }
    }

    record CopyDone() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'c'));
        }
    }

    private static void writeCopyResponse(ByteBuf out, char type, byte overallFormat, List<Short> columnFormats) {
        int at = WireWriter.begin(out, type);
        out.writeByte(overallFormat);
        WireWriter.shorts(out, columnFormats);
        WireWriter.end(out, at);
    }

    /** {@code overallFormat} 0 text, 1 binary. */
    record CopyInResponse(byte overallFormat, List<Short> columnFormats) implements BackendMessage {
        public CopyInResponse {
            columnFormats = List.copyOf(columnFormats);
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeCopyResponse(out, 'G', overallFormat, columnFormats);
        }
    }

    record CopyOutResponse(byte overallFormat, List<Short> columnFormats) implements BackendMessage {
        public CopyOutResponse {
            columnFormats = List.copyOf(columnFormats);
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeCopyResponse(out, 'H', overallFormat, columnFormats);
        }
    }

    record CopyBothResponse(byte overallFormat, List<Short> columnFormats) implements BackendMessage {
        public CopyBothResponse {
            columnFormats = List.copyOf(columnFormats);
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeCopyResponse(out, 'W', overallFormat, columnFormats);
        }
    }

    /** A null element of {@code values} is SQL NULL. */
    record DataRow(List<byte[]> values) implements BackendMessage {
        public DataRow {
            values = ImmutableLists.copyAllowingNulls(values);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'D');
            WireWriter.nullableValues(out, values);
            WireWriter.end(out, at);
        }
    }

    record EmptyQueryResponse() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'I'));
        }
    }

    /**
     * Shared accessors of ErrorResponse and NoticeResponse, whose bodies are the same list of
     * (field code, string) pairs.
     */
    sealed interface ErrorFields {
        Map<Character, String> fields();

        /** The non-localized severity ('V') when present, else the localized one ('S'). */
        default String severity() {
            String v = fields().get('V');
            return v != null ? v : fields().get('S');
        }

        default String sqlState() {
            return fields().get('C');
        }

        default String message() {
            return fields().get('M');
        }

        default String detail() {
            return fields().get('D');
        }

        default String hint() {
            return fields().get('H');
        }
    }

    /** Field codes are PostgreSQL's ('S' severity, 'C' SQLSTATE, 'M' message, 'D' detail, 'H' hint...). */
    record ErrorResponse(Map<Character, String> fields) implements BackendMessage, ErrorFields {
        public ErrorResponse {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        public static ErrorResponse of(String severity, String sqlState, String message) {
            return of(severity, sqlState, message, null, null);
        }

        /** {@code detail} and {@code hint} are omitted when null. */
        public static ErrorResponse of(String severity, String sqlState, String message, String detail,
                                       String hint) {
            return new ErrorResponse(standardFields(severity, sqlState, message, detail, hint));
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeFields(out, 'E', fields);
        }

        @Override
        public void writeTo(ByteBuf out, java.nio.charset.Charset charset) {
            writeFields(out, 'E', fields, charset);
        }
    }

    record NoticeResponse(Map<Character, String> fields) implements BackendMessage, ErrorFields {
        public NoticeResponse {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        public static NoticeResponse of(String severity, String sqlState, String message) {
            return of(severity, sqlState, message, null, null);
        }

        public static NoticeResponse of(String severity, String sqlState, String message, String detail,
                                        String hint) {
            return new NoticeResponse(standardFields(severity, sqlState, message, detail, hint));
        }

        @Override
        public void writeTo(ByteBuf out) {
            writeFields(out, 'N', fields);
        }

        @Override
        public void writeTo(ByteBuf out, java.nio.charset.Charset charset) {
            writeFields(out, 'N', fields, charset);
        }
    }

    /** {@code result} null is SQL NULL. */
    record FunctionCallResponse(byte[] result) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'V');
            WireWriter.nullableValue(out, result);
            WireWriter.end(out, at);
        }
    }

    record NegotiateProtocolVersion(int newestMinor, List<String> unrecognized) implements BackendMessage {
        public NegotiateProtocolVersion {
            unrecognized = List.copyOf(unrecognized);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'v');
            out.writeInt(newestMinor);
            out.writeInt(unrecognized.size());
            for (String option : unrecognized) {
                WireWriter.cstring(out, option);
            }
            WireWriter.end(out, at);
        }
    }

    record NoData() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 'n'));
        }
    }

    record NotificationResponse(int processId, String channel, String payload) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            writeTo(out, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public void writeTo(ByteBuf out, java.nio.charset.Charset charset) {
            int at = WireWriter.begin(out, 'A');
            out.writeInt(processId);
            WireWriter.cstring(out, channel, charset);
            WireWriter.cstring(out, payload, charset);
            WireWriter.end(out, at);
        }
    }

    record ParameterDescription(List<Integer> types) implements BackendMessage {
        public ParameterDescription {
            types = List.copyOf(types);
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 't');
            out.writeShort(types.size());
            for (int oid : types) {
                out.writeInt(oid);
            }
            WireWriter.end(out, at);
        }
    }

    record ParameterStatus(String name, String value) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            writeTo(out, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public void writeTo(ByteBuf out, java.nio.charset.Charset charset) {
            int at = WireWriter.begin(out, 'S');
            WireWriter.cstring(out, name, charset);
            WireWriter.cstring(out, value, charset);
            WireWriter.end(out, at);
        }
    }

    record ParseComplete() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, '1'));
        }
    }

    record PortalSuspended() implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            WireWriter.end(out, WireWriter.begin(out, 's'));
        }
    }

    /** {@code status}: 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
    record ReadyForQuery(char status) implements BackendMessage {
        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'Z');
            out.writeByte(status);
            WireWriter.end(out, at);
        }
    }

    record RowDescription(List<Field> fields) implements BackendMessage {
        public RowDescription {
            fields = List.copyOf(fields);
        }

        /** {@code tableOid}/{@code columnNumber} are 0 when the column is not a plain table column. */
        public record Field(String name, int tableOid, short columnNumber, int typeOid, short typeSize,
                            int typeModifier, short format) {
        }

        @Override
        public void writeTo(ByteBuf out) {
            int at = WireWriter.begin(out, 'T');
            out.writeShort(fields.size());
            for (Field f : fields) {
                WireWriter.cstring(out, f.name());
                out.writeInt(f.tableOid());
                out.writeShort(f.columnNumber());
                out.writeInt(f.typeOid());
                out.writeShort(f.typeSize());
                out.writeInt(f.typeModifier());
                out.writeShort(f.format());
            }
            WireWriter.end(out, at);
        }
    }
}
