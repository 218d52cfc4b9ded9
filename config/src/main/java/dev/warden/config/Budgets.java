package dev.warden.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a client may cost Warden (section {@code budgets:}): before login, in statement analysis, and in the audit
 * trail. Every
 * value has a default (see the README); a reload applies them to the next connection or statement, except
 * {@code parse_timeout} and {@code max_statement_length}, which the analyser reads at start.
 *
 * @param preLoginMessageBytes the largest message accepted before login (a password message carries a token)
 * @param preLoginConnections connections not logged in yet, all addresses together; empty: a quarter of
 *     {@code listen.max_connections}, at least 64
 * @param preLoginPerAddress of those, how many one client address may hold; empty: a quarter of the pool,
 *     at least 16
 * @param parseTimeout CPU time JSqlParser may spend on one statement before it counts as not understood
 * @param maxStatementLength statements longer than this many characters are not parsed: they get the lexer's
 *     facts only (unparsed unless their tokens prove a read), and the policy decides (the baseline refuses
 *     unparsed statements in production)
 * @param perSession analysis one session may use
 * @param perIdentity analysis all sessions of one identity may use together
 * @param auditPerIdentity the bytes of statement text (and bound values) all sessions of one identity may put into
 *     the audit trail; empty: no limit ({@code budgets.audit.per_identity: off})
 * @param sessionsPerIdentity the sessions one identity (user or agent) may hold at once, across environments; each
 *     holds a server connection, so one identity cannot take every slot the server has; empty: no limit
 *     ({@code budgets.sessions.per_identity: off})
 * @param keptPerSession about how many bytes of prepared statements (text, declared types) and portals (bound values)
 *     one session may have Warden keep at once; a Parse, Bind, PREPARE or DECLARE past it gets 53400; empty: no limit
 *     ({@code budgets.sessions.kept_bytes: off})
 * @param keptPerIdentity the same, for all sessions of one identity together (each session's own budget still
 *     holds); empty: no limit ({@code budgets.sessions.kept_bytes_per_identity: off})
 */
