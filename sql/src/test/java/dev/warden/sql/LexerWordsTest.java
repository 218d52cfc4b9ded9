package dev.warden.sql;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * A server whose encoding is not UTF8 cuts names by its own bytes: a name with a non-ASCII character that either
     * side could cut is flagged; ASCII names and short ones are not.
     */
    @Test
    void namesAServerEncodingCouldCutOtherwiseAreFlagged() {
        // LATIN1 (one byte a character): 31 é are 62 UTF-8 bytes, cut by neither; 32 are 64 UTF-8 bytes, cut by
        // Warden only.
        assertFalse(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS \"" + "é".repeat(31) + "\"", true, 1));
        assertTrue(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS \"" + "é".repeat(32) + "\"", true, 1));
        assertTrue(Analyzer.mayCutNamesUnlikeUtf8("SELECT * FROM t" + "b".repeat(62) + "é", true, 1));
        // Written with escapes, the name is still non-ASCII; unquoted names are read whole too.
        assertTrue(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS U&\"" + "\\00e9".repeat(32) + "\"", true, 1));
        // EUC_TW (up to four bytes): 16 non-ASCII characters may pass 63 bytes there, 15 may not.
        assertTrue(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS x" + "中".repeat(16), true, 4));
        assertFalse(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS x" + "中".repeat(15), true, 4));
        // EUC_JP (up to three): 21 are 63 bytes in both.
        assertFalse(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS \"" + "中".repeat(21) + "\"", true, 3));
        // ASCII names are as long in every encoding; strings are not names.
        assertFalse(Analyzer.mayCutNamesUnlikeUtf8("SELECT 1 AS " + "b".repeat(80), true, 4));
        assertFalse(Analyzer.mayCutNamesUnlikeUtf8("SELECT '" + "é".repeat(80) + "'", true, 1));
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
