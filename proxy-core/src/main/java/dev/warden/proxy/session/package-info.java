/**
 * One client connection, as handlers per phase (PgBouncer's model, Netty's style).
 *
 * <ul>
 *   <li>{@link dev.warden.proxy.session.FrontendSession}: the startup phase: startup packet, TLS, the OIDC token
 *       as password, the environment, the upstream login as the identity; CancelRequests go to
 *       {@code CancelForwarder}. At READY it replaces itself in the pipeline with the {@code RelayHandler} of a
 *       {@code RelaySession} (what both sides of a READY session share, and its end).</li>
 *   <li>{@code RelayHandler}: each client message is read (analysis off the loop when cold), passed through the
 *       {@code StatementGate} (decide, approval, write-ahead audit: FORWARD or REFUSE, held meanwhile), then
 *       written upstream with its entry in the {@code OutstandingQueue}.</li>
 *   <li>{@code UpstreamRelay}: each backend message completes exactly its own entry and is relayed as the entry
 *       says: forwarded (masked through the entry's {@code Execution}, counted for the result record, checked by
 *       the {@code Tripwire}), consumed (Warden's own Describe, see {@code OwnRequests}), or replaced by Warden's
 *       error (a blocked statement's stand-in).</li>
 *   <li>{@code PreparedStatements}: one namespace of statements and portals for Parse/Bind, SQL PREPARE and
 *       SQL DECLARE (a cursor is a portal a protocol Execute can run by name).</li>
 *   <li>{@code FlowControl}: the only code that sets autoRead, on the client channel from its first byte (login,
 *       pre-login budget) and on both channels once READY.</li>
 * </ul>
 *
 * <p>Everything of a session runs on its client channel's event loop, which the upstream channel shares.
 * Blocking work (token validation, approval-store I/O, catalog JDBC, cold JSqlParser parses) runs on executors
 * and comes back with {@code eventLoop().execute}. Limits: cursors are forgotten at COMMIT/ROLLBACK as written
 * in SQL (a held cursor declared in a transaction that rolls back, or one dropped by ROLLBACK TO SAVEPOINT, is
 * forgotten late or early: its Execute then fails on the server or fails closed), and a DECLARE reusing the name
 * of a portal Warden still knows makes Warden forget that name (fail closed), though the server may already have
 * dropped a protocol portal at the end of its transaction; a COPY TO STDOUT inside an unsynced extended batch is
 * described through the catalog connection (which cannot see the session's temporary tables), not on the
 * session's own connection.
 */
package dev.warden.proxy.session;
