package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.warden.proxy.WardenHarness.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@link GuardrailOpenDdlTest}'s race, generated: in each round session B (an administrator, environment dev, where
 * the rule keeping {@code gw_ledger} does not apply) adds in an open transaction one trap to a table of its own (a
 * row or statement trigger, a rule, a default, a CHECK, a row security policy, an index expression, a function or a
 * view replaced) and locks the table, or (half the rounds) locks it first and adds the trap while A waits; session
 * A (production) sends a generated statement over it, on the simple or the extended protocol, often one it ran a
 * moment before (so a decision was remembered); A waits on B's lock, B commits, and the server runs A's statement
 * with the trap. A lock-first round's statement was judged before the trap existed: B's COMMIT has it cancelled
 * (57014) when the trap reaches it (CI seed: 2 of the 24 rounds changed the ledger without that; with it none,
 * and 10 were cancelled, most of which would have left the ledger alone; seed 77, 60 rounds: 13 before, none
 * after, 28 cancelled). A lock-first view round may deadlock (A's read holds the view B replaces): the server
 * ends one of them, B rolls back. Every trap function deletes ledger rows only when it
 * runs as {@code gw_login} (A), so B's own work leaves the ledger alone. Invariant: the ledger never changes;
 * refusals are allowed and counted. The seed is printed; CI runs {@value #CI_ROUNDS} rounds with seed
 * {@value #CI_SEED}; {@code -Dwarden.openDdlFuzz.rounds=N -Dwarden.openDdlFuzz.seed=S} runs others.
 */
class GuardrailOpenDdlFuzzTest {

    static final int CI_ROUNDS = 24;
    static final long CI_SEED = 20261204L;

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        warden.makeLedger();
        warden.directly(
                "CREATE FUNCTION oz_wipe() RETURNS void LANGUAGE plpgsql AS $$BEGIN IF current_user = 'gw_login' "
                        + "THEN DELETE FROM public.gw_ledger WHERE id > 0; END IF; END$$",
                "CREATE FUNCTION oz_wipe_b(int) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN PERFORM public.oz_wipe(); "
                        + "RETURN true; END$$",
                "CREATE FUNCTION oz_wipe_i(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$BEGIN "
                        + "PERFORM public.oz_wipe(); RETURN $1; END$$",
                "CREATE FUNCTION oz_wipe_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM public.oz_wipe(); "
                        + "RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END; END$$");
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /** A trap B adds to table {@code %t} in its open transaction (each a format with the table's name). */
    private static final List<String[]> TRAPS = List.of(
            new String[] {"row trigger", "CREATE TRIGGER %t_g BEFORE INSERT OR UPDATE OR DELETE ON %t FOR EACH ROW "
                    + "EXECUTE FUNCTION oz_wipe_trg()"},
            new String[] {"statement trigger", "CREATE TRIGGER %t_g AFTER INSERT OR UPDATE OR DELETE ON %t "
                    + "FOR EACH STATEMENT EXECUTE FUNCTION oz_wipe_trg()"},
            new String[] {"rule", "CREATE RULE %t_r AS ON INSERT TO %t DO ALSO SELECT oz_wipe()"},
            new String[] {"default", "ALTER TABLE %t ALTER COLUMN v SET DEFAULT oz_wipe_i(0)"},
            new String[] {"check", "ALTER TABLE %t ADD CONSTRAINT %t_c CHECK (oz_wipe_b(v)) NOT VALID"},
            new String[] {"policy", "ALTER TABLE %t ENABLE ROW LEVEL SECURITY ;; CREATE POLICY %t_p ON %t "
                    + "USING (oz_wipe_b(id)) WITH CHECK (oz_wipe_b(id))"},
            new String[] {"index", "CREATE INDEX %t_i ON %t (oz_wipe_i(id))"},
            new String[] {"function", "CREATE OR REPLACE FUNCTION %t_f(int) RETURNS int LANGUAGE plpgsql AS "
                    + "$$BEGIN PERFORM public.oz_wipe(); RETURN $1; END$$"},
            new String[] {"view", "CREATE OR REPLACE VIEW %t_v AS SELECT id, oz_wipe_i(v) AS v FROM %t"});

    /** A's statements over table {@code %t} (and its view and function, which exist before every round). */
    private static final List<String> STATEMENTS = List.of(
            "INSERT INTO %t (id, v) VALUES (7, 7)",
            "INSERT INTO %t (id) VALUES (8)",
            "INSERT INTO %t SELECT g, g FROM generate_series(20, 22) g",
            "UPDATE %t SET v = v + 1 WHERE id > 0",
            "DELETE FROM %t WHERE id = 1",
            "SELECT count(*) FROM %t",
            "SELECT %t_f(id) FROM %t",
            "SELECT * FROM %t_v",
            "SELECT v FROM %t WHERE id = 1 FOR UPDATE");

    @Test
    void noStatementWaitingOnAnotherSessionsOpenDdlChangesTheLedger() throws Exception {
        long seed = Long.getLong("warden.openDdlFuzz.seed", CI_SEED);
        int rounds = Integer.getInteger("warden.openDdlFuzz.rounds", CI_ROUNDS);
        System.out.println("GuardrailOpenDdlFuzzTest seed=" + seed + " rounds=" + rounds);
        Random random = new Random(seed);
        List<String> failures = new ArrayList<>();
        int refused = 0;
        int cancelled = 0;
        int deadlocks = 0;
        int ran = 0;
        for (int k = 0; k < rounds; k++) {
            String[] trap = TRAPS.get(k < TRAPS.size() ? k : random.nextInt(TRAPS.size()));
            String statement = STATEMENTS.get(random.nextInt(STATEMENTS.size()));
            boolean extended = random.nextBoolean();
            boolean primed = random.nextInt(3) > 0;
            boolean lockFirst = random.nextBoolean();
            String t = "oz_t" + k;
            String sql = statement.replace("%t", t);
            String round = "round " + k + " (" + trap[0] + ", " + (extended ? "extended" : "simple")
                    + (primed ? ", primed" : "") + (lockFirst ? ", lock first" : "") + "): " + sql;
            warden.directly("TRUNCATE gw_ledger", "INSERT INTO gw_ledger SELECT g, g FROM generate_series(1, 3) g",
                    "CREATE TABLE " + t + " (id int, v int)", "INSERT INTO " + t + " VALUES (1, 1), (2, 2)",
                    "CREATE FUNCTION " + t + "_f(int) RETURNS int LANGUAGE sql AS 'SELECT $1'",
                    "CREATE VIEW " + t + "_v AS SELECT id, v FROM " + t,
                    "GRANT ALL ON " + t + ", " + t + "_v TO gw_login");
            String error;
            try (Connection a = warden.connect("prod", WardenHarness.USER, warden.token(), (extended
                    ? "preferQueryMode=extended&prepareThreshold=1" : "preferQueryMode=simple")
                    + "&assumeMinServerVersion=12&autosave=never"); Connection b = warden.devAdmin()) {
                PreparedStatement ps = a.prepareStatement(sql);
                if (primed) {
                    String first = execute(ps);
                    if (first != null) {
                        failures.add(round + ": refused before any trap: " + first);
                        continue;
                    }
                }
                assertNull(run(b, "BEGIN"));
                CompletableFuture<String> waiting = null;
                if (lockFirst) {
                    // A is judged with nothing open elsewhere and waits; the trap comes after.
                    assertNull(run(b, "LOCK TABLE " + t + " IN ACCESS EXCLUSIVE MODE"));
                    waiting = warden.waitingOnALock(() -> execute(ps));
                }
                boolean deadlocked = false;
                for (String ddl : trap[1].replace("%t", t).split(" ;; ")) {
                    String failed = run(b, ddl);
                    // Lock first, A's read of a view holds the view while it waits for the table, and B's
                    // replacement of the view waits for A: the server ends B's statement (a deadlock).
                    deadlocked = failed != null && lockFirst && failed.startsWith("40P01");
                    if (deadlocked) {
                        break;
                    }
                    assertNull(failed, round + ": " + ddl);
                }
                if (!lockFirst) {
                    assertNull(run(b, "LOCK TABLE " + t + " IN ACCESS EXCLUSIVE MODE"));
                    waiting = warden.waitingOnALock(() -> execute(ps));
                }
                deadlocks += deadlocked ? 1 : 0;
                assertNull(run(b, deadlocked ? "ROLLBACK" : "COMMIT"));
                error = waiting.get(30, TimeUnit.SECONDS);
            }
            String ledger = warden.ledger();
            if (error == null) {
                ran++;
            } else if (error.startsWith("42501")) {
                refused++;
            } else if (error.startsWith("57014")) {
                cancelled++;
            }
            if (!ledger.equals("3/3")) {
                failures.add(round + ": PostgreSQL changed gw_ledger (rows/unchanged " + ledger + "), Warden: "
                        + (error == null ? "let it run" : error));
            }
        }
        System.out.println("GuardrailOpenDdlFuzzTest: " + ran + " ran, " + refused + " refused (42501), "
                + cancelled + " cancelled at B's COMMIT (57014), of " + rounds + "; B deadlocked with A in "
                + deadlocks);
        assertEquals(List.of(), failures, "seed " + seed);
    }

    /** Runs {@code ps}; null when it ran, else the SQLSTATE and message. */
    private static String execute(PreparedStatement ps) {
        try {
            ps.execute();
            return null;
        } catch (SQLException e) {
            return e.getSQLState() + " " + e.getMessage();
        }
    }
}
