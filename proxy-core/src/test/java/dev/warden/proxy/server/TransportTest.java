package dev.warden.proxy.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** Which I/O transport Warden's channels use, and what a wrong {@code -Dwarden.transport} gets. */
class TransportTest {

    @Test
    void theFirstThatCanBeUsedOfIoUringEpollAndNioByDefault() {
        Transport expected = Transport.IO_URING.available() ? Transport.IO_URING
                : Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
        assertEquals(expected, Transport.named(null));
        assertEquals(expected, Transport.named(" "));
        // The Linux x86-64 native jars are shipped: on this machine both native transports load.
        assertTrue(Transport.EPOLL.available(), "epoll did not load");
    }

    @Test
    void eachCanBeNamedAndItsChannelsGoTogether() {
        for (Transport t : Transport.values()) {
            if (!t.available()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> Transport.named(t.label()));
                assertTrue(e.getMessage().contains("cannot be used here"), e.getMessage());
                continue;
            }
            assertEquals(t, Transport.named(t.label()));
            String family = t == Transport.IO_URING ? "uring" : t.label();
            for (Class<?> type : new Class<?>[] {t.serverType(), t.socketType(), t.datagramType()}) {
                assertTrue(type.getPackageName().endsWith("." + family), t + ": " + type);
            }
        }
    }

    /** Netty's multishot accept would spin on a failed accept (no file descriptors left): it is off. */
    @Test
    void multishotAcceptIsOffOnIoUring() {
        assumeTrue(Transport.IO_URING.available(), "io_uring is not allowed on this machine");
        assertFalse(io.netty.channel.uring.IoUring.isAcceptMultishotEnabled());
    }

    @Test
    void anUnknownNameIsAnErrorThatListsTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Transport.named("kqueue"));
        assertEquals("-Dwarden.transport=kqueue is not a transport; use io_uring, epoll or nio", e.getMessage());
    }
}
