package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * DDL that Warden does not see (a migration run on a direct connection, or through another environment on the
 * same database) after Warden has cached a table's columns. A sensitive column added to the table is masked,
 * whatever the query calls it, once a second has passed since Warden last read the table (the guard against
 * reading again and again a column its own catalog connection cannot see). A column renamed to a sensitive
 * name keeps its old name in Warden's cache for at most 5 s (CatalogCache's TTL), then is masked. Before
 * these bounds, both stayed in clear until DDL through Warden cleared the cache.
 */
class CatalogChangedElsewhereTest {

    static WardenHarness warden;

    private static final String SECRET = "kestrel-9917";

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  rules:
                    - { column: public.ce_t.secret, strategy: redact }
                    - { column: public.ce_r.secret, strategy: redact }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ce_t (id int, note text)");
            s.execute("INSERT INTO ce_t VALUES (1, 'plain')");
            s.execute("CREATE TABLE ce_r (id int, note text, other text)");
            s.execute("INSERT INTO ce_r VALUES (1, '" + SECRET + "', 'plain')");
            s.execute("GRANT ALL ON ce_t, ce_r TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Test
    void aSensitiveColumnAddedElsewhereToACachedTableIsMasked() throws SQLException {
        for (String mode : List.of("preferQueryMode=simple", "preferQueryMode=extended")) {
            direct("ALTER TABLE ce_t DROP COLUMN IF EXISTS secret");
            try (Connection c = warden.connect(mode)) {
                // Warden now knows ce_t's columns.
                assertEquals(List.of("plain"), WardenHarness.column(c, "SELECT note FROM ce_t"));
                direct("ALTER TABLE ce_t ADD COLUMN secret text");
                direct("UPDATE ce_t SET secret = '" + SECRET + "'");
                sleep(1_100); // past the grace after Warden's last read of ce_t
                for (String sql : List.of("SELECT secret FROM ce_t", "SELECT secret AS x FROM ce_t",
                        "SELECT * FROM ce_t", "SELECT t.* FROM ce_t t")) {
                    List<String> rows = rowsAsText(c, sql);
                    assertFalse(rows.toString().contains(SECRET), mode + ": " + sql + " returned " + rows);
                }
            }
        }
    }

    @Test
    void aColumnRenamedElsewhereToASensitiveNameIsMasked() throws SQLException {
        try (Connection c = warden.connect("preferQueryMode=simple")) {
            // Cached: ce_r.note is not sensitive.
            assertEquals(List.of(SECRET), WardenHarness.column(c, "SELECT note FROM ce_r"));
            direct("ALTER TABLE ce_r RENAME COLUMN note TO secret");
            long renamed = System.nanoTime();
            try {
                // Within the TTL the old name may still count; after it, the new one must.
                sleep(5_200);
                for (String sql : List.of("SELECT secret AS x FROM ce_r", "SELECT secret FROM ce_r",
                        "SELECT * FROM ce_r")) {
                    List<String> rows = rowsAsText(c, sql);
                    assertFalse(rows.toString().contains(SECRET), sql + " returned " + rows + " "
                            + (System.nanoTime() - renamed) / 1_000_000 + " ms after the rename");
                }
            } finally {
                direct("ALTER TABLE ce_r RENAME COLUMN secret TO note");
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Every row, every column, as text joined by '|'. */
    private static List<String> rowsAsText(Connection c, String sql) throws SQLException {
        List<String> out = new java.util.ArrayList<>();
        try (Statement s = c.createStatement(); java.sql.ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= n; i++) {
                    row.append(i > 1 ? "|" : "").append(rs.getString(i));
                }
                out.add(row.toString());
            }
        }
        return out;
    }
}
