package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 2026-12-07 evening session: a138 F9 (an over-refusal), and the attacker passes a139 and a140 on 49b63ddc.
 */
class MaskingPass33Test {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        MaskedAttacker.seed(warden, "mp33");
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /**
     * Why a138 F9 (an {@code INSERT INTO t SELECT id, ssn ...} without a column list is refused where the same with the
     * list runs) stays open: reading the table's committed columns as the list goes wrong when the open transaction,
     * or another session's that this INSERT waits for, dropped the masked column and added a clear one. The server
     * then gives the second value to the clear column. These must stay refused whatever reads the list.
     */
    @Test
    void anInsertWithoutAColumnListDoesNotTrustTheCommittedColumnOrder() throws Exception {
        try (MaskedAttacker a = new MaskedAttacker(warden)) {
            // The SSN by position into a clear column: refused, with or without the list.
            a.query("CREATE TEMP TABLE m81 (note text, ssn text)");
            String intoClear = a.query("INSERT INTO m81 SELECT ssn, 'x' FROM mp33");
            assertTrue(MaskedAttacker.refused(intoClear), intoClear);
            String shortRow = a.query("INSERT INTO m81 SELECT ssn FROM mp33");
            assertTrue(MaskedAttacker.refused(shortRow), shortRow);
            assertTrue(MaskedAttacker.seedsIn(a.query("SELECT note FROM m81")).isEmpty());

            // The masked column dropped and a clear one added in the open transaction: position 2 is now the clear
            // column, which the committed catalog does not show.
            a.query("CREATE TEMP TABLE m82 (id int, ssn text)");
            a.query("BEGIN");
            a.query("ALTER TABLE m82 DROP COLUMN ssn");
            a.query("ALTER TABLE m82 ADD COLUMN note text");
            String altered = a.query("INSERT INTO m82 SELECT id, ssn FROM mp33");
            assertTrue(MaskedAttacker.refused(altered) || altered.contains("\nE"), altered);
            String read = a.query("SELECT note FROM m82");
            a.query("ROLLBACK");
            assertTrue(MaskedAttacker.seedsIn(read).isEmpty(), read);
        }
    }
}
