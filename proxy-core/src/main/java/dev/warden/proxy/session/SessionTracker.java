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
