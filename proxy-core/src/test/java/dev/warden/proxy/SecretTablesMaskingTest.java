package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A helper's pass (2026-12-05) on the demo: {@code api_keys.key} matched no name detector, so value detection alone
 * guarded it, and {@code reverse(key)}, {@code encode(key::bytea, 'hex')} and {@code substr} pieces came back in
 * clear. A generic column of a table named for secrets is now a secret, masked in whatever computes over it.
 */
class SecretTablesMaskingTest {

    static WardenHarness warden;
    static final String KEY = "AKIA3SEZAD34NEKU6C74";

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE st_api_keys (id int PRIMARY KEY, owner text, key text)");
            s.execute("INSERT INTO st_api_keys VALUES (1, 'ops', '" + KEY + "')");
            s.execute("GRANT SELECT ON st_api_keys TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @Test
    void whatComputesOverASecretTablesKeyIsMasked() throws Exception {
        String hex = HexFormat.of().formatHex(KEY.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String reversed = new StringBuilder(KEY).reverse().toString();
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            String plain = a.query("SELECT id, owner, key FROM st_api_keys");
            assertTrue(plain.contains("ops") && !plain.contains(KEY), plain);
            for (String sql : new String[] {"SELECT reverse(key) FROM st_api_keys",
                    "SELECT encode(key::bytea, 'hex') FROM st_api_keys",
                    "SELECT substr(key, 1, 4) || '-' || substr(key, 5) FROM st_api_keys",
                    "SELECT regexp_replace(key, '(.)', '\\1 ', 'g') FROM st_api_keys"}) {
                String answer = a.query(sql);
                String squeezed = answer.replace(" ", "").replace("-", "");
                assertFalse(squeezed.contains(KEY) || squeezed.contains(reversed) || answer.contains(hex)
                        || answer.contains(KEY.substring(4)), sql + " -> " + answer);
            }
        }
    }
}
