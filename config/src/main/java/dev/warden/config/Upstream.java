package dev.warden.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The real PostgreSQL server behind one environment, and how Warden logs in to it. {@code user} is Warden's own
 * login: sessions use it when the environment maps no roles; otherwise Warden uses it for its catalog reads and,
 * with per-identity provisioning, to create the identities' roles. {@code allowSuperuser} lets it (or a mapped
 * role) be a superuser, which Warden otherwise refuses. {@code userOrigin} is {@code file:line:column: path} of
 * {@code user}, for findings against a live database. {@code catalogChannel}, when set, is the notification channel
 * Warden LISTENs on for DDL made outside it (an event trigger an administrator installs sends on it): the
 * environment's catalog entries are then dropped at once instead of when they expire. {@code queryTimeout} bounds
 * each of Warden's own queries on its login (catalog reads, privilege checks, role provisioning): the server
 * cancels one that runs longer, and Warden drops a connection that stays silent a few seconds past it.
 */
public record Upstream(String host, int port, String database, String user, Secret password, TlsMode tls,
                       Optional<Path> rootCert, Duration connectTimeout, boolean allowSuperuser,
                       String userOrigin, Optional<CatalogChannel> catalogChannel, Duration queryTimeout) {

    /** {@code upstream.query_timeout} when the policy gives none. */
    public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(30);

    public Upstream {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(rootCert, "rootCert");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(userOrigin, "userOrigin");
        Objects.requireNonNull(catalogChannel, "catalogChannel");
        Objects.requireNonNull(queryTimeout, "queryTimeout");
    }

    /** {@code upstream.catalog_channel}: the channel's name, exactly as LISTEN and pg_notify take it, and its origin. */
    public record CatalogChannel(String name, String origin) {
        public CatalogChannel {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(origin, "origin");
        }
    }

    /** With the default query timeout. */
    public Upstream(String host, int port, String database, String user, Secret password, TlsMode tls,
                    Optional<Path> rootCert, Duration connectTimeout, boolean allowSuperuser, String userOrigin,
                    Optional<CatalogChannel> catalogChannel) {
        this(host, port, database, user, password, tls, rootCert, connectTimeout, allowSuperuser, userOrigin,
                catalogChannel, DEFAULT_QUERY_TIMEOUT);
    }

    /** Without a catalog channel (tests and tools that build one by hand). */
    public Upstream(String host, int port, String database, String user, Secret password, TlsMode tls,
                    Optional<Path> rootCert, Duration connectTimeout, boolean allowSuperuser, String userOrigin) {
        this(host, port, database, user, password, tls, rootCert, connectTimeout, allowSuperuser, userOrigin,
                Optional.empty());
    }
}
