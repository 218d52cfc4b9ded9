package dev.warden.audit.event;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** RFC 3339 in UTC with exactly six fractional digits: {@code 2026-11-26T06:12:01.123456Z}. */
public final class Timestamps {

    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    public static String format(Instant instant) {
        return FORMAT.format(instant);
    }

    public static Instant parse(String text) {
        return Instant.parse(text);
    }

    /** Now, truncated to what the record can hold, so a parsed event equals the one written. */
    public static Instant now() {
        // Taken twice per statement: one Instant, where truncatedTo would make a second (and divide twice).
        Instant now = Instant.now();
        return Instant.ofEpochSecond(now.getEpochSecond(), now.getNano() / 1000 * 1000);
    }
}
