package dev.warden.audit.event;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The per-thread cache of encoded values: by identity, never another value's bytes, the newest always kept. */
class EncodedValuesTest {

    @Test
    void aValueGetsOnlyItsOwnBytesAndTheNewestIsAlwaysThere() {
        EncodedValues cache = new EncodedValues();
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            String value = "value " + (i % 50); // equal texts, distinct objects: identity decides
            values.add(value);
            byte[] bytes = (i + ":" + value).getBytes(StandardCharsets.US_ASCII);
            cache.put(value, bytes);
            assertSame(bytes, cache.get(value), "the value just stored");
            for (int j = Math.max(0, i - 40); j <= i; j++) {
                byte[] found = cache.get(values.get(j));
                if (found != null) {
                    assertArrayEquals((j + ":" + values.get(j)).getBytes(StandardCharsets.US_ASCII), found);
                }
            }
        }
        assertNull(cache.get(new String("value 1")), "an equal text is another object");
    }

    @Test
    void twoValuesUsedInTurnStayCached() {
        int kept = 0;
        for (int i = 0; i < 200; i++) {
            // Fresh objects and a fresh cache: whatever slots these two draw, colliding or not.
            EncodedValues cache = new EncodedValues();
            Object a = new Object();
            Object b = new Object();
            cache.put(a, new byte[] {1});
            cache.put(b, new byte[] {2});
            if (cache.get(a) != null && cache.get(b) != null) {
                kept++;
            }
        }
        // Two values alternate in every record of a session: both must survive each other, collision or not.
        org.junit.jupiter.api.Assertions.assertEquals(200, kept);
    }
}
