package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/** {@code session.end}: how long, how many statements, and why it ended (client quit, token expired…). */
public record SessionEnd(UUID id, Instant ts, String session, long durationMs, long statements, String reason)
        implements AuditEvent {

    public SessionEnd {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        reason = reason == null ? "" : reason;
    }

    public static SessionEnd of(String session, long durationMs, long statements, String reason) {
        return new SessionEnd(null, null, session, durationMs, statements, reason);
    }

    @Override
    public String type() {
        return "session.end";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.number("duration_ms", durationMs).string("reason", reason).number("statements", statements);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("duration_ms", durationMs);
        record.put("statements", statements);
        record.put("reason", reason);
    }
}
