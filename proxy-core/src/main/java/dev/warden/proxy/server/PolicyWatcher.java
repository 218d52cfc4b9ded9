package dev.warden.proxy.server;

import dev.warden.config.Policy;
import dev.warden.config.PolicyException;
import dev.warden.config.PolicyLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.concurrent.TimeUnit;

/**
 * Reloads the policy file when it changes (and on demand, e.g. SIGHUP). A file that does not validate is
 * refused and the running policy stays in force; editors that save by rename are handled by watching the
 * directory, and a short settle delay avoids reading a half-written file.
 */
public final class PolicyWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    private final Path file;
    private final WardenServer server;
    private final WatchService watcher;
    private final Thread thread;

    private PolicyWatcher(Path file, WardenServer server) throws IOException {
        this.file = file.toAbsolutePath().normalize();
        this.server = server;
        this.watcher = FileSystems.getDefault().newWatchService();
        this.file.getParent().register(watcher, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_CREATE);
        this.thread = new Thread(this::watch, "warden-policy-watcher");
        this.thread.setDaemon(true);
    }

    public static PolicyWatcher start(Path file, WardenServer server) throws IOException {
        PolicyWatcher w = new PolicyWatcher(file, server);
        w.thread.start();
        return w;
    }

    /** Loads and applies the file now; returns false (and keeps the running policy) when it is invalid. */
    public synchronized boolean reloadNow() {
        try {
            Policy next = PolicyLoader.load(file);
            server.reload(next);
            return true;
        } catch (PolicyException e) {
            server.reloadRefused(e.getMessage());
            return false;
        } catch (RuntimeException e) {
            server.reloadRefused("cannot apply policy: " + e.getMessage());
            return false;
        }
    }

    private void watch() {
        try {
            while (true) {
                WatchKey key = watcher.take();
                boolean ours = key.pollEvents().stream()
                        .anyMatch(e -> e.context() instanceof Path p && p.getFileName().equals(file.getFileName()));
                key.reset();
                if (ours) {
                    // Let the writer finish; coalesce the burst of events one save makes.
                    Thread.sleep(200);
                    WatchKey more;
                    while ((more = watcher.poll(50, TimeUnit.MILLISECONDS)) != null) {
                        more.pollEvents();
                        more.reset();
                    }
                    reloadNow();
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (RuntimeException e) {
            log.error("policy watcher stopped", e);
        }
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            watcher.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
