package dev.warden.masking;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every detector's values glued to each other by ASCII punctuation, as base64, URLs, paths, query strings and lists
 * without spaces write them: no byte of any of them may pass in clear. A helper's pass (2026-12-06): two AWS keys
 * joined by {@code +} or {@code /}, two IBANs joined by {@code +}, and glued e-mails ({@code a@b.coa@c.de}) came back
 * in clear, whole or in part; with the main code of then, 2,639 of the 11,552 pairs below leaked.
 *
 * <p>One gap is left on purpose: a random key glued to a copy of itself by base64 bytes only ({@code k+k}, {@code
 * k/k}, {@code k-k}, {@code k_k}, or with other values of base64 bytes between, {@code k-xoxb-...-k}) repeats itself
 * as base64 of repeated bytes does, which the high-entropy rule passes (see {@code ValueDetectors.periodic}); those
 * texts are not checked.
 */
class GluedValuesTest {

    private static final Set<String> ALL = Set.copyOf(MaskingSettings.VALUE_DETECTORS);

    /** One or more values of each detector, as its own tests write them. */
    private static final String[] VALUES = {
        "ann.lee@acme.com", "a@b.co", "4111 1111 1111 1111", "4111111111111111", "5500-0000-0000-0004", "123-45-6789",
        "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00", "+44 20 7946 0958", "+14155550100",
        ValueDetectorsTest.JWT, ValueDetectorsTest.PEM, "AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A",
        "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-1234567890123-abcdefghijKLMNOP", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        GluedValuesTest.RANDOM_KEY};

    /** The high-entropy rule's value: a random key with no prefix. */
    private static final String RANDOM_KEY = "q8Zt3LxV9pR2mW7nK4sY1bH6cJ5dF0gTaEuQ";

    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    @Test
    void everyPairGluedByEveryPunctuationIsMaskedWhole() {
        List<String> failures = new ArrayList<>();
        for (String a : VALUES) {
            for (String b : VALUES) {
                for (char separator : PUNCTUATION.toCharArray()) {
                    check(List.of(a, b), List.of("", String.valueOf(separator), ""), failures);
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " texts leak, e.g.\n" + String.join("\n", first(failures)));
    }

    @Test
    void chainsOfValuesAndSeparatorsAreMaskedWhole() {
        long seed = GluedPieces.seed("GluedValuesTest");
        Random random = new Random(seed);
        List<String> failures = new ArrayList<>();
        for (int round = 0; round < 20_000; round++) {
            List<String> values = new ArrayList<>();
            List<String> separators = new ArrayList<>();
            separators.add(separator(random));
            for (int n = 2 + random.nextInt(4); n > 0; n--) {
                values.add(VALUES[random.nextInt(VALUES.length)]);
                separators.add(separator(random));
            }
            check(values, separators, failures);
        }
        assertTrue(failures.isEmpty(),
                "seed " + seed + ": " + failures.size() + " texts leak, e.g.\n" + String.join("\n", first(failures)));
    }

    /**
     * The other side: keys are found inside a token now, so an ordinary base64 text (random bytes, or a pattern
     * repeated, in both alphabets) must be masked whole or not at all. A hit on a part of it would be replaced by a
     * strategy's text, and a hash strategy's hex in base64 decodes: wrong data that looks right.
     */
    @Test
    void base64IsMaskedWholeOrNotAtAll() {
        long seed = GluedPieces.seed("GluedValuesTest.base64");
        Random random = new Random(seed);
        for (int round = 0; round < 20_000; round++) {
            byte[] data = new byte[1 + random.nextInt(120)];
            random.nextBytes(data);
            if (random.nextBoolean()) {
                int unit = 1 + random.nextInt(Math.min(40, data.length));
                for (int i = unit; i < data.length; i++) {
                    data[i] = data[i - unit];
                }
            }
            String text = (random.nextBoolean() ? java.util.Base64.getEncoder() : java.util.Base64.getUrlEncoder())
                    .withoutPadding().encodeToString(data);
            byte[] b = text.getBytes(StandardCharsets.US_ASCII);
            ValueDetectors.Scanner scanner = new ValueDetectors.Scanner(b, 0, b.length, ALL);
            ValueDetectors.Hit hit = scanner.next(0);
            assertTrue(hit == null || hit.start() == 0 && hit.end() == b.length,
                    () -> "seed " + seed + ": <" + text + "> has a hit on a part: " + hit);
        }
    }

    /** One or two punctuation characters. */
    private static String separator(Random random) {
        StringBuilder s = new StringBuilder();
        for (int n = 1 + random.nextInt(2); n > 0; n--) {
            s.append(PUNCTUATION.charAt(random.nextInt(PUNCTUATION.length())));
        }
        return s.toString();
    }

    /**
     * {@code separators[0] values[0] separators[1] values[1] ...}: every byte of every value lies in a hit, and none
     * is left in the masked text.
     */
    private static void check(List<String> values, List<String> separators, List<String> failures) {
        for (int k = 0; k < values.size(); k++) {
            for (int m = k + 1; m < values.size() && values.get(k).equals(RANDOM_KEY); m++) {
                // The gap left on purpose: the key twice in one run of base64 bytes, with or without other values
                // of base64 bytes between (k-xoxb-...-k, seed 1767245481683, a helper's full run).
                StringBuilder between = new StringBuilder(separators.get(k + 1));
                for (int v = k + 1; v < m; v++) {
                    between.append(values.get(v)).append(separators.get(v + 1));
                }
                if (!between.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 0x80 || "+/-_".indexOf(c) >= 0)) {
                    break; // a delimiter ends the run: a later copy is in another token
                }
                if (values.get(m).equals(RANDOM_KEY)) {
                    return;
                }
            }
        }
        StringBuilder text = new StringBuilder(separators.get(0));
        List<int[]> planted = new ArrayList<>();
        for (int k = 0; k < values.size(); k++) {
            planted.add(new int[] {text.length(), text.length() + values.get(k).length()});
            text.append(values.get(k)).append(separators.get(k + 1));
        }
        byte[] b = text.toString().getBytes(StandardCharsets.US_ASCII);
        boolean[] covered = new boolean[b.length];
        ValueDetectors.Scanner scanner = new ValueDetectors.Scanner(b, 0, b.length, ALL);
        for (ValueDetectors.Hit hit = scanner.next(0); hit != null; hit = hit.end() < b.length ? scanner.next(hit.end())
                : null) {
            for (int i = hit.start(); i < hit.end(); i++) {
                covered[i] = true;
            }
        }
        for (int[] p : planted) {
            for (int i = p[0]; i < p[1]; i++) {
                if (!covered[i]) {
                    failures.add("<" + text + ">: " + text.substring(p[0], p[1]) + " from " + text.substring(i, p[1]));
                    return;
                }
            }
        }
        String masked = new String(MASKER.maskSpans(PgType.of(25), false, b, 0, b.length, ALL,
                d -> Treatment.of(MaskingSettings.MaskingRule.Strategy.REDACT, "detector:" + d), new long[1], 0),
                StandardCharsets.UTF_8);
        for (String v : values) {
            assertFalse(masked.contains(v), () -> "<" + text + "> masked to <" + masked + ">");
        }
    }

    private static final ValueMasker MASKER = new ValueMasker(new Tokenizer(Secret.of("glued-values-key-0123456789")));

    private static List<String> first(List<String> failures) {
        return failures.subList(0, Math.min(40, failures.size()));
    }
}
