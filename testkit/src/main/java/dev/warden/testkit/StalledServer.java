package dev.warden.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback server that takes every connection, sends it {@code preamble} (maybe nothing), and then says nothing
 * more and reads nothing: a peer that stalls (a stopped server behind a proxy, a provider that sent its headers and
 * stopped). Connections stay open until {@link #close}.
 */
public final class StalledServer implements AutoCloseable {

    private final ServerSocket socket;
    private final List<Socket> taken = new ArrayList<>();

    public StalledServer(byte[] preamble) throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    synchronized (taken) {
                        taken.add(s);
                    }
                    s.getOutputStream().write(preamble);
                    s.getOutputStream().flush();
                } catch (IOException closed) {
                    return;
                }
            }
        }, "stalled-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** How many connections it has taken. */
    public int connections() {
        synchronized (taken) {
            return taken.size();
        }
    }

    /**
     * How many of its connections the other side has closed (or reset). To find out it reads, and drops, what each
     * connection sent so far: call it only once what the server does not read no longer matters to the test.
     */
    public int closedByPeer() {
        int closed = 0;
        byte[] sink = new byte[8192];
        synchronized (taken) {
            for (Socket s : taken) {
                try {
                    s.setSoTimeout(1);
                    while (s.getInputStream().read(sink) >= 0) {
                        // what the client sent: dropped
                    }
                    closed++;
                } catch (java.net.SocketTimeoutException open) {
                    // nothing more yet, and not closed
                } catch (IOException reset) {
                    closed++;
                }
            }
        }
        return closed;
    }

    @Override
    public void close() throws IOException {
        socket.close();
        synchronized (taken) {
            for (Socket s : taken) {
                s.close();
            }
        }
    }
}
