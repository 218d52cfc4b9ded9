package dev.warden.audit.event;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Event ids from a per-process sequence: 60 random bits drawn once when the process starts, then a counter.
 * {@code UUID.randomUUID()} took a lock on a shared {@link SecureRandom} for every record; an id only has to be
 * unique, which the random process part (across restarts and proxies) and the counter (within one) give.
 * The ids are RFC 9562 version 8 ("custom") UUIDs, so they parse as UUIDs everywhere.
 *
 * <p>Each thread takes the counter in blocks of {@link #BLOCK}: every event loop makes ids for every statement, and
 * one shared counter moved its cache line between the cores twice per statement. Ids stay unique; they are not
 * in the order of the records (the chain's {@code seq} is).
 */
public final class EventIds {

    private static final long PROCESS = (new SecureRandom().nextLong() & ~0xF000L) | 0x8000L;
    private static final long VARIANT = 0x8000_0000_0000_0000L;
    private static final AtomicLong COUNTER = new AtomicLong();
    private static final int BLOCK = 1024;
    /** This thread's next id and the end of its block. */
    private static final ThreadLocal<long[]> RANGE = ThreadLocal.withInitial(() -> new long[2]);

    private EventIds() {
    }

    public static UUID next() {
        long[] range = RANGE.get();
        if (range[0] == range[1]) {
            range[0] = COUNTER.getAndAdd(BLOCK) + 1;
            range[1] = range[0] + BLOCK;
        }
        return new UUID(PROCESS, VARIANT | (range[0]++ & 0x3FFF_FFFF_FFFF_FFFFL));
    }
}
