package dev.warden.config;

import dev.warden.config.YamlTree.Field;
import dev.warden.config.YamlTree.ListNode;
import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Mark;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and validates a policy file. All checks happen here, once; the records it returns are trusted by
 * everything downstream. The first problem found is reported as a {@link PolicyException} pointing at the
 * offending node.
 */
public final class PolicyLoader {

    private static final Logger log = LoggerFactory.getLogger(PolicyLoader.class);

    private static final Pattern ENVIRONMENT_NAME = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Set<String> RESERVED_SECTIONS = Set.of();
    private static final List<String> DEFAULT_ALGORITHMS = List.of("RS256", "ES256", "EdDSA");
    private static final Set<String> ASYMMETRIC_ALGORITHMS = new LinkedHashSet<>(List.of(
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519"));
    private static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(10);

    private final String source;
    private final Path baseDir;
    private final Map<String, String> environment;
    /** Findings that do not stop the load, each as {@code file:line:column: path: reason}. */
    private final List<String> warnings = new ArrayList<>();

    private PolicyLoader(String source, Path baseDir, Map<String, String> environment) {
        this.source = source;
        this.baseDir = baseDir;
        this.environment = environment;
    }

    /** Larger policies are refused: parsing stays linear, and memory bounded, whatever the file holds. */
    static final long MAX_POLICY_BYTES = 3L * 1024 * 1024;

    /** Loads a policy file; relative paths inside it are resolved against the file's directory. */
    public static Policy load(Path file) throws PolicyException {
        byte[] bytes;
        try {
            // The YAML parser stops at MAX_POLICY_BYTES code points anyway; refuse a larger file before reading it.
            long size = Files.size(file);
            if (size > MAX_POLICY_BYTES) {
                throw new PolicyException(file.toString(), "the policy file is " + size + " bytes; the limit is "
                        + MAX_POLICY_BYTES + " bytes", null);
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PolicyException(file.toString(), "cannot read policy file: " + e, e);
        }
        Path baseDir = file.toAbsolutePath().getParent();
        Policy policy = new PolicyLoader(file.toString(), baseDir, System.getenv())
                .build(new String(bytes, StandardCharsets.UTF_8), bytes);
        log.info("policy loaded file={} version={} environments={} issuers={}", file,
                policy.versionHash().substring(0, 12), policy.environments().keySet(), policy.issuers().size());
        return policy;
    }

    /** Parses policy text, for tests and tools; {@code environment} stands in for the process environment. */
    public static Policy parse(String yaml, Path baseDir, String sourceName, Map<String, String> environment)
            throws PolicyException {
        return new PolicyLoader(sourceName, baseDir.toAbsolutePath(), Map.copyOf(environment))
                .build(yaml, yaml.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Any error message that quotes a value a {@code ${VAR}} expanded to shows {@code ${VAR}} instead: such
     * values are usually secrets, and policy errors reach logs, audit records and {@code policy check} output.
     */
    private Policy build(String yaml, byte[] bytes) throws PolicyException {
        Map<String, String> substituted = new java.util.LinkedHashMap<>();
        try {
            return build(yaml, bytes, substituted);
        } catch (PolicyException e) {
            throw e.scrubbed(substituted);
        }
    }

    private Policy build(String yaml, byte[] bytes, Map<String, String> substituted) throws PolicyException {
        Node root = YamlTree.read(yaml, source, environment, substituted);
        if (root == null) {
            throw new PolicyException(source, 1, 1, "", "the policy is empty");
        }
        MapNode top = map(root);
        for (Field field : top.fields().values()) {
            if (RESERVED_SECTIONS.contains(field.key())) {
                // Refuse rather than ignore: a policy must never look protected by rules that are not enforced.
                throw error(field.keyMark(), field.key(), "section '" + field.key()
                        + "' is not supported by this version of Warden; remove it");
            }
        }
        expectKeys(top, "listen", "identity", "environments", "guardrails", "audit", "masking", "approvals", "admin",
                "budgets");

        Listen listen = listen(optionalMap(top, "listen"));
        List<IssuerConfig> issuers = identity(top);
        Map<String, Environment> environments = environments(top);
        GuardrailSettings guardrails = GuardrailSection.read(this, node(top, "guardrails"), environments.keySet());
        AuditSettings audit = AuditSection.read(this, node(top, "audit"), baseDir, environment);
        MaskingSettings masking = MaskingSection.read(this, node(top, "masking"), environment);
        ApprovalSettings approvals = ApprovalSection.read(this, node(top, "approvals"), baseDir, environment);
        AdminSettings admin = AdminSection.read(this, node(top, "admin"));
        Budgets budgets = BudgetSection.read(this, node(top, "budgets"), listen.maxConnections());
        for (String warning : warnings) {
            log.warn("policy.warning {}", warning);
        }
        return new Policy(listen, issuers, environments, guardrails, audit, masking, approvals, admin, budgets,
                sha256(bytes), warnings);
    }

    // ---- listen ---------------------------------------------------------------------------------------------

    private Listen listen(Optional<MapNode> node) throws PolicyException {
        MapNode m = node.orElse(new MapNode(new Mark(1, 1), "listen", Map.of()));
        expectKeys(m, "address", "tls", "allow_plaintext_on_loopback", "max_connections", "startup_timeout",
                "idle_timeout", "shutdown_grace", "max_message_bytes", "close_on_token_expiry",
                "token_expiry_grace");

        String host = "127.0.0.1";
        int port = 6432;
        Optional<ScalarNode> address = scalar(m, "address");
        if (address.isPresent()) {
            ScalarNode a = address.get();
            String text = a.text().trim();
            int colon = text.lastIndexOf(':');
            if (colon <= 0 || colon == text.length() - 1) {
                throw error(a, "'" + text + "' is not host:port (e.g. 0.0.0.0:6432 or [::1]:6432)");
            }
            host = text.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            } else if (host.contains(":")) {
                throw error(a, "write IPv6 addresses in brackets, e.g. [::1]:6432");
            }
            if (host.isEmpty()) {
                throw error(a, "the host is empty");
            }
            port = parseInt(a, text.substring(colon + 1), 0, 65535, "the port must be between 0 and 65535");
        }

        Optional<Path> cert = Optional.empty();
        Optional<Path> key = Optional.empty();
        Optional<MapNode> tls = optionalMap(m, "tls");
        if (tls.isPresent()) {
            MapNode t = tls.get();
            expectKeys(t, "cert", "key");
            cert = existingFile(t, "cert");
            key = existingFile(t, "key");
            if (cert.isPresent() != key.isPresent()) {
                String missing = cert.isPresent() ? "key" : "cert";
                throw error(t.mark(), child(t, missing), "give both cert and key, or neither (Warden then makes a "
                        + "self-signed certificate)");
            }
        }

        return new Listen(host, port, cert, key,
                bool(m, "allow_plaintext_on_loopback", false),
                integer(m, "max_connections", 1000, 1, 1_000_000),
                duration(m, "startup_timeout", Duration.ofSeconds(10), false),
                duration(m, "idle_timeout", Duration.ZERO, true),
                duration(m, "shutdown_grace", Duration.ofSeconds(30), true),
                integer(m, "max_message_bytes", 64 * 1024 * 1024, 1024, Integer.MAX_VALUE),
                bool(m, "close_on_token_expiry", true),
                duration(m, "token_expiry_grace", Duration.ZERO, true));
    }

    // ---- identity -------------------------------------------------------------------------------------------

    private List<IssuerConfig> identity(MapNode top) throws PolicyException {
        MapNode identity = requiredMap(top, "identity", "at least one issuer is required");
        expectKeys(identity, "issuers");
        ListNode list = requiredList(identity, "issuers");
        if (list.items().isEmpty()) {
            throw error(list, "at least one issuer is required");
        }
        List<IssuerConfig> issuers = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        Map<String, String> usernamePrefixes = new LinkedHashMap<>();
        Map<String, String> groupsPrefixes = new LinkedHashMap<>();
        List<Node> unprefixed = new ArrayList<>();
        for (Node item : list.items()) {
            MapNode m = map(item);
            IssuerConfig issuer = issuer(m);
            if (!seen.add(issuer.issuer())) {
                throw error(item, "issuer " + issuer.issuer() + " is listed twice");
            }
            distinctPrefix(m, "username_prefix", issuer.usernamePrefix(), issuer.issuer(), usernamePrefixes);
            distinctPrefix(m, "groups_prefix", issuer.groupsPrefix(), issuer.issuer(), groupsPrefixes);
            if (issuer.usernamePrefix().isEmpty()) {
                unprefixed.add(item);
            }
            issuers.add(issuer);
        }
        if (unprefixed.size() > 1) {
            // Not an error: two issuers may hand out disjoint names (e-mails of one domain, service accounts' sub),
            // and policies written before prefixes existed must keep loading. But a name either gives counts as
            // the same user everywhere, so say so where the operator can act on it.
            for (Node item : unprefixed.subList(1, unprefixed.size())) {
                Node first = unprefixed.get(0);
                warnings.add(origin(item) + ": issuer " + scalarText(map(item), "issuer") + " has no username_prefix, "
                        + "and neither has issuer " + scalarText(map(first), "issuer") + " (line " + first.mark().line()
                        + "): a user name or group that either issuer's tokens give is the same user or group to every "
                        + "rule of the policy; give every issuer but one a username_prefix (e.g. \"partner:\")");
            }
        }
        return issuers;
    }

    private static String scalarText(MapNode m, String key) {
        Field f = m.fields().get(key);
        return f != null && f.value() instanceof ScalarNode s && s.text() != null ? s.text().trim() : "";
    }

    /**
     * Two issuers with prefixes equal but for case would give names nobody could tell apart (approvers are compared
     * without case, and a name is refused when it starts with another issuer's longer prefix, also without case).
     */
    private void distinctPrefix(MapNode m, String key, String prefix, String issuer, Map<String, String> seen)
            throws PolicyException {
        if (prefix.isEmpty()) {
            return;
        }
        String folded = prefix.toLowerCase(Locale.ROOT);
        String other = seen.putIfAbsent(folded, issuer);
        if (other != null) {
            Node node = node(m, key).orElse(m);
            throw error(node, key + " '" + prefix + "' is also issuer " + other + "'s (compared without case): the "
                    + "names of the two issuers could not be told apart");
        }
    }

    /** Up to 32 printable ASCII characters without spaces: no look-alike letter of another script, no control. */
    private static final Pattern NAME_PREFIX = Pattern.compile("[\\x21-\\x7e]{1,32}");

    private Optional<String> namePrefix(MapNode m, String key) throws PolicyException {
        Optional<ScalarNode> node = scalar(m, key);
        if (node.isEmpty()) {
            return Optional.empty();
        }
        String text = node.get().text();
        if (!NAME_PREFIX.matcher(text).matches()) {
            throw error(node.get(), key + " must be 1 to 32 printable ASCII characters without spaces (e.g. "
                    + "\"partner:\"); a letter of another script or an invisible character would make names that "
                    + "only look like the ones the policy writes");
        }
        return Optional.of(text);
    }

    private IssuerConfig issuer(MapNode m) throws PolicyException {
        expectKeys(m, "issuer", "audience", "username_claim", "groups_claim", "agent", "algorithms", "clock_skew",
                "jwks_uri", "denied_token_ids", "username_prefix", "groups_prefix");
        ScalarNode issuerNode = requiredScalar(m, "issuer");
        String issuer = issuerNode.text().trim();
        checkHttpUrl(issuerNode, issuer);
        String audience = requiredString(m, "audience");
        String usernameClaim = string(m, "username_claim").orElse("email");
        String groupsClaim = string(m, "groups_claim").orElse("groups");

        Optional<AgentRule> agent = Optional.empty();
        Optional<MapNode> agentNode = optionalMap(m, "agent");
        if (agentNode.isPresent()) {
            MapNode a = agentNode.get();
            expectKeys(a, "claim", "in");
            agent = Optional.of(new AgentRule(requiredString(a, "claim"), stringSet(a, "in")));
        }

        Set<String> algorithms = new LinkedHashSet<>(DEFAULT_ALGORITHMS);
        Optional<Node> algorithmsNode = node(m, "algorithms");
        if (algorithmsNode.isPresent()) {
            algorithms.clear();
            for (ScalarNode s : scalars(algorithmsNode.get())) {
                String name = s.text().trim();
                String upper = name.toUpperCase(Locale.ROOT);
                if (upper.startsWith("HS")) {
                    throw error(s, "HMAC algorithm '" + name + "' is not allowed: with public OIDC keys it opens "
                            + "key-confusion attacks");
                }
                if (upper.equals("NONE")) {
                    throw error(s, "algorithm 'none' is not allowed: unsigned tokens prove nothing");
                }
                if (!ASYMMETRIC_ALGORITHMS.contains(name)) {
                    throw error(s, "unknown algorithm '" + name + "'" + suggestion(name, ASYMMETRIC_ALGORITHMS)
                            .orElse("; expected one of " + String.join(", ", ASYMMETRIC_ALGORITHMS)));
                }
                algorithms.add(name);
            }
            if (algorithms.isEmpty()) {
                throw error(algorithmsNode.get(), "at least one algorithm is required");
            }
        }

        Duration clockSkew = duration(m, "clock_skew", Duration.ofSeconds(60), true);
        if (clockSkew.compareTo(MAX_CLOCK_SKEW) > 0) {
            throw error(node(m, "clock_skew").orElseThrow(), "must be at most 10m");
        }

        Optional<URI> jwksUri = Optional.empty();
        Optional<ScalarNode> jwksNode = scalar(m, "jwks_uri");
        if (jwksNode.isPresent()) {
            jwksUri = Optional.of(checkHttpUrl(jwksNode.get(), jwksNode.get().text().trim()));
        }
        // Groups take the username prefix unless told otherwise: a partner's "dba" must not be the policy's dba.
        Optional<String> usernamePrefix = namePrefix(m, "username_prefix");
        String groupsPrefix = namePrefix(m, "groups_prefix").orElse(usernamePrefix.orElse(""));
        return new IssuerConfig(issuer, audience, usernameClaim, groupsClaim, agent, algorithms, clockSkew, jwksUri,
                stringSet(m, "denied_token_ids"), usernamePrefix.orElse(""), groupsPrefix);
    }

    /** Keys and discovery must come over https; plain http is tolerated on loopback only (local IdPs, tests). */
    private URI checkHttpUrl(ScalarNode node, String text) throws PolicyException {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw error(node, "'" + text + "' is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (uri.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
            throw error(node, "'" + text + "' is not an http(s) URL");
        }
        if (scheme.equals("http") && !isLoopback(uri.getHost())) {
            throw error(node, "must use https (plain http is only accepted for localhost)");
        }
        return uri;
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1");
    }

    // ---- environments ---------------------------------------------------------------------------------------

    private Map<String, Environment> environments(MapNode top) throws PolicyException {
        MapNode envs = requiredMap(top, "environments", "at least one environment is required");
        if (envs.fields().isEmpty()) {
            throw error(envs, "at least one environment is required");
        }
        Map<String, Environment> result = new LinkedHashMap<>();
        for (Field field : envs.fields().values()) {
            if (!ENVIRONMENT_NAME.matcher(field.key()).matches()) {
                throw error(field.keyMark(), field.value().path(),
                        "environment names may only contain letters, digits, '_' and '-'");
            }
            result.put(field.key(), environment(field.key(), map(field.value())));
        }
        return result;
    }

    private Environment environment(String name, MapNode m) throws PolicyException {
        expectKeys(m, "upstream", "allow", "production", "baseline_guardrails", "roles");
        Upstream upstream = upstream(requiredMap(m, "upstream", "every environment needs an upstream"));
        List<AccessRule> allow = new ArrayList<>();
        Optional<Node> allowNode = node(m, "allow");
        if (allowNode.isPresent()) {
            for (Node item : list(allowNode.get()).items()) {
                MapNode rule = map(item);
                expectKeys(rule, "groups", "users");
                Set<String> groups = stringSet(rule, "groups");
                Set<String> users = stringSet(rule, "users");
                if (groups.isEmpty() && users.isEmpty()) {
                    throw error(rule, "a rule needs groups or users");
                }
                allow.add(new AccessRule(groups, users));
            }
        }
        if (allow.isEmpty()) {
            log.warn("environment={} has no allow rules: nobody can connect to it", name);
        }
        Optional<RoleMapping> roles = RoleSection.read(this, optionalMap(m, "roles"));
        return new Environment(name, upstream, allow, bool(m, "production", false),
                bool(m, "baseline_guardrails", true), roles);
    }

    private Upstream upstream(MapNode m) throws PolicyException {
        Optional<Field> inline = Optional.ofNullable(m.fields().get("password"));
        if (inline.isPresent()) {
            throw error(inline.get().keyMark(), inline.get().value().path(),
                    "inline passwords are not allowed: put secrets in password_env or password_file");
        }
        expectKeys(m, "host", "port", "database", "user", "password_env", "password_file", "tls", "root_cert",
                "connect_timeout", "allow_superuser", "catalog_channel", "query_timeout");
        String host = requiredString(m, "host");
        int port = integer(m, "port", 5432, 1, 65535);
        String database = requiredString(m, "database");
        String user = requiredString(m, "user");
        String userOrigin = origin(requiredScalar(m, "user"));

        Secret password = secret(m);

        TlsMode tls = TlsMode.REQUIRE;
        Optional<ScalarNode> tlsNode = scalar(m, "tls");
        if (tlsNode.isPresent()) {
            String text = tlsNode.get().text().trim();
            tls = switch (text) {
                case "disable" -> TlsMode.DISABLE;
                case "require" -> TlsMode.REQUIRE;
                case "verify-full" -> TlsMode.VERIFY_FULL;
                default -> throw error(tlsNode.get(), "unknown tls mode '" + text + "'"
                        + suggestion(text, List.of("disable", "require", "verify-full"))
                        .orElse("; expected disable, require or verify-full"));
            };
        }
        Optional<Path> rootCert = existingFile(m, "root_cert");
        Duration connectTimeout = duration(m, "connect_timeout", Duration.ofSeconds(5), false);
        Duration queryTimeout = duration(m, "query_timeout", Upstream.DEFAULT_QUERY_TIMEOUT, false);
        if (queryTimeout.compareTo(Duration.ofSeconds(1)) < 0 || queryTimeout.compareTo(Duration.ofDays(1)) > 0) {
            // Below a second every catalog read on a busy server would fail (closed); statement_timeout takes
            // milliseconds in an int, and a day is far beyond any catalog read.
            throw error(scalar(m, "query_timeout").orElseThrow(), "must be between 1s and 24h");
        }
        return new Upstream(host, port, database, user, password, tls, rootCert, connectTimeout,
                bool(m, "allow_superuser", false), userOrigin, catalogChannel(m), queryTimeout);
    }

    /**
     * {@code catalog_channel}: a channel name as LISTEN and pg_notify take it (case kept, 1 to 63 bytes, no NUL);
     * empty when absent.
     */
    private Optional<Upstream.CatalogChannel> catalogChannel(MapNode m) throws PolicyException {
        Optional<ScalarNode> node = scalar(m, "catalog_channel");
        if (node.isEmpty()) {
            return Optional.empty();
        }
        String name = node.get().text();
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (name.isEmpty() || bytes > 63 || name.indexOf('\0') >= 0) {
            throw error(node.get(), "catalog_channel must be a channel name of 1 to 63 bytes, got " + bytes
                    + " bytes");
        }
        return Optional.of(new Upstream.CatalogChannel(name, origin(node.get())));
    }

    /** {@code password_env} or {@code password_file} of a mapping; {@link Secret#none()} when neither is given. */
    /** The value of the environment variable {@code variable}, which {@code at} names; an error when unset. */
    Secret environmentSecret(ScalarNode at, String variable) throws PolicyException {
        String value = environment.get(variable);
        if (value == null || value.isEmpty()) {
            throw error(at, "environment variable " + variable + " is not set");
        }
        return Secret.of(value);
    }

    Secret secret(MapNode m) throws PolicyException {
        Optional<ScalarNode> passwordEnv = scalar(m, "password_env");
        Optional<ScalarNode> passwordFile = scalar(m, "password_file");
        Secret password = Secret.none();
        if (passwordEnv.isPresent() && passwordFile.isPresent()) {
            throw error(passwordFile.get(), "give password_env or password_file, not both");
        }
        if (passwordEnv.isPresent()) {
            String variable = passwordEnv.get().text().trim();
            String value = environment.get(variable);
            if (value == null || value.isEmpty()) {
                throw error(passwordEnv.get(), "environment variable " + variable + " is not set");
            }
            password = Secret.of(value);
        } else if (passwordFile.isPresent()) {
            Path file = existingFile(m, "password_file").orElseThrow();
            try {
                String value = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (value.isEmpty()) {
                    throw error(passwordFile.get(), "password file " + file + " is empty");
                }
                password = Secret.of(value);
            } catch (IOException e) {
                throw error(passwordFile.get(), "cannot read password file " + file + ": " + e.getMessage());
            }
        }
        return password;
    }

    // ---- typed access to the tree ---------------------------------------------------------------------------

    /** Unknown keys are errors: a misspelt key must never silently leave a safeguard at its default. */
    void expectKeys(MapNode m, String... allowed) throws PolicyException {
        List<String> known = List.of(allowed);
        for (Field field : m.fields().values()) {
            if (!known.contains(field.key())) {
                throw error(field.keyMark(), field.value().path(), "unknown key '" + field.key() + "'"
                        + suggestion(field.key(), known).orElse("; expected one of " + String.join(", ", known)));
            }
        }
    }

    Optional<Node> node(MapNode m, String key) throws PolicyException {
        Field field = m.fields().get(key);
        if (field == null) {
            return Optional.empty();
        }
        if (field.value() instanceof ScalarNode s && s.text() == null) {
            // An empty value is more likely a mistake than a wish for the default.
            throw error(s, "has no value");
        }
        return Optional.of(field.value());
    }

    Optional<ScalarNode> scalar(MapNode m, String key) throws PolicyException {
        Optional<Node> node = node(m, key);
        if (node.isPresent() && !(node.get() instanceof ScalarNode)) {
            throw error(node.get(), "must be a single value, not a " + kind(node.get()));
        }
        return node.map(ScalarNode.class::cast);
    }

    ScalarNode requiredScalar(MapNode m, String key) throws PolicyException {
        return scalar(m, key).orElseThrow(() -> error(m.mark(), child(m, key), "is required"));
    }

    Optional<String> string(MapNode m, String key) throws PolicyException {
        Optional<ScalarNode> s = scalar(m, key);
        if (s.isPresent() && s.get().text().isBlank()) {
            throw error(s.get(), "must not be empty");
        }
        return s.map(n -> n.text().trim());
    }

    String requiredString(MapNode m, String key) throws PolicyException {
        requiredScalar(m, key);
        return string(m, key).orElseThrow();
    }

    int integer(MapNode m, String key, int defaultValue, int min, int max) throws PolicyException {
        Optional<ScalarNode> s = scalar(m, key);
        if (s.isEmpty()) {
            return defaultValue;
        }
        return parseInt(s.get(), s.get().text().trim(), min, max, "must be between " + min + " and " + max);
    }

    int parseInt(ScalarNode node, String text, int min, int max, String range) throws PolicyException {
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw error(node, "'" + text + "' is not a whole number");
        }
        if (value < min || value > max) {
            throw error(node, range);
        }
        return (int) value;
    }

    boolean bool(MapNode m, String key, boolean defaultValue) throws PolicyException {
        Optional<ScalarNode> s = scalar(m, key);
        if (s.isEmpty()) {
            return defaultValue;
        }
        String text = s.get().text().trim();
        if (text.equalsIgnoreCase("true")) {
            return true;
        }
        if (text.equalsIgnoreCase("false")) {
            return false;
        }
        throw error(s.get(), "must be true or false, not '" + text + "'");
    }

    Duration duration(MapNode m, String key, Duration defaultValue, boolean zeroAllowed) throws PolicyException {
        Optional<ScalarNode> s = scalar(m, key);
        if (s.isEmpty()) {
            return defaultValue;
        }
        Duration value;
        try {
            value = Durations.parse(s.get().text());
        } catch (IllegalArgumentException e) {
            throw error(s.get(), e.getMessage());
        }
        if (value.isZero() && !zeroAllowed) {
            throw error(s.get(), "must be greater than 0");
        }
        return value;
    }

    Optional<Path> existingFile(MapNode m, String key) throws PolicyException {
        Optional<String> text = string(m, key);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Path path = baseDir.resolve(text.get()).normalize();
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw error(node(m, key).orElseThrow(), "file not found or not readable: " + path);
        }
        return Optional.of(path);
    }

    /** A list of strings; a single scalar is accepted as a list of one ({@code groups: dba}). */
    Set<String> stringSet(MapNode m, String key) throws PolicyException {
        Optional<Node> node = node(m, key);
        Set<String> values = new LinkedHashSet<>();
        if (node.isPresent()) {
            for (ScalarNode s : scalars(node.get())) {
                if (s.text().isBlank()) {
                    throw error(s, "must not be empty");
                }
                values.add(s.text().trim());
            }
        }
        return values;
    }

    List<ScalarNode> scalars(Node node) throws PolicyException {
        if (node instanceof ScalarNode s) {
            return List.of(s);
        }
        List<ScalarNode> result = new ArrayList<>();
        for (Node item : list(node).items()) {
            if (!(item instanceof ScalarNode s) || s.text() == null) {
                throw error(item, "must be a single value, not a " + kind(item));
            }
            result.add(s);
        }
        return result;
    }

    MapNode map(Node node) throws PolicyException {
        if (node instanceof MapNode m) {
            return m;
        }
        throw error(node, "must be a mapping (key: value), not a " + kind(node));
    }

    ListNode list(Node node) throws PolicyException {
        if (node instanceof ListNode l) {
            return l;
        }
        throw error(node, "must be a list, not a " + kind(node));
    }

    Optional<MapNode> optionalMap(MapNode m, String key) throws PolicyException {
        Optional<Node> node = node(m, key);
        return node.isPresent() ? Optional.of(map(node.get())) : Optional.empty();
    }

    MapNode requiredMap(MapNode m, String key, String why) throws PolicyException {
        return optionalMap(m, key).orElseThrow(() -> error(m.mark(), child(m, key), "is required: " + why));
    }

    ListNode requiredList(MapNode m, String key) throws PolicyException {
        Node node = node(m, key).orElseThrow(() -> error(m.mark(), child(m, key), "is required"));
        return list(node);
    }

    static String kind(Node node) {
        if (node instanceof MapNode) {
            return "mapping";
        }
        if (node instanceof ListNode) {
            return "list";
        }
        return ((ScalarNode) node).text() == null ? "null" : "single value";
    }

    static String child(MapNode m, String key) {
        return m.path().isEmpty() ? key : m.path() + "." + key;
    }

    /**
     * {@code file:line:column: dotted.path} of a node, in the form of {@link PolicyException}'s messages, for
     * findings made after loading (against a live database, say).
     */
    String origin(Node node) {
        return source + ":" + node.mark().line() + ":" + node.mark().column() + ": " + node.path();
    }

    PolicyException error(Node node, String reason) {
        return error(node.mark(), node.path(), reason);
    }

    PolicyException error(Mark mark, String path, String reason) {
        return new PolicyException(source, mark.line(), mark.column(), path, reason);
    }

    /** "(did you mean 'x'?)" for near misses: edit distance at most 2, or a third of the word. */
    static Optional<String> suggestion(String word, Iterable<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        // Sorted, and on a tie the candidate sharing the first letter wins: the same typo always gets the
        // same suggestion, whatever order the candidates came in.
        java.util.TreeSet<String> sorted = new java.util.TreeSet<>();
        candidates.forEach(sorted::add);
        String lower = word.toLowerCase(Locale.ROOT);
        for (String candidate : sorted) {
            String c = candidate.toLowerCase(Locale.ROOT);
            int d = editDistance(lower, c) * 2 + (!c.isEmpty() && !lower.isEmpty() && c.charAt(0) == lower.charAt(0) ? 0 : 1);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        bestDistance /= 2;
        if (best != null && bestDistance <= Math.max(2, word.length() / 3)) {
            return Optional.of(" (did you mean '" + best + "'?)");
        }
        return Optional.empty();
    }

    /** Optimal string alignment distance: a swap of two neighbouring letters ("DORP") costs one edit. */
    static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
