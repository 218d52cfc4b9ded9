package dev.warden.proxy.demo;

/**
 * The example policy the demo writes to {@code <data dir>/warden.yaml} at every start (the ports of the embedded
 * PostgreSQL and of the issuer change from run to run). It is meant to be read: each section shows a feature the
 * tour exercises, and copying it is a fair start for a real policy once the issuer is a real IdP.
 */
final class DemoPolicy {

    static final String FILE = "warden.yaml";
    static final String PASSWORD_FILE = "upstream-password";
    static final String KEYS_DIR = "keys";
    static final String SIGNING_KEY_FILE = "audit-signing-key.pem";
    static final String PUBLIC_KEY_FILE = "audit-signing-key.pub.pem";
    static final String WITNESS_URL_FILE = "witness-url";

    /** The witness table sits in the staging database: outside the log directory, reachable by the CLI. */
    static String witnessUrl(DemoDatabase db) {
        String sslmode = db.tls().equals("disable") ? "disable" : "require";
        return "jdbc:postgresql://" + db.host() + ":" + db.port() + "/" + db.databases().get("staging")
                + "?sslmode=" + sslmode + "&user=" + java.net.URLEncoder.encode(db.user(),
                java.nio.charset.StandardCharsets.UTF_8) + "&password=" + java.net.URLEncoder.encode(db.password(),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    private DemoPolicy() {
    }

    /**
     * Each person and agent runs as a PostgreSQL role of their own ({@code wd_alice@demo.warden}), a member of
     * the role their groups map to, so PostgreSQL itself stops what Warden's analysis might miss. A server given
     * with --upstream has none of these roles: its sessions share the --upstream login, which may be a superuser
     * there (Warden then names it in a warning at start).
     */
    private static String roles(DemoDatabase db) {
        if (!db.isEmbedded()) {
            return "";
        }
        return """
                    roles:                                          # which PostgreSQL role a session runs as
                      provision: per_identity                       # each identity gets its own login role
                      map:                                          # first match wins; no match: login refused
                        - { agents: true, role: %s }
                        - { groups: [dba], role: %s }
                        - { role: %s }
                """.formatted(DemoDatabase.READ_ONLY, DemoDatabase.ADMIN, DemoDatabase.READ_WRITE).stripTrailing();
    }

    static String render(String issuer, int listenPort, int adminPort, DemoDatabase db) {
        String upstream = "{ host: \"%s\", port: %d, database: \"%s\", user: \"%s\", password_file: %s, tls: %s"
                + (db.isEmbedded() ? "" : ", allow_superuser: true") + " }";
        return """
                # Written by `warden demo` at every start; edits are overwritten (copy it to experiment).
                # Check a copy with: warden policy check FILE
                listen:
                  address: 127.0.0.1:%d
                  # No tls: section, so Warden makes a self-signed certificate at start: clients use sslmode=require.
                  shutdown_grace: 2s

                identity:
                  issuers:
                    # %s: `warden demo` runs it on loopback with a key that exists only in memory.
                    # A real policy names your identity provider here (Keycloak, Okta, Entra ID, Google).
                    - issuer: %s
                      audience: warden
                      username_claim: email
                      groups_claim: groups
                      agent: { claim: azp, in: [support-bot] }     # tokens from this client are an AI agent

                environments:
                  staging:
                    upstream: %s
                    allow: [ { groups: [eng, dba, support] } ]
                %s
                  prod:
                    production: true                                # stricter baseline guardrails
                    upstream: %s
                    allow: [ { groups: [eng, dba, support] } ]
                %s

                guardrails:
                  baseline: true                                    # DROP TABLE, TRUNCATE, UPDATE without WHERE, ...
                  rules:
                    - name: agents-read-only-in-prod
                      environments: [prod]
                      who: { agents: true }
                      match: { writes: true }
                      action: block
                      message: agents may only read in prod
                    - name: prod-writes-reviewed
                      environments: [prod]
                      match: { writes: true }
                      unless: { groups: [dba] }
                      action: require_approval
                      approvers: [dba]

                masking:
                  defaults: on                                      # e-mails, phones, cards, SSNs, keys, ...
                  unmasked_for: { groups: [pii-readers], agents: never }

                audit:
                  sinks: [ { type: file, dir: audit } ]             # hash-chained, signed: warden audit verify
                  signing_key: keys/audit-signing-key.pem           # outside the log directory
                  instance: warden-demo
                  witness: { type: postgres, url_file: witness-url } # checkpoint heads kept outside the log: a cut log fails verify

                approvals:
                  timeout: 10m
                  store: { type: file, path: approvals }

                admin:
                  address: 127.0.0.1:%d                           # approvals API and /readyz
                """.formatted(listenPort, DevelopmentIssuer.LABEL, issuer,
                upstream.formatted(db.host(), db.port(), db.databases().get("staging"), db.user(), PASSWORD_FILE,
                        db.tls()), roles(db),
                upstream.formatted(db.host(), db.port(), db.databases().get("prod"), db.user(), PASSWORD_FILE,
                        db.tls()), roles(db),
                adminPort);
    }
}
