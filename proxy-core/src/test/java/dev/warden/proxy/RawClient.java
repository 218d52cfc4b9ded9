package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Map;

/** A plain-socket PostgreSQL client for tests that must send bytes no well-behaved driver would. */
final class RawClient implements AutoCloseable {

    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawClient(int port) throws IOException {
        this(port, 0);
    }

    RawClient(int port, int receiveBuffer) throws IOException {
        this(null, port, receiveBuffer);
    }

    /** @param localAddress the client address to connect from (any 127.x.y.z on loopback), or null */
    RawClient(String localAddress, int port, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (localAddress != null) {
            socket.bind(new java.net.InetSocketAddress(localAddress, 0));
        }
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(10_000);
        // Each message is flushed on its own: with Nagle's algorithm on, each small write after the first waited for
        // the previous one's delayed ACK (about 40 ms per extended-protocol statement in the leak fuzzer).
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void send(FrontendMessage message) throws IOException {
        send(bytes(message.toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)));
    }

    /** Writes {@code messages} in one write, as a pipelining client sends a batch: Warden reads them together. */
    void sendAtOnce(FrontendMessage... messages) throws IOException {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (FrontendMessage m : messages) {
            all.write(bytes(m.toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)));
        }
        send(all.toByteArray());
    }

    void send(StartupPacket packet) throws IOException {
        send(bytes(packet.toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)));
    }

    /** The environment (database) {@link #login} asked for; null before it. */
    private String environment;

    String environment() {
        return environment;
    }

    /** Startup, token and wait for ReadyForQuery (plaintext: the listener must allow it on loopback). */
    void login(String environment, String user, String token) throws IOException {
        this.environment = environment;
        send(StartupPacket.StartupMessage.of(Map.of("user", user, "database", environment)));
        expect(BackendMessage.AuthenticationCleartextPassword.class);
        send(FrontendMessage.AuthenticationResponse.password(token));
        while (!(read() instanceof BackendMessage.ReadyForQuery)) {
            // AuthenticationOk, ParameterStatus, BackendKeyData
        }
    }

    BackendMessage read() throws IOException {
        return BackendMessage.decode(Unpooled.wrappedBuffer(readFrame()));
    }

    /** Every message up to and including the next ReadyForQuery (the answer to one batch), in order. */
    java.util.List<BackendMessage> untilReady() throws IOException {
        java.util.List<BackendMessage> out = new java.util.ArrayList<>();
        BackendMessage m;
        do {
            m = read();
            out.add(m);
        } while (!(m instanceof BackendMessage.ReadyForQuery));
        return out;
    }

    /** The next backend message as the bytes received: type, length and body. */
    byte[] readFrame() throws IOException {
        int type = in.readUnsignedByte();
        int length = in.readInt();
        byte[] frame = new byte[length + 1];
        frame[0] = (byte) type;
        frame[1] = (byte) (length >>> 24);
        frame[2] = (byte) (length >>> 16);
        frame[3] = (byte) (length >>> 8);
        frame[4] = (byte) length;
        in.readFully(frame, 5, length - 4);
        return frame;
    }

    <T extends BackendMessage> T expect(Class<T> type) throws IOException {
        BackendMessage m = read();
        if (!type.isInstance(m)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + m);
        }
        return type.cast(m);
    }

    /** True when the server closed the connection (EOF) within the socket timeout. */
    boolean closedByServer() throws IOException {
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    int readRaw(byte[] buffer) throws IOException {
        return in.read(buffer);
    }

    static byte[] bytes(ByteBuf buf) {
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** The values of the DataRows among {@code answers}, as UTF-8 text (null for SQL NULL), row after row. */
    static java.util.List<String> values(java.util.List<BackendMessage> answers) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (BackendMessage m : answers) {
            if (m instanceof BackendMessage.DataRow row) {
                row.values().forEach(v -> out.add(v == null ? null
                        : new String(v, java.nio.charset.StandardCharsets.UTF_8)));
            }
        }
        return out;
    }

    /** The errors among {@code answers}, each as its SQLSTATE, a space and its message. */
    static java.util.List<String> errors(java.util.List<BackendMessage> answers) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (BackendMessage m : answers) {
            if (m instanceof BackendMessage.ErrorResponse e) {
                out.add(e.sqlState() + " " + e.message());
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