public record Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                      Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity,
                      Optional<AuditRate> auditPerIdentity, OptionalInt sessionsPerIdentity,
                      OptionalLong keptPerSession, OptionalLong keptPerIdentity) {

    /** Two token buckets: CPU time of analysis, and bytes of text analysed; each a burst and a refill rate. */
    public record Rate(Duration cpuBurst, Duration cpuPerSecond, long bytesBurst, long bytesPerSecond) {
        public Rate {
            Objects.requireNonNull(cpuBurst, "cpuBurst");
            Objects.requireNonNull(cpuPerSecond, "cpuPerSecond");
        }
    }

    /**
     * A token bucket of bytes recorded whole: {@code bytesBurst} at most, refilled by {@code bytesPerSecond}. A
     * statement whose text is longer than the burst never fits.
     */
    public record AuditRate(long bytesBurst, long bytesPerSecond) {
    }

    /**
     * 512 MiB at once, 64 MiB a second. The budget charges what a statement's records take, their fixed part
     * included (about 1.2 KB for a short statement's query and result records), and on the development machine
     * PostgreSQL alone ran about 21,000 statements a second of pgbench's scripts (TPC-B, prepared, 16 clients):
     * about 25 MB of records a second, were Warden to relay them all; 64 MiB a second is about twice that, and the
     * burst eight seconds of it, as before. See the README for why not less.
     */
    public static final AuditRate DEFAULT_AUDIT_PER_IDENTITY = new AuditRate(512L << 20, 64L << 20);

    /**
     * 64: below the 100 connections a PostgreSQL server allows by default (a helper's pass took 92 of the demo's
     * 100 as one user, and nobody else could log in), and above what one application's pool usually holds. A
     * service identity shared by many instances needs more: see the README.
     */
    public static final int DEFAULT_SESSIONS_PER_IDENTITY = 64;

    /**
     * 32 MiB: pgJDBC keeps at most 5 MiB of statement text prepared per connection by default (and 256 statements), which
     * Warden counts at four bytes a character, about 20 MiB; 64 sessions of one identity may then pin 2 GiB, where a helper's pass (a135
     * F1) pinned 656 MB with 400 Parse messages of one session, and nothing stopped it.
     */
    public static final long DEFAULT_KEPT_PER_SESSION = 32L << 20;

    /**
     * 512 MiB: sixteen sessions at the full per-session budget, far above what an application's pool keeps in
     * practice, and a quarter of the 2 GiB that 64 sessions of one identity could pin under the session budget alone
     * (a135 F1's follow-up).
     */
    public static final long DEFAULT_KEPT_PER_IDENTITY = 512L << 20;

    public static final Rate DEFAULT_PER_SESSION = new Rate(Duration.ofMillis(500), Duration.ofMillis(150),
            32L << 20, 8L << 20);
    public static final Rate DEFAULT_PER_IDENTITY = new Rate(Duration.ofSeconds(1), Duration.ofMillis(250),
            64L << 20, 16L << 20);

    public Budgets {
        Objects.requireNonNull(preLoginConnections, "preLoginConnections");
        Objects.requireNonNull(preLoginPerAddress, "preLoginPerAddress");
        Objects.requireNonNull(parseTimeout, "parseTimeout");
        Objects.requireNonNull(perSession, "perSession");
        Objects.requireNonNull(perIdentity, "perIdentity");
        Objects.requireNonNull(auditPerIdentity, "auditPerIdentity");
        Objects.requireNonNull(sessionsPerIdentity, "sessionsPerIdentity");
        Objects.requireNonNull(keptPerSession, "keptPerSession");
        Objects.requireNonNull(keptPerIdentity, "keptPerIdentity");
    }

    /** Budgets with {@link #DEFAULT_KEPT_PER_IDENTITY}. */
    public Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                   Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity,
                   Optional<AuditRate> auditPerIdentity, OptionalInt sessionsPerIdentity, OptionalLong keptPerSession) {
        this(preLoginMessageBytes, preLoginConnections, preLoginPerAddress, parseTimeout, maxStatementLength,
                perSession, perIdentity, auditPerIdentity, sessionsPerIdentity, keptPerSession,
                OptionalLong.of(DEFAULT_KEPT_PER_IDENTITY));
    }

    /** Budgets with {@link #DEFAULT_KEPT_PER_SESSION}. */
    public Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                   Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity,
                   Optional<AuditRate> auditPerIdentity, OptionalInt sessionsPerIdentity) {
        this(preLoginMessageBytes, preLoginConnections, preLoginPerAddress, parseTimeout, maxStatementLength,
                perSession, perIdentity, auditPerIdentity, sessionsPerIdentity, OptionalLong.of(DEFAULT_KEPT_PER_SESSION));
    }

    /** Budgets with {@link #DEFAULT_SESSIONS_PER_IDENTITY}. */
    public Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                   Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity,
                   Optional<AuditRate> auditPerIdentity) {
        this(preLoginMessageBytes, preLoginConnections, preLoginPerAddress, parseTimeout, maxStatementLength,
                perSession, perIdentity, auditPerIdentity, OptionalInt.of(DEFAULT_SESSIONS_PER_IDENTITY));
    }

    /** Budgets with the default audit budget. */
    public Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                   Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity) {
        this(preLoginMessageBytes, preLoginConnections, preLoginPerAddress, parseTimeout, maxStatementLength,
                perSession, perIdentity, Optional.of(DEFAULT_AUDIT_PER_IDENTITY));
    }

    /** The budgets of a policy without a {@code budgets:} section. */
    public static Budgets defaults() {
        return new Budgets(16 * 1024, OptionalInt.empty(), OptionalInt.empty(), Duration.ofMillis(200),
                64 * 1024, DEFAULT_PER_SESSION, DEFAULT_PER_IDENTITY);
    }

    /** The pre-login pool for {@code maxConnections} logged-in sessions. */
    public int preLoginConnections(int maxConnections) {
        return preLoginConnections.orElse(Math.max(64, maxConnections / 4));
    }

    /** One address's share of the pre-login pool. */
    public int preLoginPerAddress(int maxConnections) {
        return preLoginPerAddress.orElse(Math.max(16, preLoginConnections(maxConnections) / 4));
    }
}
