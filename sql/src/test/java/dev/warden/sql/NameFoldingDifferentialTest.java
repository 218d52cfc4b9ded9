package dev.warden.sql;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated names (seed printed), written unquoted, quoted and as {@code U&"..."}: the name Warden reads for a
 * table reference must be the name the server reads for it. The oracle is the server's own: the same text as a
 * column alias ({@code SELECT 1 AS <name>}) comes back in the RowDescription exactly as the server's scanner
 * folded, de-escaped and cut it, the steps a table name goes through too. Names mix ASCII letters of both cases
 * with letters whose case mapping differs in Java (Ä, ß, the long s, the Kelvin sign, dotted and dotless i) and
 * run past the 63 bytes the server keeps, with multi-byte characters at the cut.
 *
 * <p>Generated {@code E'...'} literals likewise: the value Warden reads from a string must be the value the server
 * makes of it, since names are read from strings ({@code set_config}, {@code regclass}, the bodies of DO blocks and
 * functions). The oracle is {@code SELECT <literal>}. Literals mix plain characters, simple escapes, Unicode
 * escapes (backslash and {@code u} or {@code U}), and the UTF-8 bytes of non-ASCII characters written as
 * {@code \xHH} and octal escapes, which the server joins into one character; a literal the server refuses is
 * not compared.
 *
 * <p>{@code -Dwarden.nameDiff.rounds=N} (default 300) and {@code -Dwarden.nameDiff.seed=S} repeat or lengthen a run,
 * and {@code -Dwarden.stringDiff.rounds} and {@code -Dwarden.stringDiff.seed} the strings' run.
 */
class NameFoldingDifferentialTest {

    private static final String ALPHABET = "abcxyzABCXYZ_019$äÄéÉßſ\u212AİıΣσ€中";

    private static final List<String> CHARACTERS = List.of("a", "Z", "0", " ", "\"", ";", "é", "ß", "€", "中", "İ",
            "\uD83D\uDE00", "\u00A0", "\u2028");

