package dev.warden.proxy.catalog;

import dev.warden.config.Environment;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * Hears of DDL made outside Warden (a migration on a direct connection): LISTENs on the environment's
 * {@code upstream.catalog_channel}, where an event trigger an administrator installed calls {@code pg_notify} at the
 * end of each DDL command, and drops every catalog entry of the environment (and of those on the same database) on
 * each notification. Without it such DDL is seen when the entries expire (5 s). A notification arrives when the
 * DDL's transaction commits, which is when other sessions start to see it; the window left is the time it takes to
 * arrive (up to {@link #REFILL_NANOS} more while notifications come faster than {@link #BURST} at once). Runs on a
 * thread of its own (its reads block); while it is not connected, the entries expire as before, and it drops them
 * all once it listens again (what changed meanwhile was not heard).
 */
public final class CatalogListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CatalogListener.class);

    /** How long one wait for notifications lasts; {@link #close} is seen within it. */
    private static final int POLL_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    /** How often the listening connection is asked whether it still answers, and how long it has to. */
    private static final Duration PROBE_EVERY = Duration.ofSeconds(30);
    private static final int PROBE_TIMEOUT_SECONDS = 5;
    /**
     * Drops of the catalog are rationed like tokens in a bucket: {@link #BURST} at once, then one per
     * {@link #REFILL_NANOS}; notifications that find the bucket empty drop it once when the next token comes. Every
     * role may NOTIFY on any channel, and each drop makes every session's next statement wait for the catalog to be
     * read again, so a loop of pg_notify calls (through Warden or not) must not become one catalog read per statement
     * for everyone, nor refusals: a statement whose names are dropped again and again while they are read counts them
     * as not looked up (with drops 100 ms apart, a masked session's own loop of notifications had its statements
     * refused on a busy host). The burst lets a migration of a few DDL transactions be seen at each commit; while a
     * loop runs, a real change can be seen up to {@link #REFILL_NANOS} late.
     */
    static final int BURST = 3;
    static final long REFILL_NANOS = 500_000_000L;

    private final Environment environment;
    private final String channel;
    private final CatalogCache catalog;
    private final Thread thread;
    private final long probeNanos;
    private volatile boolean closed;
    private Connection connection;

    private CatalogListener(Environment environment, String channel, CatalogCache catalog, Duration probeEvery) {
        this.probeNanos = probeEvery.toNanos();
        this.environment = environment;
        this.channel = channel;
        this.catalog = catalog;
        this.thread = new Thread(this::run, "warden-catalog-listen-" + environment.name());
        this.thread.setDaemon(true);
    }

    /** Starts listening for {@code environment}'s catalog when it names a channel; null when it names none. */
    public static CatalogListener startFor(Environment environment, CatalogCache catalog) {
        return startFor(environment, catalog, PROBE_EVERY);
    }

    /** For tests: asks the listening connection whether it still answers every {@code probeEvery}. */
    static CatalogListener startFor(Environment environment, CatalogCache catalog, Duration probeEvery) {
        String channel = environment.upstream().catalogChannel().map(c -> c.name()).orElse(null);
        if (channel == null) {
            return null;
        }
        CatalogListener listener = new CatalogListener(environment, channel, catalog, probeEvery);
        listener.thread.start();
        return listener;
    }

    private void run() {
        long backoff = 1_000;
        while (!closed) {
            try {
                connection = dev.warden.proxy.upstream.UpstreamJdbc.open(environment.upstream(),
                        "warden-catalog-listen");
                // The check `policy check --connect` makes, said where an operator looks at start.
                for (var finding : dev.warden.proxy.privilege.PrivilegeCheck.catalogChannelFindings(connection,
                        environment.upstream().catalogChannel().orElseThrow())) {
                    log.warn("catalog.channel_unsent env={}: {}", environment.name(), finding);
                }
                try (Statement s = connection.createStatement()) {
                    s.execute("LISTEN " + quoted(channel));
                }
                // DDL made before this LISTEN (or while it was not connected) was not heard.
                catalog.invalidate(null);
                log.info("catalog.listening env={} channel={}", environment.name(), channel);
                backoff = 1_000;
                PGConnection pg = connection.unwrap(PGConnection.class);
                double tokens = BURST;
                long refilledAt = System.nanoTime();
                boolean pending = false;
                long probedAt = refilledAt;
                while (!closed) {
                    if (System.nanoTime() - probedAt >= probeNanos) {
                        // Waiting for notifications reads nothing from a connection that went silent (a stopped
                        // server, a network that drops packets): each wait just times out. Ask it something.
                        if (!connection.isValid(PROBE_TIMEOUT_SECONDS)) {
                            throw new SQLException("the listening connection did not answer within "
                                    + PROBE_TIMEOUT_SECONDS + " s");
                        }
                        probedAt = System.nanoTime();
                    }
                    int wait = POLL_MILLIS;
                    if (pending) {
                        long untilToken = (long) ((1 - tokens) * REFILL_NANOS) - (System.nanoTime() - refilledAt);
                        wait = (int) Math.max(1, untilToken / 1_000_000);
                    }
                    PGNotification[] received = pg.getNotifications(wait);
                    pending |= received != null && received.length > 0;
                    long now = System.nanoTime();
                    tokens = Math.min(BURST, tokens + (double) (now - refilledAt) / REFILL_NANOS);
                    refilledAt = now;
                    if (pending && tokens >= 1) {
                        catalog.invalidate(null);
                        tokens -= 1;
                        pending = false;
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    break;
                }
                log.warn("catalog.listen_failed env={} channel={} retry_in_ms={}: {} (until it listens again, DDL "
                        + "made outside Warden is seen when catalog entries expire)", environment.name(), channel,
                        backoff, e.getMessage());
                closeConnection();
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    break;
                }
                backoff = Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
            }
        }
        closeConnection();
    }

    /** The channel as an identifier LISTEN reads back exactly (case and every character kept). */
    static String quoted(String channel) {
        return '"' + channel.replace("\"", "\"\"") + '"';
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a broken connection
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
