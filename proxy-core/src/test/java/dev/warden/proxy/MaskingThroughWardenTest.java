package dev.warden.proxy;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sensitive values never leave Warden unmasked, with no masking rules but the defaults, in every way rows can
 * leave the database. Assertions scan everything a client received for the seeded values.
 */
class MaskingThroughWardenTest {

    static WardenHarness warden;

    /** Seeded sensitive values: not one of them may appear in what a masked client receives. */
    static final List<String> SECRETS = List.of(
            "ann.lee@acme.com", "bob.ray@acme.com", "+14155550123", "+442071838750", "4111111111111111",
            "5500005555555559", "078-05-1120", "219-09-9999", "AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "reach me at cy.doe@acme.com");

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  rules:
                    - { column_name: "^loyalty_email$", strategy: tokenize }
                    - { column_name: "^born$", strategy: redact }
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int primary key, name text, email text, phone text,"
                    + " card_number text, ssn text, api_key text, product text, notes text, loyalty_email text,"
                    + " born date, balance numeric)");
            s.execute("INSERT INTO customers VALUES"
                    + " (1, 'Ann Lee', 'ann.lee@acme.com', '+14155550123', '4111111111111111', '078-05-1120',"
                    + "  'AKIAIOSFODNN7EXAMPLE', 'Blue Kettle', 'called twice', 'ann.lee@acme.com', '1980-01-02', 10.5),"
                    + " (2, 'Bob Ray', 'bob.ray@acme.com', '+442071838750', '5500005555555559', '219-09-9999',"
                    + "  'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'Red Mug', 'reach me at cy.doe@acme.com', "
                    + "  'ann.lee@acme.com', '1975-05-06', 99)");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"preferQueryMode=simple", "prepareThreshold=1&binaryTransfer=true",
            "prepareThreshold=0", "preferQueryMode=extendedCacheEverything"})
    void selectStarIsMaskedOverJdbcInEveryMode(String mode) throws SQLException {
        try (Connection c = connect("alice@example.com", List.of("eng"), mode)) {
            for (int round = 0; round < 3; round++) {
                String all = dump(c, "SELECT * FROM customers ORDER BY id");
                assertNoSecrets(all);
                assertTrue(all.contains("Blue Kettle") && all.contains("Ann Lee"), "clear columns stay clear: " + all);
                assertTrue(all.contains("a***@acme.com"), "e-mail strategy: " + all);
                assertTrue(all.contains("1111") && all.contains("5559"), "cards keep their last four: " + all);
                try (PreparedStatement ps = c.prepareStatement("SELECT id, email, ssn FROM customers WHERE id = ?")) {
                    ps.setInt(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals(1, rs.getInt(1));
                        assertNotEquals("ann.lee@acme.com", rs.getString(2));
                        assertNotEquals("078-05-1120", rs.getString(3));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preferQueryMode=simple", "prepareThreshold=1&binaryTransfer=true"})
    void aMaskedDateIsNullNeverAPlausibleDate(String mode) throws SQLException {
        try (Connection c = connect("alice@example.com", List.of("eng"), mode);
             ResultSet rs = c.createStatement().executeQuery("SELECT born, born IS NULL AS really_null, balance "
                     + "FROM customers WHERE id = 1")) {
            assertTrue(rs.next());
            assertEquals(null, rs.getObject(1), "redact on a date: NULL, not 1970-01-01");
            assertEquals(null, rs.getObject(2), "an expression over a masked column is masked too: NULL, "
                    + "never a plausible false");
            assertEquals(0, new java.math.BigDecimal("10.5").compareTo(rs.getBigDecimal(3)), "unmasked columns keep their values");
        }
    }

    @Test
    void psqlSeesMaskedValues() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-At", "-c", "SELECT * FROM customers",
                "host=127.0.0.1 port=" + warden.port() + " dbname=dev user=alice@example.com sslmode=require")
                .redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", token("alice@example.com", List.of("eng"), false));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertNoSecrets(out);
        assertTrue(out.contains("Blue Kettle"), out);
    }

    @Test
    void piiReadersSeeClearValuesButAnAgentNeverDoes() throws SQLException {
        try (Connection carol = connect("carol@example.com", List.of("eng", "pii-readers"), "")) {
            String all = dump(carol, "SELECT * FROM customers ORDER BY id");
            assertTrue(all.contains("ann.lee@acme.com") && all.contains("078-05-1120"), all);
        }
        String agentToken = warden.issuer.token().email("bot@example.com").groups("eng", "pii-readers")
                .claim("azp", "etl-bot").sign();
        try (Connection bot = warden.connect("dev", "bot@example.com", agentToken, "")) {
            assertNoSecrets(dump(bot, "SELECT * FROM customers ORDER BY id"));
        }
    }

    @Test
    void expressionsOverSensitiveColumnsAreMasked() throws SQLException {
        try (Connection c = connect("alice@example.com", List.of("eng"), "")) {
            for (String sql : List.of(
                    "SELECT upper(email) FROM customers",
                    "SELECT email || '' FROM customers",
                    "SELECT substr(ssn, 1, 3) || substr(ssn, 4) FROM customers",
                    "SELECT email::bytea FROM customers",
                    "SELECT row_to_json(c) FROM customers c",
                    "SELECT c FROM customers c",
                    "SELECT string_agg(email, ',') FROM customers",
                    "SELECT * FROM (SELECT email AS e, card_number AS x FROM customers) sub")) {
                String out = dump(c, sql);
                assertNoSecrets(out);
                assertFalse(out.toUpperCase().contains("ANN.LEE@ACME.COM"), sql + ": " + out);
                assertFalse(out.contains("\\x616e6e"), sql + " (bytea of the e-mail): " + out);
            }
        }
    }

    @Test
    void copyToStdoutIsMaskedInTextCsvAndBinary() throws Exception {
        try (Connection c = connect("alice@example.com", List.of("eng"), "")) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            for (String sql : List.of("COPY customers TO STDOUT", "COPY customers TO STDOUT WITH (FORMAT csv)",
                    "COPY customers TO STDOUT WITH (FORMAT csv, DELIMITER '|', NULL 'none')",
                    "COPY customers TO STDOUT DELIMITER ';'", "COPY customers TO STDOUT WITH (DELIMITER E'\\t')",
                    "COPY (SELECT email, ssn FROM customers) TO STDOUT", "COPY customers TO STDOUT WITH (FORMAT binary)")) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                long rows = copy.copyOut(sql, out);
                assertEquals(2, rows, sql);
                String text = out.toString(StandardCharsets.ISO_8859_1);
                assertNoSecrets(text);
                if (!sql.contains("binary") && !sql.contains("SELECT")) {
                    assertTrue(text.contains("Blue Kettle"), sql + ": " + text);
                }
            }
        }
    }

    /**
     * COPY's options are read as the server reads them: a comment between TO and STDOUT, or one that holds
     * another DELIMITER, does not change which delimiter the rows are split at, so they are masked column by
     * column; an option written in a comment is no option.
     */
    @Test
    void copyOptionsAreReadPastComments() throws Exception {
        try (Connection c = connect("alice@example.com", List.of("eng"), "")) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            for (String sql : List.of("COPY customers TO /* out */ STDOUT (DELIMITER '|')",
                    "COPY customers TO STDOUT WITH (FORMAT csv, /* DELIMITER '|', */ DELIMITER ';')",
                    "COPY customers TO STDOUT (DELIMITER /* bar */ '|')",
                    "COPY customers TO\n-- out\nSTDOUT DELIMITER AS '|' NULL 'none'")) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                long rows = copy.copyOut(sql, out);
                assertEquals(2, rows, sql);
                String text = out.toString(StandardCharsets.ISO_8859_1);
                assertNoSecrets(text);
                assertTrue(text.contains("Blue Kettle"), sql + ": " + text);
            }
        }
    }

    /**
     * A COPY option's name is a label the server also takes quoted ({@code "delimiter"}): read as no option, the
     * rows were split at the default delimiter, and a row whose fields hold the real one shifted a redacted
     * value into an expression's place, where it came back in clear.
     */
    @Test
    void copyOptionsAreReadWhenTheirNamesAreQuoted() throws Exception {
        try (Connection c = connect("alice@example.com", List.of("eng"), "")) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            for (String sql : List.of(
                    "COPY (SELECT ',,' AS a, born, product FROM customers) TO STDOUT WITH (FORMAT csv, \"delimiter\" '|')",
                    "COPY (SELECT ',,' AS a, born, 'x' AS b FROM customers) TO STDOUT WITH (FORMAT csv, \"delimiter\" '|')",
                    "COPY (SELECT ',,' AS a, born, 'x' AS b FROM customers) TO STDOUT WITH (\"format\" csv, \"delimiter\" '|')")) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                String text;
                try {
                    copy.copyOut(sql, out);
                    text = out.toString(StandardCharsets.ISO_8859_1);
                } catch (SQLException e) {
                    text = out.toString(StandardCharsets.ISO_8859_1) + " / " + e.getMessage();
                }
                assertFalse(text.contains("1980-01-02") || text.contains("1975-05-06"),
                        sql + ": redacted dates came back in clear: " + text);
            }
        }
    }

    @Test
    void aCursorFetchIsMasked() throws SQLException {
        try (Connection c = connect("alice@example.com", List.of("eng"), "preferQueryMode=simple")) {
            c.setAutoCommit(false);
            c.createStatement().execute("DECLARE cur CURSOR FOR SELECT * FROM customers");
            assertNoSecrets(dump(c, "FETCH 10 FROM cur"));
            c.rollback();
        }
    }

    @Test
    void tokenizationIsDeterministicAcrossQueriesAndSessions() throws SQLException {
        List<String> tokens = new ArrayList<>();
        for (int session = 0; session < 2; session++) {
            try (Connection c = connect("alice@example.com", List.of("eng"), "")) {
                try (ResultSet rs = c.createStatement().executeQuery("SELECT loyalty_email FROM customers ORDER BY id")) {
                    while (rs.next()) {
                        tokens.add(rs.getString(1));
                    }
                }
            }
        }
        assertEquals(4, tokens.size());
        assertTrue(tokens.stream().allMatch(t -> t.startsWith("tok_")), tokens.toString());
        assertEquals(1, tokens.stream().distinct().count(), "the same e-mail gives the same token: " + tokens);
    }

    @Test
    void aMillionRowsAreScannedAndMaskedWithNoClearValueInAnyByte() throws Exception {
        long rows = 0;
        long clear = 0;
        try (RawClient c = new RawClient(warden.port())) {
            c.login("dev", "alice@example.com", token("alice@example.com", List.of("eng"), false));
            c.send(new FrontendMessage.Query(
                    "SELECT g, 'user' || g || '@acme.com' AS contact FROM generate_series(1, 1000000) g"));
            java.util.regex.Pattern address = java.util.regex.Pattern.compile("user\\d+@acme\\.com");
            while (true) {
                BackendMessage m = c.read();
                if (m instanceof BackendMessage.DataRow row) {
                    rows++;
                    if (address.matcher(new String(row.values().get(1), StandardCharsets.UTF_8)).find()) {
                        clear++;
                    }
                } else if (m instanceof BackendMessage.ReadyForQuery) {
                    break;
                } else if (m instanceof BackendMessage.ErrorResponse e) {
                    throw new AssertionError(e.message());
                }
            }
        }
        assertEquals(1_000_000, rows);
        assertEquals(0, clear, "value detection must catch every address");
    }

    private static String token(String email, List<String> groups, boolean agent) {
        var b = warden.issuer.token().email(email).groups(groups.toArray(String[]::new));
        return agent ? b.claim("azp", "etl-bot").sign() : b.sign();
    }

    private static Connection connect(String email, List<String> groups, String mode) throws SQLException {
        return warden.connect("dev", email, token(email, groups, false), mode);
    }

    private static String dump(Connection c, String sql) throws SQLException {
        StringBuilder out = new StringBuilder();
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                for (int i = 1; i <= n; i++) {
                    Object v = rs.getObject(i);
                    out.append(v instanceof byte[] b ? new String(b, StandardCharsets.ISO_8859_1) : String.valueOf(v))
                            .append('|');
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    private static void assertNoSecrets(String received) {
        for (String secret : SECRETS) {
            assertFalse(received.contains(secret), "clear value " + secret + " leaked:\n" + received);
        }
    }
}
