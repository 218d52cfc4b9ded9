package dev.warden.config;

import dev.warden.config.YamlTree.ListNode;
import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Reads {@code guardrails}: either a list of rules (baseline on), or
 * {@code { baseline: true|false, disable: [names], rules: [...] }}.
 */
final class GuardrailSection {

    /** Statement kinds the analyser reports; rules naming anything else are errors, not silent no-ops. */
    static final List<String> STATEMENT_KINDS = List.of(
            "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT",
            "REVOKE", "COMMENT", "SET_ROLE", "RESET_ROLE", "SET_SESSION_AUTHORIZATION", "SET", "RESET", "SHOW",
            "COPY", "DO", "CALL", "PREPARE", "EXECUTE", "DEALLOCATE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
            "RELEASE", "VACUUM", "ANALYZE", "CLUSTER", "REINDEX", "REFRESH", "LISTEN", "NOTIFY", "UNLISTEN",
            "DISCARD", "LOCK", "DECLARE", "FETCH", "MOVE", "CLOSE", "EXPLAIN", "ALTER_SYSTEM", "CHECKPOINT",
            "LOAD", "SECURITY_LABEL", "IMPORT_FOREIGN_SCHEMA", "REASSIGN_OWNED", "DROP_OWNED", "EMPTY", "OTHER");
    static final List<String> COPY_TARGETS = List.of("stdin", "stdout", "file", "program");

    private GuardrailSection() {
    }

    static GuardrailSettings read(PolicyLoader p, Optional<Node> section, Set<String> environments)
            throws PolicyException {
        if (section.isEmpty()) {
            return GuardrailSettings.defaults();
        }
        Node node = section.get();
        if (node instanceof ListNode list) {
            return new GuardrailSettings(true, Set.of(), rules(p, list, environments));
        }
        MapNode m = p.map(node);
        p.expectKeys(m, "baseline", "disable", "rules");
        boolean baseline = p.bool(m, "baseline", true);
        Set<String> disabled = p.stringSet(m, "disable");
        for (String name : disabled) {
            if (!GuardrailSettings.BASELINE_RULES.contains(name)) {
                throw p.error(p.node(m, "disable").orElseThrow(), "unknown baseline rule '" + name + "'"
                        + PolicyLoader.suggestion(name, GuardrailSettings.BASELINE_RULES)
                        .orElse("; baseline rules: " + String.join(", ", GuardrailSettings.BASELINE_RULES)));
            }
        }
        Optional<Node> rules = p.node(m, "rules");
        List<GuardrailRule> list = rules.isPresent() ? rules(p, p.list(rules.get()), environments) : List.of();
        return new GuardrailSettings(baseline, disabled, list);
    }

    private static List<GuardrailRule> rules(PolicyLoader p, ListNode list, Set<String> environments)
            throws PolicyException {
        List<GuardrailRule> rules = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (Node item : list.items()) {
            MapNode m = p.map(item);
            p.expectKeys(m, "name", "environments", "match", "who", "unless", "action", "approvers", "message",
                    "mode");
            String name = p.requiredString(m, "name");
            if (!names.add(name)) {
                throw p.error(p.node(m, "name").orElseThrow(), "rule name '" + name + "' is used twice");
            }
            if (GuardrailSettings.BASELINE_RULES.contains(name)) {
                throw p.error(p.node(m, "name").orElseThrow(), "'" + name + "' is the name of a baseline rule");
            }
            Set<String> envs = p.stringSet(m, "environments");
            for (String env : envs) {
                if (!environments.contains(env)) {
                    throw p.error(p.node(m, "environments").orElseThrow(), "unknown environment '" + env + "'"
                            + PolicyLoader.suggestion(env, environments).orElse(""));
                }
            }
            StatementMatch match = match(p, p.requiredMap(m, "match", "a rule must say what it matches"));
            IdentityScope who = scope(p, p.optionalMap(m, "who")).orElse(IdentityScope.EVERYONE);
            Optional<IdentityScope> unless = scope(p, p.optionalMap(m, "unless"));
            ScalarNode actionNode = p.requiredScalar(m, "action");
            GuardrailRule.Action action = switch (actionNode.text().trim()) {
                case "block" -> GuardrailRule.Action.BLOCK;
                case "require_approval" -> GuardrailRule.Action.REQUIRE_APPROVAL;
                default -> throw p.error(actionNode, "unknown action '" + actionNode.text().trim() + "'"
                        + PolicyLoader.suggestion(actionNode.text().trim(), List.of("block", "require_approval"))
                        .orElse("; expected block or require_approval"));
            };
            Set<String> approvers = p.stringSet(m, "approvers");
            if (action == GuardrailRule.Action.REQUIRE_APPROVAL && approvers.isEmpty()) {
                throw p.error(actionNode, "require_approval needs approvers (groups that may approve)");
            }
            java.util.Optional<ScalarNode> messageNode = p.scalar(m, "message");
            if (messageNode.isPresent() && messageNode.get().substituted()) {
                // Clients read this text; an environment variable may hold a secret.
                throw p.error(messageNode.get(), "must not use ${...}: clients see this message");
            }
            String message = p.string(m, "message").orElse("");
            boolean retry = false;
            java.util.Optional<ScalarNode> mode = p.scalar(m, "mode");
            if (mode.isPresent()) {
                String text = mode.get().text().trim();
                if (!text.equals("hold") && !text.equals("retry")) {
                    throw p.error(mode.get(), "unknown mode '" + text + "'; expected hold or retry");
                }
                if (action != GuardrailRule.Action.REQUIRE_APPROVAL) {
                    throw p.error(mode.get(), "mode applies to require_approval rules only");
                }
                retry = text.equals("retry");
            }
            rules.add(new GuardrailRule(name, envs, match, who, unless, action, approvers, message, retry));
        }
        return rules;
    }

