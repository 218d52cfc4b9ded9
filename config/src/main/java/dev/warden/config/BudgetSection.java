package dev.warden.config;

import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Reads {@code budgets:}.
 * <pre>
 * budgets:
 *   pre_login: { max_message_bytes: 16384, connections: 250, per_address: 62 }
 *   analysis:
 *     parse_timeout: 200ms
 *     max_statement_length: 65536
 *     per_session:  { cpu_burst: 500ms, cpu_per_second: 150ms, bytes_burst: 33554432, bytes_per_second: 8388608 }
 *     per_identity: { cpu_burst: 1s, cpu_per_second: 250ms, bytes_burst: 67108864, bytes_per_second: 16777216 }
 *   audit:
 *     per_identity: { bytes_burst: 536870912, bytes_per_second: 67108864 }  # or: per_identity: off
 *   sessions:
 *     per_identity: 64                                                       # or: per_identity: off
 *     kept_bytes: 33554432                                                   # or: kept_bytes: off
 *     kept_bytes_per_identity: 536870912                                     # or: off
 * </pre>
 */
final class BudgetSection {

    private BudgetSection() {
    }

    static Budgets read(PolicyLoader p, Optional<Node> section, int maxConnections) throws PolicyException {
        Budgets d = Budgets.defaults();
        if (section.isEmpty()) {
            return d;
        }
        MapNode m = p.map(section.get());
        p.expectKeys(m, "pre_login", "analysis", "audit", "sessions");

        MapNode pre = p.optionalMap(m, "pre_login").orElse(empty(m, "pre_login"));
        p.expectKeys(pre, "max_message_bytes", "connections", "per_address");
        // Below 1 KB no token fits; above 1 MB the cap no longer protects memory before authentication.
        int messageBytes = p.integer(pre, "max_message_bytes", d.preLoginMessageBytes(), 1024, 1 << 20);
        OptionalInt connections = optionalInt(p, pre, "connections", 1, 1_000_000);
        OptionalInt perAddress = optionalInt(p, pre, "per_address", 1, 1_000_000);
        if (connections.isPresent() && perAddress.isPresent() && perAddress.getAsInt() > connections.getAsInt()) {
            throw p.error(p.scalar(pre, "per_address").orElseThrow(), "per_address (" + perAddress.getAsInt()
                    + ") cannot exceed connections (" + connections.getAsInt() + ")");
        }
        if (connections.isEmpty() && perAddress.isPresent()
                && perAddress.getAsInt() > Math.max(64, maxConnections / 4)) {
            throw p.error(p.scalar(pre, "per_address").orElseThrow(), "per_address (" + perAddress.getAsInt()
                    + ") cannot exceed the pre-login pool (" + Math.max(64, maxConnections / 4)
                    + ", a quarter of listen.max_connections); set pre_login.connections too");
        }

        MapNode analysis = p.optionalMap(m, "analysis").orElse(empty(m, "analysis"));
        p.expectKeys(analysis, "parse_timeout", "max_statement_length", "per_session", "per_identity");
        Duration parseTimeout = p.duration(analysis, "parse_timeout", d.parseTimeout(), false);
        if (parseTimeout.compareTo(Duration.ofSeconds(10)) > 0) {
            throw p.error(p.scalar(analysis, "parse_timeout").orElseThrow(), "must be at most 10s: every "
                    + "statement Warden has not seen may cost this much CPU");
        }
        int maxStatement = p.integer(analysis, "max_statement_length", d.maxStatementLength(), 1024, 16 << 20);
        Budgets.Rate session = rate(p, analysis, "per_session", d.perSession());
        Budgets.Rate identity = rate(p, analysis, "per_identity", d.perIdentity());
        MapNode audit = p.optionalMap(m, "audit").orElse(empty(m, "audit"));
        p.expectKeys(audit, "per_identity");
        Optional<Budgets.AuditRate> recorded = auditRate(p, audit, "per_identity", d.auditPerIdentity().orElseThrow());
        MapNode sessions = p.optionalMap(m, "sessions").orElse(empty(m, "sessions"));
        p.expectKeys(sessions, "per_identity", "kept_bytes", "kept_bytes_per_identity");
        OptionalInt perIdentity = d.sessionsPerIdentity();
        Optional<ScalarNode> limit = p.scalar(sessions, "per_identity");
        if (limit.isPresent()) {
            perIdentity = "off".equals(limit.get().text()) ? OptionalInt.empty()
                    : OptionalInt.of(p.parseInt(limit.get(), limit.get().text().trim(), 1, 1_000_000,
                            "must be a number of sessions from 1 to 1000000, or off"));
        }
        Optional<ScalarNode> keptLimit = p.scalar(sessions, "kept_bytes");
        OptionalLong kept = keptBytes(p, keptLimit, d.keptPerSession());
        Optional<ScalarNode> identityLimit = p.scalar(sessions, "kept_bytes_per_identity");
        OptionalLong keptIdentity = keptBytes(p, identityLimit, d.keptPerIdentity());
        if (kept.isPresent() && keptIdentity.isPresent() && keptIdentity.getAsLong() < kept.getAsLong()) {
            throw p.error(identityLimit.isPresent() ? identityLimit.get() : keptLimit.orElseThrow(),
                    "kept_bytes_per_identity (" + keptIdentity.getAsLong() + ") cannot be below kept_bytes ("
                            + kept.getAsLong() + "): one session of the identity could not use its own budget");
        }
        return new Budgets(messageBytes, connections, perAddress, parseTimeout, maxStatement, session, identity,
                recorded, perIdentity, kept, keptIdentity);
    }

