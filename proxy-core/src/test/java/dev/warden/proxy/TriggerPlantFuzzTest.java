package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static dev.warden.proxy.MaskedAttacker.seedsIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated trigger and rule plants (the class of attacker passes a115 to a117): a masked identity installs code on
 * a table with masked columns, in a random spelling of the row ({@code NEW::text}, {@code row_to_json(NEW)}, a label
 * {@code f.new}, an alias, comments inside, Unicode escapes), into a random sink (its own table, a sequence, dynamic
 * SQL), by a random route (the trigger function's body, a body replaced after the trigger was made, the trigger's
 * WHEN condition, a rule). Then an identity exempt from masking makes an ordinary write of that table through
 * Warden, and the test reads, straight from PostgreSQL, what the planted code stored: no seeded value may be there,
 * case, separators and direction ignored. Whether Warden refused the plant is not asserted, only what the server
 * ended up holding. Control cases (code that keeps only the clear {@code id}) must be made and must run, so a
 * harness in which triggers never fire fails.
 *
 * <p>CI runs {@value #CI_CASES} cases with seed {@value #CI_SEED}. A longer run: {@code mvn -o -pl proxy-core -am
 * verify -Dtest=TriggerPlantFuzzTest -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=none
 * -Dwarden.triggerFuzz.cases=400 -Dwarden.triggerFuzz.seed=N}.
 */
class TriggerPlantFuzzTest {

    static final int CI_CASES = 40;
    static final long CI_SEED = 20261206L;

    /** Seeds hide from value detection once {@code @}, {@code .} and {@code -} become spaces. */
    private static final String HIDE = "'@.-', '   '";

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    /** How the code gets onto the table. */
    private enum Route { BODY, REPLACED_BODY, WHEN, RULE, QUALIFIED, CONTROL }

    /** A spelling of what the row carries: PL/pgSQL declarations it needs, and the text expression. */
    private record Spelling(String declare, String expression, boolean plpgsqlOnly) {
    }

    /** {@code f} is the trigger function's name (its label holds the row, a116 B1). */
    private static List<Spelling> spellings(String f) {
        return List.of(
                new Spelling("", "NEW::text", false),
                new Spelling("", "(NEW)::text", false),
                new Spelling("", "new /* x */ :: text", false),
                new Spelling("", "NEW -- x\n::text", false),
                new Spelling("", "\"new\"::text", false),
                new Spelling("", "row_to_json(NEW)::text", false),
                new Spelling("", "to_jsonb(new)::text", false),
                new Spelling("", "ROW(NEW.*)::text", false),
                new Spelling("", "format('%s', NEW)", false),
                new Spelling("", "concat_ws(',', NEW.email, NEW.ssn)", false),
                new Spelling("", "(NEW).ssn", false),
                new Spelling("", "NEW . \"email\"", false),
                new Spelling("", "U&\"\\006Eew\"::text", false),
                new Spelling("", "OLD::text", false),
                new Spelling("", "(SELECT string_agg(v, ',') FROM json_each_text(row_to_json(NEW)) AS j(k, v))",
                        false),
                new Spelling("", f + ".new::text", true),
                new Spelling("r ALIAS FOR new;", "r::text", true),
                new Spelling("r record;", "r::text", true),
                new Spelling("v text;", "v", true));
    }

    /** What each spelling needs before it is used in PL/pgSQL: {@code r := NEW} and the like. */
    private static String prelude(Spelling s) {
        if (s.declare().equals("r record;")) {
            return "r := NEW; ";
        }
        if (s.declare().equals("v text;")) {
            return "SELECT NEW.email || ',' || NEW.ssn INTO v; ";
        }
        return "";
    }

    private static String randomCase(Random r, String word) {
        return switch (r.nextInt(3)) {
            case 0 -> word.toLowerCase(Locale.ROOT);
            case 1 -> word.toUpperCase(Locale.ROOT);
            default -> word.substring(0, 1).toUpperCase(Locale.ROOT) + word.substring(1).toLowerCase(Locale.ROOT);
        };
    }