    private static TestPostgres postgres;
    private static Connection connection;

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_names"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE FUNCTION pg_temp.server_value(q text) RETURNS text LANGUAGE plpgsql AS "
                    + "$$ DECLARE r text; BEGIN EXECUTE q INTO r; RETURN r; END $$");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    @Test
    void wardenReadsEveryTableNameAsTheServerDoes() throws SQLException {
        long seed = Long.getLong("warden.nameDiff.seed", System.nanoTime());
        int rounds = Integer.getInteger("warden.nameDiff.rounds", 300);
        System.out.println("NameFoldingDifferentialTest seed=" + seed + " rounds=" + rounds);
        Random random = new Random(seed);
        Analyzer analyzer = new Analyzer(0);
        Set<String> keywords = reservedWords();
        int compared = 0;
        for (int round = 0; round < rounds; round++) {
            String name = name(random);
            String written = switch (random.nextInt(3)) {
                case 0 -> name;
                case 1 -> "\"" + name + "\"";
                default -> unicodeEscaped(name);
            };
            if (keywords.contains(Lexer.foldName(written))) {
                continue; // a keyword, not a name, unquoted
            }
            String server = serverReading(written);
            Analysis analysis = analyzer.analyze("SELECT * FROM " + written);
            String where = "seed " + seed + ", round " + round + ": " + written;
            assertEquals(1, analysis.statements().get(0).tablesRead().size(), where);
            TableRef table = analysis.statements().get(0).tablesRead().iterator().next();
            assertEquals(server, table.name(), where);
            compared++;
        }
        assertTrue(compared > rounds / 2, "too few names compared: " + compared);
    }

    /** A name of 1 to 80 characters that starts as an unquoted name may. */
    private static String name(Random random) {
        int length = 1 + random.nextInt(random.nextBoolean() ? 12 : 80);
        StringBuilder out = new StringBuilder();
        while (out.length() < length) {
            char c = ALPHABET.charAt(random.nextInt(ALPHABET.length()));
            if (out.length() == 0 && (c == '_' || c == '$' || Character.isDigit(c))) {
                c = 'q';
            }
            out.append(c);
        }
        return out.toString();
    }

    /** {@code U&"..."} with every other character written as a four-digit escape. */
    private static String unicodeEscaped(String name) {
        StringBuilder out = new StringBuilder("U&\"");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            out.append(i % 2 == 0 ? String.format("\\%04x", (int) c) : String.valueOf(c));
        }
        return out.append('"').toString();
    }

    /** The name the server's scanner makes of {@code written}, as a column alias. */
    private static String serverReading(String written) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT 1 AS " + written)) {
            return rs.getMetaData().getColumnLabel(1);
        }
    }

    /** Words that cannot be a bare column alias (the server says which, so no list is kept here). */
    private static Set<String> reservedWords() throws SQLException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")) {
            Set<String> words = new java.util.HashSet<>();
            while (rs.next()) {
                words.add(rs.getString(1));
            }
            return words.stream().collect(Collectors.toUnmodifiableSet());
        }
    }

    @Test
    void wardenReadsEveryEscapedStringAsTheServerDoes() throws SQLException {
        long seed = Long.getLong("warden.stringDiff.seed", System.nanoTime());
        int rounds = Integer.getInteger("warden.stringDiff.rounds", 300);
        System.out.println("NameFoldingDifferentialTest strings seed=" + seed + " rounds=" + rounds);
        Random random = new Random(seed);
        int compared = 0;
        int joinedBytes = 0;
        for (int round = 0; round < rounds; round++) {
            String literal = literal(random);
            String server = serverValue(literal);
            if (server == null) {
                continue; // the server refuses it (a byte sequence that is not UTF-8): nothing runs
            }
            List<Lexer.Token> tokens = Lexer.tokenize("SELECT " + literal).tokens();
            String where = "seed " + seed + ", round " + round + ": " + literal;
            assertEquals(2, tokens.size(), where);
            assertEquals(server, tokens.get(1).value(), where);
            compared++;
            if (literal.contains("\\x") && server.codePoints().anyMatch(c -> c > 0x7F)) {
                joinedBytes++;
            }
        }
        // About 55 % of the literals are valid UTF-8 (a lone escaped byte spoils the rest): a quarter is a floor no
        // seed misses (half was missed by one, seed 150 of 300 in a full run).
        assertTrue(compared > rounds / 4, "too few literals compared: " + compared);
        assertTrue(joinedBytes > 0, "no literal joined escaped bytes into a character");
    }

    /** {@code E'...'} of 1 to 8 pieces. */
    private static String literal(Random random) {
        StringBuilder out = new StringBuilder("E'");
        int pieces = 1 + random.nextInt(8);
        for (int i = 0; i < pieces; i++) {
            String c = CHARACTERS.get(random.nextInt(CHARACTERS.size()));
            switch (random.nextInt(7)) {
                case 0 -> out.append(c);
                case 1 -> out.append(List.of("\\n", "\\t", "\\\\", "''", "\\'", "\\q").get(random.nextInt(6)));
                case 2 -> out.append(String.format(random.nextBoolean() ? "\\u%04x" : "\\U%08X",
                        c.codePointAt(0) > 0xFFFF ? (int) 'q' : c.codePointAt(0)));
                case 3 -> out.append("\\x").append(Integer.toHexString(random.nextInt(0x80)));
                case 4 -> out.append(String.format("\\x%x", 0x80 + random.nextInt(0x80))); // a lone byte
                default -> {
                    for (byte b : c.getBytes(StandardCharsets.UTF_8)) { // the bytes of one character, escaped
                        int v = b & 0xFF;
                        out.append(random.nextBoolean() ? String.format("\\x%02X", v) : String.format("\\%o", v));
                    }
                }
            }
        }
        return out.append('\'').toString();
    }

    /**
     * The string the server makes of {@code literal}, or null when it refuses it. The text goes as a parameter to
     * a function that runs it ({@code EXECUTE}, the server's own scanner), since pgJDBC's client-side reading of a
     * statement's text (for its placeholders) takes some {@code E''} strings for unterminated.
     */
    private static String serverValue(String literal) throws SQLException {
        try (PreparedStatement p = connection.prepareStatement("SELECT pg_temp.server_value(?)")) {
            p.setString(1, "SELECT " + literal);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        } catch (SQLException refused) {
            if (!"22021".equals(refused.getSQLState()) && !"22025".equals(refused.getSQLState())) {
                throw refused;
            }
            return null;
        }
    }
}
