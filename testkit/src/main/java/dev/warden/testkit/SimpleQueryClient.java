package dev.warden.testkit;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A direct, plain-socket connection to a PostgreSQL server that runs texts with the simple Query protocol and
 * returns what the server answered, message by message: the oracle for "what did the server run?". JDBC hides
 * command tags; this client shows them.
 *
 * <p>Each answer is one of: a command tag ({@code "INSERT 0 1"}), {@link #EMPTY} for EmptyQueryResponse, or
 * {@code "ERROR <sqlstate> <message>"}. COPY FROM STDIN is answered with CopyDone (no rows), COPY TO STDOUT is
 * read to its end. Authentication: trust, cleartext or MD5 (the test cluster trusts its superuser on
 * loopback); SCRAM is not implemented. Not thread-safe.
 */
public final class SimpleQueryClient implements AutoCloseable {

    /** The answer for EmptyQueryResponse. */
    public static final String EMPTY = "EmptyQueryResponse";

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private SimpleQueryClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
        this.out = socket.getOutputStream();
    }

    /** Connects to {@code database} on {@code pg} as its superuser, without TLS. */
    public static SimpleQueryClient connect(TestPostgres pg, String database) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(pg.host(), pg.port()), 5000);
        socket.setSoTimeout(30_000);
        SimpleQueryClient client = new SimpleQueryClient(socket);
        try {
            client.startup(pg.superuser(), pg.superuserPassword(), database);
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
        return client;
    }

    private void startup(String user, String password, String database) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, 196608);
        for (String s : new String[] {"user", user, "database", database, "client_encoding", "UTF8"}) {
            cstring(body, s);
        }
        body.write(0);
        ByteArrayOutputStream packet = new ByteArrayOutputStream();
        writeInt(packet, body.size() + 4);
        body.writeTo(packet);
        out.write(packet.toByteArray());
        out.flush();
        while (true) {
            int type = in.readUnsignedByte();
            byte[] payload = payload();
            switch (type) {
                case 'R' -> {
                    int code = java.nio.ByteBuffer.wrap(payload).getInt();
                    if (code == 3) {
                        send('p', cstringBytes(password));
                    } else if (code == 5) {
                        byte[] salt = java.util.Arrays.copyOfRange(payload, 4, 8);
                        send('p', cstringBytes("md5" + md5(md5(password + user).getBytes(StandardCharsets.UTF_8),
                                salt)));
                    } else if (code != 0) {
                        throw new IOException("authentication method " + code + " is not supported by "
                                + "SimpleQueryClient (trust, cleartext or MD5 only)");
                    }
                }
                case 'E' -> throw new IOException("connection refused: " + error(payload));
                case 'Z' -> {
                    return;
                }
                default -> {
                    // ParameterStatus, BackendKeyData, NoticeResponse
                }
            }
        }
    }

    /** Runs {@code sql} as one Query message and returns the server's answers, in order. */
    public List<String> run(String sql) throws IOException {
        return run(sql.getBytes(StandardCharsets.UTF_8));
    }

    /** Runs these exact bytes as the text of one Query message. */
    public List<String> run(byte[] sql) throws IOException {
        byte[] text = java.util.Arrays.copyOf(sql, sql.length + 1);
        send('Q', text);
        List<String> answers = new ArrayList<>();
        while (true) {
            int type = in.readUnsignedByte();
            byte[] payload = payload();
            switch (type) {
                case 'C' -> answers.add(new String(payload, 0, payload.length - 1, StandardCharsets.UTF_8));
                case 'I' -> answers.add(EMPTY);
                case 'E' -> answers.add("ERROR " + error(payload));
                case 'G' -> send('c', new byte[0]);
                case 'Z' -> {
                    return answers;
                }
                default -> {
                    // RowDescription, DataRow, CopyOutResponse, CopyData, CopyDone, notices, ParameterStatus
                }
            }
        }
    }

    private void send(char type, byte[] payload) throws IOException {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(type);
        writeInt(frame, payload.length + 4);
        frame.write(payload);
        out.write(frame.toByteArray());
        out.flush();
    }

    private byte[] payload() throws IOException {
        int length = in.readInt();
        byte[] payload = new byte[length - 4];
        in.readFully(payload);
        return payload;
    }

    /** {@code "<sqlstate> <message>"} from an ErrorResponse body. */
    private static String error(byte[] payload) {
        String code = "";
        String message = "";
        int i = 0;
        while (i < payload.length && payload[i] != 0) {
            byte field = payload[i++];
            int end = i;
            while (payload[end] != 0) {
                end++;
            }
            String value = new String(payload, i, end - i, StandardCharsets.UTF_8);
            if (field == 'C') {
                code = value;
            } else if (field == 'M') {
                message = value;
            }
            i = end + 1;
        }
        return code + " " + message;
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    private static void cstring(ByteArrayOutputStream out, String s) {
        out.writeBytes(cstringBytes(s));
    }

    private static byte[] cstringBytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(b, b.length + 1);
    }

    private static String md5(byte[] first, byte[] second) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            md.update(first);
            md.update(second);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String md5(String text) {
        return md5(text.getBytes(StandardCharsets.UTF_8), new byte[0]);
    }

    @Override
    public void close() throws IOException {
        try {
            send('X', new byte[0]);
        } catch (IOException ignored) {
            // closing anyway
        }
        socket.close();
    }
}
