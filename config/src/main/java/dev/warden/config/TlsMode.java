package dev.warden.config;

/** How Warden protects its connection to the upstream PostgreSQL server. */
public enum TlsMode {
    /** Plain TCP; only sensible on a trusted network or a Unix-like loopback. */
    DISABLE,
    /** TLS is required, the server certificate is not checked (libpq's {@code sslmode=require}). */
    REQUIRE,
    /** TLS with certificate chain and host name verification (libpq's {@code sslmode=verify-full}). */
    VERIFY_FULL
}
