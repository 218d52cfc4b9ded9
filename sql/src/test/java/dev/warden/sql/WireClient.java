package dev.warden.sql;

import dev.warden.pg.auth.Md5Password;
import dev.warden.pg.auth.ScramSha256Client;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A plain-socket PostgreSQL v3 client for the differential test. It sends a Query or Parse message with
 * exactly the bytes it is given (pgJDBC would split a text into statements on the client, which is the very
 * thing under test), and reports what the server answered, message by message. It keeps the session's
 * reported parameters ({@code standard_conforming_strings}, {@code client_encoding}) from ParameterStatus,
 * as the proxy does.
 */
final class WireClient implements AutoCloseable {

    /** One answer of the server to a Query: a CommandComplete tag, an EmptyQueryResponse or an error. */
    sealed interface Event permits Complete, Empty, Failure {}

    record Complete(String tag) implements Event {}

    record Empty() implements Event {}

    record Failure(String sqlState, String message) implements Event {
        boolean multipleCommands() {
            return message.startsWith("cannot insert multiple commands into a prepared statement");
        }
    }

    /** The events of one Query, and the transaction status of the ReadyForQuery that ended it. */
    record QueryResult(List<Event> events, char transactionStatus) {
        boolean failed() {
            return !events.isEmpty() && events.get(events.size() - 1) instanceof Failure;
        }

        Failure failure() {
            return failed() ? (Failure) events.get(events.size() - 1) : null;
        }

        List<String> tags() {
            List<String> tags = new ArrayList<>();
            for (Event e : events) {
                if (e instanceof Complete c) {
                    tags.add(c.tag());
                }
            }
            return tags;
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final Map<String, String> parameters = new HashMap<>();

    private WireClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
    }

    /**
     * Connects without TLS, authenticates (trust, cleartext, MD5 or SCRAM-SHA-256) and waits for the first
     * ReadyForQuery. {@code startupParameters} go in the StartupMessage after user and database.
     */
    static WireClient connect(String host, int port, String user, String password, String database,
            Map<String, String> startupParameters) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.setSoTimeout(60_000);
        socket.setTcpNoDelay(true);
        WireClient client = new WireClient(socket);
        try {
            client.startup(user, password, database, startupParameters);
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
        return client;
    }

    private void startup(String user, String password, String database, Map<String, String> extra)
            throws IOException {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", database);
        params.putAll(extra);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, 196608);
        for (Map.Entry<String, String> p : params.entrySet()) {
            writeCString(body, p.getKey().getBytes(StandardCharsets.UTF_8));
            writeCString(body, p.getValue().getBytes(StandardCharsets.UTF_8));
        }
        body.write(0);
        out.writeInt(body.size() + 4);
        body.writeTo(out);
        out.flush();
        ScramSha256Client scram = null;
        while (true) {
            Frame f = readFrame();
            switch (f.type) {
                case 'R' -> {
                    int code = f.int32(0);
                    switch (code) {
                        case 0 -> { }
                        case 3 -> sendPassword(password.getBytes(StandardCharsets.UTF_8));
                        case 5 -> sendPassword(Md5Password.encode(user, password,
                                java.util.Arrays.copyOfRange(f.body, 4, 8)).getBytes(StandardCharsets.UTF_8));
                        case 10 -> {
                            scram = new ScramSha256Client(password);
                            ByteArrayOutputStream m = new ByteArrayOutputStream();
                            writeCString(m, ScramSha256Client.MECHANISM.getBytes(StandardCharsets.US_ASCII));
                            byte[] first = scram.clientFirstMessage();
                            writeInt(m, first.length);
                            m.write(first);
                            send('p', m.toByteArray());
                        }
                        case 11 -> send('p', scram.clientFinalMessage(
                                java.util.Arrays.copyOfRange(f.body, 4, f.body.length)));
                        case 12 -> scram.verifyServerFinal(java.util.Arrays.copyOfRange(f.body, 4, f.body.length));
                        default -> throw new IOException("unsupported authentication request " + code);
                    }
                    out.flush();
                }
                case 'S' -> parameterStatus(f);
                case 'K', 'N' -> { }
                case 'E' -> throw new IOException("startup failed: " + failure(f));
                case 'Z' -> {
                    return;
                }
                default -> throw new IOException("unexpected message during startup: " + f.type);
            }
        }
    }

    private void sendPassword(byte[] password) throws IOException {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        writeCString(m, password);
        send('p', m.toByteArray());
    }

    /** The server's last reported value of a parameter (ParameterStatus), or null. */
    String parameter(String name) {
        return parameters.get(name);
    }

