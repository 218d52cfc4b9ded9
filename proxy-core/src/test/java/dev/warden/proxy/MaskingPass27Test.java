package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass a130 (2026-12-07), in {@link MaskingPass26Test}'s manner: PostgreSQL moves values between columns by
 * itself, where no statement names the column they land in. Each attack copies the seeded values, as a masked
 * identity and with temporary objects only, into a column no rule masks, then reads it reversed (past the value
 * detectors). Each test checks that a harmless neighbour still runs.
 */
class MaskingPass27Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp27");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * F1: PostgreSQL 17's {@code ALTER COLUMN g SET EXPRESSION AS (ssn)} recomputes a stored generated column, named
     * like nothing masked, from the masked column of each row (as {@code ADD COLUMN ... GENERATED}, which was refused).
     */
    @Test
    void aGeneratedColumnRecomputedFromAMaskedOneIsRefused() throws Exception {
        String[][] attempts = {
                {"CREATE TEMP TABLE x1 (id int, ssn text, g text GENERATED ALWAYS AS ('') STORED)",
                        "INSERT INTO x1 (id, ssn) SELECT id, ssn FROM mp27",
                        "ALTER TABLE x1 ALTER COLUMN g SET EXPRESSION AS (ssn)", "SELECT id, reverse(g) FROM x1"},
                {"CREATE TEMP TABLE x2 (id int, email text, g text GENERATED ALWAYS AS ('') STORED)",
                        "INSERT INTO x2 (id, email) SELECT id, email FROM mp27",
                        "ALTER TABLE x2 ALTER g SET /* c */ EXPRESSION AS (email)", "SELECT id, reverse(g) FROM x2"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            a.query("CREATE TEMP TABLE x3 (id int, g text GENERATED ALWAYS AS ('') STORED)");
            a.query("INSERT INTO x3 (id) VALUES (4)");
            String clear = a.query("ALTER TABLE x3 ALTER COLUMN g SET EXPRESSION AS (id::text || 'x')");
            assertFalse(MaskedAttacker.refused(clear), clear);
            assertEquals("4x", MaskedAttacker.firstValue(a.query("SELECT g FROM x3")));
        }
    }

    /**
     * F1, the read side: a stored generated column the server computes from a masked column (made by an identity
     * the policy lets make one, here the table's owner outside Warden) holds the masked values under a name no rule
     * masks. Before, it was masked by the value detectors alone, and read reversed came back in clear.
     */
    @Test
    void aGeneratedColumnComputedFromAMaskedOneIsMasked() throws Exception {
        direct("CREATE TABLE mp27g (id int, ssn text, tail text GENERATED ALWAYS AS (ssn) STORED, "
                + "id_text text GENERATED ALWAYS AS (id::text || '-x') STORED); "
                + "INSERT INTO mp27g (id, ssn) SELECT id, ssn FROM mp27; GRANT SELECT ON mp27g TO PUBLIC");
        try {
            String[][] attempts = {
                    {"SELECT id, reverse(tail) FROM mp27g"},
                    {"SELECT translate(g.tail, '-', '.') FROM mp27g g"},
                    {"SELECT string_agg(tail, ',') FROM mp27g"},
            };
            assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                assertEquals("1-x", MaskedAttacker.firstValue(a.query("SELECT id_text FROM mp27g ORDER BY id")));
            }
        } finally {
            direct("DROP TABLE mp27g");
        }
    }

    /**
     * a132 (F1): a column DDL of the open transaction added is not in the catalog Warden reads (only what is
     * committed): SSNs written into it, in the transaction that added it, were not judged a hand-off.
     */
    @Test
    void aColumnAddedInTheOpenTransactionCountsAsUnmasked() throws Exception {
        String table = "CREATE TEMP TABLE tn (id int, ssn text)";
        String[][] attempts = {
                {table, "BEGIN", "ALTER TABLE tn ADD COLUMN note2 text",
                        "INSERT INTO tn (id, note2) SELECT id, ssn FROM mp27", "COMMIT", "SELECT id, reverse(note2) FROM tn"},
                {table, "INSERT INTO tn (id, ssn) SELECT id, ssn FROM mp27",
                        "ALTER TABLE tn ADD COLUMN n text; UPDATE tn SET n = ssn WHERE id > 0",
                        "SELECT id, reverse(n) FROM tn"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
    }

    /**
     * a132 (F2, F3, F6): an UPDATE writing sensitive values into a key column cascades them through foreign keys
     * Warden's catalog may not show: one added in the same transaction or Query (or another session's, still open),
     * one reached through a second cascade, one that references a partition written through its parent.
     */
    @Test
    void anUpdateOfAKeyThatMayCascadeIsRefused() throws Exception {
        String parent = "CREATE TEMP TABLE p (id int, ssn text UNIQUE)";
        String fill = "INSERT INTO p SELECT g, 'k' || g FROM generate_series(1, 3) g";
        String update = "UPDATE p SET ssn = (SELECT c.ssn FROM mp27 c WHERE c.id = p.id) WHERE id > 0";
        String[][] attempts = {
                {parent, fill, "CREATE TEMP TABLE c (id int, ref text)",
                        "INSERT INTO c SELECT g, 'k' || g FROM generate_series(1, 3) g",
                        "ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (ref) REFERENCES p (ssn) ON UPDATE CASCADE; "
                                + update, "SELECT id, reverse(ref) FROM c"},
                {parent, fill, "CREATE TEMP TABLE c (id int, ssn text UNIQUE REFERENCES p (ssn) ON UPDATE CASCADE)",
                        "INSERT INTO c SELECT g, 'k' || g FROM generate_series(1, 3) g",
                        "CREATE TEMP TABLE d (id int, ref text REFERENCES c (ssn) ON UPDATE CASCADE)",
                        "INSERT INTO d SELECT g, 'k' || g FROM generate_series(1, 3) g", update,
                        "SELECT id, reverse(ref) FROM d"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A masked column that is no key is written as before.
            a.query("CREATE TEMP TABLE q (id int, ssn text)");
            a.query("INSERT INTO q SELECT g, 'k' || g FROM generate_series(1, 3) g");
            String kept = a.query("UPDATE q SET ssn = (SELECT c.ssn FROM mp27 c WHERE c.id = q.id) WHERE id > 0");
            assertTrue(kept.contains("UPDATE 3"), kept);
        }
    }

    private static void direct(String sql) throws SQLException {
        try (java.sql.Connection c = warden.direct(); java.sql.Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * F2: a foreign key {@code REFERENCES u ON UPDATE CASCADE}, u's primary key a masked column (named nowhere), copies
     * what an UPDATE writes into u's key into the clear referencing column.
     */
    @Test
    void anUpdateCascadingAMaskedKeyIntoAClearColumnIsRefused() throws Exception {
        String keys = "CREATE TEMP TABLE u (id int, ssn text PRIMARY KEY)";
        String fill = "INSERT INTO u VALUES (1, 'k1'), (2, 'k2'), (3, 'k3')";
        String update = "UPDATE u SET ssn = c.ssn FROM mp27 c WHERE c.id = u.id";
        String[][] attempts = {
                {keys, fill, "CREATE TEMP TABLE ref (id int, x text REFERENCES u ON UPDATE CASCADE)",
                        "INSERT INTO ref VALUES (1, 'k1'), (2, 'k2'), (3, 'k3')", update,
                        "SELECT id, reverse(x) FROM ref"},
                {keys, fill, "CREATE TEMP TABLE ref (id int, x text)",
                        "INSERT INTO ref VALUES (1, 'k1'), (2, 'k2'), (3, 'k3')",
                        "ALTER TABLE ref ADD FOREIGN KEY (x) REFERENCES u ON UPDATE CASCADE", update,
                        "SELECT id, reverse(x) FROM ref"},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A cascade of a clear key copies nothing sensitive: the masked column is written as usual.
            a.query("CREATE TEMP TABLE u2 (id int PRIMARY KEY, ssn text)");
            a.query("INSERT INTO u2 VALUES (1, 'k1')");
            a.query("CREATE TEMP TABLE ref2 (x int REFERENCES u2 ON UPDATE CASCADE)");
            a.query("INSERT INTO ref2 VALUES (1)");
            String clear = a.query("UPDATE u2 SET ssn = c.ssn FROM mp27 c WHERE c.id = u2.id");
            assertTrue(clear.contains("UPDATE 1"), clear);
        }
    }

    /**
     * F3: a write through an updatable view stores into the base column each view column passes through: a view
     * column named {@code ssn} over a clear column {@code note} stored the SSNs there in clear (INSERT, UPDATE, MERGE,
     * and through a view over that view).
     */
    @Test
    void aWriteThroughAViewIsJudgedByTheBaseColumnsItStoresInto() throws Exception {
        String table = "CREATE TEMP TABLE tb (id int, note text)";
        String view = "CREATE TEMP VIEW tvv AS SELECT id, note AS ssn FROM tb";
        String read = "SELECT id, reverse(note) FROM tb";
        String[][] attempts = {
                {table, view, "INSERT INTO tvv (id, ssn) SELECT id, ssn FROM mp27", read},
                {table, view, "INSERT INTO tb SELECT id, 'x' FROM mp27",
                        "UPDATE tvv SET ssn = c.ssn FROM mp27 c WHERE c.id = tvv.id", read},
                {table, view, "INSERT INTO tb SELECT id, 'x' FROM mp27",
                        "MERGE INTO tvv v USING mp27 c ON v.id = c.id WHEN MATCHED THEN UPDATE SET ssn = c.ssn", read},
                {table, view, "CREATE TEMP VIEW tvv2 AS SELECT id, ssn AS email FROM tvv",
                        "INSERT INTO tvv2 (id, email) SELECT id, email FROM mp27", read},
        };
        assertEquals(List.of(), MaskedAttacker.leaksOf(warden, attempts));
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // A view that passes the masked column through under its own name: stored where it stays masked.
            a.query("CREATE TEMP TABLE tk (id int, ssn text)");
            a.query("CREATE TEMP VIEW tkv AS SELECT id, ssn FROM tk");
            String kept = a.query("INSERT INTO tkv (id, ssn) SELECT id, ssn FROM mp27");
            assertTrue(kept.contains("INSERT 0 3"), kept);
            assertEquals(List.of(), MaskedAttacker.seedsIn(a.query("SELECT id, reverse(ssn) FROM tk")));
        }
    }
}
