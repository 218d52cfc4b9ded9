package dev.warden.proxy.session;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TemporaryRelationsTest {

    /**
     * {@link TemporaryRelations#mentions} lets a regex run only where the word's letters are: it must never say no
     * where a case-insensitive search finds them (the regexes behind it would then be skipped).
     */
    @Test
    void mentionsFindsEveryCaseInsensitiveOccurrence() {
        long seed = System.nanoTime();
        System.out.println("TemporaryRelationsTest seed " + seed);
        Random random = new Random(seed);
        String alphabet = "tTeEmMpPiInNoO_$ .;'\"xXéſK\u212A";
        for (String word : new String[] {"temp", "into"}) {
            Pattern anyCase = Pattern.compile(Pattern.quote(word), Pattern.CASE_INSENSITIVE);
            for (int n = 0; n < 20_000; n++) {
                StringBuilder text = new StringBuilder();
                int length = random.nextInt(12);
                for (int i = 0; i < length; i++) {
                    text.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
                if (random.nextInt(4) == 0) {
                    int at = random.nextInt(text.length() + 1);
                    StringBuilder cased = new StringBuilder();
                    for (char c : word.toCharArray()) {
                        cased.append(random.nextBoolean() ? Character.toUpperCase(c) : c);
                    }
                    text.insert(at, cased);
                }
                String s = text.toString();
                boolean found = anyCase.matcher(s).find();
                if (found) {
                    assertTrue(TemporaryRelations.mentions(s, word), () -> "seed " + seed + ": " + s);
                }
            }
        }
        assertTrue(TemporaryRelations.mentions("CREATE TEMPORARY VIEW v", "temp"));
        assertTrue(TemporaryRelations.mentions("select * from PG_TEMP.t", "temp"));
        assertTrue(TemporaryRelations.mentions("SELECT 1 InTo x", "into"));
        assertFalse(TemporaryRelations.mentions("SELECT abalance FROM pgbench_accounts WHERE aid = 1", "temp"));
        assertFalse(TemporaryRelations.mentions("tem", "temp"));
        assertEquals(true, TemporaryRelations.mentions("temp", "temp"));
    }
}
