package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed JSON Schema describes the policy the loader accepts: a policy using every key loads, every one
 * of its keys is in the schema and every schema key is in it, and it validates against the schema (checked
 * with a small validator for the keywords the schema uses: type, properties, additionalProperties, required,
 * items, enum, const, oneOf, pattern, propertyNames, $ref).
 */
class PolicySchemaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    Path dir;

    private static JsonNode schema() throws Exception {
        try (InputStream in = PolicySchemaTest.class.getResourceAsStream("/dev/warden/config/policy.schema.json")) {
            return JSON.readTree(in);
        }
    }

    /** Every key the loader reads, each used once. */
    private String completePolicy() throws Exception {
        for (String f : List.of("warden.crt", "warden.key", "db-password", "root.crt", "audit.key", "audit-url",
                "approvals-url")) {
            Files.writeString(dir.resolve(f), f.endsWith("url") ? "jdbc:postgresql://localhost/audit" : "secret");
        }
        return """
                listen:
                  address: 0.0.0.0:6432
                  tls: { cert: warden.crt, key: warden.key }
                  allow_plaintext_on_loopback: false
                  max_connections: 500
                  startup_timeout: 10s
                  idle_timeout: 0
                  shutdown_grace: 30s
                  max_message_bytes: 1048576
                  close_on_token_expiry: true
                  token_expiry_grace: 0
                identity:
                  issuers:
                    - issuer: https://login.example.com
                      audience: warden
                      username_claim: email
                      groups_claim: groups
                      agent: { claim: azp, in: [etl-bot] }
                      algorithms: [RS256, EdDSA]
                      clock_skew: 30s
                      jwks_uri: https://login.example.com/keys
                      denied_token_ids: [leaked-1]
                    - issuer: https://partner.example.net
                      audience: warden
                      username_prefix: "partner:"
                      groups_prefix: "partner-group:"
                environments:
                  prod:
                    production: true
                    baseline_guardrails: true
                    upstream:
                      host: db.internal
                      port: 5432
                      database: app
                      user: warden
                      password_file: db-password
                      tls: verify-full
                      root_cert: root.crt
                      connect_timeout: 5s
                      query_timeout: 30s
                      allow_superuser: false
                      catalog_channel: warden_catalog
                    allow: [ { groups: [dba], users: [alice@example.com] } ]
                    roles:
                      provision: per_identity
                      role_prefix: wd_
                      role_names: opaque
                      role_name_key_env: ROLE_NAME_KEY
                      map: [ { agents: true, role: app_readonly }, { groups: [dba], users: [bob@example.com], role: app_admin } ]
                  dev:
                    upstream: { host: localhost, database: app, user: warden, password_env: DEV_PASSWORD }
                    roles:
                      map: [ { role: dev_reader, password_env: DEV_PASSWORD }, { role: dev_writer, password_file: db-password } ]
                guardrails:
                  baseline: true
                  disable: [truncate]
                  rules:
                    - name: agents-read-only
                      environments: [prod]
                      match: { statements: [INSERT], writes: true, tables: [public.users], functions: [pg_sleep],
                               without_where: false, copy: [program], unparsed: false }
                      who: { groups: [bots], users: [etl-bot], agents: true }
                      unless: { groups: [dba], users: [carol@example.com], agents: false }
                      action: require_approval
                      approvers: [dba]
                      message: ask a DBA
                      mode: retry
                audit:
                  sinks:
                    - { type: file, dir: audit, rotate_bytes: 64MB, rotate_interval: 1h }
                    - { type: postgres, url_file: audit-url, table: audit.events }
                    - { type: postgres, url_env: AUDIT_URL }
                    - { type: stdout, format: ocsf }
                    - { type: kafka, bootstrap_servers: "k1:9092", topic: warden-audit, format: warden, linger: 0ms }
                  signing_key: audit.key
                  on_failure: refuse
                  checkpoint_every: 1000
                  checkpoint_interval: 1m
                  group_commit: 5ms
                  durability: write
                  sync_interval: 100ms
                  statement_literals: redact
                  instance: warden-eu-1
                  witness: { type: postgres, url_env: AUDIT_URL, table: audit.heads }
                masking:
                  defaults: on
                  value_detection: on
                  value_detection_off_in: [dev]
                  token_key_env: MASKING_KEY
                  rules:
                    - { column: public.users.email, strategy: partial, keep: 3 }
                    - { column_name: "^ssn$", strategy: fixed, value: "***" }
                    - { type: date, strategy: "null" }
                    - { detector: card, strategy: hash }
                  unmasked_for: { groups: [support], users: [bob@example.com], agents: never }
                  notice: off
                  protect_filters: true
                approvals:
                  timeout: 15m
                  required_approvals: 1
                  store: { type: postgres, url_file: approvals-url, table: approvals }
                  notify: [ { webhook: "https://hooks.example.com/warden", retries: 3 } ]
                  retry_window: 5m
                  agents_may_approve: false
                  max_grant_uses: 5
                  max_grant_window: 1h
                  max_pending_per_requester: 20
                admin:
                  address: 127.0.0.1:9090
                budgets:
                  pre_login: { max_message_bytes: 8192, connections: 200, per_address: 20 }
                  analysis:
                    parse_timeout: 150ms
                    max_statement_length: 32768
                    per_session: { cpu_burst: 400ms, cpu_per_second: 100ms, bytes_burst: 1048576, bytes_per_second: 65536 }
                    per_identity: { cpu_burst: 1s, cpu_per_second: 200ms, bytes_burst: 2097152, bytes_per_second: 131072 }
                  audit:
                    per_identity: { bytes_burst: 4194304, bytes_per_second: 262144 }
                """;
    }

    @Test
    void schemaIsDraft202012WithClosedObjectsAndDescriptions() throws Exception {
        JsonNode schema = schema();
        assertEquals("https://json-schema.org/draft/2020-12/schema", schema.get("$schema").asText());
        List<String> problems = new ArrayList<>();
        checkClosed(schema, "#", problems);
        assertEquals(List.of(), problems);
    }

    @Test
    void aPolicyWithEveryKeyLoadsAndMatchesTheSchemaKeyForKey() throws Exception {
        String yaml = completePolicy();
        PolicyLoader.parse(yaml, dir, "complete.yaml", Map.of("DEV_PASSWORD", "x", "AUDIT_URL", "jdbc:postgresql://localhost/audit2",
                "MASKING_KEY", "0123456789abcdef0123456789abcdef", "ROLE_NAME_KEY", "role-names-0123456789"));
        JsonNode schema = schema();
        JsonNode policy = YAML.readTree(yaml);

        Set<String> inPolicy = new TreeSet<>();
        keys(policy, "", inPolicy);
        Set<String> inSchema = new TreeSet<>();
        schemaKeys(schema, schema, "", inSchema, 0);
        Set<String> missingFromSchema = new TreeSet<>(inPolicy);
        missingFromSchema.removeAll(inSchema);
        Set<String> missingFromExample = new TreeSet<>(inSchema);
        missingFromExample.removeAll(inPolicy);
        // One approvals store per file: the file store's path and url_env (the other way to name the URL).
        missingFromExample.removeAll(Set.of("approvals.store.path", "approvals.store.url_env"));
        // One witness per file (postgres here); free-form client properties have no fixed keys.
        missingFromExample.removeAll(Set.of("audit.witness.url_file", "audit.witness.bootstrap_servers",
                "audit.witness.topic", "audit.witness.url", "audit.witness.client_properties",
                "audit.witness.client_properties.*", "audit.sinks[].client_properties",
                "audit.sinks[].client_properties.*"));
        assertEquals(Set.of(), missingFromSchema, "keys the loader accepts but the schema lacks");
        assertEquals(Set.of(), missingFromExample, "schema keys the complete example does not use");

        List<String> errors = new ArrayList<>();
        validate(schema, schema, policy, "", errors);
        assertEquals(List.of(), errors);
    }

    @Test
    void theComposePolicyValidatesAndMistakesDoNot() throws Exception {
        JsonNode schema = schema();
        Path compose = Path.of("..", "docker", "warden.yaml");
        List<String> errors = new ArrayList<>();
        validate(schema, schema, YAML.readTree(Files.readString(compose)), "", errors);
        assertEquals(List.of(), errors);

        JsonNode typo = YAML.readTree("""
                identity: { issuers: [ { issuer: https://a.example.com, audiense: warden } ] }
                environments: { dev: { upstream: { host: h, database: d, user: u, tls: maybe } } }
                """);
        List<String> found = new ArrayList<>();
        validate(schema, schema, typo, "", found);
        assertTrue(found.contains("identity.issuers[0]: unknown key 'audiense'"), found.toString());
        assertTrue(found.contains("identity.issuers[0]: 'audience' is required"), found.toString());
        assertTrue(found.contains("environments.dev.upstream.tls: 'maybe' is not one of [\"disable\",\"require\",\"verify-full\"]"),
                found.toString());
    }

    // ---- schema walking -------------------------------------------------------------------------------------

    private static void checkClosed(JsonNode node, String where, List<String> problems) {
        if (node.isObject()) {
            if (node.has("properties") && !(node.has("additionalProperties")
                    && node.get("additionalProperties").isBoolean() && !node.get("additionalProperties").asBoolean())) {
                problems.add(where + ": object without additionalProperties: false");
            }
            if (node.has("properties")) {
                node.get("properties").fields().forEachRemaining(e -> {
                    JsonNode p = e.getValue();
                    if (!p.has("description") && !p.has("const") && !p.has("$ref")) {
                        problems.add(where + "/" + e.getKey() + ": no description");
                    }
                });
            }
            node.fields().forEachRemaining(e -> checkClosed(e.getValue(), where + "/" + e.getKey(), problems));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                checkClosed(node.get(i), where + "/" + i, problems);
            }
        }
    }

    /** Dotted key paths of a YAML document; list items and environment names are written as [] and *. */
    private static void keys(JsonNode node, String path, Set<String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = path.equals("environments") ? "*" : e.getKey();
                String child = path.isEmpty() ? key : path + "." + key;
                child = child.replace("guardrails[]", "guardrails.rules[]");
                out.add(child);
                keys(e.getValue(), child, out);
            }
        } else if (node.isArray()) {
            for (JsonNode item : node) {
                keys(item, path + "[]", out);
            }
        }
    }

    private static void schemaKeys(JsonNode root, JsonNode node, String path, Set<String> out, int depth) {
        if (depth > 20) {
            return;
        }
        JsonNode n = resolve(root, node);
        if (n.has("properties")) {
            n.get("properties").fields().forEachRemaining(e -> {
                String child = (path.isEmpty() ? e.getKey() : path + "." + e.getKey())
                        .replace("guardrails[]", "guardrails.rules[]");
                out.add(child);
                schemaKeys(root, e.getValue(), child, out, depth + 1);
            });
        }
        if (n.has("additionalProperties") && n.get("additionalProperties").isObject()) {
            String child = path + ".*";
            out.add(child);
            schemaKeys(root, n.get("additionalProperties"), child, out, depth + 1);
        }
        if (n.has("items")) {
            schemaKeys(root, n.get("items"), path + "[]", out, depth + 1);
        }
        if (n.has("oneOf")) {
            for (JsonNode alternative : n.get("oneOf")) {
                schemaKeys(root, alternative, path, out, depth + 1);
            }
        }
    }

    private static JsonNode resolve(JsonNode root, JsonNode node) {
        while (node.has("$ref")) {
            node = root.at(node.get("$ref").asText().substring(1));
        }
        return node;
    }

    private static void validate(JsonNode root, JsonNode schema, JsonNode value, String path, List<String> errors) {
        JsonNode s = resolve(root, schema);
        String where = path.isEmpty() ? "(top)" : path;
        if (s.has("const") && !s.get("const").equals(value)) {
            errors.add(where + ": must be " + s.get("const"));
            return;
        }
        if (s.has("type") && !typeMatches(s.get("type"), value)) {
            errors.add(where + ": wrong type, expected " + s.get("type"));
            return;
        }
        if (s.has("enum") && value.isValueNode()) {
            boolean found = false;
            for (JsonNode e : s.get("enum")) {
                found |= e.asText().equals(value.asText());
            }
            if (!found) {
                errors.add(where + ": '" + value.asText() + "' is not one of " + s.get("enum"));
            }
        }
        if (s.has("pattern") && value.isTextual() && !Pattern.compile(s.get("pattern").asText()).matcher(value.asText()).find()) {
            errors.add(where + ": '" + value.asText() + "' does not match " + s.get("pattern").asText());
        }
        if (value.isObject()) {
            if (s.has("required")) {
                for (JsonNode r : s.get("required")) {
                    if (!value.has(r.asText())) {
                        errors.add(where + ": '" + r.asText() + "' is required");
                    }
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String child = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
                JsonNode props = s.get("properties");
                if (props != null && props.has(e.getKey())) {
                    validate(root, props.get(e.getKey()), e.getValue(), child, errors);
                } else if (s.has("additionalProperties") && s.get("additionalProperties").isObject()) {
                    if (s.has("propertyNames")) {
                        validate(root, s.get("propertyNames"), JSON.getNodeFactory().textNode(e.getKey()), child, errors);
                    }
                    validate(root, s.get("additionalProperties"), e.getValue(), child, errors);
                } else if (s.has("additionalProperties") && !s.get("additionalProperties").asBoolean(true)) {
                    errors.add(where + ": unknown key '" + e.getKey() + "'");
                }
            }
        }
        if (value.isArray() && s.has("items")) {
            for (int i = 0; i < value.size(); i++) {
                validate(root, s.get("items"), value.get(i), path + "[" + i + "]", errors);
            }
        }
        if (s.has("oneOf")) {
            int matching = 0;
            List<String> firstErrors = null;
            for (JsonNode alternative : s.get("oneOf")) {
                List<String> e = new ArrayList<>();
                validate(root, alternative, value, path, e);
                if (e.isEmpty()) {
                    matching++;
                } else if (firstErrors == null) {
                    firstErrors = e;
                }
            }
            if (matching != 1) {
                errors.add(where + ": matches " + matching + " alternatives, not exactly one"
                        + (firstErrors == null ? "" : " " + firstErrors));
            }
        }
    }

    private static boolean typeMatches(JsonNode type, JsonNode value) {
        if (type.isArray()) {
            for (JsonNode t : type) {
                if (typeMatches(t, value)) {
                    return true;
                }
            }
            return false;
        }
        switch (type.asText()) {
            case "object": return value.isObject();
            case "array": return value.isArray();
            case "string": return value.isTextual();
            case "integer": return value.isIntegralNumber();
            case "boolean": return value.isBoolean();
            case "number": return value.isNumber();
            case "null": return value.isNull();
            default: return false;
        }
    }

    @Test
    void helperSanity() {
        assertFalse(typeMatches(JSON.getNodeFactory().textNode("string"), JSON.getNodeFactory().numberNode(1)));
    }
}
