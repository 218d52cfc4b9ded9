package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;

/**
 * Reads claims from a JWT without verifying it. The CLI only needs to know which user name to send and when
 * the token expires; Warden verifies the signature when the token arrives as a password.
 */
public final class JwtClaims {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JwtClaims() {
    }

    /** The claim as a string, or empty when the token is not a JWT or lacks it. */
    public static Optional<String> string(String token, String claim) {
        return payload(token).map(p -> p.get(claim)).filter(n -> n != null && n.isValueNode() && !n.isNull())
                .map(JsonNode::asText).filter(s -> !s.isEmpty());
    }

    static Optional<Instant> expiry(String token) {
        return payload(token).map(p -> p.get("exp")).filter(n -> n != null && n.canConvertToLong())
                .map(n -> Instant.ofEpochSecond(n.asLong()));
    }

    private static Optional<JsonNode> payload(String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3) {
            return Optional.empty();
        }
        try {
            JsonNode node = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
            return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
