package dev.warden.proxy.session;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The live sessions, so that a shutdown or a policy reload can reach each of them. */
public final class SessionTracker {

    private final Set<FrontendSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean shuttingDown;

    void add(FrontendSession session) {
        sessions.add(session);
        if (shuttingDown) {
            session.beginShutdown();
        }
    }

    void remove(FrontendSession session) {
        sessions.remove(session);
    }

    public int size() {
        return sessions.size();
    }

    /** What one identity holds: its sessions, and the bytes their statements and portals keep together. */
    static final class Held {
        private int sessions;
        final java.util.concurrent.atomic.LongAdder kept = new java.util.concurrent.atomic.LongAdder();
    }

    /** Sessions per identity (see {@link #claim}); an entry leaves with its last session. */
    private final ConcurrentHashMap<String, Held> perIdentity = new ConcurrentHashMap<>();

    /**
     * Counts one more session of {@code identity} unless it holds {@code limit} already ({@code budgets.sessions
     * .per_identity}; 0: no limit). The identity's entry when counted ({@link #release} it when the session ends),
     * else null.
     */
    Held claim(String identity, int limit) {
        Held[] counted = {null};
        perIdentity.compute(identity, (k, held) -> {
            Held h = held == null ? new Held() : held;
            if (limit > 0 && h.sessions >= limit) {
                return held;
            }
            h.sessions++;
            counted[0] = h;
            return h;
        });
        return counted[0];
    }

    void release(String identity) {
        perIdentity.computeIfPresent(identity, (k, held) -> --held.sessions <= 0 ? null : held);
    }

    /** The sessions {@code identity} holds (for tests and the admin view). */
    int held(String identity) {
        Held h = perIdentity.get(identity);
        return h == null ? 0 : h.sessions;
    }

    /** Each session closes at its next idle moment (outside a transaction, no statement running). */
    public void beginShutdown() {
        shuttingDown = true;
        sessions.forEach(FrontendSession::beginShutdown);
    }

    /** Each session checks that the new policy still lets it in (token id, issuer, environment, role map). */
    public void policyReloaded(dev.warden.config.Policy next) {
        sessions.forEach(session -> session.policyReloaded(next));
    }

    /** Closes every session that is still open, with FATAL 57P01. */
    public void terminateAll() {
        sessions.forEach(FrontendSession::terminate);
    }
}