    /** A number of bytes of at least 1 MiB (below it a JDBC driver's usual statement cache does not fit), or off. */
    private static OptionalLong keptBytes(PolicyLoader p, Optional<ScalarNode> node, OptionalLong d)
            throws PolicyException {
        if (node.isEmpty()) {
            return d;
        }
        ScalarNode s = node.get();
        return "off".equals(s.text()) ? OptionalLong.empty() : OptionalLong.of(p.parseInt(s, s.text().trim(),
                1 << 20, Integer.MAX_VALUE, "must be a number of bytes from 1048576 to 2147483647, or off"));
    }

    /** {@code { bytes_burst, bytes_per_second }}, or {@code off}: no limit. */
    private static Optional<Budgets.AuditRate> auditRate(PolicyLoader p, MapNode parent, String key,
                                                         Budgets.AuditRate d) throws PolicyException {
        Optional<Node> node = p.node(parent, key);
        if (node.isEmpty()) {
            return Optional.of(d);
        }
        if (node.get() instanceof ScalarNode s) {
            if ("off".equals(s.text())) {
                return Optional.empty();
            }
            throw p.error(s, "must be { bytes_burst, bytes_per_second } or off");
        }
        MapNode m = p.map(node.get());
        p.expectKeys(m, "bytes_burst", "bytes_per_second");
        // Below 64 KiB the chunks sessions take (AuditBudget) would be most of the bucket.
        long burst = p.integer(m, "bytes_burst", (int) Math.min(Integer.MAX_VALUE, d.bytesBurst()), 65536,
                Integer.MAX_VALUE);
        long perSecond = p.integer(m, "bytes_per_second", (int) Math.min(Integer.MAX_VALUE, d.bytesPerSecond()),
                1024, Integer.MAX_VALUE);
        return Optional.of(new Budgets.AuditRate(burst, perSecond));
    }

    private static Budgets.Rate rate(PolicyLoader p, MapNode parent, String key, Budgets.Rate d)
            throws PolicyException {
        Optional<MapNode> node = p.optionalMap(parent, key);
        if (node.isEmpty()) {
            return d;
        }
        MapNode m = node.get();
        p.expectKeys(m, "cpu_burst", "cpu_per_second", "bytes_burst", "bytes_per_second");
        Duration burst = p.duration(m, "cpu_burst", d.cpuBurst(), false);
        Duration perSecond = p.duration(m, "cpu_per_second", d.cpuPerSecond(), false);
        if (perSecond.compareTo(Duration.ofSeconds(1)) > 0) {
            throw p.error(p.scalar(m, "cpu_per_second").orElseThrow(), "must be at most 1s: CPU time per "
                    + "second of one analysing thread");
        }
        long bytesBurst = p.integer(m, "bytes_burst", (int) Math.min(Integer.MAX_VALUE, d.bytesBurst()), 1024,
                Integer.MAX_VALUE);
        long bytesPerSecond = p.integer(m, "bytes_per_second", (int) Math.min(Integer.MAX_VALUE,
                d.bytesPerSecond()), 1024, Integer.MAX_VALUE);
        return new Budgets.Rate(burst, perSecond, bytesBurst, bytesPerSecond);
    }

    private static OptionalInt optionalInt(PolicyLoader p, MapNode m, String key, int min, int max)
            throws PolicyException {
        Optional<ScalarNode> s = p.scalar(m, key);
        return s.isEmpty() ? OptionalInt.empty()
                : OptionalInt.of(p.integer(m, key, 0, min, max));
    }

    private static MapNode empty(MapNode parent, String key) {
        return new MapNode(parent.mark(), PolicyLoader.child(parent, key), java.util.Map.of());
    }
}
