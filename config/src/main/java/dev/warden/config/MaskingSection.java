package dev.warden.config;

import dev.warden.config.MaskingSettings.MaskingRule;
import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import dev.warden.config.MaskingSettings.Exemption;
import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads {@code masking}:
 * <pre>
 * masking:
 *   defaults: on                      # built-in detectors without rules (on|off, true|false)
 *   value_detection: on               # scan text values
 *   value_detection_off_in: [staging]
 *   token_key_env: WARDEN_MASKING_KEY # HMAC key for hash/tokenize; absent = random per process
 *   rules: [ { column | column_name | type | detector: ..., strategy: ..., keep: N, value: "..." } ]
 *   unmasked_for: { groups: [...], users: [...], agents: never|allowed }
 *   notice: on                        # a NoticeResponse per statement names what was masked
 *   protect_filters: false            # true: no filter/sort/group/join on a sensitive column but col = $n
 * </pre>
 */
final class MaskingSection {

    static final List<String> STRATEGIES = Arrays.stream(Strategy.values()).map(Strategy::configName).toList();
    private static final List<String> TARGET_KEYS = List.of("column", "column_name", "type", "detector");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*");
    /** The longest name PostgreSQL keeps, in bytes (NAMEDATALEN - 1). */
    private static final int MAX_NAME_BYTES = 63;
    private static final int MIN_KEY_LENGTH = 16;
    private static final int MAX_KEEP = 64;
    private static final int MAX_FIXED_LENGTH = 1000;

    private MaskingSection() {
    }

    static MaskingSettings read(PolicyLoader p, Optional<Node> section, Map<String, String> environment)
            throws PolicyException {
        if (section.isEmpty()) {
            return MaskingSettings.defaults();
        }
        MapNode m = p.map(section.get());
        p.expectKeys(m, "defaults", "value_detection", "value_detection_off_in", "token_key_env", "rules",
                "unmasked_for", "notice", "protect_filters");
        boolean defaults = onOff(p, m, "defaults", true);
        boolean valueDetection = onOff(p, m, "value_detection", true);
        var offIn = p.stringSet(m, "value_detection_off_in");

        Secret key = Secret.none();
        Optional<ScalarNode> keyEnv = p.scalar(m, "token_key_env");
        if (keyEnv.isPresent()) {
            String variable = keyEnv.get().text().trim();
            String value = environment.get(variable);
            if (value == null || value.isEmpty()) {
                throw p.error(keyEnv.get(), "environment variable " + variable + " is not set (remove token_key_env "
                        + "for a random per-process key: tokens then only match within one process)");
            }
            if (value.length() < MIN_KEY_LENGTH) {
                throw p.error(keyEnv.get(), "the key in " + variable + " is too short: use at least "
                        + MIN_KEY_LENGTH + " characters (32 random bytes, base64, is a good choice)");
            }
            key = Secret.of(value);
        }

        List<MaskingRule> rules = new ArrayList<>();
        Optional<Node> rulesNode = p.node(m, "rules");
        if (rulesNode.isPresent()) {
            for (Node item : p.list(rulesNode.get()).items()) {
                rules.add(rule(p, p.map(item)));
            }
        }
        Exemption exemption = exemption(p, p.optionalMap(m, "unmasked_for"));
        boolean notice = onOff(p, m, "notice", true);
        boolean protectFilters = onOff(p, m, "protect_filters", false);
        return new MaskingSettings(defaults, valueDetection, offIn, key, rules, exemption, notice, protectFilters);
    }

    private static MaskingRule rule(PolicyLoader p, MapNode m) throws PolicyException {
        p.expectKeys(m, "column", "column_name", "type", "detector", "strategy", "keep", "value");
        List<String> given = TARGET_KEYS.stream().filter(k -> m.fields().containsKey(k)).toList();
        if (given.size() != 1) {
            throw p.error(m, given.isEmpty()
                    ? "a rule needs one of column, column_name, type or detector"
                    : "a rule selects by one of column, column_name, type or detector, not " + String.join(" and ", given));
        }
        MaskingRule.Target target = target(p, m, given.get(0));

        ScalarNode strategyNode = p.requiredScalar(m, "strategy");
        String name = strategyNode.text().trim().toLowerCase(Locale.ROOT);
        if (!STRATEGIES.contains(name)) {
            throw p.error(strategyNode, "unknown strategy '" + strategyNode.text().trim() + "'"
                    + PolicyLoader.suggestion(name, STRATEGIES).orElse("; expected one of " + String.join(", ", STRATEGIES)));
        }
        Strategy strategy = Strategy.valueOf(name.toUpperCase(Locale.ROOT));

        if (strategy != Strategy.PARTIAL && m.fields().containsKey("keep")) {
            throw p.error(p.node(m, "keep").orElseThrow(), "keep only applies to the partial strategy");
        }
        int keep = p.integer(m, "keep", 4, 0, MAX_KEEP);

        Optional<String> value = Optional.empty();
        Optional<ScalarNode> valueNode = p.scalar(m, "value");
        if (strategy != Strategy.FIXED && valueNode.isPresent()) {
            throw p.error(valueNode.get(), "value only applies to the fixed strategy");
        }
        if (strategy == Strategy.FIXED) {
            ScalarNode v = valueNode.orElseThrow(() -> p.error(strategyNode, "the fixed strategy needs a value"));
            String text = v.text();
            if (text.indexOf('\0') >= 0) {
                throw p.error(v, "a fixed value must not contain NUL characters: PostgreSQL text cannot hold them");
            }
            if (text.length() > MAX_FIXED_LENGTH) {
                throw p.error(v, "a fixed value must be at most " + MAX_FIXED_LENGTH + " characters");
            }
            value = Optional.of(text);
        }
        return new MaskingRule(target, strategy, keep, value);
    }

