package dev.warden.audit.ocsf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The chain's record inside a message of either format: the record itself ({@code format: warden}), or an OCSF
 * event whose {@code raw_data} holds it ({@code format: ocsf}). Lets verify and resume read both.
 */
public final class ChainLines {

    private static final ObjectMapper JSON = dev.warden.audit.event.CanonicalJson.recordReader();

    /** A record's bytes as chained, and what the chain needs from it. */
    public record Line(byte[] bytes, long seq, String type, String hash) {
    }

    private ChainLines() {
    }

    public static Line fromMessage(byte[] value) {
        try {
            JsonNode node = JSON.readTree(value);
            byte[] bytes = value;
            if (node != null && node.has("class_uid") && node.path("raw_data").isTextual()) {
                bytes = node.path("raw_data").asText().getBytes(StandardCharsets.UTF_8);
                node = JSON.readTree(bytes);
            }
            if (node == null || !node.path("seq").isIntegralNumber()) {
                return new Line(bytes, -1, "", sha256(bytes));
            }
            return new Line(bytes, node.path("seq").asLong(), node.path("type").asText(""), sha256(bytes));
        } catch (IOException e) {
            return new Line(value, -1, "", sha256(value));
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
