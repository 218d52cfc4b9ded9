package dev.warden.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The client-facing listener. With neither {@code tlsCert} nor {@code tlsKey} the proxy makes a self-signed
 * certificate. {@link Duration#ZERO} for {@code idleTimeout} means no idle timeout. {@code host} is a bare
 * address or name (IPv6 without brackets); {@code port} 0 asks the system for a free port (tests).
 */
public record Listen(String host, int port, Optional<Path> tlsCert, Optional<Path> tlsKey,
                     boolean allowPlaintextOnLoopback, int maxConnections, Duration startupTimeout,
                     Duration idleTimeout, Duration shutdownGrace, int maxMessageBytes,
                     boolean closeOnTokenExpiry, Duration tokenExpiryGrace) {

    public Listen {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(tlsCert, "tlsCert");
        Objects.requireNonNull(tlsKey, "tlsKey");
        Objects.requireNonNull(startupTimeout, "startupTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(tokenExpiryGrace, "tokenExpiryGrace");
    }
}
