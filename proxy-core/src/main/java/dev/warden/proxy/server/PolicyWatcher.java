package dev.warden.proxy.server;

import dev.warden.config.Policy;
import dev.warden.config.PolicyException;
import dev.warden.config.PolicyLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Reloads the policy file when its content changes (and on demand, e.g. SIGHUP). A file that does not validate
 * is refused and the running policy stays in force.
 *
 * <p>Any event in the policy's directory counts, not only one naming the file: a Kubernetes ConfigMap volume
 * changes a file by swapping the {@code ..data} symlink, so the event names {@code ..data} while
 * {@code warden.yaml} (a symlink through it) silently gets new content; editors that save by rename do
 * something similar. When the file is itself a symlink into another directory, that directory is watched too.
 * After a short settle delay (a save is a burst of events) the content is compared with what was last read,
 * so unrelated files in the directory cost a read and a hash, never a reload.
 */
public final class PolicyWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    private final Path file;
    private final WardenServer server;
    private final WatchService watcher;
    private final Thread thread;
    /** SHA-256 of the content last read (applied or refused), so the same bytes are not tried twice. */
    private byte[] lastSeen;

    private PolicyWatcher(Path file, WardenServer server) throws IOException {
        this.file = file.toAbsolutePath().normalize();
        this.server = server;
        this.watcher = FileSystems.getDefault().newWatchService();
        register(this.file.getParent());
        try {
            Path target = this.file.toRealPath().getParent();
            if (!target.equals(this.file.getParent().toRealPath())) {
                register(target);
            }
        } catch (IOException e) {
            log.debug("policy watcher cannot resolve file={} error={}", this.file, e.getMessage());
        }
        this.lastSeen = digest();
        this.thread = new Thread(this::watch, "warden-policy-watcher");
        this.thread.setDaemon(true);
    }

    private void register(Path dir) throws IOException {
        dir.register(watcher, StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_CREATE,
                StandardWatchEventKinds.ENTRY_DELETE);
    }

    public static PolicyWatcher start(Path file, WardenServer server) throws IOException {
        PolicyWatcher w = new PolicyWatcher(file, server);
        w.thread.start();
        return w;
    }

    /** Loads and applies the file now; returns false (and keeps the running policy) when it is invalid. */
    public synchronized boolean reloadNow() {
        lastSeen = digest();
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

    /** Reloads only when the content differs from what was last read. */
    private synchronized void reloadIfChanged() {
        byte[] now = digest();
        if (now == null || Arrays.equals(now, lastSeen)) {
            // Missing mid-swap, or unchanged: the next event will tell.
            return;
        }
        reloadNow();
    }

    private byte[] digest() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    private void watch() {
        try {
            while (true) {
                WatchKey key = watcher.take();
                key.pollEvents();
                key.reset();
                // Let the writer finish; coalesce the burst of events one save or one swap makes.
                Thread.sleep(200);
                WatchKey more;
                while ((more = watcher.poll(50, TimeUnit.MILLISECONDS)) != null) {
                    more.pollEvents();
                    more.reset();
                }
                reloadIfChanged();
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
