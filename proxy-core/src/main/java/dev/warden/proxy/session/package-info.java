/**
 * One client connection, as handlers per phase (PgBouncer's model, Netty's style).
 *
 * <ul>
 *   <li>{@link dev.warden.proxy.session.FrontendSession}: the startup phase: startup packet, TLS, the OIDC token
 *       as password, the environment, the upstream login as the identity; CancelRequests go to
 *       {@code CancelForwarder}. At READY it replaces itself in the pipeline with the {@code RelayHandler} of a
 *       {@code RelaySession} (what both sides of a READY session share, and its end).</li>
 *   <li>{@code RelayHandler}: each client message is read ({@code StatementReading}: analysis off the loop when
 *       cold, function effects, search_path, masking's screening), passed through the {@code StatementGate}
 *       (decide, approval, write-ahead audit: FORWARD or REFUSE, held meanwhile), then written upstream with its
 *       entry in the {@code OutstandingQueue} ({@code UpstreamRequests}).</li>
 *   <li>{@code UpstreamRelay}: each backend message completes exactly its own entry and is relayed as the entry
 *       says: forwarded (masked through the entry's {@code Execution}, counted for the result record, checked by
 *       the {@code Tripwire}), consumed (Warden's own Describe, see {@code OwnRequests}), or replaced by Warden's
 *       error (a blocked statement's stand-in); {@code ExecutionTally} counts each statement's result record
 *       and runs the tripwire's checks.</li>
 *   <li>{@code PreparedStatements}: one namespace of statements and portals for Parse/Bind, SQL PREPARE and
 *       SQL DECLARE (a cursor is a portal a protocol Execute can run by name).</li>
 *   <li>{@code FlowControl}: the only code that sets autoRead, on the client channel from its first byte (login,
 *       pre-login budget) and on both channels once READY.</li>
 * </ul>
 *
 * <p>Everything of a session runs on its client channel's event loop, which the upstream channel shares.
 * Blocking work (token validation, approval-store I/O, catalog JDBC, cold JSqlParser parses) runs on executors
 * and comes back with {@code eventLoop().execute}. Columns are resolved as the session sees them: a result's
 * RowDescription names each column's table by OID; a COPY TO STDOUT is described by Warden's own Parse/Describe
 * on the session's connection (its own batch between the client's, or joining the client's unsynced batch);
 * names in a statement resolve along the session's search_path ({@code SessionSearchPath}, read on the session's
 * connection between batches when a name could mean relations in several schemas or a temporary table).
 *
 * <p>Limits: cursors and portals are forgotten at COMMIT/ROLLBACK as written in SQL, at ROLLBACK TO SAVEPOINT those
 * declared after the savepoint ({@code Savepoints}), and when the server reports no open transaction; a held cursor
 * stays only once the server's answers say its transaction committed (no error, no ROLLBACK tag up to an idle
 * ReadyForQuery with nothing else outstanding), and is unknown between its COMMIT and that answer. Fail closed, so
 * a pipelining client's later batch may lose portals and held cursors the server kept, and a held cursor whose
 * transaction committed in a batch that then failed or rolled back another is forgotten. A DECLARE reusing the
 * name of a portal Warden still knows makes Warden forget that name; a statement whose routine bodies run dynamic
 * SQL makes it forget every portal (that SQL may CLOSE one, whose name an OPEN then takes). Inside a client's unsynced batch, and for texts of several statements or statements that
 * run function bodies or set the search_path, names count every relation of that name (masks more, never less,
 * except that a write into an ambiguous name is then not refused as a copy of sensitive values into a clear
 * table when any candidate has a masked column). A prepared statement keeps the exposure judged at Parse even if
 * the session changes its search_path before an Execute (its plain columns are still masked by their table).
 */
package dev.warden.proxy.session;
