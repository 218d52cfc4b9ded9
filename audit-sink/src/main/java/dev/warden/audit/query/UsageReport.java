package dev.warden.audit.query;

import dev.warden.audit.text.VisibleText;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per identity: statements (and how many were blocked), rows read (rows of results that returned columns),
 * and the sensitive columns it received (a column is sensitive when a masking rule matched it), counted as
 * masked or in clear.
 */
public record UsageReport(Instant since, List<IdentityUsage> identities) {

    public record ColumnUse(long masked, long clear) {
    }

    public record IdentityUsage(String username, String kind, long statements, long blocked, long rowsRead,
                                Map<String, ColumnUse> sensitiveColumns) {
        public long maskedReads() {
            return sensitiveColumns.values().stream().mapToLong(ColumnUse::masked).sum();
        }

        public long clearReads() {
            return sensitiveColumns.values().stream().mapToLong(ColumnUse::clear).sum();
        }
    }

    /** What {@code warden audit usage} prints. */
    public String render() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%-32s %-6s %10s %8s %12s %10s %10s  %s%n", "identity", "kind", "statements",
                "blocked", "rows read", "masked", "clear", "sensitive columns"));
        for (IdentityUsage u : identities) {
            List<String> columns = new ArrayList<>();
            u.sensitiveColumns().forEach((name, use) -> columns.add(VisibleText.escape(name) + " (" + use.masked()
                    + " masked, " + use.clear() + " clear)"));
            // Names come from tokens and statements: escaped, so a row cannot forge another.
            out.append(String.format("%-32s %-6s %10d %8d %12d %10d %10d  %s%n", VisibleText.name(u.username()),
                    u.kind().isEmpty() ? "?" : VisibleText.escape(u.kind()), u.statements(), u.blocked(), u.rowsRead(), u.maskedReads(),
                    u.clearReads(), String.join(", ", columns)));
        }
        return out.toString();
    }

    static final class Builder {
        private final Instant since;
        private final Map<String, long[]> counters = new TreeMap<>();
        private final Map<String, String> kinds = new TreeMap<>();
        private final Map<String, Map<String, long[]>> columns = new TreeMap<>();

        Builder(Instant since) {
            this.since = since;
        }

        void add(String username, String kind, AuditRecord r) {
            if (username.isEmpty()) {
                return;
            }
            String type = r.type();
            if (!type.equals("query") && !type.equals("result") && !type.equals("session.start")) {
                return;
            }
            long[] c = counters.computeIfAbsent(username, u -> new long[3]);
            if (!kind.isEmpty()) {
                kinds.put(username, kind);
            }
            if (type.equals("query")) {
                c[0]++;
                if (r.get("decision").asText("").equals("block")) {
                    c[1]++;
                }
            } else if (type.equals("result")) {
                if (r.get("columns").size() > 0) {
                    c[2] += r.get("rows").asLong();
                }
                for (JsonNode col : r.get("columns")) {
                    if (col.path("rule").isNull() || col.path("rule").isMissingNode()) {
                        continue;
                    }
                    long[] use = columns.computeIfAbsent(username, u -> new TreeMap<>())
                            .computeIfAbsent(col.path("name").asText(""), n -> new long[2]);
                    use[col.path("masked").asBoolean() ? 0 : 1]++;
                }
            }
        }

        UsageReport build() {
            List<IdentityUsage> list = new ArrayList<>();
            counters.forEach((user, c) -> {
                Map<String, ColumnUse> cols = new TreeMap<>();
                columns.getOrDefault(user, Map.of()).forEach((name, use) -> cols.put(name, new ColumnUse(use[0], use[1])));
                list.add(new IdentityUsage(user, kinds.getOrDefault(user, ""), c[0], c[1], c[2], Map.copyOf(cols)));
            });
            return new UsageReport(since, List.copyOf(list));
        }
    }
}
