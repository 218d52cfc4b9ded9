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
        EnforcementMismatch, RoleSettingsReset, CopyIn {

    int SCHEMA_VERSION = 1;

    /** The session of events that belong to none (policy reloads, approvals decided in the console). */
    String NO_SESSION = "-";

    UUID id();

    Instant ts();

    String session();

    /** {@code session.start}, {@code query}, {@code approval.approved}… */
    String type();

    /**
     * Writes the fields particular to this type into the record being built: the reference form, which
     * {@link CanonicalJson#encode} sorts. {@link #writeCanonical} must produce the same bytes.
     */
    void writeFields(ObjectNode record);

    /**
     * Writes the same fields as {@link #writeFields}, in code-point order of their names, straight to canonical
     * bytes; the record header is merged in by the writer. This default goes through {@link #writeFields} and
     * sorts, for a type that has no hand-written form yet; every type on a hot path overrides it.
     */
    default void writeCanonical(CanonicalWriter out) {
        ObjectNode fields = CanonicalJson.object();
        writeFields(fields);
        java.util.List<String> names = new java.util.ArrayList<>();
        fields.fieldNames().forEachRemaining(names::add);
        java.util.Collections.sort(names);
        for (String name : names) {
            out.encoded(name, CanonicalJson.encode(fields.get(name)));
        }
    }
}
