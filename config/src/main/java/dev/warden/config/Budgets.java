package dev.warden.config;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What a client may cost Warden (section {@code budgets:}): before login, and in statement analysis. Every
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
 */
public record Budgets(int preLoginMessageBytes, OptionalInt preLoginConnections, OptionalInt preLoginPerAddress,
                      Duration parseTimeout, int maxStatementLength, Rate perSession, Rate perIdentity) {

    /** Two token buckets: CPU time of analysis, and bytes of text analysed; each a burst and a refill rate. */
    public record Rate(Duration cpuBurst, Duration cpuPerSecond, long bytesBurst, long bytesPerSecond) {
        public Rate {
            Objects.requireNonNull(cpuBurst, "cpuBurst");
            Objects.requireNonNull(cpuPerSecond, "cpuPerSecond");
        }
    }

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
