package dev.warden.proxy;

import dev.warden.testkit.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Attacker pass 16 over the baseline's {@code system-catalog-write} rule (38f8b29), with a superuser upstream login
 * ({@code allow_superuser}) as {@link SystemCatalogWriteTest} sets it up. Each attempt runs through Warden, then the
 * catalog is read straight from the server: a column of a fresh table {@code (id, email)} renamed to pwn, or a
 * function's body swapped, is a write of the catalog that Warden let through.
 */
class AttackPass16CatalogTest {

    static WardenHarness warden;
    static int n;

    static String environment(String name) {
        return "  " + name + ":\n"
                + "    upstream: { host: 127.0.0.1, port: \"${PG_PORT}\", database: \"${DATABASE}\", user: "
                + TestPostgres.SCRAM_USER + ", password_env: UPSTREAM_PASSWORD, tls: require, allow_superuser: true }\n"
                + "    allow: [ { groups: [eng] } ]\n";
    }

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("", environment("sup"), "masking:\n  unmasked_for: { groups: [eng], agents: never }\n");
        warden.directly("CREATE FUNCTION sc16_f() RETURNS text LANGUAGE sql AS $$SELECT 'judged'::text$$");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    static Connection sup() throws SQLException {
        return warden.connect("sup", WardenHarness.USER, warden.token(), "preferQueryMode=simple&assumeMinServerVersion=12");
    }

    /**
     * Runs each attempt ({T}: a fresh table (id, email), {N}: a fresh number) in a session of its own; a line for each
     * attempt after which the server's pg_attribute names that table's column pwn.
     */
    static List<String> renamed(String[][] attempts, List<String> shown) throws SQLException {
        List<String> changed = new ArrayList<>();
        for (String[] attempt : attempts) {
            n++;
            String t = "t16_" + n;
            warden.directly("CREATE TABLE " + t + " (id int, email text)");
            List<String> answers = new ArrayList<>();
            try (Connection c = sup()) {
                for (String sql : attempt) {
                    answers.add(String.valueOf(run(c, sql.replace("{T}", t).replace("{N}", String.valueOf(n)))));
                }
            }
            String cols;
            try (Connection d = warden.direct()) {
                cols = scalar(d, "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '"
                        + t + "'::regclass AND attnum > 0");
            }
            String line = String.join(" ;; ", attempt).replace("{T}", t).replace("{N}", String.valueOf(n))
                    + "\n    Warden answered " + answers + "\n    server's pg_attribute now has columns " + cols;
            shown.add((cols.contains("pwn") ? "CHANGED " : "held    ") + line);
            if (cols.contains("pwn")) {
                changed.add(line);
            }
        }
        return changed;
    }

