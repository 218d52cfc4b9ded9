package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Where from: the peer address, the TLS version (null for plaintext) and the client's application_name. */
public record ClientInfo(String address, String tlsVersion, String applicationName) {

    public ClientInfo {
        address = address == null ? "" : address;
    }

    CanonicalWriter write(CanonicalWriter out) {
        return out.string("address", address).string("application_name", applicationName)
                .string("tls_version", tlsVersion);
    }

    void write(ObjectNode out) {
        out.put("address", address);
        out.put("tls_version", tlsVersion);
        out.put("application_name", applicationName);
    }
}
