package dev.warden.sql;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An unquoted word's value is its text folded as PostgreSQL folds unquoted names on a multi-byte server
 * ({@code downcase_identifier}: ASCII A-Z only), whatever its case and characters, including for the common
 * keywords the lexer hands out as constants.
 */
class LexerWordsTest {

    private static final List<String> SEEDS = List.of("select", "from", "where", "and", "insert", "values",
            "update", "set", "delete", "returning", "begin", "commit", "transaction", "pgbench_accounts", "aid",
            "references", "deallocate", "selects", "selec", "s", "fromm", "ssn");
    /** Letters whose case mapping is not ASCII's: long s (upper: S), dotless i, Kelvin sign, sharp s, Turkish I. */
    private static final char[] ODD = {'\u017F', '\u0131', '\u212A', '\u00DF', '\u0130', '\u00C9', '\u00E9'};

    @Test
    void everyWordIsItsTextLowerCased() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int round = 0; round < 20_000; round++) {
            String word = variant(SEEDS.get(random.nextInt(SEEDS.size())), random);
            List<Lexer.Token> tokens = Lexer.tokenize(word).tokens();
            assertEquals(1, tokens.size(), "seed " + seed + ": " + word);
            assertEquals(asciiFolded(word), tokens.get(0).value(),
                    "seed " + seed + ", round " + round + ": " + word);
        }
    }

    @Test
    void keywordsOfAnyCaseInAStatement() {
        List<Lexer.Token> tokens = Lexer.tokenize("SeLeCt aBalance FROM pgbench_accounts WhErE aid = 1").tokens();
        assertEquals(List.of("select", "abalance", "from", "pgbench_accounts", "where", "aid", "=", "1"),
                tokens.stream().map(Lexer.Token::value).toList());
    }

    @Test
    void nonAsciiLettersKeepTheirCase() {
        // Java's toLowerCase would make these "ärzte" and "kelvin": names the server does not mean.
        assertEquals(List.of("ärzte", "Ärzte", "\u212Aelvin"), Lexer.tokenize("ärzte ÄRZTE \u212AELVIN").tokens()
                .stream().map(Lexer.Token::value).toList());
        assertEquals("Ärzte", Lexer.foldName("ÄRZTE"));
    }

    /** Names are cut to the 63 bytes the server keeps, at a character boundary, quoted or not. */
    @Test
    void namesAreCutToSixtyThreeBytes() {
        String long70 = "t".repeat(70);
        String kept = "t".repeat(63);
        assertEquals(List.of(kept, kept, kept, "t".repeat(62), "x".repeat(63)),
                Lexer.tokenize(long70 + " \"" + long70 + "\" " + long70.toUpperCase() + " " + "t".repeat(62) + "ä"
                        + " U&\"" + "\\0078".repeat(70) + "\"").tokens().stream().map(Lexer.Token::value).toList());
        // 21 characters of three bytes each is 63 bytes: kept whole; one more is cut.
        assertEquals("€".repeat(21), Lexer.truncateName("€".repeat(22)));
        assertEquals("€".repeat(21), Lexer.truncateName("€".repeat(21)));
        assertEquals("t".repeat(15), Lexer.truncateName("t".repeat(15)));
    }

    /** PostgreSQL's folding, written out independently of the lexer's. */
    private static String asciiFolded(String word) {
        StringBuilder out = new StringBuilder();
        word.chars().forEach(c -> out.append((char) (c >= 'A' && c <= 'Z' ? c + 32 : c)));
        return out.toString();
    }

    /** The word in random ASCII case, sometimes with one letter swapped for a character of unusual case. */
    private static String variant(String word, Random random) {
        StringBuilder out = new StringBuilder(word.length());
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            out.append(random.nextBoolean() ? Character.toUpperCase(c) : c);
        }
        if (random.nextInt(4) == 0) {
            int at = random.nextInt(out.length());
            char odd = ODD[random.nextInt(ODD.length)];
            if (at > 0 || Character.isLetter(odd)) {
                out.setCharAt(at, odd);
            }
        }
        return out.toString();
    }
}
