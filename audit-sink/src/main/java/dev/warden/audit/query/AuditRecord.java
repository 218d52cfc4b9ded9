package dev.warden.audit.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.event.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/** One record read back from a log file: its JSON, where it was, and its exact line (for {@code --json}). */
public record AuditRecord(String file, int line, byte[] bytes, ObjectNode json) {

    public long seq() {
        return json.path("seq").asLong(-1);
    }

    public String type() {
        return json.path("type").asText("");
    }

    public String session() {
        return json.path("session").asText("");
    }

    public Instant ts() {
        try {
            return Timestamps.parse(json.path("ts").asText(""));
        } catch (RuntimeException e) {
            return Instant.EPOCH;
        }
    }

    public JsonNode get(String field) {
        return json.path(field);
    }

    /** The record exactly as stored, without its newline. */
    public String text() {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
