package dev.warden.masking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link ValueDetectors.Scanner} finds, hit after hit, what a fresh {@link ValueDetectors#scan} from each hit's end
 * finds, in time linear in the value. Before it, each hit's fresh scan read the rest of the value again: a RAISE of
 * 25,000 SSNs held an event loop for 30 s, and an e-mail's domain of n letters took n squared steps.
 */
class ValueScannerTest {

    private static final Set<String> ALL = Set.copyOf(MaskingSettings.VALUE_DETECTORS);

    /** Pieces that make hits, almost-hits and the runs and tokens around them, glued in any order. */
    private static final String[] PIECES = {
        "123-45-6789", "078-05-1120", "123 45 6789", "4111 1111 1111 1111", "4111111111111111", "5500-0000-0000-0004",
        "+44 20 7946 0958", "+14155550100", "+1", "ann.lee@acme.com", "a@b", "@", ".com", "x@y.co", "GB82WEST12345698765432",
        "DE89 3704 0044 0532 0130 00", "AKIAIOSFODNN7EXAMPLE", "xoxb-", "eyJ", ValueDetectorsTest.JWT,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", ValueDetectorsTest.PEM, "-----BEGIN ",
        "q8Zt3LxV9pR2mW7nK4sY1bH6cJ5dF0gTaEuQ", "1", "12", "9", "-", " ", "  ", ".", "_", "/", ",", ";", "\n", "x", "ab",
        "{\"k\":\"", "\"}", "(", ")", "0", "+", "=", "ssn", "card",
        // Keys glued inside one token, and the hits grown over what they would cut (since 2026-12-06).
        "ASIAY34FZKBOKMUTVV7A", "DE89", " 3704 0044 0532 0130 00", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "~", "|",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "a@b.coa@c.de"};

    @Test
    void everyHitIsTheOneAFreshScanFromTheLastHitsEndFinds() {
        long seed = GluedPieces.seed("ValueScannerTest");
        Random random = new Random(seed);
        int compared = 0;
        for (int round = 0; round < 20_000; round++) {
            String text = GluedPieces.glued(random, PIECES, 12);
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            List<ValueDetectors.Hit> kept = hits(b, true);
            if (!ValueDetectors.mayHit(b, 0, b.length)) {
                assertEquals(List.of(), kept, () -> "seed " + seed + ": mayHit said no to <" + text + ">");
            }
            List<ValueDetectors.Hit> fresh = hits(b, false);
            assertEquals(fresh, kept, () -> "seed " + seed + ", text <" + text + ">");
            compared += fresh.size();
        }
        assertTrue(compared > 20_000, "the generated texts held hits: " + compared);
    }

    /** Every hit of {@code b}: one scanner throughout, or a fresh scan from each hit's end (callers' loop). */
    private static List<ValueDetectors.Hit> hits(byte[] b, boolean oneScanner) {
        ValueDetectors.Scanner scanner = new ValueDetectors.Scanner(b, 0, b.length, ALL);
        List<ValueDetectors.Hit> out = new ArrayList<>();
        int from = 0;
        while (from < b.length) {
            ValueDetectors.Hit hit = oneScanner ? scanner.next(from) : ValueDetectors.scan(b, from, b.length - from, ALL);
            if (hit == null) {
                break;
            }
            out.add(hit);
            from = Math.max(hit.end(), from + 1);
        }
        return out;
    }

    @Test
    void manyHitsInOneValueCostItsLengthNotItsLengthTimesItsHits() {
        // Each would take minutes read again from each hit (and did: 12.8 s for a third of the first).
        String ssns = "123-45-6789 x ".repeat(100_000);
        String mails = "ann.lee@acme.com, ".repeat(100_000);
        String cardsAndSsns = ("4111 1111 1111 1111 123-45-6789 +44 20 7946 0958; ").repeat(30_000);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertEquals(100_000, hits(ssns.getBytes(StandardCharsets.UTF_8), true).size());
            assertEquals(100_000, hits(mails.getBytes(StandardCharsets.UTF_8), true).size());
            assertEquals(90_000, hits(cardsAndSsns.getBytes(StandardCharsets.UTF_8), true).size());
        });
    }

    @Test
    void aLongDomainIsReadOnce() {
        byte[] domain = ("a@" + "b".repeat(2_000_000)).getBytes(StandardCharsets.UTF_8);
        // The first '@' has a domain of two million letters and no dot; the second one ends an address.
        String text = "a@" + "b".repeat(1_000_000) + "@acme.com";
        byte[] twice = text.getBytes(StandardCharsets.UTF_8);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertEquals(List.of(), hits(domain, true));
            ValueDetectors.Hit hit = ValueDetectors.scan(twice, 0, twice.length, ALL);
            assertNotNull(hit);
            assertEquals("email", hit.detector());
            assertEquals("b".repeat(64) + "@acme.com", text.substring(hit.start(), hit.end()));
        });
    }

    @Test
    void aLongTokenReadAgainFromEachHitIsMaskedWholeOnceItCostsTooMuch() {
        // One token (no delimiter): after each SSN the rest of it starts like a Slack token of no kind Slack issues
        // (xoxb- would now be one: a Slack token runs over the dashes of the rest), read to its last byte.
        byte[] glued = ("x123-45-6789xoxz-".repeat(60_000) + "!").getBytes(StandardCharsets.UTF_8);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            List<ValueDetectors.Hit> hits = hits(glued, true);
            ValueDetectors.Hit last = hits.get(hits.size() - 1);
            assertEquals(ValueDetectors.OVER_BUDGET, last.detector());
            assertEquals(glued.length, last.end());
            for (ValueDetectors.Hit h : hits.subList(0, hits.size() - 1)) {
                assertEquals("us_ssn", h.detector());
            }
            assertTrue(last.start() < glued.length / 2, "the budget stops it early: " + last.start());
        });
        // A value of ordinary hits does not come near it.
        byte[] json = ("{\"email\":\"ann.lee@acme.com\",\"ssn\":\"123-45-6789\"},").repeat(20_000)
                .getBytes(StandardCharsets.UTF_8);
        assertFalse(hits(json, true).stream().anyMatch(h -> h.detector().equals(ValueDetectors.OVER_BUDGET)));
    }

    @Test
    void aMegabyteOfGluedKeysIsOneTokenThatTheBudgetStops() {
        // Keys glued by '+' are each a hit inside one token (no delimiter): each is found, and the token's rest is read
        // again from its end, four times the value's length of work before the rest is masked whole.
        byte[] glued = "AKIAIOSFODNN7EXAMPLE+".repeat(50_000).getBytes(StandardCharsets.UTF_8);
        List<ValueDetectors.Hit> hits = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> hits(glued, true));
        ValueDetectors.Hit last = hits.get(hits.size() - 1);
        assertEquals(ValueDetectors.OVER_BUDGET, last.detector());
        assertEquals(glued.length, last.end());
        for (int k = 0; k < hits.size() - 1; k++) {
            assertEquals(new ValueDetectors.Hit("aws_access_key", 21 * k, 21 * k + 20), hits.get(k));
        }
        assertTrue(hits.size() <= 6, "the work counted stops it after about four reads of the token: " + hits.size());
    }

    @Test
    void aTokenThatRepeatsButForItsLastByteIsReadOnce() {
        // Mixed case and digits, so the high-entropy rule asks whether it repeats itself: each period tried from the
        // token's start read it to its last byte, n squared steps (hours for this one).
        byte[] nearly = ("aB1+".repeat(250_000) + "/").getBytes(StandardCharsets.UTF_8);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertEquals(List.of(), hits(nearly, true)));
    }

    @Test
    void aPrivateKeyAfterACertificateIsFound() {
        String value = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" + ValueDetectorsTest.PEM;
        ValueDetectors.Hit hit = ValueDetectors.scan(value, ALL);
        assertNotNull(hit);
        assertEquals("pem_private_key", hit.detector());
        assertEquals(ValueDetectorsTest.PEM, value.substring(hit.start(), hit.end()));
    }

    @Test
    void aValueOverTheBudgetIsRedactedWholeAndAnErrorTextFromThere() {
        byte[] glued = ("x123-45-6789xoxz-".repeat(60_000) + "!").getBytes(StandardCharsets.UTF_8);
        long[] hits = new long[1];
        ValueMasker masker = new ValueMasker(new Tokenizer(Secret.of("scanner-test-key-0123456789")));
        byte[] masked = masker.maskSpans(PgType.of(25), false, glued, 0, glued.length, ALL,
                d -> Treatment.of(MaskingSettings.MaskingRule.Strategy.PARTIAL, "detector:" + d), hits, 0);
        assertEquals(ValueMasker.REDACTED, new String(masked, StandardCharsets.UTF_8));
        String text = "ERROR: " + new String(glued, StandardCharsets.UTF_8);
        String message = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> MessageText.mask(text, false, ALL));
        assertTrue(message.startsWith("ERROR: x[redacted]x"), message.substring(0, 40));
        assertTrue(message.endsWith("[redacted]"), message.substring(message.length() - 40));
        assertFalse(message.contains("123-45-6789"), "no SSN is left");
    }

    /**
     * A helper's pass on the first version of the card rule (its longest part that ends a group): the card took the
     * SSN's first group, and the SSN and a phone glued to it came back in clear. Every SSN, phone and e-mail written
     * after card-like digits is covered by a hit.
     */
    @Test
    void aCardNeverCutsTheValuesWrittenAfterIt() {
        String[][] cases = {
            {"card 4111 1111 1111 1111 128-45-6789 end", "128-45-6789", "4111 1111 1111 1111"},
            {"card 4111 1111 1111 1111 128-45-6789+44 20 7946 0958 end", "128-45-6789", "+44 20 7946 0958"},
            {"ids 2330 4893 39209 167-20-4146+33 1 42 68 53 00;", "167-20-4146", "+33 1 42 68 53 00"},
            {"ids 2455.92311.3066-541-84-1842-3058.1024.70312,", "541-84-1842", "3058.1024.70312"},
            {"x 6220-2568-6580-494-31-8155+415550134", "494-31-8155"},
            {"4111 1111 1111 1111 12/27", "4111 1111 1111 1111"},
            {"4111 1111 1111 1111 123-45-6789", "4111 1111 1111 1111", "123-45-6789"}};
        for (String[] c : cases) {
            byte[] b = c[0].getBytes(StandardCharsets.UTF_8);
            List<ValueDetectors.Hit> hits = hits(b, true);
            for (int k = 1; k < c.length; k++) {
                int at = c[0].indexOf(c[k]);
                int end = at + c[k].length();
                assertTrue(hits.stream().anyMatch(h -> h.start() <= at && h.end() >= end),
                        c[k] + " in <" + c[0] + "> is covered: " + hits);
            }
        }
    }
}