    /**
     * Sends one Query message per element, all at once, and reads every answer. A text must not contain a
     * NUL byte. A COPY FROM STDIN is answered with an empty CopyDone; so only the last text may start one
     * (the following Query would arrive in the middle of the copy).
     */
    List<QueryResult> query(byte[]... texts) throws IOException {
        for (byte[] text : texts) {
            ByteArrayOutputStream m = new ByteArrayOutputStream(text.length + 1);
            writeCString(m, text);
            send('Q', m.toByteArray());
        }
        out.flush();
        List<QueryResult> results = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            results.add(readQueryResult());
        }
        return results;
    }

    QueryResult query(String text) throws IOException {
        return query(text.getBytes(StandardCharsets.UTF_8)).get(0);
    }

    private QueryResult readQueryResult() throws IOException {
        List<Event> events = new ArrayList<>();
        while (true) {
            Frame f = readFrame();
            switch (f.type) {
                case 'C' -> events.add(new Complete(cString(f.body, 0)));
                case 'I' -> events.add(new Empty());
                case 'E' -> events.add(failure(f));
                case 'S' -> parameterStatus(f);
                case 'G' -> {
                    // COPY FROM STDIN: no data.
                    send('c', new byte[0]);
                    out.flush();
                }
                case 'T', 'D', 'N', 'A', 'H', 'd', 'c', 'n', 's', 't' -> { }
                case 'W' -> throw new IOException("unexpected CopyBothResponse");
                case 'Z' -> {
                    return new QueryResult(events, (char) f.body[0]);
                }
                default -> throw new IOException("unexpected message " + f.type);
            }
        }
    }

    /**
     * Parse (extended protocol) of {@code text} as the unnamed statement, then Sync: null when the server
     * accepted it, else its error.
     */
    Failure parse(byte[] text) throws IOException {
        ByteArrayOutputStream m = new ByteArrayOutputStream(text.length + 4);
        m.write(0);
        writeCString(m, text);
        m.write(0);
        m.write(0);
        send('P', m.toByteArray());
        send('S', new byte[0]);
        out.flush();
        Failure failure = null;
        while (true) {
            Frame f = readFrame();
            switch (f.type) {
                case '1', 'N' -> { }
                case 'E' -> failure = failure(f);
                case 'S' -> parameterStatus(f);
                case 'Z' -> {
                    return failure;
                }
                default -> throw new IOException("unexpected message after Parse: " + f.type);
            }
        }
    }

    private void send(char type, byte[] body) throws IOException {
        out.write(type);
        out.writeInt(body.length + 4);
        out.write(body);
    }

    private void parameterStatus(Frame f) {
        String name = cString(f.body, 0);
        String value = cString(f.body, cEnd(f.body, 0) + 1);
        parameters.put(name, value);
    }

    private static Failure failure(Frame f) {
        String code = "";
        String message = "";
        int i = 0;
        while (i < f.body.length && f.body[i] != 0) {
            char field = (char) f.body[i];
            String value = cString(f.body, i + 1);
            if (field == 'C') {
                code = value;
            } else if (field == 'M') {
                message = value;
            }
            i = cEnd(f.body, i + 1) + 1;
        }
        return new Failure(code, message);
    }

    private record Frame(char type, byte[] body) {
        int int32(int at) {
            return ((body[at] & 0xff) << 24) | ((body[at + 1] & 0xff) << 16) | ((body[at + 2] & 0xff) << 8)
                    | (body[at + 3] & 0xff);
        }
    }

    private Frame readFrame() throws IOException {
        char type = (char) in.readUnsignedByte();
        int length = in.readInt();
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Frame(type, body);
    }

    /**
     * A NUL-terminated string of a backend message. The server sends messages in the client encoding; error
     * texts are only read for their fixed English beginnings, so a lossy UTF-8 reading is enough.
     */
    private static String cString(byte[] body, int from) {
        return new String(body, from, cEnd(body, from) - from, StandardCharsets.UTF_8);
    }

    /** Index of the NUL that ends the string starting at {@code from}. */
    private static int cEnd(byte[] body, int from) {
        int end = from;
        while (end < body.length && body[end] != 0) {
            end++;
        }
        return end;
    }

    private static void writeCString(ByteArrayOutputStream m, byte[] bytes) {
        m.write(bytes, 0, bytes.length);
        m.write(0);
    }

    private static void writeInt(ByteArrayOutputStream m, int v) {
        m.write(v >>> 24);
        m.write(v >>> 16);
        m.write(v >>> 8);
        m.write(v);
    }

    @Override
    public void close() throws IOException {
        try {
            out.write('X');
            out.writeInt(4);
            out.flush();
        } catch (IOException ignored) {
            // closing anyway
        }
        socket.close();
    }
}
