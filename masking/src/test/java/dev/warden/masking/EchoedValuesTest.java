package dev.warden.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The scans that find echoed values in error texts ({@link MessageText#echoed}) against the patterns that say what
 * they are: generated texts (seed printed) must give the same spans, and long ones must cost their length. A helper's
 * pass (2026-12-05): a masked identity's error text of 15,000 {@code invalid} held an event loop for 17 s through
 * the patterns, 20,000 {@code Failing row contains (} 67 s, and a long {@code Key (} or bound parameter overflowed the
 * stack and dropped the session.
 */
class EchoedValuesTest {

    private static final String[] PIECES = {
        "invalid input syntax for type integer", "invalid", ": \"", "\"", " is out of range", " is invalid", "value ",
        "Token ", "Key (", "Key (a, b)=(", ")=(", "(", ")", "Failing row contains (", "failing row contains (", ") = (",
        "$1 = '", "$2 = '", "''", "'", "\n", "\r\n", ", ", "abc", "123-45-6789", " must ", " for ", "time zone ",
        "malformed array literal", "x", "\u2028", "string "};

    @Test
    void everyScanFindsWhatItsPatternFinds() {
        long seed = GluedPieces.seed("EchoedValuesTest");
        Random random = new Random(seed);
        int matched = 0;
        for (int round = 0; round < 60_000; round++) {
            String text = GluedPieces.glued(random, PIECES, 10);
            matched += compare(text, MessageText.TRAILING_QUOTED, true, MessageText::trailingQuoted, seed);
            matched += compare(text, MessageText.VALUE_OUT_OF_RANGE, true, MessageText::valueOutOfRange, seed);
            matched += compare(text, MessageText.KEY_VALUES, false, MessageText::keyValues, seed);
            matched += compare(text, MessageText.FAILING_ROW, false,
                    (t, from) -> MessageText.toLastParenthesis(t, from, "Failing row contains (", null), seed);
            matched += compare(text, MessageText.PARTITION_KEY, false,
                    (t, from) -> MessageText.toLastParenthesis(t, from, "failing row contains (", ") = ("), seed);
            if (closedParameters(text)) {
                matched += compare(text, MessageText.PARAMETER, true, MessageText::parameter, seed);
            }
        }
        assertTrue(matched > 8_000, "the generated texts held values: " + matched);
    }

    /** The spans each finds in {@code text}, equal; returns how many. */
    private static int compare(String text, Pattern pattern, boolean quoted, MessageText.SpanFinder finder, long seed) {
        List<String> expected = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            expected.add((quoted ? m.start(2) - 1 : m.start(2)) + ".." + (quoted ? m.end(2) + 1 : m.end(2)));
        }
        List<String> found = new ArrayList<>();
        int from = 0;
        for (int[] span = finder.next(text, 0); span != null; span = from < text.length() ? finder.next(text, from)
                : null) {
            found.add(span[0] + ".." + span[1]);
            from = span[1];
        }
        assertEquals(expected, found, () -> "seed " + seed + ", " + pattern + " in <" + text.replace("\n", "\\n") + ">");
        return found.size();
    }

    /**
     * Whether every bound parameter's value in {@code text} ends with a quote that is not doubled: where one does not,
     * the scan redacts to the text's end, and the pattern took the last doubled quote for its end.
     */
    private static boolean closedParameters(String text) {
        Matcher m = Pattern.compile("\\$\\d+ = '").matcher(text);
        int from = 0;
        while (from < text.length() && m.find(from)) {
            int i = m.end();
            while (i < text.length() && (text.charAt(i) != '\'' || i + 1 < text.length() && text.charAt(i + 1) == '\'')) {
                i += text.charAt(i) == '\'' ? 2 : 1;
            }
            if (i >= text.length()) {
                return false;
            }
            from = i + 1;
        }
        return true;
    }

    @Test
    void longTextsCostTheirLength() {
        String[] texts = {
            "Token \"" + "invalid".repeat(30_000) + "\" is invalid.",
            "value \"a".repeat(40_000),
            "Failing row contains (".repeat(40_000),
            "failing row contains (".repeat(40_000) + ") = (",
            "Key (" + "a".repeat(200_000) + " 123-45-6789",
            "Key (".repeat(40_000),
            "$1 = '" + "''".repeat(200_000) + "'",
            "$1 = '" + "a".repeat(200_000) + " 123-45-6789",
            "$1 = '".repeat(40_000),
            "invalid\n".repeat(240_000) + ": \"123-45-6789\"", // each line read to the opening (a helper's review)
            "invalid\n".repeat(60_000)};
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (String text : texts) {
                String masked = MessageText.mask(text, true, java.util.Set.copyOf(
                        dev.warden.config.MaskingSettings.VALUE_DETECTORS));
                assertFalse(masked.contains("123-45-6789"), masked.substring(0, Math.min(80, masked.length())));
            }
        });
        // A bound parameter with no closing quote is redacted to the end (the pattern showed what followed its last
        // doubled quote).
        assertEquals("CONTEXT: $1 = '[redacted]'", MessageText.echoed("CONTEXT: $1 = 'a''b c 123-45-6789"));
    }
}
