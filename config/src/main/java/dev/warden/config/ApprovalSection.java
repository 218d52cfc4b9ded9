package dev.warden.config;

import dev.warden.config.ApprovalSettings.Store;
import dev.warden.config.ApprovalSettings.Webhook;
import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** Reads {@code approvals}; a relative file store path is resolved against the policy file's directory. */
final class ApprovalSection {

    private static final Pattern TABLE = Pattern.compile("([A-Za-z_][A-Za-z0-9_]{0,62}\\.)?[A-Za-z_][A-Za-z0-9_]{0,62}");
    private static final List<String> STORE_TYPES = List.of("file", "postgres");
    private static final int MAX_REQUIRED_APPROVALS = 10;
    private static final int MAX_RETRIES = 10;
    private static final int MAX_GRANT_USES = 1000;
    private static final int MAX_PENDING_PER_REQUESTER = 1000;

    private ApprovalSection() {
    }

    static ApprovalSettings read(PolicyLoader p, Optional<Node> section, Path baseDir, Map<String, String> environment)
            throws PolicyException {
        ApprovalSettings defaults = ApprovalSettings.defaults(baseDir);
        if (section.isEmpty()) {
            return defaults;
        }
        MapNode m = p.map(section.get());
        p.expectKeys(m, "timeout", "required_approvals", "store", "notify", "retry_window", "agents_may_approve",
                "max_grant_uses", "max_grant_window", "max_pending_per_requester");
        Duration timeout = p.duration(m, "timeout", ApprovalSettings.DEFAULT_TIMEOUT, false);
        int required = p.integer(m, "required_approvals", 1, 1, MAX_REQUIRED_APPROVALS);
        Optional<MapNode> storeNode = p.optionalMap(m, "store");
        Store store = storeNode.isPresent() ? store(p, storeNode.get(), baseDir, environment) : defaults.store();
        List<Webhook> notify = new ArrayList<>();
        Optional<Node> notifyNode = p.node(m, "notify");
        if (notifyNode.isPresent()) {
            for (Node item : p.list(notifyNode.get()).items()) {
                notify.add(webhook(p, p.map(item)));
            }
        }
        Duration retryWindow = p.duration(m, "retry_window", ApprovalSettings.DEFAULT_RETRY_WINDOW, true);
        boolean agentsMayApprove = p.bool(m, "agents_may_approve", false);
        int maxGrantUses = p.integer(m, "max_grant_uses", 1, 1, MAX_GRANT_USES);
        Duration maxGrantWindow = p.duration(m, "max_grant_window", Duration.ZERO, true);
        if (maxGrantUses > 1 && maxGrantWindow.isZero()) {
            // Every grant ends: one of several uses lasts at most max_grant_window.
            throw p.error(p.node(m, "max_grant_uses").orElseThrow(), "max_grant_uses above 1 needs a "
                    + "max_grant_window (how long such a grant lasts at most), e.g. max_grant_window: 1h");
        }
        int maxPending = p.integer(m, "max_pending_per_requester",
                ApprovalSettings.DEFAULT_MAX_PENDING_PER_REQUESTER, 1, MAX_PENDING_PER_REQUESTER);
        return new ApprovalSettings(timeout, required, store, notify, retryWindow, agentsMayApprove, maxGrantUses,
                maxGrantWindow, maxPending);
    }

    private static Store store(PolicyLoader p, MapNode m, Path baseDir, Map<String, String> environment)
            throws PolicyException {
        ScalarNode typeNode = p.requiredScalar(m, "type");
        String type = typeNode.text().trim();
        switch (type) {
            case "file": {
                p.expectKeys(m, "type", "path");
                Path dir = baseDir.resolve(p.string(m, "path").orElse("approvals")).toAbsolutePath().normalize();
                return new Store.FileStore(dir);
            }
            case "postgres": {
                p.expectKeys(m, "type", "url_env", "url_file", "table");
                Secret url = AuditSection.jdbcUrl(p, m, environment);
                String table = p.string(m, "table").orElse(ApprovalSettings.DEFAULT_TABLE);
                if (!TABLE.matcher(table).matches()) {
                    throw p.error(p.node(m, "table").orElseThrow(), "'" + table + "' is not a plain table name "
                            + "(letters, digits, '_', optionally schema.table)");
                }
                return new Store.PostgresStore(url, table);
            }
            default:
                throw p.error(typeNode, "unknown store type '" + type + "'"
                        + PolicyLoader.suggestion(type, STORE_TYPES).orElse("; expected file or postgres"));
        }
    }

    private static Webhook webhook(PolicyLoader p, MapNode m) throws PolicyException {
        p.expectKeys(m, "webhook", "retries");
        ScalarNode node = p.requiredScalar(m, "webhook");
        String text = node.text().trim();
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw p.error(node, "'" + text + "' is not a URL");
        }
        Optional<String> refusal = WebhookTarget.refusal(uri);
        if (refusal.isPresent()) {
            // Name the host only: the rest of a webhook URL is often its secret.
            throw p.error(node, "the webhook at host '" + String.valueOf(uri.getHost()) + "' " + refusal.get());
        }
        int retries = p.integer(m, "retries", ApprovalSettings.DEFAULT_RETRIES, 0, MAX_RETRIES);
        return new Webhook(uri, retries);
    }
}
