package dev.warden.audit.event;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Event ids from a per-process sequence: 60 random bits drawn once when the process starts, then a counter.
 * {@code UUID.randomUUID()} took a lock on a shared {@link SecureRandom} for every record; an id only has to be
 * unique, which the random process part (across restarts and proxies) and the counter (within one) give.
 * The ids are RFC 9562 version 8 ("custom") UUIDs, so they parse as UUIDs everywhere.
 */
public final class EventIds {

    private static final long PROCESS = (new SecureRandom().nextLong() & ~0xF000L) | 0x8000L;
    private static final long VARIANT = 0x8000_0000_0000_0000L;
    private static final AtomicLong COUNTER = new AtomicLong();

    private EventIds() {
    }

    public static UUID next() {
        return new UUID(PROCESS, VARIANT | (COUNTER.incrementAndGet() & 0x3FFF_FFFF_FFFF_FFFFL));
    }
}
