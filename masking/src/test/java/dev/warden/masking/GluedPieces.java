package dev.warden.masking;

import java.util.Random;

/** Generated texts for the masking differential tests: pieces glued in any order, from a printed seed. */
final class GluedPieces {

    private GluedPieces() {
    }

    /** The seed of {@code test}'s run ({@code -Dwarden.seed} repeats one), printed. */
    static long seed(String test) {
        long seed = Long.getLong("warden.seed", System.nanoTime());
        System.out.println(test + " seed " + seed + " (rerun with -Dwarden.seed=" + seed + ")");
        return seed;
    }

    /** One to {@code most} of {@code pieces}, each drawn at random, glued. */
    static String glued(Random random, String[] pieces, int most) {
        StringBuilder text = new StringBuilder();
        int n = 1 + random.nextInt(most);
        for (int k = 0; k < n; k++) {
            text.append(pieces[random.nextInt(pieces.length)]);
        }
        return text.toString();
    }
}
