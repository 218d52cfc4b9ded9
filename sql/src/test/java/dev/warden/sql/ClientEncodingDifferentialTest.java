package dev.warden.sql;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.CharacterCodingException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every one- and two-byte sequence of the client-only encodings whose characters may hold ASCII bytes, decoded by
 * the server ({@code convert_from(bytes, encoding)} into a UTF-8 database) and by Warden's {@link ClientEncoding}:
 * wherever both read the bytes, the ASCII characters each reads must be the same, at the same places. A
 * backslash, quote or dollar sign the server reads and Warden does not (or the reverse) lets a statement be read
 * two ways. Where Warden refuses bytes the server reads, the session's statement is refused, which is safe, but a
 * pipelined text's reading under another encoding the session may have switched to is lenient
 * ({@link ClientEncoding#decodeLeniently}): that reading must keep the server's ASCII too. The counts are printed. A helper's pass (2026-12-05) found {@code SHIFT_JIS_2004}'s {@code 0x81 0x5F}: a
 * backslash to the server, U+FF3C to Java's {@code windows-31j}, and a statement that deleted every row ran as a
 * SELECT. ({@code MULE_INTERNAL} is left out: the server has no conversion from it to UTF-8, so no UTF-8 database
 * takes it as a client encoding.)
 */
class ClientEncodingDifferentialTest {

    private static TestPostgres postgres;
    private static Connection connection;

    @BeforeAll
    static void start() throws SQLException {
        postgres = TestPostgres.start();
        connection = postgres.connect(Utf8Scratch.create(postgres, "warden_encodings"));
        try (Statement s = connection.createStatement()) {
            s.execute("CREATE FUNCTION server_reading(b bytea, e name) RETURNS text LANGUAGE plpgsql AS $$ "
                    + "BEGIN RETURN convert_from(b, e); EXCEPTION WHEN OTHERS THEN RETURN NULL; END $$");
            s.execute("CREATE FUNCTION server_bytes(b bytea, e name, server name) RETURNS bytea LANGUAGE plpgsql "
                    + "AS $$ BEGIN RETURN convert(b, e, server); EXCEPTION WHEN OTHERS THEN RETURN NULL; END $$");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (connection != null) {
            connection.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB", "EUC_JP", "EUC_CN",
            "EUC_KR", "EUC_TW", "EUC_JIS_2004"})
    void everyShortSequenceHoldsTheAsciiTheServerReads(String encoding) throws SQLException {
        compare(encoding, "UTF8", "server_reading(b, '" + encoding + "')");
    }

    /**
     * A server in another encoding converts the client's bytes into its own, and lexes those: the conversions
     * between client-only encodings and the ASCII-safe server encodings PostgreSQL has. The server's text is
     * its bytes, one character each (every byte of a multi-byte character there is 0x80 or above).
     */
    @ParameterizedTest
    @ValueSource(strings = {"SJIS>EUC_JP", "SHIFT_JIS_2004>EUC_JIS_2004", "BIG5>EUC_TW"})
    void everyShortSequenceHoldsTheAsciiAServerInAnotherEncodingReads(String pair) throws SQLException {
        String[] p = pair.split(">");
        compare(p[0], p[1], "convert_from(server_bytes(b, '" + p[0] + "', '" + p[1] + "'), 'LATIN1')");
    }

    private void compare(String encoding, String serverEncoding, String serverReading) throws SQLException {
        ClientEncoding warden = ClientEncoding.of(encoding, serverEncoding).orElseThrow();
        List<String> disagreements = new ArrayList<>();
        int both = 0;
        int refusedByWarden = 0;
        String sql = "SELECT b, " + serverReading + " FROM ("
                + " SELECT set_byte('\\x00'::bytea, 0, x) AS b FROM generate_series(128, 255) x"
                + " UNION ALL SELECT set_byte(set_byte('\\x0000'::bytea, 0, x), 1, y)"
                + " FROM generate_series(128, 255) x, generate_series(32, 255) y) s";
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                byte[] bytes = rs.getBytes(1);
                String server = rs.getString(2);
                if (server == null) {
                    continue; // the server refuses these bytes: nothing it runs holds them
                }
                String read;
                try {
                    read = warden.decode(bytes);
                    both++;
                } catch (CharacterCodingException refused) {
                    // A session's own text is refused then; a pipelined text's other readings take the lenient one.
                    refusedByWarden++;
                    read = warden.decodeLeniently(bytes);
                    if (read == null) {
                        disagreements.add(HexFormat.of().formatHex(bytes) + ": read by the server, taken for refused");
                        continue;
                    }
                }
                if (!ascii(server).equals(ascii(read))) {
                    disagreements.add(HexFormat.of().formatHex(bytes) + ": server " + describe(server) + ", Warden "
                            + describe(read));
                }
            }
        }
        System.out.println("ClientEncodingDifferentialTest " + encoding + " into " + serverEncoding + ": " + both
                + " read by both, " + refusedByWarden + " read by the server and refused by Warden (read leniently: same ASCII)");
        assertTrue(both > 0, "nothing compared for " + encoding);
        assertTrue(disagreements.isEmpty(), encoding + " into " + serverEncoding + ": " + disagreements.size()
                + " sequences read with other ASCII characters, first "
                + disagreements.subList(0, Math.min(10, disagreements.size())));
    }

    /**
     * The ASCII characters in order, each run of other characters as one {@code *}: a byte-per-character reading
     * (EUC_JIS_2004, MULE_INTERNAL) splits a character the server reads as one, which moves no ASCII character.
     */
    private static String ascii(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (c < 0x80) {
                out.append((char) c);
            } else if (out.length() == 0 || out.charAt(out.length() - 1) != '*') {
                out.append('*');
            }
        });
        return out.toString();
    }

    private static String describe(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().forEach(c -> out.append(String.format("U+%04X ", c)));
        return out.toString().trim();
    }
}
