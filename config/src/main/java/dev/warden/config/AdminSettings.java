package dev.warden.config;

import java.util.Objects;
import java.util.Optional;

/**
 * The {@code admin} section: where the admin HTTP API (approvals, health) listens. Absent: no admin API.
 * The API carries bearer tokens: plain HTTP on loopback, TLS (the listener's certificate) on any other address.
 */
public record AdminSettings(Optional<Address> address) {

    public AdminSettings {
        Objects.requireNonNull(address, "address");
    }

    public static AdminSettings disabled() {
        return new AdminSettings(Optional.empty());
    }

    public boolean enabled() {
        return address.isPresent();
    }

    /** {@code host} without IPv6 brackets; port 0 picks a free port (tests). */
    public record Address(String host, int port) {
        public Address {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be between 0 and 65535");
            }
        }
    }
}
