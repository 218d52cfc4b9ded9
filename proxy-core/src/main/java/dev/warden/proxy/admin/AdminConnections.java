package dev.warden.proxy.admin;

import dev.warden.proxy.session.ConnectionBudget;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The admin API's connections, counted by client address (an IPv6 client's /64), and which of them wait for a
 * request. When all {@code max} are open, a new connection takes the place of the connection that has waited
 * longest for its request among those of the address holding the most connections; it is refused only when no
 * connection waits (each being answered, which the answer deadline bounds).
 *
 * <p>So idle or trickling connections, however many and from however many addresses, cannot keep a liveness probe
 * (or anyone else) out: before, one host reopening 256 idle connections as each request deadline closed them kept
 * every other client out. Used on the admin API's one I/O thread only, so nothing here is locked.
 */
final class AdminConnections {

    private static final AttributeKey<InetAddress> FROM = AttributeKey.valueOf("warden.admin.from");

    private final int max;
    private int open;
    private final Map<InetAddress, Integer> held = new HashMap<>();
    /** By address, the connections waiting for a request, longest waiting first. */
    private final Map<InetAddress, LinkedHashSet<Channel>> waiting = new HashMap<>();

    AdminConnections(int max) {
        this.max = max;
    }

    /** Counts a connection just accepted, waiting for its first request; false when it must be closed. */
    boolean admit(Channel ch) {
        if (open >= max && !displaceOne()) {
            return false;
        }
        InetAddress from = ConnectionBudget.clientNetwork(((InetSocketAddress) ch.remoteAddress()).getAddress());
        ch.attr(FROM).set(from);
        open++;
        held.merge(from, 1, Integer::sum);
        waiting(ch);
        ch.closeFuture().addListener(f -> left(ch));
        return true;
    }

    /** {@code ch} waits for a request (it was accepted, or its last answer was written). */
    void waiting(Channel ch) {
        InetAddress from = ch.attr(FROM).get();
        if (from != null) {
            waiting.computeIfAbsent(from, a -> new LinkedHashSet<>()).add(ch);
        }
    }

    /** {@code ch}'s request arrived: it is being answered, and is not taken for another connection. */
    void answering(Channel ch) {
        InetAddress from = ch.attr(FROM).get();
        if (from != null) {
            notWaiting(from, ch);
        }
    }

    int open() {
        return open;
    }

    private void notWaiting(InetAddress from, Channel ch) {
        LinkedHashSet<Channel> those = waiting.get(from);
        if (those != null && those.remove(ch) && those.isEmpty()) {
            waiting.remove(from);
        }
    }

    private void left(Channel ch) {
        InetAddress from = ch.attr(FROM).getAndSet(null);
        if (from == null) {
            return;
        }
        notWaiting(from, ch);
        open--;
        held.computeIfPresent(from, (a, n) -> n == 1 ? null : n - 1);
    }

    private boolean displaceOne() {
        InetAddress busiest = null;
        int most = 0;
        for (InetAddress address : waiting.keySet()) {
            int n = held.getOrDefault(address, 0);
            if (n > most) {
                most = n;
                busiest = address;
            }
        }
        if (busiest == null) {
            return false;
        }
        Channel longest = waiting.get(busiest).iterator().next();
        AdminServer.log.debug("admin connection closed for a new one: the longest waiting of {} from {}", most,
                busiest.getHostAddress());
        left(longest);
        longest.close();
        return true;
    }
}
