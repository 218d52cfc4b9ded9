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

    /** Sessions per identity (see {@link #claim}); an entry leaves with its last session. */
    private final ConcurrentHashMap<String, Integer> perIdentity = new ConcurrentHashMap<>();

    /**
     * Counts one more session of {@code identity} unless it holds {@code limit} already ({@code budgets.sessions
     * .per_identity}; 0: no limit). True when counted: {@link #release} it when the session ends.
     */
    boolean claim(String identity, int limit) {
        boolean[] counted = {false};
        perIdentity.compute(identity, (k, held) -> {
            int n = held == null ? 0 : held;
            if (limit > 0 && n >= limit) {
                return held;
            }
            counted[0] = true;
            return n + 1;
        });
        return counted[0];
    }

    void release(String identity) {
        perIdentity.computeIfPresent(identity, (k, held) -> held <= 1 ? null : held - 1);
    }

    /** The sessions {@code identity} holds (for tests and the admin view). */
    int held(String identity) {
        return perIdentity.getOrDefault(identity, 0);
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
