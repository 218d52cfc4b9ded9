package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/** Small helpers for the event records: defaults for id and time, list copies that tolerate null. */
final class Fields {

    private Fields() {
    }

    static UUID id(UUID id) {
        return id == null ? EventIds.next() : id;
    }

    static Instant ts(Instant ts) {
        return ts == null ? Timestamps.now() : ts.truncatedTo(java.time.temporal.ChronoUnit.MICROS);
    }

    static String session(String session) {
        return session == null || session.isEmpty() ? AuditEvent.NO_SESSION : session;
    }

    static List<String> list(List<String> values) {
        return values == null ? List.of() : List.copyOf(values);
    }

    static String required(String value, String name) {
        return Objects.requireNonNull(value, name);
    }

    static void strings(ObjectNode record, String name, List<String> values) {
        ArrayNode array = record.putArray(name);
        values.forEach(array::add);
    }
}
