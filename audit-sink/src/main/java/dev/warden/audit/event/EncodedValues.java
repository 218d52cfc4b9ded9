package dev.warden.audit.event;

/**
 * The canonical bytes of values a thread writes again and again (a session's username, a statement shape's
 * table lists, a result's column list), found by the identity of the value. Bounded, two slots per value: a
 * value put where another sits moves that one to its second slot, and whatever was there is forgotten. Only immutable values may go in (Strings, the events' lists, which
 * are {@code List.copyOf} copies of immutable elements), so bytes found here are always the value's bytes.
 * Not thread-safe: each {@link CanonicalWriter} has its own.
 */
final class EncodedValues {

    /** Slots per thread; a few sessions' worth of stable values each. */
    private static final int SLOTS = 512;
    /** Values encoding to more are written each time rather than pinned here. */
    static final int MAX_BYTES = 1024;

    private final Object[] values = new Object[SLOTS];
    private final byte[][] encoded = new byte[SLOTS][];

    /** The bytes stored for exactly this object, or null. */
    byte[] get(Object value) {
        int h = hash(value);
        int i = h & (SLOTS - 1);
        if (values[i] == value) {
            return encoded[i];
        }
        int j = second(h);
        return values[j] == value ? encoded[j] : null;
    }

    /**
     * Stores into the value's first slot, moving what was there to that value's second slot: two values whose
     * first slots collide both stay (two ways), rather than evicting each other on every record.
     */
    void put(Object value, byte[] bytes) {
        int h = hash(value);
        int i = h & (SLOTS - 1);
        Object old = values[i];
        if (old != null && old != value) {
            int oldHash = hash(old);
            if ((oldHash & (SLOTS - 1)) == i) { // there by its first slot: it moves to its second
                int j = second(oldHash);
                values[j] = old;
                encoded[j] = encoded[i];
            }
        }
        values[i] = value;
        encoded[i] = bytes;
    }

    /** The second slot, never the first. */
    private static int second(int hash) {
        int i = hash & (SLOTS - 1);
        int j = (hash >>> 16) & (SLOTS - 1);
        return j != i ? j : i ^ 1;
    }

    private static int hash(Object value) {
        int h = System.identityHashCode(value);
        return h ^ h >>> 9 ^ h << 7;
    }
}
