package dev.warden.proxy;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;

import java.nio.file.Path;
import java.util.Map;

/**
 * A policy with one environment, {@code prod} (group {@code eng}), for tests that judge statements in plain Java
 * with no socket and no database; each test appends its own sections.
 */
public final class ProdPolicy {

    /** Eight lines: identity, one issuer, environment {@code prod} with its upstream and who may connect. */
    public static final String HEADER = """
            identity:
              issuers:
                - issuer: https://login.example.com/realms/acme
                  audience: warden
            environments:
              prod:
                upstream: { host: db.internal, database: app, user: warden }
                allow: [ { groups: [eng] } ]
            """;

    private ProdPolicy() {
    }

    /** {@link #HEADER} followed by {@code sections}, loaded as {@code dir/policy.yaml}. */
    public static Policy with(String sections, Path dir) throws Exception {
        return PolicyLoader.parse(HEADER + sections, dir, "policy.yaml", Map.of());
    }
}
