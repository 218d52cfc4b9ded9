package dev.warden.audit.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Bytes after the last newline of a log file: a write cut short by a crash or a failing disk. They are never
 * removed (old files are not rewritten); the next {@code recovery} record names them by file, offset, length
 * and SHA-256, so verify can tell an acknowledged tear from a truncation.
 */
public record TornTail(String file, long offset, long length, String sha256) {

    void write(ObjectNode out) {
        out.put("file", file);
        out.put("offset", offset);
        out.put("length", length);
        out.put("sha256", sha256);
    }

    public static TornTail read(JsonNode node) {
        return new TornTail(node.path("file").asText(""), node.path("offset").asLong(-1),
                node.path("length").asLong(-1), node.path("sha256").asText(""));
    }
}
