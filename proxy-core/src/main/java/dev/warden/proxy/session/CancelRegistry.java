package dev.warden.proxy.session;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Clients get Warden's own BackendKeyData, never the upstream's: a cancel key is only as good as its
 * secret, and the upstream key would let a client cancel queries of a session it cannot see. This maps
 * each key Warden issued to the upstream server and key to cancel with.
 */
public final class CancelRegistry {

    /** Where and with which key the upstream server expects a CancelRequest. */
    public record Target(InetSocketAddress upstream, int processId, int secretKey) {
    }

    /** The key Warden gave a client. */
    public record Key(int processId, int secretKey) {
    }

    private final SecureRandom random = new SecureRandom();
    private final AtomicInteger nextProcessId = new AtomicInteger(1 + new SecureRandom().nextInt(1 << 20));
    private final Map<Key, Target> targets = new ConcurrentHashMap<>();
    private final Map<Key, Runnable> localCancels = new ConcurrentHashMap<>();

    /** Issues a fresh key for a session whose upstream is {@code target}. */
    public Key register(Target target) {
        Key key;
        do {
            key = new Key(nextProcessId.getAndIncrement() & 0x7fffffff, random.nextInt());
        } while (targets.putIfAbsent(key, target) != null);
        return key;
    }

    /** Also runs {@code onCancel} when the key is used: Warden may hold the statement (an approval). */
    public Key register(Target target, Runnable onCancel) {
        Key key = register(target);
        localCancels.put(key, onCancel);
        return key;
    }

    /** Runs the session's own cancel action for this key, if it has one. */
    public void cancelLocally(int processId, int secretKey) {
        Runnable r = localCancels.get(new Key(processId, secretKey));
        if (r != null) {
            r.run();
        }
    }

    public Optional<Target> lookup(int processId, int secretKey) {
        return Optional.ofNullable(targets.get(new Key(processId, secretKey)));
    }

    public void unregister(Key key) {
        if (key != null) {
            targets.remove(key);
            localCancels.remove(key);
        }
    }

    int size() {
        return targets.size();
    }
}