    /**
     * FINDING. An automatically updatable view over a catalog table (any name, any schema) is a write of the catalog
     * that names no table of pg_catalog: {@code Guardrails.systemCatalogWritten} and {@code isCatalogName} look only at
     * the names a statement writes (and a view's own name is in no pg_catalog), while the server rewrites the write
     * into one of pg_attribute. The same view written from a SQL function's body, a rule's action, a view over the
     * view or a MERGE: each renames the column.
     */
    @Test
    void aViewOverACatalogTableWritesIt() throws SQLException {
        List<String> shown = new ArrayList<>();
        List<String> changed = renamed(new String[][] {
            {"CREATE VIEW v16a_{N} AS SELECT attrelid, attname FROM pg_catalog.pg_attribute",
                "UPDATE v16a_{N} SET attname = 'pwn' WHERE attrelid = '{T}'::regclass AND attname = 'email'"},
            {"CREATE VIEW v16b_{N} AS SELECT attrelid, attname FROM pg_attribute",
                "CREATE FUNCTION f16v_{N}() RETURNS int LANGUAGE sql AS $$UPDATE v16b_{N} SET attname = 'pwn' "
                        + "WHERE attrelid = '{T}'::regclass AND attname = 'email'; SELECT 1$$",
                "SELECT f16v_{N}()"},
            {"CREATE VIEW v16c_{N} AS SELECT attrelid, attname FROM pg_attribute", "CREATE TABLE r16_{N} (a int)",
                "CREATE RULE r16r_{N} AS ON INSERT TO r16_{N} DO ALSO UPDATE v16c_{N} SET attname = 'pwn' "
                        + "WHERE attrelid = '{T}'::regclass AND attname = 'email'",
                "INSERT INTO r16_{N} VALUES (1)"},
            {"CREATE VIEW v16d_{N} AS SELECT attrelid, attname FROM pg_attribute",
                "CREATE VIEW v16e_{N} AS SELECT * FROM v16d_{N}",
                "WITH u AS (UPDATE v16e_{N} SET attname = 'pwn' WHERE attrelid = '{T}'::regclass AND attname = 'email' "
                        + "RETURNING 1) SELECT count(*) FROM u"},
            // More views than Warden follows (a142 F2: five views over pg_settings set search_path unseen).
            {"CREATE VIEW v16g1_{N} AS SELECT attrelid, attname FROM pg_attribute",
                "CREATE VIEW v16g2_{N} AS SELECT * FROM v16g1_{N}", "CREATE VIEW v16g3_{N} AS SELECT * FROM v16g2_{N}",
                "CREATE VIEW v16g4_{N} AS SELECT * FROM v16g3_{N}", "CREATE VIEW v16g5_{N} AS SELECT * FROM v16g4_{N}",
                "CREATE VIEW v16g6_{N} AS SELECT * FROM v16g5_{N}",
                "UPDATE v16g6_{N} SET attname = 'pwn' WHERE attrelid = '{T}'::regclass AND attname = 'email'"},
            {"CREATE TEMP VIEW v16f_{N} AS SELECT attrelid, attname FROM pg_attribute",
                "MERGE INTO v16f_{N} a USING (SELECT 1) s ON a.attrelid = '{T}'::regclass AND a.attname = 'email' "
                        + "WHEN MATCHED THEN UPDATE SET attname = 'pwn'"},
        }, shown);
        // pg_proc too: the judged function's body swapped.
        String body;
        try (Connection c = sup()) {
            run(c, "CREATE VIEW v16p AS SELECT oid, proname, prosrc FROM pg_proc");
            String error = run(c, "UPDATE v16p SET prosrc = 'SELECT ''swapped''::text' WHERE proname = 'sc16_f'");
            try (Connection d = warden.direct()) {
                body = scalar(d, "SELECT prosrc FROM pg_proc WHERE proname = 'sc16_f'");
            }
            String line = "UPDATE v16p SET prosrc = ... WHERE proname = 'sc16_f'\n    Warden answered " + error
                    + "\n    server's pg_proc.prosrc of sc16_f now: " + body;
            shown.add((body.contains("swapped") ? "CHANGED " : "held    ") + line);
            if (body.contains("swapped")) {
                changed.add(line);
            }
        }
        System.out.println("=== aViewOverACatalogTableWritesIt\n" + String.join("\n", shown));
        assertEquals(List.of(), changed);
    }

