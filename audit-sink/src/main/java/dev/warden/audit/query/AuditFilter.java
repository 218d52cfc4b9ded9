package dev.warden.audit.query;

import java.time.Instant;
import java.util.Optional;

/**
 * What {@code warden audit tail|search} selects. {@code user} and {@code environment} apply to every record of
 * a session (known from its {@code session.start} or {@code query} records); {@code table} matches queries
 * reading or writing it (qualified or not) and their results; {@code blockedOnly} keeps blocked queries; the
 * time range is inclusive of {@code from}, exclusive of {@code to}. With any of user, environment, table or
 * blocked set, the log's own records (checkpoint, recovery) are left out.
 */
public record AuditFilter(Optional<String> user, Optional<String> environment, Optional<String> table,
                          boolean blockedOnly, Optional<Instant> from, Optional<Instant> to) {

    public static AuditFilter all() {
        return new AuditFilter(Optional.empty(), Optional.empty(), Optional.empty(), false, Optional.empty(),
                Optional.empty());
    }

    public AuditFilter user(String user) {
        return new AuditFilter(Optional.ofNullable(user), environment, table, blockedOnly, from, to);
    }

    public AuditFilter environment(String environment) {
        return new AuditFilter(user, Optional.ofNullable(environment), table, blockedOnly, from, to);
    }

    public AuditFilter table(String table) {
        return new AuditFilter(user, environment, Optional.ofNullable(table), blockedOnly, from, to);
    }

    public AuditFilter blocked() {
        return new AuditFilter(user, environment, table, true, from, to);
    }

    public AuditFilter between(Instant from, Instant to) {
        return new AuditFilter(user, environment, table, blockedOnly, Optional.ofNullable(from),
                Optional.ofNullable(to));
    }

    boolean selectsIdentityOrContent() {
        return user.isPresent() || environment.isPresent() || table.isPresent() || blockedOnly;
    }
}
