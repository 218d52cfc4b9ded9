package dev.warden.proxy.server;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

/**
 * The I/O transport of Warden's client and upstream channels: Linux's io_uring where the kernel allows it, else
 * epoll, else Java's NIO; {@code -Dwarden.transport=io_uring|epoll|nio} chooses one. io_uring is first because
 * under {@code pgbench -S -c16} on the 2-core development machine it cost about a third less CPU per transaction
 * than epoll, and a featureless relay on it cost what PgBouncer does (bench/README.md, section of 2026-12-05). The
 * channel classes of one transport go together: a channel must be of the kind its event loop serves.
 *
 * <p>A named transport that cannot be used here is an error at start, not a silent fallback: an operator who
 * chose io_uring (for its figures) and got epoll would be measuring the wrong thing.
 */
public enum Transport {
    IO_URING("io_uring", IoUringServerSocketChannel.class, IoUringSocketChannel.class, IoUringDatagramChannel.class),
    EPOLL("epoll", EpollServerSocketChannel.class, EpollSocketChannel.class, EpollDatagramChannel.class),
    NIO("nio", NioServerSocketChannel.class, NioSocketChannel.class, NioDatagramChannel.class);

    /** The system property that names the transport. */
    public static final String PROPERTY = "warden.transport";

    /**
     * Netty's multishot accept on io_uring re-arms at once after a failed accept (out of file descriptors), where
     * epoll stops accepting for a second: the listener would spin and log each failure while the backlog waits.
     * Warden's connections last, so one accept per submission costs nothing worth measuring; an operator's
     * {@code -Dio.netty.iouring.acceptMultiShotEnabled} still chooses. Netty reads it once, when {@code IoUring}
     * is first used, which is after this.
     */
    static final String MULTISHOT_ACCEPT = "io.netty.iouring.acceptMultiShotEnabled";

    static {
        if (System.getProperty(MULTISHOT_ACCEPT) == null) {
            System.setProperty(MULTISHOT_ACCEPT, "false");
        }
    }

    private final String label;
    private final Class<? extends ServerChannel> serverType;
    private final Class<? extends SocketChannel> socketType;
    private final Class<? extends DatagramChannel> datagramType;

    Transport(String label, Class<? extends ServerChannel> serverType, Class<? extends SocketChannel> socketType,
              Class<? extends DatagramChannel> datagramType) {
        this.label = label;
        this.serverType = serverType;
        this.socketType = socketType;
        this.datagramType = datagramType;
    }

    /** The transport {@link #PROPERTY} names; without it, the first of io_uring, epoll and NIO that can be used. */
    public static Transport chosen() {
        return named(System.getProperty(PROPERTY));
    }

    /** As {@link #chosen()}, for a given value of the property ({@code null}: not set). */
    static Transport named(String name) {
        if (name == null || name.isBlank()) {
            for (Transport t : values()) {
                if (t.available()) {
                    return t;
                }
            }
            return NIO;
        }
        for (Transport t : values()) {
            if (t.label.equals(name.trim())) {
                if (!t.available()) {
                    throw new IllegalStateException("-D" + PROPERTY + "=" + t.label + " cannot be used here: "
                            + t.unavailability());
                }
                return t;
            }
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + name + " is not a transport; use io_uring, epoll"
                + " or nio");
    }

    public boolean available() {
        return switch (this) {
            case IO_URING -> IoUring.isAvailable();
            case EPOLL -> Epoll.isAvailable();
            case NIO -> true;
        };
    }

    private String unavailability() {
        Throwable why = switch (this) {
            case IO_URING -> IoUring.unavailabilityCause();
            case EPOLL -> Epoll.unavailabilityCause();
            case NIO -> null;
        };
        return why == null ? "unknown" : why.toString();
    }

    public IoHandlerFactory ioHandlerFactory() {
        return switch (this) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
    }

    public Class<? extends ServerChannel> serverType() {
        return serverType;
    }

    public Class<? extends SocketChannel> socketType() {
        return socketType;
    }

    public Class<? extends DatagramChannel> datagramType() {
        return datagramType;
    }

    /** As the {@link #PROPERTY} names it, and as the start-up log line says. */
    public String label() {
        return label;
    }
}
