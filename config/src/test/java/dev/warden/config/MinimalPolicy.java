package dev.warden.config;

/** The smallest valid policy the section tests append to, so their line numbers are known. */
final class MinimalPolicy {

    /**
     * Twelve lines, so an appended section starts on line 13: 1 identity, 3 issuer, 4 audience, 5 environments,
     * 7 upstream, 8 host, 10 user, 12 groups.
     */
    static final String TEXT = """
            identity:
              issuers:
                - issuer: https://login.example.com/realms/acme
                  audience: warden
            environments:
              prod:
                upstream:
                  host: db.internal
                  database: app
                  user: warden
                allow:
                  - groups: [eng]
            """;

    private MinimalPolicy() {
    }
}