    private static StatementMatch match(PolicyLoader p, MapNode m) throws PolicyException {
        p.expectKeys(m, "statements", "writes", "tables", "functions", "without_where", "copy", "unparsed");
        if (m.fields().isEmpty()) {
            throw p.error(m, "an empty match would match every statement; say what to match");
        }
        Set<String> statements = new LinkedHashSet<>();
        Optional<Node> stmts = p.node(m, "statements");
        if (stmts.isPresent()) {
            for (ScalarNode s : p.scalars(stmts.get())) {
                String text = s.text().trim().toUpperCase(Locale.ROOT).replaceAll("\\s+", " ");
                String kind = text.contains(" ") ? text.substring(0, text.indexOf(' ')) : text;
                if (!STATEMENT_KINDS.contains(kind) && !STATEMENT_KINDS.contains(text.replace(' ', '_'))) {
                    throw p.error(s, "unknown statement kind '" + s.text().trim() + "'"
                            + PolicyLoader.suggestion(kind, STATEMENT_KINDS).orElse(""));
                }
                statements.add(STATEMENT_KINDS.contains(text.replace(' ', '_')) ? text.replace(' ', '_') : text);
            }
        }
        Optional<Boolean> writes = p.scalar(m, "writes").isPresent()
                ? Optional.of(p.bool(m, "writes", false)) : Optional.empty();
        List<String> tables = new ArrayList<>(p.stringSet(m, "tables"));
        Set<String> functions = new LinkedHashSet<>();
        for (String f : p.stringSet(m, "functions")) {
            functions.add(f.toLowerCase(Locale.ROOT));
        }
        Set<String> copy = new LinkedHashSet<>();
        for (String target : p.stringSet(m, "copy")) {
            String t = target.toLowerCase(Locale.ROOT);
            if (!COPY_TARGETS.contains(t)) {
                throw p.error(p.node(m, "copy").orElseThrow(), "unknown COPY target '" + target
                        + "'; expected stdin, stdout, file or program");
            }
            copy.add(t);
        }
        return new StatementMatch(statements, writes, tables, functions, p.bool(m, "without_where", false), copy,
                p.bool(m, "unparsed", false));
    }

    private static Optional<IdentityScope> scope(PolicyLoader p, Optional<MapNode> node) throws PolicyException {
        if (node.isEmpty()) {
            return Optional.empty();
        }
        MapNode m = node.get();
        p.expectKeys(m, "groups", "users", "agents");
        Optional<Boolean> agents = p.scalar(m, "agents").isPresent()
                ? Optional.of(p.bool(m, "agents", false)) : Optional.empty();
        return Optional.of(new IdentityScope(p.stringSet(m, "groups"), p.stringSet(m, "users"), agents));
    }
}
