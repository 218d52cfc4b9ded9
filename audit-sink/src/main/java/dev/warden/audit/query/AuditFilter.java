package dev.warden.audit.query;

import java.time.Instant;
import java.util.Optional;

/**
 * What {@code warden audit tail|search} selects. {@code user} and {@code environment} apply to every record of
 * a session (known from its {@code session.start} or {@code query} records); {@code table} matches queries
 * reading or writing it (qualified or not) and their results; {@code blockedOnly} keeps blocked queries; the
 * time range is inclusive of {@code from}, exclusive of {@code to}; {@code decisions} keeps queries whose
 * decision is one of them ({@code allow}, {@code block}, {@code approval}) and their results; {@code agentsOnly}
 * keeps sessions of AI agents and service accounts. With any of these set, the log's own records (checkpoint,
 * recovery) are left out.
 */
public record AuditFilter(Optional<String> user, Optional<String> environment, Optional<String> table,
                          boolean blockedOnly, Optional<Instant> from, Optional<Instant> to,
                          java.util.Set<String> decisions, boolean agentsOnly) {

    public AuditFilter {
        decisions = java.util.Set.copyOf(decisions);
    }

    public static AuditFilter all() {
        return new AuditFilter(Optional.empty(), Optional.empty(), Optional.empty(), false, Optional.empty(),
                Optional.empty(), java.util.Set.of(), false);
    }

    /** Only queries with one of these decisions ({@code allow}, {@code block}, {@code approval}). */
    public AuditFilter decisions(java.util.Set<String> decisions) {
        return new AuditFilter(user, environment, table, blockedOnly, from, to, decisions, agentsOnly);
    }

    /** Only sessions of AI agents (and service accounts marked as agents). */
    public AuditFilter agents() {
        return new AuditFilter(user, environment, table, blockedOnly, from, to, decisions, true);
    }

    public AuditFilter user(String user) {
        return new AuditFilter(Optional.ofNullable(user), environment, table, blockedOnly, from, to, decisions, agentsOnly);
    }

    public AuditFilter environment(String environment) {
        return new AuditFilter(user, Optional.ofNullable(environment), table, blockedOnly, from, to, decisions, agentsOnly);
    }

    public AuditFilter table(String table) {
        return new AuditFilter(user, environment, Optional.ofNullable(table), blockedOnly, from, to, decisions, agentsOnly);
    }

    public AuditFilter blocked() {
        return new AuditFilter(user, environment, table, true, from, to, decisions, agentsOnly);
    }

    public AuditFilter between(Instant from, Instant to) {
        return new AuditFilter(user, environment, table, blockedOnly, Optional.ofNullable(from),
                Optional.ofNullable(to), decisions, agentsOnly);
    }

    boolean selectsIdentityOrContent() {
        return user.isPresent() || environment.isPresent() || table.isPresent() || blockedOnly
                || !decisions.isEmpty() || agentsOnly;
    }
}