    /**
     * Held (kept: forms SystemCatalogWriteTest does not try): COPY (UPDATE ... RETURNING) TO STDOUT, unicode-escaped
     * and quoted names, a comment inside the qualified name, ONLY and *, EXPLAIN ANALYZE, PREPARE, MERGE, plpgsql
     * RETURN QUERY / FOR ... IN UPDATE, a BEGIN ATOMIC procedure, a rule's action, a U&'' or E'' function body (refused
     * at the call), a user table pg_attribute in public or a schema before pg_catalog in search_path, and ALTER TABLE
     * pg_attribute INHERIT (under allow_system_table_mods) with an UPDATE of the parent.
     */
    @Test
    void otherFormsOfTheWriteAreRefused() throws SQLException {
        String w = "SET attname = 'pwn' WHERE attrelid = '{T}'::regclass AND attname = 'email'";
        List<String> shown = new ArrayList<>();
        List<String> changed = renamed(new String[][] {
            {"COPY (UPDATE pg_attribute " + w + " RETURNING 1) TO STDOUT"},
            {"UPDATE U&\"pg_\\0061ttribute\" " + w},
            {"UPDATE U&\"pg_!0061ttribute\" UESCAPE '!' " + w},
            {"UPDATE \"pg_attribute\" " + w},
            {"UPDATE pg_catalog/**/.\"pg_attribute\" " + w},
            {"UPDATE ONLY pg_attribute " + w},
            {"UPDATE pg_attribute * " + w},
            {"EXPLAIN ANALYZE UPDATE pg_attribute " + w},
            {"PREPARE p16_{N} AS UPDATE pg_attribute " + w, "EXECUTE p16_{N}"},
            {"MERGE INTO pg_attribute a USING (SELECT 1) s ON a.attrelid = '{T}'::regclass AND a.attname = 'email' "
                    + "WHEN MATCHED THEN UPDATE SET attname = 'pwn'"},
            {"CREATE FUNCTION f16p_{N}() RETURNS SETOF int LANGUAGE plpgsql AS $$BEGIN RETURN QUERY UPDATE pg_attribute "
                    + w + " RETURNING 1; END$$", "SELECT f16p_{N}()"},
            {"CREATE FUNCTION f16l_{N}() RETURNS int LANGUAGE plpgsql AS $$DECLARE r record; BEGIN FOR r IN UPDATE "
                    + "pg_attribute " + w + " RETURNING 1 LOOP END LOOP; RETURN 1; END$$", "SELECT f16l_{N}()"},
            {"CREATE PROCEDURE pr16_{N}() LANGUAGE sql BEGIN ATOMIC UPDATE pg_attribute " + w + "; END",
                "CALL pr16_{N}()"},
            {"CREATE TABLE r16_{N} (a int)", "CREATE RULE r16r_{N} AS ON INSERT TO r16_{N} DO ALSO UPDATE pg_attribute "
                    + w, "INSERT INTO r16_{N} VALUES (1)"},
            {"CREATE FUNCTION f16u_{N}() RETURNS int LANGUAGE sql AS U&'UPDATE pg_\\0061ttribute SET attname = ''pwn'' "
                    + "WHERE attrelid = ''{T}''::regclass AND attname = ''email''; SELECT 1'", "SELECT f16u_{N}()"},
            {"CREATE FUNCTION f16e_{N}() RETURNS int LANGUAGE sql AS E'UPDATE pg_\\x61ttribute SET attname = \\'pwn\\' "
                    + "WHERE attrelid = \\'{T}\\'::regclass AND attname = \\'email\\'; SELECT 1'", "SELECT f16e_{N}()"},
            {"CREATE TABLE IF NOT EXISTS public.pg_attribute (x int)", "UPDATE pg_attribute " + w},
            {"CREATE SCHEMA s16_{N}", "CREATE TABLE s16_{N}.pg_attribute (x int)",
                "SET search_path = s16_{N}, pg_catalog", "UPDATE pg_catalog.pg_attribute " + w},
            {"SET allow_system_table_mods = on", "CREATE TABLE x16_{N} (attrelid oid, attname name)",
                "ALTER TABLE pg_catalog.pg_attribute INHERIT x16_{N}", "UPDATE x16_{N} " + w},
        }, shown);
        System.out.println("=== otherFormsOfTheWriteAreRefused\n" + String.join("\n", shown));
        assertEquals(List.of(), changed);
    }

    /**
     * FINDING, for a masked identity (masking's own check, Exposure.systemCatalogWritten, has the same blind spot):
     * MaskingPass15Test's seeded table, whose email column a view over pg_attribute renames to zza; the renamed column
     * is then read in clear. (WardenHarness's upstream login is a superuser, allow_superuser.)
     */
    @Test
    void aMaskedIdentityRenamesAMaskedColumnThroughAView() throws Exception {
        try (WardenHarness masked = WardenHarness.startMaskingForAllButPiiReaders()) {
            MaskedAttacker.seed(masked, "pv16_people");
            StringBuilder out = new StringBuilder();
            try (MaskedAttacker a = new MaskedAttacker(masked)) {
                for (String sql : new String[] {
                    "CREATE VIEW pv16_attr AS SELECT attrelid, attname FROM pg_attribute",
                    "UPDATE pv16_attr SET attname = 'zz' || 'a' WHERE attrelid = ('pv16_' || 'people')::regclass "
                            + "AND attname = 'em' || 'ail'",
                    "SELECT translate(zza, '@.-', '   ') FROM pv16_people"}) {
                    out.append(">>> ").append(sql).append('\n').append(a.query(sql));
                }
            }
            System.out.println("=== aMaskedIdentityRenamesAMaskedColumnThroughAView\n" + out);
            assertEquals(List.of(), MaskedAttacker.seedsIn(out.toString()), out.toString());
        }
    }
}
