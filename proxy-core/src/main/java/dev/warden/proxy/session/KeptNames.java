package dev.warden.proxy.session;

import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * A session's named statements or portals, with about how many bytes of Warden's heap they hold together (what
 * {@code budgets.sessions.kept_bytes} bounds). Every change goes through here, so the sum is exact for what each
 * entry says it holds.
 */
final class KeptNames<V> {

    private final Map<String, V> byName = new HashMap<>();
    private final ToLongFunction<V> size;
    private long bytes;
    /** The sum of every session of the identity ({@link PreparedStatements#countInto}); null: not counted. */
    private java.util.concurrent.atomic.LongAdder shared;

    KeptNames(ToLongFunction<V> size) {
        this.size = size;
    }

    /**
     * Adds this session's bytes to {@code sum} from now on, and every change after; {@code null} takes them out
     * again (the session ends).
     */
    void countInto(java.util.concurrent.atomic.LongAdder sum) {
        if (shared != null) {
            shared.add(-bytes);
        }
        shared = sum;
        if (sum != null) {
            sum.add(bytes);
        }
    }

    private void change(long delta) {
        if (delta != 0) {
            bytes += delta;
            if (shared != null) {
                shared.add(delta);
            }
        }
    }

    /** About how many bytes the entries hold together. */
    long bytes() {
        return bytes;
    }

    V get(String name) {
        return byName.get(name);
    }

    boolean isEmpty() {
        return byName.isEmpty();
    }

    /** The entries, read-only (change them through this class). */
    Collection<V> values() {
        return Collections.unmodifiableCollection(byName.values());
    }

    V put(String name, V value) {
        V before = byName.put(name, value);
        change(size.applyAsLong(value) - (before == null ? 0 : size.applyAsLong(before)));
        return before;
    }

    void putIfAbsent(String name, V value) {
        if (!byName.containsKey(name)) {
            put(name, value);
        }
    }

    V remove(String name) {
        V before = byName.remove(name);
        change(before == null ? 0 : -size.applyAsLong(before));
        return before;
    }

    void clear() {
        byName.clear();
        change(-bytes);
    }

    void removeIf(Predicate<V> gone) {
        byName.values().removeIf(v -> {
            if (gone.test(v)) {
                change(-size.applyAsLong(v));
                return true;
            }
            return false;
        });
    }
}
