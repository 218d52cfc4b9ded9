package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/** {@code policy.reload}: a new policy file was read; {@code error} says why it was rejected, if it was. */
public record PolicyReload(UUID id, Instant ts, String session, String oldVersion, String newVersion,
                           boolean accepted, String error) implements AuditEvent {

    public PolicyReload {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        oldVersion = oldVersion == null ? "" : oldVersion;
        newVersion = newVersion == null ? "" : newVersion;
    }

    public static PolicyReload accepted(String oldVersion, String newVersion) {
        return new PolicyReload(null, null, null, oldVersion, newVersion, true, null);
    }

    public static PolicyReload rejected(String oldVersion, String newVersion, String error) {
        return new PolicyReload(null, null, null, oldVersion, newVersion, false, error);
    }

    @Override
    public String type() {
        return "policy.reload";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.bool("accepted", accepted).string("error", error).string("new_version", newVersion)
                .string("old_version", oldVersion);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("old_version", oldVersion);
        record.put("new_version", newVersion);
        record.put("accepted", accepted);
        record.put("error", error);
    }
}
