package dev.warden.proxy.upstream;

import dev.warden.config.Secret;

import java.util.Objects;

/** The PostgreSQL login one session uses: a mapped role, the identity's own role, or the upstream user. */
public record UpstreamLogin(String user, Secret password) {

    public UpstreamLogin {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
    }
}
