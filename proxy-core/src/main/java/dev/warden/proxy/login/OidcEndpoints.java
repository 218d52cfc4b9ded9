package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.Optional;

/** The endpoints a login needs, from the issuer's discovery document. */
public record OidcEndpoints(String issuer, Optional<URI> authorization, URI token,
                            Optional<URI> deviceAuthorization) {

    static OidcEndpoints fromDiscovery(String requestedIssuer, JsonNode document) throws LoginException {
        String issuer = Issuers.normalize(text(document, "issuer").orElse(""));
        if (!issuer.equals(Issuers.normalize(requestedIssuer))) {
            // OpenID Connect Discovery 1.0, section 4.3: a mismatch means the document is not this issuer's.
            throw new LoginException("discovery document of " + requestedIssuer + " names issuer '" + issuer
                    + "'; refusing it");
        }
        URI token = text(document, "token_endpoint").map(URI::create).orElseThrow(
                () -> new LoginException("discovery document of " + requestedIssuer + " has no token_endpoint"));
        return new OidcEndpoints(issuer, text(document, "authorization_endpoint").map(URI::create), token,
                text(document, "device_authorization_endpoint").map(URI::create));
    }

    private static Optional<String> text(JsonNode document, String field) {
        JsonNode node = document.get(field);
        return node == null || !node.isTextual() || node.asText().isBlank() ? Optional.empty()
                : Optional.of(node.asText());
    }
}
