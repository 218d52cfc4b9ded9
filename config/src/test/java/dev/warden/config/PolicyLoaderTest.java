package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyLoaderTest {

    @TempDir
    Path dir;

    private Policy parse(String yaml, Map<String, String> env) throws PolicyException {
        return PolicyLoader.parse(yaml, dir, "policy.yaml", env);
    }

    private Policy parse(String yaml) throws PolicyException {
        return parse(yaml, Map.of());
    }

    private PolicyException failure(String yaml, Map<String, String> env) {
        return assertThrows(PolicyException.class, () -> parse(yaml, env));
    }

    private PolicyException failure(String yaml) {
        return failure(yaml, Map.of());
    }

    @Test
    void completePolicyLoadsEveryField() throws Exception {
        Files.createDirectories(dir.resolve("certs"));
        Files.writeString(dir.resolve("certs/warden.crt"), "cert");
        Files.writeString(dir.resolve("certs/warden.key"), "key");
        Files.writeString(dir.resolve("stage.pw"), "s3cret-from-file\n");
        Files.writeString(dir.resolve("root.crt"), "root");
        String yaml = """
                listen:
                  address: "[::1]:7000"
                  tls: { cert: certs/warden.crt, key: certs/warden.key }
                  allow_plaintext_on_loopback: true
                  max_connections: 50
                  startup_timeout: 500ms
                  idle_timeout: 15m
                  shutdown_grace: 1h
                  max_message_bytes: 1048576
                  close_on_token_expiry: false
                identity:
                  issuers:
                    - issuer: https://login.example.com/realms/acme
                      audience: warden
                      username_claim: preferred_username
                      groups_claim: roles
                      agent: { claim: azp, in: [etl-bot, support-copilot] }
                      algorithms: [RS256, PS256]
                      clock_skew: 30s
                      jwks_uri: https://login.example.com/keys
                    - issuer: http://127.0.0.1:8080
                      audience: warden-dev
                environments:
                  prod:
                    production: true
                    upstream: { host: db.internal, port: 5433, database: app, user: warden,
                                password_env: PROD_DB_PASSWORD, tls: verify-full, root_cert: root.crt,
                                connect_timeout: 2s, query_timeout: 1500ms }
                    allow: [ { groups: [eng, dba] }, { users: [carol@example.com] } ]
                  stage_2:
                    upstream: { host: stage.internal, database: app, user: warden, password_file: stage.pw, tls: disable }
                    allow: [ { groups: dev } ]
                """;
        Policy policy = parse(yaml, Map.of("PROD_DB_PASSWORD", "pr0d"));

        Listen listen = policy.listen();
        assertEquals("::1", listen.host());
        assertEquals(7000, listen.port());
        assertEquals(Optional.of(dir.resolve("certs/warden.crt")), listen.tlsCert());
        assertEquals(Optional.of(dir.resolve("certs/warden.key")), listen.tlsKey());
        assertTrue(listen.allowPlaintextOnLoopback());
        assertEquals(50, listen.maxConnections());
        assertEquals(Duration.ofMillis(500), listen.startupTimeout());
        assertEquals(Duration.ofMinutes(15), listen.idleTimeout());
        assertEquals(Duration.ofHours(1), listen.shutdownGrace());
        assertEquals(1048576, listen.maxMessageBytes());
        assertFalse(listen.closeOnTokenExpiry());

        assertEquals(2, policy.issuers().size());
        IssuerConfig acme = policy.issuers().get(0);
        assertEquals("https://login.example.com/realms/acme", acme.issuer());
        assertEquals("warden", acme.audience());
        assertEquals("preferred_username", acme.usernameClaim());
        assertEquals("roles", acme.groupsClaim());
        assertEquals(Optional.of(new AgentRule("azp", Set.of("etl-bot", "support-copilot"))), acme.agent());
        assertEquals(Set.of("RS256", "PS256"), acme.algorithms());
        assertEquals(Duration.ofSeconds(30), acme.clockSkew());
        assertEquals(Optional.of(URI.create("https://login.example.com/keys")), acme.jwksUri());

        assertEquals(List.of("prod", "stage_2"), List.copyOf(policy.environments().keySet()));
        Environment prod = policy.environment("prod").orElseThrow();
        assertTrue(prod.production());
        Upstream up = prod.upstream();
        assertEquals("db.internal", up.host());
        assertEquals(5433, up.port());
        assertEquals("app", up.database());
        assertEquals("warden", up.user());
        assertEquals("pr0d", up.password().reveal());
        assertEquals(TlsMode.VERIFY_FULL, up.tls());
        assertEquals(Optional.of(dir.resolve("root.crt")), up.rootCert());
        assertEquals(Duration.ofSeconds(2), up.connectTimeout());
        assertEquals(Duration.ofMillis(1500), up.queryTimeout());
        assertEquals(List.of(new AccessRule(Set.of("eng", "dba"), Set.of()),
                new AccessRule(Set.of(), Set.of("carol@example.com"))), prod.allow());

        Environment stage = policy.environment("stage_2").orElseThrow();
        assertFalse(stage.production());
        assertEquals("s3cret-from-file", stage.upstream().password().reveal());
        assertEquals(TlsMode.DISABLE, stage.upstream().tls());
        assertEquals(Set.of("dev"), stage.allow().get(0).groups());
        assertEquals(Optional.empty(), policy.environment("nope"));
        assertEquals(64, policy.versionHash().length());
    }

    @Test
    void omittedSettingsTakeTheirDefaults() throws Exception {
        Policy policy = parse(MinimalPolicy.TEXT);
        Listen listen = policy.listen();
        assertEquals("127.0.0.1", listen.host());
        assertEquals(6432, listen.port());
        assertEquals(Optional.empty(), listen.tlsCert());
        assertEquals(Optional.empty(), listen.tlsKey());
        assertFalse(listen.allowPlaintextOnLoopback());
        assertEquals(1000, listen.maxConnections());
        assertEquals(Duration.ofSeconds(10), listen.startupTimeout());
        assertEquals(Duration.ZERO, listen.idleTimeout());
        assertEquals(Duration.ofSeconds(30), listen.shutdownGrace());
        assertEquals(67108864, listen.maxMessageBytes());
        assertTrue(listen.closeOnTokenExpiry());

        IssuerConfig issuer = policy.issuers().get(0);
        assertEquals("email", issuer.usernameClaim());
        assertEquals("groups", issuer.groupsClaim());
        assertEquals(Optional.empty(), issuer.agent());
        assertEquals(Set.of("RS256", "ES256", "EdDSA"), issuer.algorithms());
        assertEquals(Duration.ofSeconds(60), issuer.clockSkew());
        assertEquals(Optional.empty(), issuer.jwksUri());

        Upstream up = policy.environment("prod").orElseThrow().upstream();
        assertEquals(5432, up.port());
        assertTrue(up.password().isEmpty());
        assertEquals(TlsMode.REQUIRE, up.tls());
        assertEquals(Optional.empty(), up.rootCert());
        assertEquals(Duration.ofSeconds(5), up.connectTimeout());
        assertEquals(Duration.ofSeconds(30), up.queryTimeout());
        assertFalse(policy.environment("prod").orElseThrow().production());
    }

    @Test
    void upstreamPortOutOfRangePointsAtTheValue() {
        String yaml = MinimalPolicy.TEXT.replace("      host: db.internal\n", "      host: db.internal\n      port: 70000\n");
        PolicyException e = failure(yaml);
        assertEquals("policy.yaml:9:13: environments.prod.upstream.port: must be between 1 and 65535", e.getMessage());
        assertEquals(9, e.line());
        assertEquals(13, e.column());
        assertEquals("environments.prod.upstream.port", e.path());
    }

    @Test
    void aQueryTimeoutBelowASecondOrBeyondADayPointsAtTheValue() {
        for (String value : new String[] {"0s", "999ms", "25h"}) {
            PolicyException e = failure(MinimalPolicy.TEXT.replace("      host: db.internal\n",
                    "      host: db.internal\n      query_timeout: " + value + "\n"));
            assertEquals("policy.yaml:9:22: environments.prod.upstream.query_timeout: "
                    + (value.equals("0s") ? "must be greater than 0" : "must be between 1s and 24h"), e.getMessage());
        }
    }

    @Test
    void flowStyleValuesAreLocatedToo() {
        PolicyException e = failure("listen: { address: \"0.0.0.0:99999\" }\n" + MinimalPolicy.TEXT);
        assertEquals("policy.yaml:1:20: listen.address: the port must be between 0 and 65535", e.getMessage());
    }

    @Test
    void unknownKeySuggestsTheNearestKnownOne() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      host: db.internal", "      hots: db.internal"));
        assertEquals("policy.yaml:8:7: environments.prod.upstream.hots: unknown key 'hots' (did you mean 'host'?)",
                e.getMessage());
    }

    @Test
    void unknownKeyWithoutCloseMatchListsTheKnownKeys() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      audience: warden", "      audience: warden\n      colour: blue"));
        assertEquals("policy.yaml:5:7: identity.issuers[0].colour: unknown key 'colour'; expected one of issuer, "
                + "audience, username_claim, groups_claim, agent, algorithms, clock_skew, jwks_uri, denied_token_ids, "
                + "username_prefix, groups_prefix", e.getMessage());
    }

    @Test
    void inlinePasswordIsRejected() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      user: warden", "      user: warden\n      password: hunter2"));
        assertEquals("policy.yaml:11:7: environments.prod.upstream.password: inline passwords are not allowed: "
                + "put secrets in password_env or password_file", e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"));
    }

    @Test
    void passwordEnvironmentVariableMustBeSet() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      user: warden", "      user: warden\n      password_env: PROD_PW"));
        assertEquals("policy.yaml:11:21: environments.prod.upstream.password_env: environment variable PROD_PW is not set",
                e.getMessage());
    }

    @Test
    void variablesAreSubstitutedInScalars() throws Exception {
        String yaml = MinimalPolicy.TEXT.replace("host: db.internal", "host: ${DB_HOST}")
                .replace("database: app", "database: ${DB_NAME:-app_default}")
                .replace("user: warden", "user: \"${DB_USER}-rw\"")
                + "listen: { address: \"${BIND:-0.0.0.0}:${PORT}\" }\n";
        Policy policy = parse(yaml, Map.of("DB_HOST", "db.example", "DB_USER", "svc", "PORT", "7432"));
        Upstream up = policy.environment("prod").orElseThrow().upstream();
        assertEquals("db.example", up.host());
        assertEquals("app_default", up.database());
        assertEquals("svc-rw", up.user());
        assertEquals("0.0.0.0", policy.listen().host());
        assertEquals(7432, policy.listen().port());
    }

    @Test
    void escapedDollarBraceStaysLiteral() throws Exception {
        Policy policy = parse(MinimalPolicy.TEXT.replace("user: warden", "user: \"$${NOT_A_VAR}\""));
        assertEquals("${NOT_A_VAR}", policy.environment("prod").orElseThrow().upstream().user());
    }

    @Test
    void undefinedVariableNamesTheVariableAndLine() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("host: db.internal", "host: ${DB_HOST}"));
        assertEquals(8, e.line());
        assertEquals("environments.prod.upstream.host", e.path());
        assertTrue(e.getMessage().startsWith("policy.yaml:8:13: environments.prod.upstream.host: environment variable "
                + "DB_HOST is not set (on line 8"), e.getMessage());
    }

    @Test
    void durationsAcceptTheDocumentedUnits() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofMinutes(15), Durations.parse("15m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofDays(2), Durations.parse("2d"));
        assertEquals(Duration.ZERO, Durations.parse("0"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("10"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("-1s"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("1.5s"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("ten seconds"));
    }

    @Test
    void badDurationIsReportedWithItsLocation() {
        PolicyException e = failure("listen:\n  startup_timeout: 10\n" + MinimalPolicy.TEXT);
        assertEquals("policy.yaml:2:20: listen.startup_timeout: '10' needs a unit: ms, s, m, h or d", e.getMessage());
        PolicyException zero = failure("listen:\n  startup_timeout: 0\n" + MinimalPolicy.TEXT);
        assertEquals("policy.yaml:2:20: listen.startup_timeout: must be greater than 0", zero.getMessage());
    }

    @Test
    void yamlSyntaxErrorsHaveFileLineAndColumn() {
        PolicyException e = failure("identity:\n  issuers: [\n    - x: y\n  nope: : :\n");
        assertEquals("policy.yaml", e.source());
        // The problem is the block entry '-' inside a flow sequence, at line 3 column 5.
        assertEquals("policy.yaml:3:5: invalid YAML: expected the node content, but found '-'", e.getMessage());
    }

    @Test
    void hmacAndNoneAlgorithmsAreRejectedAtLoad() {
        PolicyException hs = failure(MinimalPolicy.TEXT.replace("      audience: warden", "      audience: warden\n      algorithms: [RS256, HS256]"));
        assertEquals(5, hs.line());
        assertEquals(27, hs.column());
        assertEquals("identity.issuers[0].algorithms[1]", hs.path());
        assertTrue(hs.reason().startsWith("HMAC algorithm 'HS256' is not allowed"), hs.getMessage());

        PolicyException none = failure(MinimalPolicy.TEXT.replace("      audience: warden", "      audience: warden\n      algorithms: [none]"));
        assertTrue(none.reason().startsWith("algorithm 'none' is not allowed"), none.getMessage());

        PolicyException typo = failure(MinimalPolicy.TEXT.replace("      audience: warden", "      audience: warden\n      algorithms: RS265"));
        assertEquals("unknown algorithm 'RS265' (did you mean 'RS256'?)", typo.reason());
    }

    @Test
    void plainHttpIssuerIsOnlyAcceptedOnLoopback() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("https://login.example.com", "http://login.example.com"));
        assertEquals("policy.yaml:3:15: identity.issuers[0].issuer: must use https (plain http is only accepted for "
                + "localhost)", e.getMessage());
    }

    @Test
    void missingRequiredKeyIsReportedAtItsParent() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      database: app\n", ""));
        assertEquals("policy.yaml:8:7: environments.prod.upstream.database: is required", e.getMessage());
        PolicyException audience = failure(MinimalPolicy.TEXT.replace("      audience: warden\n", ""));
        assertEquals("policy.yaml:3:7: identity.issuers[0].audience: is required", audience.getMessage());
    }

    @Test
    void atLeastOneIssuerAndOneEnvironmentAreRequired() {
        PolicyException noIssuers = failure(MinimalPolicy.TEXT.replace("""
                  issuers:
                    - issuer: https://login.example.com/realms/acme
                      audience: warden
                """, "  issuers: []\n"));
        assertEquals("policy.yaml:2:12: identity.issuers: at least one issuer is required", noIssuers.getMessage());
        PolicyException noEnvironments = failure(MinimalPolicy.TEXT.substring(0, MinimalPolicy.TEXT.indexOf("environments:")));
        assertEquals("environments", noEnvironments.path());
        assertTrue(noEnvironments.reason().contains("at least one environment is required"));
    }

    @Test
    void environmentNamesAreRestricted() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("  prod:", "  \"prod db\":"));
        assertEquals("policy.yaml:6:3: environments.prod db: environment names may only contain letters, digits, "
                + "'_' and '-'", e.getMessage());
    }

    @Test
    void tlsCertificateWithoutKeyIsRejected() throws IOException {
        Files.writeString(dir.resolve("w.crt"), "cert");
        PolicyException e = failure("listen:\n  tls: { cert: w.crt }\n" + MinimalPolicy.TEXT);
        assertEquals("listen.tls.key", e.path());
        assertTrue(e.reason().startsWith("give both cert and key, or neither"), e.getMessage());
        PolicyException missing = failure("listen:\n  tls: { cert: nope.crt, key: nope.key }\n" + MinimalPolicy.TEXT);
        assertEquals("policy.yaml:2:16: listen.tls.cert: file not found or not readable: " + dir.resolve("nope.crt"),
                missing.getMessage());
    }

    @Test
    void emptyValuesAndWrongShapesAreErrors() {
        assertEquals("policy.yaml:9:16: environments.prod.upstream.database: must not be empty",
                failure(MinimalPolicy.TEXT.replace("database: app", "database:")).getMessage());
        assertEquals("policy.yaml:12:18: environments.prod.allow[0].groups[0]: must be a single value, not a mapping",
                failure(MinimalPolicy.TEXT.replace("[eng]", "[{a: b}]")).getMessage());
        assertEquals("policy.yaml:9:17: environments.prod.upstream.database: has no value",
                failure(MinimalPolicy.TEXT.replace("database: app", "database: ~")).getMessage());
        assertEquals("policy.yaml:7:17: environments.prod.production: must be true or false, not 'yes please'",
                failure(MinimalPolicy.TEXT.replace("  prod:\n", "  prod:\n    production: yes please\n")).getMessage());
    }

    @Test
    void catalogChannelIsKeptAsWrittenAndItsLengthChecked() throws PolicyException {
        assertEquals(Optional.empty(), parse(MinimalPolicy.TEXT).environment("prod").orElseThrow().upstream()
                .catalogChannel());
        Policy policy = parse(MinimalPolicy.TEXT.replace("user: warden", "user: warden\n      catalog_channel: Warden DDL"));
        assertEquals(Optional.of(new Upstream.CatalogChannel("Warden DDL",
                        "policy.yaml:11:24: environments.prod.upstream.catalog_channel")),
                policy.environment("prod").orElseThrow().upstream().catalogChannel());
        assertEquals("policy.yaml:11:24: environments.prod.upstream.catalog_channel: catalog_channel must be a "
                        + "channel name of 1 to 63 bytes, got 64 bytes",
                failure(MinimalPolicy.TEXT.replace("user: warden", "user: warden\n      catalog_channel: "
                        + "c".repeat(64))).getMessage());
    }

    @Test
    void unknownSectionsAreRefusedNotIgnored() {
        PolicyException e = failure(MinimalPolicy.TEXT + "guardrail:\n  baseline: false\n");
        assertEquals("policy.yaml:13:1: guardrail: unknown key 'guardrail' (did you mean 'guardrails'?)",
                e.getMessage());
    }

    @Test
    void guardrailRulesAreValidatedWithLocations() {
        assertEquals("policy.yaml:14:5: guardrails[0].match: is required: a rule must say what it matches",
                failure(MinimalPolicy.TEXT + "guardrails:\n  - { name: x, action: block }\n").getMessage());
        assertEquals("policy.yaml:14:38: guardrails[0].match.statements[0]: unknown statement kind 'DORP' (did you mean 'DROP'?)",
                failure(MinimalPolicy.TEXT + "guardrails:\n  - { name: x, match: { statements: [DORP] }, action: block }\n").getMessage());
        assertEquals("policy.yaml:14:55: guardrails[0].environments: unknown environment 'prd' (did you mean 'prod'?)",
                failure(MinimalPolicy.TEXT + "guardrails:\n  - { name: x, match: { writes: true }, environments: prd, action: block }\n").getMessage());
        assertEquals("policy.yaml:15:12: guardrails.disable: unknown baseline rule 'truncat' (did you mean 'truncate'?)",
                failure(MinimalPolicy.TEXT + "guardrails:\n  baseline: true\n  disable: [truncat]\n").getMessage());
        assertEquals("policy.yaml:14:49: guardrails[0].action: require_approval needs approvers (groups that may approve)",
                failure(MinimalPolicy.TEXT + "guardrails:\n  - { name: x, match: { writes: true }, action: require_approval }\n").getMessage());
    }

    @Test
    void guardrailRulesLoad() throws PolicyException {
        Policy policy = parse(MinimalPolicy.TEXT + """
                guardrails:
                  baseline: true
                  disable: [truncate]
                  rules:
                    - name: prod-writes-reviewed
                      environments: [prod]
                      match: { writes: true, tables: ["billing.*"] }
                      unless: { groups: [dba] }
                      action: require_approval
                      approvers: [dba]
                    - { name: agents-read-only, who: { agents: true }, match: { writes: true }, action: block }
                """);
        GuardrailSettings g = policy.guardrails();
        assertEquals(false, g.baselineRuleOn("truncate"));
        assertEquals(true, g.baselineRuleOn("delete-without-where"));
        assertEquals(2, g.rules().size());
        GuardrailRule first = g.rules().get(0);
        assertEquals(GuardrailRule.Action.REQUIRE_APPROVAL, first.action());
        assertEquals(java.util.List.of("billing.*"), first.match().tables());
        assertEquals(java.util.Set.of("dba"), first.unless().orElseThrow().groups());
        assertEquals(java.util.Optional.of(true), g.rules().get(1).appliesTo().agents());
    }

    @Test
    void duplicateKeysAreErrors() {
        PolicyException e = failure(MinimalPolicy.TEXT.replace("      user: warden", "      user: warden\n      user: other"));
        assertEquals("policy.yaml:11:7: environments.prod.upstream.user: duplicate key 'user'", e.getMessage());
    }

    @Test
    void emptyFileIsAnError() {
        assertEquals("policy.yaml:1:1: the policy is empty", failure("").getMessage());
    }

    @Test
    void loadResolvesRelativePathsAgainstThePolicyDirectoryAndHashesTheBytes() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(sub.resolve("pw.txt"), "from-file");
        Path file = sub.resolve("policy.yaml");
        Files.writeString(file, MinimalPolicy.TEXT.replace("user: warden", "user: warden\n      password_file: pw.txt"));
        Policy first = PolicyLoader.load(file);
        assertEquals("from-file", first.environment("prod").orElseThrow().upstream().password().reveal());
        assertEquals(first.versionHash(), PolicyLoader.load(file).versionHash());

        Files.writeString(file, MinimalPolicy.TEXT + "# changed\n");
        assertNotEquals(first.versionHash(), PolicyLoader.load(file).versionHash());

        PolicyException missing = assertThrows(PolicyException.class, () -> PolicyLoader.load(sub.resolve("absent.yaml")));
        assertTrue(missing.getMessage().startsWith(sub.resolve("absent.yaml") + ": cannot read policy file"));
    }

    @Test
    void secretNeverShowsItsValue() throws Exception {
        Secret secret = Secret.of("hunter2");
        assertEquals("****", secret.toString());
        assertEquals("hunter2", secret.reveal());
        assertFalse(secret.isEmpty());
        assertTrue(Secret.none().isEmpty());
        assertTrue(Secret.of("").isEmpty());
        assertEquals(Secret.of("a"), Secret.of("a"));
        assertNotEquals(Secret.of("a"), Secret.of("b"));

        Policy policy = parse(MinimalPolicy.TEXT.replace("user: warden", "user: warden\n      password_env: PW"), Map.of("PW", "hunter2"));
        assertFalse(policy.toString().contains("hunter2"), policy.toString());
        assertTrue(policy.environment("prod").orElseThrow().upstream().toString().contains("password=****"));
    }

    @Test
    void accessIsGrantedByGroupOrUserAndFailsClosedWhenEmpty() throws Exception {
        Environment prod = parse(MinimalPolicy.TEXT.replace("- groups: [eng]", "- { groups: [eng, dba] }\n      - { users: [carol@x] }"))
                .environment("prod").orElseThrow();
        assertTrue(prod.allows("alice@x", Set.of("eng")));
        assertTrue(prod.allows("carol@x", Set.of()));
        assertFalse(prod.allows("bob@x", Set.of("sales")));

        Environment closed = parse(MinimalPolicy.TEXT.replace("    allow:\n      - groups: [eng]\n", ""))
                .environment("prod").orElseThrow();
        assertTrue(closed.allow().isEmpty());
        assertFalse(closed.allows("alice@x", Set.of("eng")));

        PolicyException emptyRule = failure(MinimalPolicy.TEXT.replace("- groups: [eng]", "- { groups: [] }"));
        assertEquals("environments.prod.allow[0]", emptyRule.path());
        assertEquals("a rule needs groups or users", emptyRule.reason());
    }

    @Test
    void agentRuleMatchesStringsArraysOrPresence() {
        AgentRule listed = new AgentRule("azp", Set.of("etl-bot"));
        assertTrue(listed.isAgent("etl-bot"));
        assertTrue(listed.isAgent(List.of("web", "etl-bot")));
        assertFalse(listed.isAgent("web"));
        assertFalse(listed.isAgent(null));
        assertFalse(listed.isAgent(true));

        AgentRule presence = new AgentRule("is_agent", Set.of());
        assertTrue(presence.isAgent(true));
        assertTrue(presence.isAgent("yes"));
        assertFalse(presence.isAgent(false));
        assertFalse(presence.isAgent(""));
        assertFalse(presence.isAgent(List.of()));
        assertFalse(presence.isAgent(null));
    }
}
