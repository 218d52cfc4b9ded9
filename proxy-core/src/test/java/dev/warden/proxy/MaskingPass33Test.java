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

    /**
     * a138 F6: what the triggers of a table reached through another table's trigger copy was not judged. An exempt
     * identity's history trigger on f6b copies {@code row_to_json(NEW)} (reversed, past the value detectors) into
     * f6c, which has no masked column; a masked INSERT into f6b is refused for it, but the same rows carried there by
     * f6a's trigger were stored. Now the chain is followed four tables along, and the INSERT into f6a is refused.
     */
    @Test
    void aTriggerOfATableATriggerWritesIsJudged() throws Exception {
        try (MaskedAttacker carol = new MaskedAttacker(warden, "dev", MaskedAttacker.exemptToken(warden));
             MaskedAttacker alice = new MaskedAttacker(warden)) {
            for (String sql : new String[] {"CREATE TABLE f6c (j text)", "CREATE TABLE f6b (id int, ssn text)",
                    "CREATE FUNCTION f6copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                            + "INSERT INTO f6c VALUES (reverse(row_to_json(NEW)::text)); RETURN NEW; END $$",
                    "CREATE TRIGGER f6t AFTER INSERT ON f6b FOR EACH ROW EXECUTE FUNCTION f6copy()",
                    "CREATE TABLE f6a (id int, ssn text)",
                    "CREATE FUNCTION f6on() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                            + "INSERT INTO f6b (id, ssn) VALUES (NEW.id, NEW.ssn); RETURN NEW; END $$",
                    "CREATE TRIGGER f6u AFTER INSERT ON f6a FOR EACH ROW EXECUTE FUNCTION f6on()",
                    "GRANT ALL ON f6a, f6b, f6c TO PUBLIC"}) {
                String answer = carol.query(sql);
                assertFalse(answer.startsWith("E") || answer.contains("\nE"), sql + ": " + answer);
            }
            String direct = alice.query("INSERT INTO f6b (id, ssn) SELECT id, ssn FROM mp33");
            assertTrue(MaskedAttacker.refused(direct), direct);
            String chained = alice.query("INSERT INTO f6a (id, ssn) SELECT id, ssn FROM mp33");
            assertTrue(MaskedAttacker.refused(chained), chained);
            assertTrue(chained.contains("f6c"), chained);
            String stored = alice.query("SELECT reverse(j) FROM f6c");
            assertTrue(MaskedAttacker.seedsIn(stored).isEmpty(), stored);
            // One more table along: f6z's trigger writes f6a.
            carol.query("CREATE TABLE f6z (id int, ssn text)");
            carol.query("CREATE FUNCTION f6zon() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO f6a (id, ssn) VALUES (NEW.id, NEW.ssn); RETURN NEW; END $$");
            carol.query("CREATE TRIGGER f6zu AFTER INSERT ON f6z FOR EACH ROW EXECUTE FUNCTION f6zon()");
            carol.query("GRANT ALL ON f6z TO PUBLIC");
            String further = alice.query("INSERT INTO f6z (id, ssn) SELECT id, ssn FROM mp33");
            assertTrue(MaskedAttacker.refused(further), further);
            assertTrue(MaskedAttacker.seedsIn(alice.query("SELECT reverse(j) FROM f6c")).isEmpty());
            // A write whose trigger chain copies nothing sensitive anywhere still runs.
            carol.query("CREATE TABLE f6n (id int)");
            carol.query("CREATE TABLE f6m (id int)");
            carol.query("CREATE FUNCTION f6non() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "INSERT INTO f6m (id) VALUES (NEW.id); RETURN NEW; END $$");
            carol.query("CREATE TRIGGER f6nu AFTER INSERT ON f6n FOR EACH ROW EXECUTE FUNCTION f6non()");
            carol.query("GRANT ALL ON f6n, f6m TO PUBLIC");
            String clear = alice.query("INSERT INTO f6n (id) SELECT id FROM mp33");
            assertTrue(clear.contains("INSERT 0 3"), clear);
        }
    }
}