    /** A gap between words: a space, a comment, a newline. */
    private static String gap(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> " /* g */ ";
            case 1 -> "\n";
            case 2 -> " -- g\n";
            default -> " ";
        };
    }

    /** The relation, spelt at random. */
    private static String relation(Random r, String table) {
        return switch (r.nextInt(4)) {
            case 0 -> "public." + table;
            case 1 -> "\"" + table + "\"";
            case 2 -> "public . \"" + table + "\"";
            default -> table;
        };
    }

    /** A PL/pgSQL statement that keeps {@code x} (text) where the masked identity can read it later. */
    private static String sink(Random r, String x, String copy, String seq) {
        return switch (r.nextInt(5)) {
            case 0 -> "INSERT INTO " + copy + " VALUES (translate(reverse(" + x + "), " + HIDE + "));";
            case 1 -> "INSERT INTO " + copy + " SELECT translate(" + x + ", " + HIDE + ");";
            case 2 -> "EXECUTE 'INSERT INTO " + copy + " VALUES ($1)' USING translate(" + x + ", " + HIDE + ");";
            case 3 -> "PERFORM setval('" + seq + "', nullif(right(regexp_replace(" + x + ", '\\D', '', 'g'), 18), "
                    + "'')::bigint);";
            default -> "UPDATE " + copy + " SET e = translate(reverse(" + x + "), " + HIDE + ");";
        };
    }

    private static String triggerFunction(String f, Spelling s, String body) {
        return "CREATE FUNCTION " + f + "() RETURNS trigger LANGUAGE plpgsql AS $b$"
                + (s.declare().isEmpty() ? "" : "DECLARE " + s.declare() + " ") + "BEGIN " + prelude(s) + body
                + " RETURN NEW; END$b$";
    }

    private static String createTrigger(Random r, String name, String table, String when, String f) {
        String kind = switch (r.nextInt(3)) {
            case 0 -> randomCase(r, "create") + gap(r) + randomCase(r, "or") + " " + randomCase(r, "replace") + " "
                    + randomCase(r, "trigger");
            case 1 -> randomCase(r, "create") + " " + randomCase(r, "constraint") + gap(r) + randomCase(r, "trigger");
            default -> randomCase(r, "create") + gap(r) + randomCase(r, "trigger");
        };
        boolean constraint = kind.toLowerCase(Locale.ROOT).contains("constraint");
        String timing = constraint || r.nextBoolean() ? "AFTER" : "BEFORE";
        String events = switch (r.nextInt(3)) {
            case 0 -> "INSERT OR UPDATE";
            case 1 -> "UPDATE OF id";
            default -> "UPDATE";
        };
        return kind + " " + name + " " + randomCase(r, timing) + " " + events + gap(r) + "ON " + relation(r, table)
                + (constraint ? " DEFERRABLE INITIALLY DEFERRED" : "") + " FOR EACH ROW"
                + (when == null ? "" : " WHEN (" + when + ")") + gap(r) + "EXECUTE "
                + (r.nextBoolean() ? "FUNCTION " : "PROCEDURE ") + f + "()";
    }

    /** The masked identity's statements of one case, in order. */
    private static List<String> plant(Random r, Route route, int i, String table, String copy, String seq) {
        String f = "tpf" + i + "_f";
        List<Spelling> all = spellings(f);
        Spelling s = all.get(r.nextInt(all.size()));
        List<String> out = new ArrayList<>();
        out.add("CREATE TABLE " + copy + " (e text)");
        out.add("CREATE SEQUENCE " + seq + " MINVALUE 0");
        String quiet = "CREATE FUNCTION " + f + "() RETURNS trigger LANGUAGE plpgsql AS $b$BEGIN RETURN NEW; END$b$";
        switch (route) {
            case BODY -> {
                out.add(triggerFunction(f, s, sink(r, s.expression(), copy, seq)));
                out.add(createTrigger(r, "tpf" + i + "_t", table, null, f));
            }
            case REPLACED_BODY -> {
                out.add(quiet);
                out.add(createTrigger(r, "tpf" + i + "_t", table, null, f));
                out.add(triggerFunction(f, s, sink(r, s.expression(), copy, seq))
                        .replaceFirst("CREATE FUNCTION", randomCase(r, "create") + " OR REPLACE" + gap(r)
                                + "FUNCTION"));
            }
            case WHEN -> {
                Spelling w = s.plpgsqlOnly() ? all.get(0) : s;
                out.add(quiet);
                String keep = "tpf" + i + "_keep";
                out.add("CREATE FUNCTION " + keep + "(x text) RETURNS boolean LANGUAGE plpgsql AS $b$BEGIN INSERT INTO "
                        + copy + " VALUES (translate(reverse(x), " + HIDE + ")); RETURN true; END$b$");
                String when = r.nextBoolean()
                        ? keep + "(" + w.expression() + ")"
                        : "setval('" + seq + "', nullif(right(regexp_replace(" + w.expression() + ", '\\D', '', 'g'), "
                                + "18), '')::bigint) IS NOT NULL";
                out.add(createTrigger(r, "tpf" + i + "_t", table, when, f));
            }
            case RULE -> {
                Spelling w = s.plpgsqlOnly() ? all.get(0) : s;
                out.add(randomCase(r, "create") + gap(r) + randomCase(r, "rule") + " tpf" + i + "_r AS ON UPDATE TO "
                        + relation(r, table) + " DO ALSO INSERT INTO " + copy + " VALUES (translate(reverse("
                        + w.expression() + "), " + HIDE + "))");
            }
            case QUALIFIED -> {
                // A clear body under the name in public, the copying one under the same name in another schema (or
                // the session's temporary one, which lives as long as the masked identity's session does).
                String schema = r.nextBoolean() ? "pg_temp" : "tpf" + i + "_s";
                if (!schema.equals("pg_temp")) {
                    out.add("CREATE SCHEMA " + schema);
                }
                out.add(quiet);
                out.add(triggerFunction(f, s, sink(r, s.expression(), "public." + copy, "public." + seq))
                        .replaceFirst("CREATE FUNCTION " + f, "CREATE FUNCTION " + schema + "." + f));
                out.add(createTrigger(r, "tpf" + i + "_t", table, null, schema + "." + f));
            }
            case CONTROL -> {
                out.add("CREATE FUNCTION " + f + "() RETURNS trigger LANGUAGE plpgsql AS $b$BEGIN INSERT INTO " + copy
                        + " VALUES ('ctl' || NEW.id::text); RETURN NEW; END$b$");
                out.add(createTrigger(r, "tpf" + i + "_t", table, null, f));
            }
            default -> throw new IllegalStateException(route.name());
        }
        return out;
    }

    @Test
    void noPlantedTriggerOrRuleCarriesAMaskedValueOutOfAnExemptWrite() throws Exception {
        int cases = Integer.getInteger("warden.triggerFuzz.cases", CI_CASES);
        long seed = Long.getLong("warden.triggerFuzz.seed", CI_SEED);
        System.out.println("TriggerPlantFuzzTest: " + cases + " cases, seed " + seed);
        Random random = new Random(seed);
        List<String> leaks = new ArrayList<>();
        List<String> controlsFailed = new ArrayList<>();
        Map<String, int[]> tally = new TreeMap<>(); // route -> {accepted, refused}
        Route[] routes = Route.values();
        for (int i = 0; i < cases; i++) {
            // Every sixth case is a control; the others cycle the routes so a short run has each.
            Route route = i % 6 == 5 ? Route.CONTROL : routes[(i - i / 6) % (routes.length - 1)];
            String table = "tpf" + i + "_people";
            String copy = "tpf" + i + "_copy";
            String seq = "tpf" + i + "_seq";
            MaskedAttacker.seed(warden, table);
            List<String> statements = plant(random, route, i, table, copy, seq);
            List<String> answers = new ArrayList<>();
            boolean accepted = true;
            String writeError;
            try (MaskedAttacker a = new MaskedAttacker(warden)) {
                for (String sql : statements) {
                    String answer = a.query(sql);
                    answers.add(answer.contains("ERROR") || answer.contains("42501") ? "refused or failed" : "ok");
                    accepted &= !answer.contains("ERROR") && !answer.contains("42501");
                }
                // While the masked identity's session lasts: its temporary functions do too.
                writeError = exemptWrite("UPDATE " + table + " SET id = id");
            }
            tally.computeIfAbsent(route.name(), k -> new int[2])[accepted ? 0 : 1]++;
            String stored = storedBy(copy, seq);
            List<String> found = seedsIn(stored);
            if (!found.isEmpty()) {
                leaks.add("case " + i + " (" + route + ", seed " + seed + "): " + statements + " answers " + answers
                        + " -> the exempt write stored " + found);
            }
            if (route == Route.CONTROL && (!accepted || writeError != null || !stored.contains("ctl1"))) {
                controlsFailed.add("case " + i + ": " + statements + " answers " + answers + " write "
                        + writeError + " stored " + stored);
            }
        }
        StringBuilder summary = new StringBuilder("TriggerPlantFuzzTest: seed " + seed + ", accepted/refused by route:");
        tally.forEach((k, v) -> summary.append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]));
        System.out.println(summary);
        assertEquals(List.of(), leaks, "seed " + seed);
        assertEquals(List.of(), controlsFailed, "seed " + seed + ": control plants must be made and must run");
        assertTrue(tally.containsKey("CONTROL"), "no control case ran");
    }

    /** The exempt identity's write through Warden; the error's text when the planted code made it fail. */
    private static String exemptWrite(String sql) throws Exception {
        try (Connection c = warden.connect("dev", WardenHarness.USER, MaskedAttacker.exemptToken(warden), "");
             Statement s = c.createStatement()) {
            s.execute(sql);
            return null;
        } catch (SQLException e) {
            return e.getSQLState() + " " + e.getMessage();
        }
    }

    /** What the planted code stored, read straight from PostgreSQL: the copy table's rows and the sequence. */
    private static String storedBy(String copy, String seq) throws SQLException {
        StringBuilder out = new StringBuilder();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            for (String q : List.of("SELECT coalesce(string_agg(e, ','), '') FROM " + copy,
                    "SELECT last_value::text FROM " + seq)) {
                try (ResultSet rs = s.executeQuery(q)) {
                    while (rs.next()) {
                        out.append(rs.getString(1)).append('\n');
                    }
                } catch (SQLException e) {
                    out.append("(").append(e.getSQLState()).append(")\n"); // the masked identity's CREATE refused
                }
            }
        }
        return out.toString();
    }
}
