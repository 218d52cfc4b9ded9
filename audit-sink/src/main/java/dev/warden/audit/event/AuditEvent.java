package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/**
 * One thing that happened, as the proxy saw it. The log adds {@code seq}, {@code prev} and
 * {@code schema_version} when it writes the record; the event supplies everything else.
 */
public sealed interface AuditEvent
        permits SessionStart, SessionEnd, AuthFailure, QueryEvent, ResultEvent, PolicyReload, ApprovalEvent,
        EnforcementMismatch {

    int SCHEMA_VERSION = 1;

    /** The session of events that belong to none (policy reloads, approvals decided in the console). */
    String NO_SESSION = "-";

    UUID id();

    Instant ts();

    String session();

    /** {@code session.start}, {@code query}, {@code approval.approved}… */
    String type();

    /** Writes the fields particular to this type into the record being built. */
    void writeFields(ObjectNode record);
}
