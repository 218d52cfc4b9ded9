package dev.warden.audit.event;

/**
 * The canonical bytes of values a thread writes again and again (a session's username, a statement shape's
 * table lists, a result's column list), found by the identity of the value. Direct-mapped and bounded: a slot
 * taken by another value is simply replaced. Only immutable values may go in (Strings, the events' lists, which
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
        int i = slot(value);
        return values[i] == value ? encoded[i] : null;
    }

    void put(Object value, byte[] bytes) {
        int i = slot(value);
        values[i] = value;
        encoded[i] = bytes;
    }

    private static int slot(Object value) {
        int h = System.identityHashCode(value);
        return (h ^ h >>> 9) & (SLOTS - 1);
    }
}
