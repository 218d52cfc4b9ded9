package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a138 (2026-12-07), on the a137 fixes, in {@link MaskingPass28Test}'s manner: the name a function body
 * reads spelled past a plain word list (64 characters, {@code U&"..."}, an escape in an E'' string the body EXECUTEs, a
 * capital letter outside ASCII), or written by a body replaced in the open transaction, then made a view over the
 * masked table while a cursor over the function stood; a column renamed to a masked name with a comment between the
 * words; and guardrails that called themselves until the stack overflowed.
 */
class MaskingPass32Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp32");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** A view {@code made} as a clear one, a function reading {@code spelled}, a cursor, then the view over mp32. */
    private static String[] throughACursor(String made, String spelled, String replaced) {
        return new String[] {"CREATE TEMP VIEW " + made + " AS SELECT 'clear'::text AS v",
                "CREATE FUNCTION pg_temp.f() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT string_agg(v, "
                        + "';') FROM " + spelled + "); END $$",
                "BEGIN", "DECLARE c CURSOR FOR SELECT pg_temp.f() AS r FROM generate_series(1, 3)", "FETCH 1 FROM c",
                "CREATE OR REPLACE TEMP VIEW " + replaced + " AS SELECT reverse(ssn) AS v FROM mp32", "FETCH 1 FROM c",
                "COMMIT"};
    }

    /** F1, F2, F3, F10, F4: the name spelled otherwise, or the body replaced in the transaction. */
    @Test
    void aNameABodyReadsIsKnownHoweverItIsSpelled() throws Exception {
        String k = "k".repeat(63);
        String[][] attempts = {
                throughACursor(k + "x", k + "x", k + "y"),
                throughACursor("k7", "U&\"\\006B7\"", "k7"),
                throughACursor("\"Äb\"", "Äb", "\"Äb\""),
                {"CREATE TEMP VIEW k98 AS SELECT 'clear'::text AS v",
                        "CREATE FUNCTION pg_temp.f98() RETURNS text LANGUAGE plpgsql AS $$ DECLARE r text; BEGIN "
                                + "EXECUTE E'SELECT string_agg(v, \\';\\') FROM \\x6b98' INTO r; RETURN r; END $$",
                        "BEGIN", "DECLARE c CURSOR FOR SELECT pg_temp.f98() AS r FROM generate_series(1, 3)",
                        "FETCH 1 FROM c",
                        "CREATE OR REPLACE TEMP VIEW k98 AS SELECT reverse(ssn) AS v FROM mp32", "FETCH 1 FROM c",
                        "COMMIT"},
                {"CREATE TEMP VIEW k18 AS SELECT 'clear'::text AS v",
                        "CREATE FUNCTION pg_temp.f18() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'clear0'; END $$",
                        "BEGIN", "DECLARE c CURSOR FOR SELECT pg_temp.f18() AS r FROM generate_series(1, 3)",
                        "FETCH 1 FROM c",
                        "CREATE OR REPLACE FUNCTION pg_temp.f18() RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
                                + "RETURN (SELECT string_agg(v, ';') FROM k18); END $$",
                        "CREATE OR REPLACE TEMP VIEW k18 AS SELECT reverse(ssn) AS v FROM mp32", "FETCH 1 FROM c",
                        "COMMIT"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // Outside a cursor, the replacement itself is what is refused.
            a.query("CREATE TEMP VIEW " + k + "x AS SELECT 'clear'::text AS v");
            a.query("CREATE FUNCTION pg_temp.g() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT "
                    + "string_agg(v, ';') FROM " + k + "x); END $$");
            String replaced = a.query("CREATE OR REPLACE TEMP VIEW " + k + "y AS SELECT reverse(ssn) AS v FROM mp32");
            assertTrue(MaskedAttacker.refused(replaced), replaced);
            // A cursor over clear values still fetches after unrelated DDL.
            a.query("BEGIN");
            a.query("DECLARE d CURSOR FOR SELECT id FROM mp32 ORDER BY id");
            a.query("CREATE TEMP TABLE unrelated (x int)");
            String fetched = a.query("FETCH 1 FROM d");
            assertEquals("1", MaskedAttacker.firstValue(fetched), fetched);
            a.query("COMMIT");
        }
    }

    /** F5: a column renamed to a masked name with a comment between the words, or spelled with U&. */
    @Test
    void aColumnRenameIsReadAsTheServerReadsIt() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE a20 (id int, x text, y text)");
            String commented = a.query("ALTER TABLE a20 RENAME COLUMN x /**/ TO ssn");
            assertTrue(MaskedAttacker.refused(commented), commented);
            String escaped = a.query("ALTER TABLE a20 RENAME COLUMN y TO U&\"\\0073sn\"");
            assertTrue(MaskedAttacker.refused(escaped), escaped);
            assertFalse(MaskedAttacker.refused(a.query("ALTER TABLE a20 RENAME COLUMN x /**/ TO note")));
        }
    }

    /** F8: a body the transaction replaced, read through a view and a default that call it again, answers. */
    @Test
    void guardrailsOverFunctionsCallingThemselvesAnswer() throws Exception {
        // With a guardrail that names a table, as the demo's policy has: the guardrails then follow what the
        // transaction's bodies run.
        WardenHarness guarded = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                guardrails:
                  rules:
                    - { name: mp32-kept, match: { statements: [DELETE, UPDATE], tables: [public.mp32] }, action: block }
                """);
        MaskedAttacker.seed(guarded, "mp32");
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (guarded; MaskedAttacker a = new MaskedAttacker(guarded)) {
                a.query("CREATE TEMP VIEW k52 AS SELECT 'clear'::text AS v");
                a.query("CREATE FUNCTION pg_temp.f52() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'clear0'; END $$");
                a.query("CREATE TEMP VIEW v52 AS SELECT pg_temp.f52() AS r");
                a.query("CREATE TEMP TABLE d52 (id int, r text DEFAULT pg_temp.f52())");
                a.query("BEGIN");
                a.query("CREATE OR REPLACE FUNCTION pg_temp.f52() RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
                        + "RETURN (SELECT string_agg(v, ';') FROM k52); END $$");
                a.query("CREATE OR REPLACE TEMP VIEW k52 AS SELECT reverse(ssn) AS v FROM mp32");
                assertTrue(MaskedAttacker.seedsIn(a.query("SELECT * FROM v52")).isEmpty());
                String called = a.query("SELECT pg_temp.f52()");
                assertTrue(called.contains("Z"), called);
                assertTrue(MaskedAttacker.seedsIn(called).isEmpty(), called);
                a.query("ROLLBACK");
            }
        });
    }
}
