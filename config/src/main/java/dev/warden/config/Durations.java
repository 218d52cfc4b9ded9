package dev.warden.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the policy's durations: {@code 500ms}, {@code 10s}, {@code 15m}, {@code 1h}, {@code 2d}, or {@code 0}. */
public final class Durations {

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)?");

    private Durations() {
    }

    /** @throws IllegalArgumentException with a reason fit for a policy error */
    public static Duration parse(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (examples: 500ms, 10s, 15m, 1h, 0)");
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2);
        if (unit == null) {
            if (amount != 0) {
                // A bare number is ambiguous (seconds? milliseconds?), so only 0 may omit the unit.
                throw new IllegalArgumentException("'" + text + "' needs a unit: ms, s, m, h or d");
            }
            return Duration.ZERO;
        }
        return switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofDays(amount);
        };
    }
}
