package dev.warden.proxy.admin;

import dev.warden.proxy.session.ConnectionBudget;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The admin API's connections, counted by client address (an IPv6 client's /64), and which of them may give way:
 * those waiting for a request, and those whose answer the client has not taken for a second (its write pending: a
 * client that does not read). When all {@code max} are open, a new connection takes the place of the one that has
 * been so longest among those of the address holding the most connections (of addresses holding as many, the one
 * whose connection has been so longest); it is refused only when none may give way (each being answered, which the
 * answer deadline bounds).
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
    /** By address, the connections that may give way, and since when (nanoTime), longest first. */
    private final Map<InetAddress, LinkedHashMap<Channel, Long>> waiting = new HashMap<>();

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

    /**
     * {@code ch} may give way: it waits for a request (it was accepted, or its last answer was written), or its
     * client has not taken its answer for a second.
     */
    void waiting(Channel ch) {
        InetAddress from = ch.attr(FROM).get();
        if (from != null) {
            waiting.computeIfAbsent(from, a -> new LinkedHashMap<>()).putIfAbsent(ch, System.nanoTime());
        }
    }

    /** {@code ch}'s request arrived: it is being answered, and is not taken for another connection. */
    void answering(Channel ch) {
        InetAddress from = ch.attr(FROM).get();
        if (from != null) {
            notWaiting(from, ch);
        }
    }

    private void notWaiting(InetAddress from, Channel ch) {
        LinkedHashMap<Channel, Long> those = waiting.get(from);
        if (those != null && those.remove(ch) != null && those.isEmpty()) {
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
        long since = 0;
        for (Map.Entry<InetAddress, LinkedHashMap<Channel, Long>> e : waiting.entrySet()) {
            int n = held.getOrDefault(e.getKey(), 0);
            long longest = e.getValue().values().iterator().next();
            if (n > most || n == most && longest - since < 0) {
                most = n;
                busiest = e.getKey();
                since = longest;
            }
        }
        if (busiest == null) {
            return false;
        }
        Channel longest = waiting.get(busiest).keySet().iterator().next();
        AdminServer.log.debug("admin connection closed for a new one: the longest waiting of {} from {}", most,
                busiest.getHostAddress());
        left(longest);
        longest.close();
        return true;
    }
}
