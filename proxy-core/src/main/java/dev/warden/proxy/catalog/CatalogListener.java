package dev.warden.proxy.catalog;

import dev.warden.config.Environment;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Hears of DDL made outside Warden (a migration on a direct connection): LISTENs on the environment's
 * {@code upstream.catalog_channel}, where an event trigger an administrator installed calls {@code pg_notify} at the
 * end of each DDL command, and drops every catalog entry of the environment (and of those on the same database) on
 * each notification. Without it such DDL is seen when the entries expire (5 s). A notification arrives when the
 * DDL's transaction commits, which is when other sessions start to see it; the window left is the time it takes to
 * arrive. Runs on a thread of its own (its reads block); while it is not connected, the entries expire as before,
 * and it drops them all once it listens again (what changed meanwhile was not heard).
 */
public final class CatalogListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CatalogListener.class);

    /** How long one wait for notifications lasts; {@link #close} is seen within it. */
    private static final int POLL_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 30_000;

    private final Environment environment;
    private final String channel;
    private final CatalogCache catalog;
    private final Thread thread;
    private volatile boolean closed;
    private Connection connection;

    private CatalogListener(Environment environment, String channel, CatalogCache catalog) {
        this.environment = environment;
        this.channel = channel;
        this.catalog = catalog;
        this.thread = new Thread(this::run, "warden-catalog-listen-" + environment.name());
        this.thread.setDaemon(true);
    }

    /** Starts listening for {@code environment}'s catalog when it names a channel; null when it names none. */
    public static CatalogListener startFor(Environment environment, CatalogCache catalog) {
        String channel = environment.upstream().catalogChannel().map(c -> c.name()).orElse(null);
        if (channel == null) {
            return null;
        }
        CatalogListener listener = new CatalogListener(environment, channel, catalog);
        listener.thread.start();
        return listener;
    }

    private void run() {
        long backoff = 1_000;
        while (!closed) {
            try {
                connection = dev.warden.proxy.upstream.UpstreamJdbc.open(environment.upstream(),
                        "warden-catalog-listen");
                try (Statement s = connection.createStatement()) {
                    s.execute("LISTEN " + quoted(channel));
                }
                // DDL made before this LISTEN (or while it was not connected) was not heard.
                catalog.invalidate(null);
                log.info("catalog.listening env={} channel={}", environment.name(), channel);
                backoff = 1_000;
                PGConnection pg = connection.unwrap(PGConnection.class);
                while (!closed) {
                    PGNotification[] received = pg.getNotifications(POLL_MILLIS);
                    if (received != null && received.length > 0) {
                        catalog.invalidate(null);
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
