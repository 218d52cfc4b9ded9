package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * {@code policy.reload}: a new policy file was read; {@code error} says why it was rejected, if it was;
 * {@code changes} names what an accepted reload changed (sections, guardrails and baseline rules, issuers,
 * environments, masking rules added, removed or changed), so the record says more than two hashes.
 */
public record PolicyReload(UUID id, Instant ts, String session, String oldVersion, String newVersion,
                           boolean accepted, String error, Map<String, List<String>> changes) implements AuditEvent {

    public PolicyReload {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        oldVersion = oldVersion == null ? "" : oldVersion;
        newVersion = newVersion == null ? "" : newVersion;
        changes = changes == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(changes));
    }

    public static PolicyReload accepted(String oldVersion, String newVersion) {
        return accepted(oldVersion, newVersion, Map.of());
    }

    public static PolicyReload accepted(String oldVersion, String newVersion, Map<String, List<String>> changes) {
        return new PolicyReload(null, null, null, oldVersion, newVersion, true, null, changes);
    }

    public static PolicyReload rejected(String oldVersion, String newVersion, String error) {
        return new PolicyReload(null, null, null, oldVersion, newVersion, false, error, Map.of());
    }

    @Override
    public String type() {
        return "policy.reload";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.bool("accepted", accepted);
        if (accepted) {
            // Canonical order: "changes" sorts between "accepted" and "error"; its keys are sorted (a TreeMap).
            out.object("changes");
            changes.forEach(out::strings);
            out.end();
        }
        out.string("error", error).string("new_version", newVersion).string("old_version", oldVersion);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("old_version", oldVersion);
        record.put("new_version", newVersion);
        record.put("accepted", accepted);
        record.put("error", error);
        if (accepted) {
            ObjectNode changed = record.putObject("changes");
            changes.forEach((what, names) -> {
                ArrayNode list = changed.putArray(what);
                names.forEach(list::add);
            });
        }
    }
}
