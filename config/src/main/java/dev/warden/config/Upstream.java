package dev.warden.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The real PostgreSQL server behind one environment, and how Warden logs in to it. */
public record Upstream(String host, int port, String database, String user, Secret password, TlsMode tls,
                       Optional<Path> rootCert, Duration connectTimeout) {

    public Upstream {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(rootCert, "rootCert");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
    }
}
