package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static dev.warden.proxy.WardenHarness.run;
import static dev.warden.proxy.WardenHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guardrails' invariant, fuzzed: whatever a session in production sends, no row of the guarded table {@code
 * gw_ledger} changes. The database is laid with traps made beforehand by its owner, as a migration would: code the
 * server runs for a statement that does not name it (a trigger, a rule, a default, a CHECK, a domain's check, an
 * operator, an index expression, a statistics object's expression, a generated column, a partition key, a row
 * security policy, a view's column, an aggregate's state function, an implicit cast, a foreign key that cascades
 * into the ledger, a default operator class's comparison, an event trigger). Trap {@code n} deletes ledger row
 * {@code n}, so a changed ledger names the trap that fired. Statements are generated (seeded) over the trapped
 * tables, on the simple and extended protocols, bare or wrapped in PREPARE/EXECUTE, a cursor, EXPLAIN ANALYZE or a
 * function the session makes and calls; after each, the ledger is counted straight from the server. Refusals are
 * allowed (and counted); a changed ledger is not.
 *
 * <p>CI runs {@value #CI_STATEMENTS} statements with seed {@value #CI_SEED}. A longer run:
 * {@code mvn -o -pl proxy-core -am test -Dtest=GuardrailInvariantFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dwarden.guardFuzz.statements=20000 -Dwarden.guardFuzz.seed=N}.
 */
class GuardrailInvariantFuzzTest {

    static final int CI_STATEMENTS = 600;
    static final long CI_SEED = 20261202L;
    static final int LEDGER_ROWS = 40;

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.startGuardingLedger();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            for (String sql : TRAPS) {
                s.execute(sql);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (warden != null) {
            warden.close();
        }
    }

    /** The owner's migration: the ledger, the trap functions, and one trapped table (or object) per trap. */
    static final List<String> TRAPS = List.of(
            "CREATE TABLE gw_parent (id int PRIMARY KEY)",
            "CREATE TABLE gw_ledger (id int, total int, parent int REFERENCES gw_parent ON DELETE CASCADE)",
            "CREATE FUNCTION gw_trap(n int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.gw_ledger WHERE id = n; RETURN n; END$$",
            "CREATE FUNCTION gw_trap_b(n int) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(n); RETURN true; END$$",
            // Declared immutable (a lie the server believes), so an index, a generated column or a partition key
            // may use it.
            "CREATE FUNCTION gw_trap_i(n int, v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$BEGIN "
                    + "PERFORM public.gw_trap(n); RETURN v; END$$",
            "CREATE FUNCTION gw_trap_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(TG_ARGV[0]::int); "
                    + "RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END; "
                    + "END$$",
            // 1: row triggers; 2: a TRUNCATE trigger
            "CREATE TABLE t_trig (id int, v int)",
            "CREATE TRIGGER t_trig_row BEFORE INSERT OR UPDATE OR DELETE ON t_trig FOR EACH ROW "
                    + "EXECUTE FUNCTION gw_trap_trg('1')",
            "CREATE TRIGGER t_trig_truncate AFTER TRUNCATE ON t_trig FOR EACH STATEMENT "
                    + "EXECUTE FUNCTION gw_trap_trg('2')",
            // 3: rules
            "CREATE TABLE t_rule (id int, v int)",
            "CREATE RULE t_rule_ins AS ON INSERT TO t_rule DO ALSO DELETE FROM gw_ledger WHERE id = 3",
            "CREATE RULE t_rule_upd AS ON UPDATE TO t_rule DO ALSO SELECT gw_trap(3)",
            // 4: a default; 5: a CHECK; 6: a domain's check
            "CREATE TABLE t_def (id int, v int DEFAULT gw_trap(4))",
            "CREATE TABLE t_chk (id int, v int CHECK (gw_trap_b(5)))",
            "CREATE DOMAIN d_trap AS int CHECK (gw_trap_b(6))",
            "CREATE TABLE t_dom (id int, v d_trap)",
            // 7: an operator
            "CREATE FUNCTION gw_op(a int, b int) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(7); RETURN a = b; END$$",
            "CREATE OPERATOR ### (leftarg = int, rightarg = int, function = gw_op)",
            // 8: an index expression; 9: a statistics object's expression; 10: a stored generated column
            "CREATE TABLE t_idx (id int, v int)",
            "CREATE INDEX t_idx_expr ON t_idx ((gw_trap_i(8, v)))",
            "CREATE TABLE t_stx (id int, v int)",
            "CREATE STATISTICS t_stx_expr ON (gw_trap_i(9, v)), id FROM t_stx",
            "ALTER TABLE t_stx OWNER TO gw_login", // so the login may ANALYZE it
            "CREATE TABLE t_gen (id int, v int GENERATED ALWAYS AS (gw_trap_i(10, id)) STORED)",
            // 11: a partition key
            "CREATE TABLE t_part (id int, v int) PARTITION BY RANGE ((gw_trap_i(11, id)))",
            "CREATE TABLE t_part_all PARTITION OF t_part FOR VALUES FROM (MINVALUE) TO (MAXVALUE)",
            // 12: a row security policy (the login does not own the table, so it applies)
            "CREATE TABLE t_pol (id int, v int)",
            "ALTER TABLE t_pol ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY t_pol_all ON t_pol USING (gw_trap_b(12)) WITH CHECK (gw_trap_b(12))",
            // 13: a view's column
            "CREATE TABLE t_plain (id int, v int)",
            "CREATE VIEW v_trap AS SELECT id, v, gw_trap(13) AS x FROM t_plain",
            // 14: an aggregate's state function
            "CREATE FUNCTION gw_agg_step(s int, v int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(14); RETURN coalesce(s, 0) + v; END$$",
            "CREATE AGGREGATE gw_agg(int) (sfunc = gw_agg_step, stype = int)",
            // 15: an implicit cast out of a user type, and an assignment cast into one
            "CREATE TYPE gw_money AS (amount int)",
            "CREATE FUNCTION gw_money_int(m gw_money) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(15); RETURN m.amount; END$$",
            "CREATE CAST (gw_money AS int) WITH FUNCTION gw_money_int(gw_money) AS IMPLICIT",
            "CREATE TABLE t_cast (id int, v gw_money)",
            // 17: a default btree operator class whose comparison deletes (sorting, grouping, a unique index)
            "CREATE TYPE gw_pt AS (a int)",
            "CREATE FUNCTION gw_pt_lt(gw_pt, gw_pt) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4lt(($1).a, ($2).a)'",
            "CREATE FUNCTION gw_pt_le(gw_pt, gw_pt) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4le(($1).a, ($2).a)'",
            "CREATE FUNCTION gw_pt_eq(gw_pt, gw_pt) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4eq(($1).a, ($2).a)'",
            "CREATE FUNCTION gw_pt_ge(gw_pt, gw_pt) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4ge(($1).a, ($2).a)'",
            "CREATE FUNCTION gw_pt_gt(gw_pt, gw_pt) RETURNS bool LANGUAGE sql IMMUTABLE AS "
                    + "'SELECT int4gt(($1).a, ($2).a)'",
            "CREATE OPERATOR < (leftarg = gw_pt, rightarg = gw_pt, function = gw_pt_lt)",
            "CREATE OPERATOR <= (leftarg = gw_pt, rightarg = gw_pt, function = gw_pt_le)",
            "CREATE OPERATOR = (leftarg = gw_pt, rightarg = gw_pt, function = gw_pt_eq)",
            "CREATE OPERATOR >= (leftarg = gw_pt, rightarg = gw_pt, function = gw_pt_ge)",
            "CREATE OPERATOR > (leftarg = gw_pt, rightarg = gw_pt, function = gw_pt_gt)",
            "CREATE FUNCTION gw_pt_cmp(gw_pt, gw_pt) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$BEGIN "
                    + "PERFORM public.gw_trap(17); RETURN btint4cmp(($1).a, ($2).a); END$$",
            "CREATE OPERATOR CLASS gw_pt_ops DEFAULT FOR TYPE gw_pt USING btree AS OPERATOR 1 <, OPERATOR 2 <=, "
                    + "OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gw_pt_cmp(gw_pt, gw_pt)",
            "CREATE TABLE t_opc (id int, v gw_pt)",
            "INSERT INTO t_opc VALUES (1, ROW(2)), (2, ROW(1))",
            // 18: an event trigger on CREATE TABLE
            "CREATE FUNCTION gw_trap_evt() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "PERFORM public.gw_trap(18); END$$",
            "CREATE EVENT TRIGGER gw_trap_evt ON ddl_command_end WHEN TAG IN ('CREATE TABLE') "
                    + "EXECUTE FUNCTION gw_trap_evt()",
            // 16: a foreign key that cascades into the ledger (deleting parent 16 deletes ledger row 16)
            "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON t_trig, t_rule, t_def, t_chk, t_dom, t_idx, t_stx, "
                    + "t_gen, "
                    + "t_part, t_pol, t_plain, t_cast, t_opc, gw_parent, gw_ledger TO gw_login",
            "GRANT SELECT ON v_trap TO gw_login",
            "GRANT CREATE ON SCHEMA public TO gw_login",
            "INSERT INTO gw_parent SELECT g FROM generate_series(1, " + LEDGER_ROWS + ") g");

    /** The trapped relations, each with the value expression its second column takes ("": it has only id). */
    static final Map<String, String> TABLES = new TreeMap<>(Map.ofEntries(
            Map.entry("t_trig", "1"), Map.entry("t_rule", "1"), Map.entry("t_def", "1"), Map.entry("t_chk", "1"),
            Map.entry("t_dom", "1"), Map.entry("t_idx", "1"), Map.entry("t_stx", "1"), Map.entry("t_part", "1"),
            Map.entry("t_pol", "1"), Map.entry("t_plain", "1"), Map.entry("t_cast", "ROW(1)::gw_money"),
            Map.entry("t_opc", "ROW(1)::gw_pt"), Map.entry("gw_parent", ""), Map.entry("t_gen", "")));

    static final List<String> CONDITIONS = List.of("true", "id = 1", "id ### 1", "id > 0", "id IN (1, 2)",
            "NOT (id ### 2)", "id BETWEEN 1 AND 3", "gw_trap_b(99) IS NULL");

    /** A statement over {@code t_plain} alone, which runs no trap (its view v_trap does). */
    static final java.util.regex.Pattern UNTRAPPED = java.util.regex.Pattern.compile("\\bt_plain\\b");
    static final java.util.regex.Pattern TRAPPED = java.util.regex.Pattern.compile(
            "###|gw_|v_trap|t_(trig|rule|def|chk|dom|idx|stx|gen|part|pol|cast|opc)\\b");

    /** A statement over {@code table}: what the generator draws. */
    static String statement(Random r, String table) {
        String second = TABLES.get(table);
        String columns = second.isEmpty() ? "(id)" : "(id, v)";
        int id = 1 + r.nextInt(3);
        String values = second.isEmpty() ? "(" + id + ")" : "(" + id + ", " + second + ")";
        String where = " WHERE " + CONDITIONS.get(r.nextInt(CONDITIONS.size()));
        String setV = second.isEmpty() ? "id = id" : "v = " + second;
        return switch (r.nextInt(25)) {
            case 0, 1 -> "SELECT * FROM " + table + where;
            case 2, 3 -> "INSERT INTO " + table + " " + columns + " VALUES " + values;
            case 4 -> "INSERT INTO " + table + " " + columns + " SELECT * FROM (VALUES " + values + ") s";
            case 5, 6 -> "UPDATE " + table + " SET " + setV + where;
            case 7 -> "DELETE FROM " + table + where;
            case 8 -> "TRUNCATE " + table;
            case 9 -> "ANALYZE " + table;
            case 10 -> "VACUUM " + table;
            case 11 -> "SELECT count(*) FROM " + table + " t JOIN " + table + " u USING (id)";
            case 12 -> "WITH w AS (INSERT INTO " + table + " " + columns + " VALUES " + values
                    + " RETURNING id) SELECT * FROM w";
            case 13 -> "MERGE INTO " + table + " t USING (VALUES (1)) s (id) ON t.id = s.id "
                    + "WHEN MATCHED THEN UPDATE SET "
                    + setV + " WHEN NOT MATCHED THEN INSERT " + columns + " VALUES " + values;
            case 14 -> "SELECT * FROM v_trap" + where;
            case 15 -> "SELECT gw_agg(id) FROM " + table;
            case 16 -> "SELECT id FROM " + table + " ORDER BY id LIMIT 2";
            case 17 -> "SELECT v + 1 FROM t_cast";
            case 18 -> "INSERT INTO " + table + " " + columns + " VALUES " + values + " ON CONFLICT DO NOTHING";
            case 19 -> "COPY (SELECT * FROM " + table + where + ") TO STDOUT";
            case 20 -> "SELECT 1 ### " + (1 + r.nextInt(2));
            case 21 -> "SELECT * FROM " + table + " ORDER BY 2";
            case 22 -> "SELECT v, count(*) FROM " + (second.isEmpty() ? "t_opc" : table) + " GROUP BY v";
            case 23 -> "CREATE TABLE gw_made_" + r.nextInt(1_000_000) + " (id int)";
            default -> "DELETE FROM gw_parent WHERE id = " + (16 + r.nextInt(2));
        };
    }

    /** {@code sql} wrapped as the generator draws: bare most often, else inside something that runs it. */
    static String wrapped(Random r, String sql, int n) {
        boolean query = sql.startsWith("SELECT") || sql.startsWith("WITH");
        return switch (r.nextInt(8)) {
            case 0 -> "PREPARE gwf" + n + " AS " + sql + "; EXECUTE gwf" + n + "; DEALLOCATE gwf" + n;
            case 1 -> query ? "BEGIN; DECLARE gwc CURSOR FOR " + sql + "; FETCH ALL FROM gwc; COMMIT" : sql;
            case 2 -> sql.startsWith("COPY") || sql.startsWith("VACUUM") ? sql : "EXPLAIN ANALYZE " + sql;
            case 3 -> sql.startsWith("VACUUM") || sql.startsWith("COPY") ? sql
                    : "CREATE OR REPLACE FUNCTION gwf" + n + "() RETURNS void LANGUAGE plpgsql AS $f$BEGIN "
                    + (query ? "PERFORM count(*) FROM (" + sql + ") q" : sql) + "; END$f$; SELECT gwf" + n + "()";
            default -> sql;
        };
    }

    private static void refill() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DELETE FROM gw_ledger");
            s.execute("INSERT INTO gw_parent SELECT g FROM generate_series(1, " + LEDGER_ROWS + ") g "
                    + "ON CONFLICT DO NOTHING");
            s.execute("INSERT INTO gw_ledger SELECT g, g, g FROM generate_series(1, " + LEDGER_ROWS + ") g");
        }
    }

    /** The ledger rows missing or changed, as trap numbers; empty when the ledger is intact. */
    private static String changed() throws SQLException {
        try (Connection c = warden.direct()) {
            return changed(c);
        }
    }

    private static String changed(Connection c) throws SQLException {
        return scalar(c, "SELECT coalesce(string_agg(g::text, ',' ORDER BY g), '') FROM generate_series(1, "
                + LEDGER_ROWS + ") g WHERE NOT EXISTS (SELECT 1 FROM gw_ledger l WHERE l.id = g AND l.total = g)");
    }

    @Test
    void noGeneratedStatementChangesTheGuardedLedger() throws Exception {
        int statements = Integer.getInteger("warden.guardFuzz.statements", CI_STATEMENTS);
        long seed = Long.getLong("warden.guardFuzz.seed", CI_SEED);
        Random random = new Random(seed);
        List<String> tables = new ArrayList<>(TABLES.keySet());
        List<String> findings = new ArrayList<>();
        int refused = 0;
        int failed = 0;
        int plain = 0;
        List<String> plainRefused = new ArrayList<>();
        refill();
        try (Connection simple = warden.connect("prod", WardenHarness.USER, warden.token(),
                "preferQueryMode=simple&assumeMinServerVersion=12");
             Connection extended = warden.connect("prod", WardenHarness.USER, warden.token(),
                     "prepareThreshold=1&assumeMinServerVersion=12");
             Connection direct = warden.direct()) {
            for (int i = 0; i < statements && findings.size() < 10; i++) {
                String base = statement(random, tables.get(random.nextInt(tables.size())));
                boolean viaExtended = random.nextInt(3) == 0 && !base.startsWith("COPY");
                String sql = viaExtended ? base : wrapped(random, base, i);
                String error = run(viaExtended ? extended : simple, sql);
                boolean untrapped = UNTRAPPED.matcher(sql).find() && !TRAPPED.matcher(sql).find();
                plain += untrapped ? 1 : 0;
                if (error != null) {
                    if (error.startsWith("42501") && error.contains("Warden")) {
                        refused++;
                        if (untrapped && plainRefused.size() < 8) {
                            plainRefused.add(sql + " | " + error);
                        }
                    } else {
                        failed++;
                    }
                    run(simple, "ROLLBACK"); // a wrapper's BEGIN left open by the error
                }
                String traps = changed(direct);
                if (!traps.isEmpty()) {
                    findings.add((viaExtended ? "extended | " : "simple | ") + sql + " | traps fired: " + traps
                            + " | Warden: " + (error == null ? "let it run" : error));
                    refill();
                }
            }
        }
        System.out.printf("guardrail fuzzer: seed=%d statements=%d refused by Warden=%d failed in PostgreSQL=%d "
                + "over the untrapped table only=%d%n", seed, statements, refused, failed, plain);
        plainRefused.forEach(p -> System.out.println("guardrail fuzzer: refused over the untrapped table: " + p));
        assertEquals(List.of(), findings, "seed " + seed);
        assertTrue(refused > 0, "nothing was refused: the traps were never reached");
    }

    /** Each trap fires when reached straight (not through Warden): the search above can find a change. */
    @Test
    void everyTrapDeletesItsLedgerRowWhenRunStraight() throws Exception {
        refill();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("SET ROLE gw_login");
            for (String sql : List.of("INSERT INTO t_trig VALUES (1, 1)", "TRUNCATE t_trig",
                    "INSERT INTO t_rule VALUES (1, 1)", "INSERT INTO t_def (id) VALUES (1)",
                    "INSERT INTO t_chk VALUES (1, 1)", "INSERT INTO t_dom VALUES (1, 1)", "SELECT 1 ### 1",
                    "INSERT INTO t_idx VALUES (1, 1)", "INSERT INTO t_gen (id) VALUES (1)",
                    "INSERT INTO t_part VALUES (1, 1)", "INSERT INTO t_pol VALUES (1, 1)",
                    "INSERT INTO t_plain VALUES (1, 1)", "SELECT x FROM v_trap", "SELECT gw_agg(id) FROM t_plain",
                    "INSERT INTO t_cast VALUES (1, ROW(1))", "SELECT v + 1 FROM t_cast",
                    "DELETE FROM gw_parent WHERE id = 16", "SELECT * FROM t_opc ORDER BY v",
                    "CREATE TABLE gw_made_straight (id int)")) {
                s.execute(sql);
            }
            s.execute("RESET ROLE");
            s.execute("INSERT INTO t_stx SELECT g, g FROM generate_series(1, 10) g");
            s.execute("ANALYZE t_stx");
        }
        assertEquals("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18", changed());
        refill();
    }
}
