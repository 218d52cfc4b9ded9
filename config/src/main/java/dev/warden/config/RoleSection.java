package dev.warden.config;

import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads an environment's {@code roles}:
 * <pre>
 * roles:
 *   provision: per_identity          # or shared (the default): log in as the mapped role itself
 *   role_prefix: wd_                 # per_identity: names of the identities' own roles start with this
 *   role_names: readable             # per_identity: or opaque, a keyed hash of issuer and user name
 *   role_name_key_env: VAR           # opaque: the hash's key (at least 16 characters), the same on every replica
 *   map:
 *     - { agents: true, role: app_readonly }
 *     - { groups: [dba], role: app_admin }
 *     - { role: app_readwrite }      # no selector: everyone else
 * </pre>
 */
final class RoleSection {

    /** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); a longer name would match another role. */
    static final int MAX_ROLE_BYTES = 63;
    private static final Pattern PREFIX = Pattern.compile("[a-z_][a-z0-9_]{0,15}");
    private static final String DEFAULT_PREFIX = "wd_";
    private static final int MIN_KEY_LENGTH = 16;

    private RoleSection() {
    }

    static Optional<RoleMapping> read(PolicyLoader p, Optional<MapNode> section) throws PolicyException {
        if (section.isEmpty()) {
            return Optional.empty();
        }
        MapNode m = section.get();
        p.expectKeys(m, "provision", "role_prefix", "role_names", "role_name_key_env", "map");
        RoleMapping.Provision provision = RoleMapping.Provision.SHARED;
        Optional<ScalarNode> provisionNode = p.scalar(m, "provision");
        if (provisionNode.isPresent()) {
            String text = provisionNode.get().text().trim();
            provision = switch (text) {
                case "shared" -> RoleMapping.Provision.SHARED;
                case "per_identity" -> RoleMapping.Provision.PER_IDENTITY;
                default -> throw p.error(provisionNode.get(), "unknown provision '" + text + "'"
                        + PolicyLoader.suggestion(text, List.of("shared", "per_identity"))
                        .orElse("; expected shared or per_identity"));
            };
        }
        String prefix = DEFAULT_PREFIX;
        Optional<ScalarNode> prefixNode = p.scalar(m, "role_prefix");
        if (prefixNode.isPresent()) {
            if (provision != RoleMapping.Provision.PER_IDENTITY) {
                throw p.error(prefixNode.get(), "role_prefix only applies with provision: per_identity");
            }
            prefix = prefixNode.get().text().trim();
            if (!PREFIX.matcher(prefix).matches()) {
                // Lower-case ASCII only, so the prefix itself never needs quoting and never folds case.
                throw p.error(prefixNode.get(), "must be 1 to 16 characters of a-z, 0-9 and '_', not starting "
                        + "with a digit");
            }
        }
        Secret nameKey = nameKey(p, m, provision);
        List<RoleRule> rules = new ArrayList<>();
        for (Node item : p.requiredList(m, "map").items()) {
            rules.add(rule(p, p.map(item), provision));
        }
        if (rules.isEmpty()) {
            throw p.error(p.node(m, "map").orElseThrow(), "at least one role is required");
        }
        return Optional.of(new RoleMapping(provision, prefix, rules, nameKey));
    }

    /**
     * {@code role_names: opaque}: the key of the hash that names identities' roles; none for readable names. The
     * key must be the same on every replica and across restarts: a new key gives every identity a new role.
     */
    private static Secret nameKey(PolicyLoader p, MapNode m, RoleMapping.Provision provision) throws PolicyException {
        Optional<ScalarNode> namesNode = p.scalar(m, "role_names");
        Optional<ScalarNode> keyNode = p.scalar(m, "role_name_key_env");
        String names = namesNode.map(n -> n.text().trim()).orElse("readable");
        if (!names.equals("readable") && !names.equals("opaque")) {
            throw p.error(namesNode.orElseThrow(), "unknown role_names '" + names + "'"
                    + PolicyLoader.suggestion(names, List.of("readable", "opaque"))
                    .orElse("; expected readable or opaque"));
        }
        if (namesNode.isPresent() && provision != RoleMapping.Provision.PER_IDENTITY) {
            throw p.error(namesNode.get(), "role_names only applies with provision: per_identity");
        }
        if (names.equals("readable")) {
            if (keyNode.isPresent()) {
                throw p.error(keyNode.get(), "role_name_key_env only applies with role_names: opaque");
            }
            return Secret.none();
        }
        if (keyNode.isEmpty()) {
            throw p.error(namesNode.orElseThrow(), "role_names: opaque needs role_name_key_env, the environment "
                    + "variable holding the key that names the roles (the same on every replica)");
        }
        String variable = keyNode.get().text().trim();
        Secret key = p.environmentSecret(keyNode.get(), variable);
        if (key.reveal().length() < MIN_KEY_LENGTH) {
            throw p.error(keyNode.get(), "the key in " + variable + " is too short: use at least " + MIN_KEY_LENGTH
                    + " characters (32 random bytes, base64, is a good choice)");
        }
        return key;
    }

    private static RoleRule rule(PolicyLoader p, MapNode m, RoleMapping.Provision provision) throws PolicyException {
        p.expectKeys(m, "groups", "users", "agents", "role", "password_env", "password_file");
        ScalarNode roleNode = p.requiredScalar(m, "role");
        String role = p.requiredString(m, "role");
        if (role.getBytes(StandardCharsets.UTF_8).length > MAX_ROLE_BYTES || role.indexOf('\0') >= 0) {
            throw p.error(roleNode, "is not a PostgreSQL role name (at most 63 bytes, no NUL)");
        }
        Optional<Boolean> agents = p.scalar(m, "agents").isPresent()
                ? Optional.of(p.bool(m, "agents", false)) : Optional.empty();
        IdentityScope who = new IdentityScope(p.stringSet(m, "groups"), p.stringSet(m, "users"), agents);
        Secret password = p.secret(m);
        if (provision == RoleMapping.Provision.PER_IDENTITY && !password.isEmpty()) {
            Node at = p.node(m, "password_env").isPresent() ? p.node(m, "password_env").get()
                    : p.node(m, "password_file").orElseThrow();
            throw p.error(at, "with provision: per_identity sessions log in as the identity's own role, never as "
                    + "the mapped role: remove the password");
        }
        return new RoleRule(who, role, password, p.origin(roleNode));
    }
}