    private static MaskingRule.Target target(PolicyLoader p, MapNode m, String key) throws PolicyException {
        ScalarNode node = p.requiredScalar(m, key);
        String text = node.text().trim();
        if (text.isEmpty()) {
            throw p.error(node, "must not be empty");
        }
        switch (key) {
            case "column": {
                String[] parts = text.split("\\.", -1);
                if (parts.length < 2 || parts.length > 3) {
                    throw p.error(node, "'" + text + "' is not table.column or schema.table.column (use column_name "
                            + "to match a column name in any table)");
                }
                for (String part : parts) {
                    if (!IDENTIFIER.matcher(part).matches()) {
                        throw p.error(node, "'" + part + "' in '" + text + "' is not an identifier");
                    }
                }
                String[] l = text.toLowerCase(Locale.ROOT).split("\\.");
                for (int i = 0; i < l.length; i++) {
                    // The server keeps 63 bytes of a name (a migration's longer name is cut to them), and these
                    // are ASCII: a rule written with the longer name means the column the server kept.
                    l[i] = l[i].substring(0, Math.min(l[i].length(), MAX_NAME_BYTES));
                }
                return l.length == 3 ? new MaskingRule.Column(Optional.of(l[0]), l[1], l[2])
                        : new MaskingRule.Column(Optional.empty(), l[0], l[1]);
            }
            case "column_name": {
                try {
                    Pattern.compile(text);
                } catch (PatternSyntaxException e) {
                    throw p.error(node, "invalid regular expression: " + e.getDescription()
                            + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
                }
                return new MaskingRule.ColumnNamePattern(text);
            }
            case "type": {
                String lower = text.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
                boolean array = lower.endsWith("[]");
                String base = array ? lower.substring(0, lower.length() - 2).trim() : lower;
                String canonical = MaskingSettings.TYPE_NAMES.get(base);
                if (canonical == null) {
                    throw p.error(node, "unknown type '" + text + "'"
                            + PolicyLoader.suggestion(base, MaskingSettings.TYPE_NAMES.keySet()).orElse(""));
                }
                return new MaskingRule.TypeName(array ? canonical + "[]" : canonical);
            }
            default: {
                String lower = text.toLowerCase(Locale.ROOT);
                if (!MaskingSettings.DETECTORS.contains(lower)) {
                    throw p.error(node, "unknown detector '" + text + "'"
                            + PolicyLoader.suggestion(lower, MaskingSettings.DETECTORS)
                            .orElse("; detectors: " + String.join(", ", MaskingSettings.DETECTORS)));
                }
                return new MaskingRule.Detector(lower);
            }
        }
    }

    private static Exemption exemption(PolicyLoader p, Optional<MapNode> node) throws PolicyException {
        if (node.isEmpty()) {
            return Exemption.NOBODY;
        }
        MapNode m = node.get();
        p.expectKeys(m, "groups", "users", "agents");
        boolean agentsAllowed = false;
        Optional<ScalarNode> agents = p.scalar(m, "agents");
        if (agents.isPresent()) {
            String text = agents.get().text().trim().toLowerCase(Locale.ROOT);
            if (text.equals("allowed")) {
                agentsAllowed = true;
            } else if (!text.equals("never")) {
                throw p.error(agents.get(), "agents must be never or allowed, not '" + agents.get().text().trim() + "'"
                        + PolicyLoader.suggestion(text, List.of("never", "allowed")).orElse(""));
            }
        }
        return new Exemption(p.stringSet(m, "groups"), p.stringSet(m, "users"), agentsAllowed);
    }

    /** {@code on}/{@code off} read as YAML 1.1 does, and the booleans {@link PolicyLoader#bool} accepts. */
    private static boolean onOff(PolicyLoader p, MapNode m, String key, boolean defaultValue) throws PolicyException {
        Optional<ScalarNode> s = p.scalar(m, key);
        if (s.isEmpty()) {
            return defaultValue;
        }
        String text = s.get().text().trim().toLowerCase(Locale.ROOT);
        switch (text) {
            case "on": case "true": case "yes":
                return true;
            case "off": case "false": case "no":
                return false;
            default:
                throw p.error(s.get(), "must be on or off, not '" + s.get().text().trim() + "'");
        }
    }
}
